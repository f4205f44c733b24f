package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/static"
)

// contentSecurityPolicy allows only Herald's own scripts and styles: no
// inline code, no third-party origin, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// routes registers handlers with the middleware their kind needs. Every UI
// route is signed-in and role-checked, every API route key-authenticated and
// role-checked; public routes are named as such.
type routes struct {
	e   *echo.Echo
	ui  []echo.MiddlewareFunc // CSRF and session, for every browser route
	api *echo.Group
}

// view registers a page any signed-in user may see.
func (r routes) view(path string, h echo.HandlerFunc) {
	r.e.GET(path, h, append(r.ui, requireUser, need(models.RoleViewer))...)
}

// edit registers a route that changes audiences, templates or campaigns.
func (r routes) edit(method, path string, h echo.HandlerFunc) {
	r.e.Add(method, path, h, append(r.ui, requireUser, need(models.RoleMarketer))...)
}

// admin registers a route for admins only.
func (r routes) admin(method, path string, h echo.HandlerFunc) {
	r.e.Add(method, path, h, append(r.ui, requireUser, need(models.RoleAdmin))...)
}

// apiRoute registers a REST route under /api/v1 for keys of at least role.
func (r routes) apiRoute(method, path string, h echo.HandlerFunc, role models.Role) {
	r.api.Add(method, path, h, need(role))
}

// Register adds every route and middleware to e.
func (h *Handlers) Register(e *echo.Echo) {
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = h.errorHandler
	metrics, countRequests := h.metricsHandler()

	e.Use(middleware.Recover())
	e.Use(countRequests)
	e.Use(h.requestLog)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection:         "0",
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "same-origin",
		ContentSecurityPolicy: contentSecurityPolicy,
		HSTSMaxAge:            hstsMaxAge(h.cfg.SecureCookies()),
	}))

	// Public: operations, static assets.
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/metrics", metrics)
	e.StaticFS("/static", static.Files)

	csrf := middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     "herald_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   h.cfg.SecureCookies(),
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return echo.NewHTTPError(http.StatusForbidden, "The form was stale or forged (CSRF check failed). Reload the page and try again.")
		},
	})
	r := routes{
		e:   e,
		ui:  []echo.MiddlewareFunc{csrf, h.loadUser},
		api: e.Group("/api/v1", h.requireAPIKey, h.apiRateLimit),
	}

	// Sign-in is the one UI route open to anonymous users.
	e.GET("/login", h.loginPage, r.ui...)
	e.POST("/login", h.loginSubmit, r.ui...)
	// Any signed-in role may sign out.
	e.POST("/logout", h.logout, append(r.ui, requireUser)...)
	r.view("/", h.dashboard)

	r.view("/settings", h.settingsIndex)
	r.admin(http.MethodGet, "/settings/users", h.usersPage)
	r.admin(http.MethodPost, "/settings/users", h.usersSave)
	r.admin(http.MethodPost, "/settings/users/:id/delete", h.userDelete)
	r.admin(http.MethodGet, "/settings/api-keys", h.apiKeysPage)
	r.admin(http.MethodPost, "/settings/api-keys", h.apiKeyCreate)
	r.admin(http.MethodPost, "/settings/api-keys/:id/revoke", h.apiKeyRevoke)
	r.admin(http.MethodGet, "/settings/senders", h.sendersPage)
	r.admin(http.MethodPost, "/settings/senders", h.senderSave)
	r.admin(http.MethodPost, "/settings/senders/:id/test", h.senderTest)
	r.view("/settings/setup", h.setupPage)
	r.admin(http.MethodGet, "/settings/opt-out", h.optOutPage)
	r.admin(http.MethodPost, "/settings/opt-out", h.optOutSave)

	r.apiRoute(http.MethodGet, "/me", h.apiMe, models.RoleViewer)

	// Each feature registers its own routes from its own file.
	h.webhooksRoutes(r)
	h.contactsRoutes(r)
	h.segmentsRoutes(r)
	h.templatesRoutes(r)
	h.campaignsRoutes(r)
	h.analyticsRoutes(r)
	h.transactionalRoutes(r)
}

func hstsMaxAge(https bool) int {
	if https {
		return int((365 * 24 * time.Hour).Seconds())
	}
	return 0
}

// requestLog writes one structured line per request, skipping static files
// and probes, which would drown the rest.
func (h *Handlers) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		path := c.Request().URL.Path
		if strings.HasPrefix(path, "/static/") || path == "/healthz" || path == "/readyz" || path == "/metrics" {
			return err
		}
		status := c.Response().Status
		if he, ok := err.(*echo.HTTPError); ok {
			status = he.Code
		}
		h.log.Debug("request", "method", c.Request().Method, "path", path, "status", status,
			"duration_ms", time.Since(start).Milliseconds())
		return err
	}
}

// apiMe tells an API caller which key it uses; handy to test a key.
func (h *Handlers) apiMe(c echo.Context) error {
	k := currentAPIKey(c)
	return c.JSON(http.StatusOK, map[string]any{"key": map[string]any{"id": k.ID, "name": k.Name, "role": k.Role}})
}
