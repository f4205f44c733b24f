// Package cpumeter adds up the CPU time a benchmark spends in its own process
// and in its own Postgres backends (found by application_name), so it can
// report CPU per unit of work: a figure that holds when other work shares
// the machine, unlike a rate.
package cpumeter

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/heraldhq/herald/models"
)

// Meter samples this process's CPU time and that of the Postgres backends
// whose application_name is the one in the database URL (testdb and the
// bench set it to the schema name). Backends are read from /proc, so
// Postgres must run on this machine; where it does not, Postgres reads 0.
type Meter struct {
	store   *models.Store
	app     string
	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	first   map[int]float64
	last    map[int]float64
	selfCPU float64
	started bool
}

func processCPU(pid int) (float64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, true // USER_HZ
}

// SelfCPU is this process's CPU time so far, in seconds.
func SelfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// Start begins measuring; store is any store on that database.
func Start(store *models.Store, dbURL string) *Meter {
	u, _ := url.Parse(dbURL)
	m := &Meter{store: store, app: u.Query().Get("application_name"), stop: make(chan struct{}),
		first: map[int]float64{}, last: map[int]float64{}, selfCPU: SelfCPU()}
	m.sample()
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *Meter) sample() {
	var pids []int
	m.store.DB(context.Background()).Raw("SELECT pid FROM pg_stat_activity WHERE application_name = ?", m.app).Scan(&pids)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, pid := range pids {
		c, ok := processCPU(pid)
		if !ok {
			continue
		}
		if _, seen := m.first[pid]; !seen {
			m.first[pid] = 0 // a connection opened since: all of its CPU
			if !m.started {
				m.first[pid] = c
			}
		}
		m.last[pid] = c
	}
	m.started = true
}

// Stop ends the measurement and returns the CPU seconds spent since Start by
// this process and by the matching Postgres backends.
func (m *Meter) Stop() (self, pg float64) {
	m.sample()
	close(m.stop)
	m.done.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for pid, c := range m.last {
		pg += c - m.first[pid]
	}
	return SelfCPU() - m.selfCPU, pg
}
