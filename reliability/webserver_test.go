package reliability

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
)

// web is Herald's real router (the same Register as `herald serve`) on
// httptest, for the webhook and security cases that need no process.
type web struct {
	srv  *httptest.Server
	echo *echo.Echo
	cfg  config.Config
}

func newWeb(t *testing.T, store *models.Store, maxImport string) *web {
	t.Helper()
	env := map[string]string{"HERALD_MAX_IMPORT_BYTES": maxImport}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secret = "reliability-secret-reliability-secret"
	if err := store.UseCredentialKey(cfg.Key("credentials")); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	e := echo.New()
	handlers.New(handlers.Deps{Config: cfg, Store: store, Runner: jobs.New(store, log), Log: log}).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &web{srv: srv, echo: e, cfg: cfg}
}
