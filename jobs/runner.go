// Package jobs runs Herald's background work inside the server process: a
// cron scheduler for periodic jobs (leader-only across instances) and
// long-running workers (campaign launcher, send workers, import worker,
// webhook applier) that poll the database and can be woken at once. All
// state lives in the database, so a restart resumes where the rows say.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/heraldhq/herald/models"
)

// WorkFunc does one unit of work. It returns more=true when it found work, so
// the worker loops again at once; false makes it wait for its poll interval
// or a Wake.
type WorkFunc func(ctx context.Context) (more bool, err error)

type worker struct {
	name  string
	poll  time.Duration
	count int
	fn    WorkFunc
	wake  chan struct{}
}

// Runner owns the scheduler and the workers.
type Runner struct {
	store      *models.Store
	log        *slog.Logger
	instanceID string
	cron       *cron.Cron

	mu      sync.Mutex
	workers map[string]*worker
	started bool
	// ctx is what rounds run under: it is cancelled only when Stop's
	// deadline passes, so a round in flight (a send) finishes normally.
	ctx    context.Context
	cancel context.CancelFunc
	// stopping is closed by Stop; loops exit between rounds.
	stopping chan struct{}
	// priority is the priority lane's inbox when the lane runs here.
	priority *PriorityInbox
	wg       sync.WaitGroup
}

// New makes a Runner; register jobs with Periodic and Worker, then Start it.
func New(store *models.Store, log *slog.Logger) *Runner {
	host, _ := os.Hostname()
	return &Runner{
		store:      store,
		log:        log,
		instanceID: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()%1_000_000),
		cron:       cron.New(cron.WithLocation(time.UTC)),
		workers:    map[string]*worker{},
	}
}

// InstanceID names this process in claims it writes, so a rescuer can tell
// whose work it returns.
func (r *Runner) InstanceID() string { return r.instanceID }

// Periodic registers fn to run on a cron spec (robfig/cron syntax, UTC, with
// descriptors such as "@every 30s"). With several instances on one Postgres,
// only the one that takes the leader lock runs a given tick.
func (r *Runner) Periodic(name, spec string, fn func(ctx context.Context) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return fmt.Errorf("jobs: periodic %s registered after Start", name)
	}
	_, err := r.cron.AddFunc(spec, func() {
		ctx := r.runContext()
		if ctx == nil {
			return
		}
		ran, err := r.store.WithLeaderLock(ctx, name, fn)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			r.log.Error("periodic job failed", "job", name, "err", err)
		case !ran:
			r.log.Debug("periodic job skipped: another instance runs it", "job", name)
		}
	})
	if err != nil {
		return fmt.Errorf("jobs: periodic %s spec %q: %w", name, spec, err)
	}
	return nil
}

// Worker registers count goroutines that call fn in a loop, waiting poll
// between empty rounds unless woken.
func (r *Runner) Worker(name string, count int, poll time.Duration, fn WorkFunc) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return fmt.Errorf("jobs: worker %s registered after Start", name)
	}
	if _, dup := r.workers[name]; dup {
		return fmt.Errorf("jobs: worker %s registered twice", name)
	}
	r.workers[name] = &worker{name: name, poll: poll, count: max(count, 1), fn: fn, wake: make(chan struct{}, max(count, 1))}
	return nil
}

// Wake makes an idle worker look for work now (after a launch, an import
// upload or a transactional API call) instead of at its next poll.
func (r *Runner) Wake(name string) {
	r.mu.Lock()
	w := r.workers[name]
	r.mu.Unlock()
	if w == nil {
		return
	}
	if name == PriorityWorker {
		// Woken for work in the ledger, not for a message handed over.
		r.nudgePriority()
	}
	// One token per goroutine, so every idle goroutine of the worker starts.
	for range w.count {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// WakeOne makes one idle goroutine of a worker look for work now, or the
// next one to finish its round when none is idle. For work that arrives
// one item at a time (a transactional API call), one goroutine suffices:
// waking them all makes the others look in vain.
func (r *Runner) WakeOne(name string) {
	r.mu.Lock()
	w := r.workers[name]
	r.mu.Unlock()
	if w == nil {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) setPriorityInbox(in *PriorityInbox) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.priority = in
}

// PriorityInbox is the priority lane's inbox while the runner runs with
// the lane registered; nil otherwise (then API messages are queued
// unclaimed and found in the ledger by whichever lane runs).
func (r *Runner) PriorityInbox() *PriorityInbox {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.runningLocked() {
		return nil
	}
	return r.priority
}

// runningLocked reports whether the runner has started and is not
// stopping; r.mu is held.
func (r *Runner) runningLocked() bool {
	if r.cancel == nil {
		return false
	}
	select {
	case <-r.stopping:
		return false
	default:
		return true
	}
}

var errStopped = errors.New("jobs: runner stopped")

// runCtx is the context jobs run under; nil before Start or after Stop.
func (r *Runner) runContext() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.runningLocked() {
		return nil
	}
	return r.ctx
}

// Start launches the scheduler and the workers.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("jobs: runner already started")
	}
	r.started = true
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.stopping = make(chan struct{})
	for _, w := range r.workers {
		for i := range w.count {
			r.wg.Add(1)
			go r.loop(r.ctx, w, i)
		}
	}
	r.cron.Start()
	r.log.Info("jobs started", "instance", r.instanceID, "workers", len(r.workers))
	return nil
}

func (r *Runner) loop(ctx context.Context, w *worker, n int) {
	defer r.wg.Done()
	log := r.log.With("worker", w.name, "n", n)
	backoff := w.poll
	for {
		select {
		case <-r.stopping:
			return
		default:
		}
		more, err := w.fn(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("worker round failed", "err", err)
			more = false
			// Back off on repeated failures (a database outage) so the log
			// is not flooded, up to a minute.
			backoff = min(max(backoff*2, time.Second), time.Minute)
		} else {
			backoff = w.poll
		}
		if more {
			continue
		}
		timer := time.NewTimer(backoff)
		select {
		case <-r.stopping:
			timer.Stop()
		case <-w.wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// Stop stops scheduling, lets workers finish their current round, and waits
// for them until ctx ends; then it cancels what is still running.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	cancel := r.cancel
	r.cancel = nil
	if cancel != nil {
		close(r.stopping)
	}
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	defer cancel()
	cronDone := r.cron.Stop()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		<-cronDone.Done()
		close(done)
	}()
	var err error
	select {
	case <-done:
		r.log.Info("jobs stopped")
	case <-ctx.Done():
		err = fmt.Errorf("jobs: stop: %w", errors.Join(errStopped, ctx.Err()))
	}
	// Messages the API handed to the priority lane and it did not start go
	// back to pending, for another instance (or the next start) to send.
	if r.priority != nil {
		if ids := r.priority.close(); len(ids) > 0 {
			if rerr := r.store.ReleaseClaims(context.WithoutCancel(ctx), r.instanceID, ids); rerr != nil {
				r.log.Error("release the priority lane's inbox", "err", rerr)
			}
		}
	}
	return err
}
