// Package handlers is Herald's HTTP layer: Echo handlers, one file per
// resource, that bind and validate input, call the store or a job, and
// render a templ page or JSON. routes.go registers every route in one place.
package handlers

import (
	"log/slog"

	"github.com/gorilla/sessions"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
)

// Deps are what the handlers need; cmd/herald builds them.
type Deps struct {
	Config  config.Config
	Store   *models.Store
	Runner  *jobs.Runner
	Log     *slog.Logger
	Metrics *prometheus.Registry
	// TemplateGateway submits and lists message templates at WhatsApp
	// (a *whatsapp.Client); nil leaves templates local (no submit or sync).
	// If it also implements TemplateTestSender, "Send test" works.
	TemplateGateway TemplateGateway
}

// Handlers holds the dependencies shared by every handler.
type Handlers struct {
	cfg      config.Config
	store    *models.Store
	runner   *jobs.Runner
	log      *slog.Logger
	sessions *sessions.CookieStore
	metrics  *prometheus.Registry
	login    models.LoginPolicy
	hooks    webhookSecrets
	gateway  TemplateGateway // nil when WhatsApp is not wired
	// apiLimits are the per-API-key rate limits (handlers/ratelimit.go).
	apiLimits *keyLimits
}

// New builds the handlers.
func New(d Deps) *Handlers {
	store := sessions.NewCookieStore(d.Config.Key("session-sign"), d.Config.Key("session-encrypt"))
	store.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(sessionLifetime.Seconds()),
		HttpOnly: true,
		Secure:   d.Config.SecureCookies(),
		SameSite: sameSiteLax,
	}
	if d.Metrics == nil {
		d.Metrics = prometheus.NewRegistry()
	}
	return &Handlers{
		cfg:       d.Config,
		store:     d.Store,
		runner:    d.Runner,
		log:       d.Log,
		sessions:  store,
		metrics:   d.Metrics,
		login:     models.DefaultLoginPolicy,
		gateway:   d.TemplateGateway,
		apiLimits: newKeyLimits(d.Config.APIRate, d.Config.APIBurst),
	}
}
