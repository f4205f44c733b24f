package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/testdb"
)

func TestWorkerWakesAndStopsAfterRound(t *testing.T) {
	t.Parallel()
	r := jobs.New(testdb.SQLite(t).Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var rounds atomic.Int32
	roundDone := make(chan struct{}, 10)
	if err := r.Worker("w", 1, time.Hour, func(ctx context.Context) (bool, error) {
		rounds.Add(1)
		roundDone <- struct{}{}
		return false, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-roundDone // first round runs at start
	r.Wake("w")
	select {
	case <-roundDone:
	case <-time.After(5 * time.Second):
		t.Fatal("Wake did not start a round; the poll interval is an hour")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rounds.Load(); got != 2 {
		t.Fatalf("rounds = %d, want 2", got)
	}
}

func TestPeriodicRunsOnSchedule(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			r := jobs.New(db.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
			ran := make(chan struct{}, 10)
			if err := r.Periodic("tick", "@every 1s", func(ctx context.Context) error {
				ran <- struct{}{}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := r.Periodic("bad", "not a spec", func(context.Context) error { return nil }); err == nil {
				t.Fatal("a malformed cron spec was accepted")
			}
			if err := r.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop(context.Background()) //nolint:errcheck
			select {
			case <-ran:
			case <-time.After(5 * time.Second):
				t.Fatal("periodic job did not run within 5s")
			}
		})
	}
}
