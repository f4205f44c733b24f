package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/heraldhq/herald/demo"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// demoCmd loads demo data into the configured database and exits. It runs
// its own simulator, send engine and webhook applier in-process with
// instant outcomes, so the campaigns are really sent and their statuses
// really applied, without a running server.
func demoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	contacts := fs.Int("contacts", 3000, "how many contacts to generate")
	seed := fs.Int64("seed", 42, "seed of the generated data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(nil, getenv, stderr)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := demo.Begin(ctx, store); err != nil {
		return err
	}
	res, err := loadDemo(ctx, store, demo.Options{Contacts: *contacts, Seed: *seed, WABAID: cfg.WhatsApp.WABAID, Log: log}, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo data loaded: %d contacts, %d templates, %d segments, %d campaigns, %d events\n",
		res.Contacts, len(res.Templates), len(res.Segments), len(res.Campaigns), res.Events)
	return nil
}

// loadDemo wires a private simulator, engine and applier to store and runs
// demo.Load through them.
func loadDemo(ctx context.Context, store *models.Store, opts demo.Options, log *slog.Logger) (demo.Result, error) {
	applier := jobs.NewWebhookApplier(store, log.With("component", "webhooks"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return demo.Result{}, fmt.Errorf("demo: listen for webhooks: %w", err)
	}
	// One body at a time (SQLite has one writer); a failure answers 500 so
	// the simulator delivers the body again, as Meta would.
	var mu sync.Mutex
	hooks := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err == nil {
			mu.Lock()
			err = applier.Apply(r.Context(), body)
			mu.Unlock()
		}
		if err != nil {
			log.Debug("demo webhook not applied; the simulator retries", "err", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = hooks.Serve(ln) }()
	defer hooks.Close()

	sc := simulator.DefaultConfig()
	sc.Seed, sc.TimeScale, sc.MPS, sc.ApprovalDelay = opts.Seed, 0, 0, 100*time.Millisecond
	sc.WebhookURL = "http://" + ln.Addr().String() + "/"
	sc.Logger = log.With("component", "simulator")
	sim := simulator.New(sc)
	url, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		return demo.Result{}, err
	}
	defer sim.Close()
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: url, Token: sc.Token, PhoneNumberID: sc.PhoneNumberID, WABAID: sc.WABAID})
	engine := jobs.NewEngine(store, jobs.StaticSenders{Client: client}, "demo", jobs.EngineConfig{Unthrottled: true, Log: log})
	opts.Gateway = client
	opts.Send = func(ctx context.Context, campaignID int64) error {
		if _, err := store.LaunchCampaign(ctx, campaignID, time.Now()); err != nil {
			return err
		}
		// Rows deferred by the 6-second pair rate come due again shortly;
		// rows Meta held back for a day do not, and are left queued.
		for range 30 {
			if err := engine.WaitIdle(ctx); err != nil {
				return err
			}
			var soon int64
			if err := store.DB(ctx).Raw("SELECT COUNT(*) FROM messages WHERE campaign_id = ? AND status = 'pending' AND send_after < ?",
				campaignID, time.Now().Add(time.Minute).UTC()).Scan(&soon).Error; err != nil {
				return err
			}
			if soon == 0 {
				break
			}
			time.Sleep(time.Second)
		}
		if err := settle(ctx, store, campaignID); err != nil {
			return err
		}
		_, err := engine.ScheduleTick(ctx)
		return err
	}
	return demo.Load(ctx, store, opts)
}

// settle waits until the simulator's statuses for a campaign stop arriving
// (a message Meta held back for a day stays queued; it is not waited for).
func settle(ctx context.Context, store *models.Store, campaignID int64) error {
	var last int64 = -1
	for stable := 0; stable < 4; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		st, err := store.CampaignStats(ctx, campaignID)
		if err != nil {
			return err
		}
		seen := st.Sent + st.Delivered + st.Read + st.Tapped + st.Failed
		if seen == last {
			stable++
		} else {
			stable = 0
		}
		last = seen
	}
	return nil
}
