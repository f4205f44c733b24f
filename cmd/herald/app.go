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
	"github.com/heraldhq/herald/whatsapp"
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
	// Campaign sending through the configured Cloud API. With the built-in
	// simulator (empty WHATSAPP_API_URL) the simulator's wiring calls
	// registerSending with a client for its URL instead.
	if !cfg.WhatsApp.UsesSimulator() {
		client := whatsapp.NewClient(whatsapp.Config{BaseURL: cfg.WhatsApp.APIURL, APIVersion: cfg.WhatsApp.APIVersion,
			Token: cfg.WhatsApp.Token, PhoneNumberID: cfg.WhatsApp.PhoneNumberID, WABAID: cfg.WhatsApp.WABAID})
		if err := registerSending(store, runner, client, log); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// registerSending adds the campaign engine to the runner: send workers, the
// instance heartbeat, the leader-only campaign scheduler and rescuer. The
// default sender sends at Meta's standard 80 msg/s, shared by all instances.
func registerSending(store *models.Store, runner *jobs.Runner, client jobs.Sender, log *slog.Logger) error {
	engine := jobs.NewEngine(store, jobs.StaticSenders{Client: client, Limits: jobs.SenderLimits{Rate: 80}},
		runner.InstanceID(), jobs.EngineConfig{Log: log.With("component", "sender")})
	return engine.Register(runner, 2)
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
