package jobs_test

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

// cpuMeter adds up the CPU time this process and its own Postgres backends
// (found by application_name, which testdb sets to the schema) spend, so a
// benchmark can report CPU per message: a figure that holds when other work
// shares the machine, unlike msg/s.
type cpuMeter struct {
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

func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func startCPUMeter(store *models.Store, dbURL string) *cpuMeter {
	u, _ := url.Parse(dbURL)
	m := &cpuMeter{store: store, app: u.Query().Get("application_name"), stop: make(chan struct{}),
		first: map[int]float64{}, last: map[int]float64{}, selfCPU: selfCPU()}
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

func (m *cpuMeter) sample() {
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

// Stop returns the CPU seconds of this process and of its Postgres backends.
func (m *cpuMeter) Stop() (self, pg float64) {
	m.sample()
	close(m.stop)
	m.done.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for pid, c := range m.last {
		pg += c - m.first[pid]
	}
	return selfCPU() - m.selfCPU, pg
}
