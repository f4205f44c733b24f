package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
)

// app holds what serve starts besides the HTTP server, in start order, so it
// can be closed in reverse.
type app struct {
	cfg     config.Config
	closers []func()
}

// newApp wires the WhatsApp side and registers the background jobs.
func newApp(ctx context.Context, cfg config.Config, store *models.Store, runner *jobs.Runner, reg *prometheus.Registry, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg}
	if err := runner.Periodic("prune-login-attempts", "@hourly", store.PruneLoginAttempts); err != nil {
		return nil, err
	}
	if err := jobs.NewImporter(store, log, runner.InstanceID()).Register(runner); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *app) whatsappLabel() string {
	if a.cfg.WhatsApp.UsesSimulator() {
		return "built-in simulator"
	}
	return a.cfg.WhatsApp.APIURL
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func simulatorCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log *slog.Logger) error {
	return errors.New("simulator: not wired yet")
}
