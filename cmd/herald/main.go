// Command herald is the whole of Herald in one binary: the web UI, the REST
// API, the scheduler and send workers (`serve`, the default), schema
// migrations, user and API key administration, and the WhatsApp Cloud API
// simulator.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
)

const usage = `Herald: WhatsApp campaigns for marketers.

Usage:
  herald [serve] [flags]          web UI, REST API, scheduler and workers (default)
  herald migrate                  apply schema migrations and exit
  herald user create --email E --password P --role admin|marketer|viewer
  herald apikey create --name N [--role R]
  herald simulator [--addr A] [--webhook URL] [--app-secret S]
  herald demo [--contacts N] [--seed S]   load demo data (contacts, templates, segments, sent campaigns)

Run "herald serve -h" for configuration flags; each also reads an
environment variable (see README).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "herald:", err)
		}
		os.Exit(1)
	}
}

// run dispatches a subcommand. It takes everything from outside as
// arguments so tests can drive it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	log := newLogger(stderr, getenv("HERALD_LOG_LEVEL"))
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr, log)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "user":
		return userCmd(ctx, args, getenv, stdout, stderr)
	case "apikey":
		return apikeyCmd(ctx, args, getenv, stdout, stderr)
	case "simulator":
		return simulatorCmd(ctx, args, getenv, stdout, stderr, log)
	case "demo":
		return demoCmd(ctx, args, getenv, stdout, stderr, log)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil || level == "" {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// openStore opens and migrates the configured database.
func openStore(ctx context.Context, cfg config.Config) (*models.Store, error) {
	store, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx); err != nil {
		_ = store.Close()
		return nil, err
	}
	return store, nil
}

// loadConfig reads the serve flags and environment; other commands use the
// same variables (DATABASE_URL above all) without flags of their own.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config.Config, error) {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return cfg, err
	}
	if err := cfg.EnsureSecret(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log *slog.Logger) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.SetPoolSize(cfg.DBConns); err != nil {
		return err
	}
	if err := ensureAdmin(ctx, store, cfg, stdout, log); err != nil {
		return err
	}

	// Listen before anything else starts, so the simulator's webhooks and
	// the printed URL point at a port we hold.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}

	registry := prometheus.NewRegistry()
	runner := jobs.New(store, log)
	app, err := newApp(ctx, cfg, store, runner, registry, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer app.close()

	e := echo.New()
	handlers.New(handlers.Deps{Config: cfg, Store: store, Runner: runner, Log: log, Metrics: registry,
		TemplateGateway: jobs.TemplateGateway{Client: app.client, Store: store, AppID: cfg.WhatsApp.AppID}}).Register(e)
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	// Open the Postgres pool's connections and run the API's statements on
	// each before traffic and the workers start: the first burst of API
	// messages then finds warm backends (models.Store.WarmPool).
	if warmed, err := store.WarmPool(ctx, runner.InstanceID(), 15*time.Second); err != nil {
		log.Warn("database pool warm-up incomplete", "warmed", warmed, "err", err)
	}
	if err := runner.Start(ctx); err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("Herald is running", "url", cfg.BaseURL, "database", dbKind(cfg.DatabaseURL), "whatsapp", app.whatsappLabel())
	fmt.Fprintf(stdout, "\n  Herald is running at %s\n\n", cfg.BaseURL)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	}
	// Reverse order: stop taking requests, let jobs finish their round.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := runner.Stop(shutdownCtx); err != nil {
		log.Warn("jobs shutdown", "err", err)
	}
	return nil
}

func dbKind(url string) string {
	if len(url) >= 9 && url[:9] == "sqlite://" {
		return "sqlite"
	}
	return "postgres"
}

// ensureAdmin creates the first admin on an empty database: from the
// environment if given, otherwise with a generated password printed once.
func ensureAdmin(ctx context.Context, store *models.Store, cfg config.Config, stdout io.Writer, log *slog.Logger) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	email, password := cfg.AdminEmail, cfg.AdminPassword
	generated := false
	if email == "" {
		email = "admin@herald.local"
		buf := make([]byte, 12)
		if _, err := rand.Read(buf); err != nil {
			return fmt.Errorf("generate admin password: %w", err)
		}
		password = base64.RawURLEncoding.EncodeToString(buf)
		generated = true
	}
	if _, err := store.UpsertUser(ctx, email, password, models.RoleAdmin); err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	log.Info("created the first admin", "email", email)
	if generated {
		fmt.Fprintf(stdout, "\n  First start: sign in as\n    e-mail:   %s\n    password: %s\n  This password is shown once. Change it under Settings → Users.\n", email, password)
	}
	return nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return err
	}
	store, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s); schema version %d\n", len(applied), models.LatestSchemaVersion())
	return nil
}

func userCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: herald user create --email E --password P --role admin|marketer|viewer")
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "e-mail address (required)")
	password := fs.String("password", "", "password, at least 10 characters (required)")
	role := fs.String("role", "marketer", "admin, marketer or viewer")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	r, err := models.ParseRole(*role)
	if err != nil {
		return err
	}
	cfg, err := config.Load(nil, getenv, stderr)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.UpsertUser(ctx, *email, *password, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %s saved with role %s\n", u.Email, u.Role)
	return nil
}

func apikeyCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: herald apikey create --name N [--role R]")
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "what the key is for (required)")
	role := fs.String("role", "marketer", "admin, marketer or viewer")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	r, err := models.ParseRole(*role)
	if err != nil {
		return err
	}
	cfg, err := config.Load(nil, getenv, stderr)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	k, plain, err := store.CreateAPIKey(ctx, *name, r, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "API key %q (role %s) created. It is shown once:\n%s\n", k.Name, k.Role, plain)
	return nil
}
