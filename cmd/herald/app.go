package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// app holds what serve starts besides the HTTP server, so it can be closed
// in reverse order.
type app struct {
	cfg       config.Config
	client    *whatsapp.Client
	simulator *simulator.Server
	closers   []func()
}

// newApp wires the WhatsApp side (the built-in simulator unless
// WHATSAPP_API_URL is set), makes sure the configured sender exists, and
// registers the background jobs.
func newApp(ctx context.Context, cfg config.Config, store *models.Store, runner *jobs.Runner, reg *prometheus.Registry, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg}
	if err := store.UseCredentialKey(cfg.Key("credentials")); err != nil {
		return nil, err
	}
	apiURL := cfg.WhatsApp.APIURL
	if cfg.WhatsApp.UsesSimulator() {
		sim := simulator.New(demoSimulatorConfig(cfg, log))
		url, err := sim.Listen("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		a.simulator = sim
		a.closers = append(a.closers, func() { _ = sim.Close() })
		apiURL = url
		log.Info("built-in WhatsApp simulator running", "url", url, "webhook", sim.Config().WebhookURL)
	}
	a.client = whatsapp.NewClient(whatsapp.Config{
		BaseURL:       apiURL,
		APIVersion:    cfg.WhatsApp.APIVersion,
		Token:         cfg.WhatsApp.Token,
		PhoneNumberID: cfg.WhatsApp.PhoneNumberID,
		WABAID:        cfg.WhatsApp.WABAID,
	})
	if err := ensureConfiguredSender(ctx, store, cfg, apiURL); err != nil {
		return nil, err
	}
	// Read the number's quality, tier and throughput once at start; a
	// failure only shows on the setup checklist.
	go func() {
		snd, err := store.SenderByPhoneNumberID(ctx, cfg.WhatsApp.PhoneNumberID)
		if err == nil {
			_, err = handlers.CheckSender(ctx, store, snd)
		}
		if err != nil {
			log.Warn("sender check failed", "phone_number_id", cfg.WhatsApp.PhoneNumberID, "err", err)
		}
		if _, err := jobs.SyncTemplates(ctx, store, a.client, cfg.WhatsApp.WABAID); err != nil {
			log.Warn("template sync failed", "err", err)
		}
	}()
	// Templates approved, paused or created in Meta's tools show up within
	// minutes even if a webhook was missed.
	if err := runner.Periodic("templates-sync", "@every 5m", jobs.TemplateSyncJob(store, a.client, cfg.WhatsApp.WABAID)); err != nil {
		return nil, err
	}
	if err := runner.Periodic("prune-login-attempts", "@hourly", store.PruneLoginAttempts); err != nil {
		return nil, err
	}
	if err := runner.Periodic("prune-webhooks", "@daily", func(ctx context.Context) error {
		return store.PruneWebhooks(ctx, 30*24*time.Hour)
	}); err != nil {
		return nil, err
	}
	// Campaign costs need a pass over delivered rows; they are refreshed
	// every minute for recent campaigns instead of on each page view.
	if err := runner.Periodic("campaign-costs", "@every 1m", store.RefreshRecentCosts); err != nil {
		return nil, err
	}
	if err := jobs.NewImporter(store, log, runner.InstanceID()).Register(runner); err != nil {
		return nil, err
	}
	if err := jobs.NewWebhookApplier(store, log.With("component", "webhooks")).Register(runner); err != nil {
		return nil, err
	}
	// Campaign sending: send workers, the instance heartbeat, and the
	// leader-only scheduler and rescuer. Each sender's client, rate and
	// daily tier come from its row in the senders table.
	engine := jobs.NewEngine(store, jobs.NewStoredSenders(store), runner.InstanceID(),
		jobs.EngineConfig{Log: log.With("component", "sender")})
	if err := engine.Register(runner, jobs.ServeSendWorkers); err != nil {
		return nil, err
	}
	// Transactional API messages: the priority lane (woken by the API) and
	// the signed status callbacks to callers' callback_url.
	if err := engine.RegisterPriorityLane(runner, 2); err != nil {
		return nil, err
	}
	if err := jobs.NewCallbacks(store, jobs.CallbackConfig{Secret: handlers.CallbackSecret(cfg),
		Log: log.With("component", "callbacks")}).Register(runner); err != nil {
		return nil, err
	}
	return a, nil
}

// demoSimulatorConfig makes the in-process simulator accept Herald's
// configured credentials and call Herald's own webhook, with human-like
// timings so a newcomer watches statuses arrive over a minute.
func demoSimulatorConfig(cfg config.Config, log *slog.Logger) simulator.Config {
	sc := simulator.DefaultConfig()
	sc.Token = cfg.WhatsApp.Token
	sc.AppSecret = cfg.WhatsApp.AppSecret
	sc.PhoneNumberID = cfg.WhatsApp.PhoneNumberID
	sc.WABAID = cfg.WhatsApp.WABAID
	sc.WebhookURL = cfg.BaseURL + "/webhooks/whatsapp"
	// A demo must not stall on a new number's 250-a-day tier.
	sc.MessagingLimitTier = "TIER_UNLIMITED"
	sc.Seed = time.Now().UnixNano()
	sc.Logger = log.With("component", "simulator")
	// Taps on tracked links come back to this Herald.
	if host := strings.TrimPrefix(strings.TrimPrefix(cfg.BaseURL, "http://"), "https://"); host != "" {
		sc.URLTapHosts = append(sc.URLTapHosts, host)
	}
	return sc
}

// ensureConfiguredSender records the sender from WHATSAPP_* so campaigns
// have a number to send from on first start.
func ensureConfiguredSender(ctx context.Context, store *models.Store, cfg config.Config, apiURL string) error {
	name := "Default sender"
	if cfg.WhatsApp.UsesSimulator() {
		name = "Simulator (demo)"
	}
	_, err := store.SaveSender(ctx, models.SenderInput{
		Name:          name,
		PhoneNumberID: cfg.WhatsApp.PhoneNumberID,
		WABAID:        cfg.WhatsApp.WABAID,
		APIURL:        apiURL,
		APIVersion:    cfg.WhatsApp.APIVersion,
		Credentials: models.SenderCredentials{
			Token: cfg.WhatsApp.Token, AppSecret: cfg.WhatsApp.AppSecret, VerifyToken: cfg.WhatsApp.VerifyToken,
		},
	})
	if err != nil {
		return fmt.Errorf("record the configured sender: %w", err)
	}
	return nil
}

func (a *app) whatsappLabel() string {
	if a.simulator != nil {
		return "built-in simulator"
	}
	return a.cfg.WhatsApp.APIURL
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// simulatorCmd runs the Cloud API simulator on its own, for pointing a
// separate Herald (or anything else) at it.
func simulatorCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sc := simulator.DefaultConfig()
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	webhook := fs.String("webhook", "", "URL that receives the signed webhooks, e.g. http://127.0.0.1:8080/webhooks/whatsapp")
	appSecret := fs.String("app-secret", config.SimAppSecret, "app secret that signs webhooks")
	token := fs.String("token", config.SimToken, "bearer token the simulator accepts")
	seed := fs.Int64("seed", 1, "seed of the per-recipient outcomes")
	timeScale := fs.Float64("time-scale", 1, "multiplier of realistic delays; 0 = instant")
	mps := fs.Int("mps", 80, "messages per second per number; 0 = unlimited")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc.WebhookURL, sc.AppSecret, sc.Token, sc.Seed, sc.TimeScale, sc.MPS = *webhook, *appSecret, *token, *seed, *timeScale, *mps
	sc.PhoneNumberID, sc.WABAID = config.SimPhoneNumberID, config.SimWABAID
	sc.Logger = log
	sim := simulator.New(sc)
	url, err := sim.Listen(*addr)
	if err != nil {
		return err
	}
	defer sim.Close()
	fmt.Fprintf(stdout, "WhatsApp Cloud API simulator on %s (phone-number id %s, WABA %s)\n", url, sc.PhoneNumberID, sc.WABAID)
	fmt.Fprintf(stdout, "Point Herald at it: WHATSAPP_API_URL=%s\n", url)
	if *webhook == "" {
		fmt.Fprintln(stdout, "No --webhook given: statuses are not delivered anywhere.")
	}
	<-ctx.Done()
	_ = os.Stdout.Sync()
	return nil
}
