package handlers

import (
	"encoding/gob"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/auth"
	"github.com/heraldhq/herald/views/layout"
)

const (
	sessionName     = "herald_session"
	sessionLifetime = 7 * 24 * time.Hour
	sameSiteLax     = http.SameSiteLaxMode
	ctxUser         = "herald.user"
	ctxAPIKey       = "herald.apikey"
)

func init() {
	// Flashes are stored in the session cookie with gob.
	gob.Register(layout.Flash{})
}

// currentUser is the signed-in user of this request, nil when anonymous.
func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(ctxUser).(*models.User)
	return u
}

// loadUser reads the session cookie and, when it names a live user, puts the
// user in the context. Roles are read from the database on each request, so
// a demotion or removal takes effect at once.
func (h *Handlers) loadUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, err := h.sessions.Get(c.Request(), sessionName)
		if err == nil {
			if id, ok := sess.Values["uid"].(int64); ok {
				issued, _ := sess.Values["iat"].(int64)
				if time.Since(time.Unix(issued, 0)) < sessionLifetime {
					if u, err := h.store.UserByID(c.Request().Context(), id); err == nil {
						c.Set(ctxUser, u)
					}
				}
			}
		}
		return next(c)
	}
}

// requireUser sends anonymous browsers to sign in, remembering the page
// they asked for; htmx requests get HX-Redirect so the whole page moves.
func requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) != nil {
			return next(c)
		}
		target := "/login"
		if c.Request().Method == http.MethodGet {
			target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		}
		if c.Request().Header.Get("HX-Request") == "true" {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// need refuses users and API keys whose role is below role.
func need(role models.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var have models.Role
			if u := currentUser(c); u != nil {
				have = u.Role
			} else if k := currentAPIKey(c); k != nil {
				have = k.Role
			}
			if !have.Allows(role) {
				return echo.NewHTTPError(http.StatusForbidden, "Your role ("+string(have)+") may not do this; ask an admin for the "+string(role)+" role.")
			}
			return next(c)
		}
	}
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (h *Handlers) loginPage(c echo.Context) error {
	if currentUser(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	p := h.page(c, "Sign in", "")
	return render(c, http.StatusOK, auth.Login(p, auth.LoginView{Next: safeNext(c.QueryParam("next"))}), nil)
}

func (h *Handlers) loginSubmit(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	next := safeNext(c.FormValue("next"))
	u, err := h.store.Authenticate(c.Request().Context(), email, c.FormValue("password"), c.RealIP(), h.login)
	if err != nil {
		vm := auth.LoginView{Email: email, Next: next}
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, models.ErrBadCredentials):
			vm.Error = "Wrong e-mail or password."
		case errors.Is(err, models.ErrThrottled):
			vm.Error = "Too many failed attempts. Wait a minute, then try again."
			status = http.StatusTooManyRequests
		default:
			return err
		}
		return render(c, status, auth.Login(h.page(c, "Sign in", ""), vm), nil)
	}
	sess, _ := h.sessions.Get(c.Request(), sessionName)
	// A fresh session at sign-in: nothing set before it carries over.
	sess.Values = map[any]any{"uid": u.ID, "iat": time.Now().Unix()}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	h.log.Info("signed in", "user", u.Email, "ip", c.RealIP())
	return c.Redirect(http.StatusSeeOther, next)
}

func (h *Handlers) logout(c echo.Context) error {
	sess, _ := h.sessions.Get(c.Request(), sessionName)
	sess.Values = map[any]any{}
	sess.Options.MaxAge = -1
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// flash queues a message for the next page the user sees.
func (h *Handlers) flash(c echo.Context, kind, message string) {
	sess, err := h.sessions.Get(c.Request(), sessionName)
	if err != nil {
		return
	}
	sess.AddFlash(layout.Flash{Kind: kind, Message: message})
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		h.log.Warn("save flash", "err", err)
	}
}

func (h *Handlers) takeFlashes(c echo.Context) []layout.Flash {
	sess, err := h.sessions.Get(c.Request(), sessionName)
	if err != nil {
		return nil
	}
	raw := sess.Flashes()
	if len(raw) == 0 {
		return nil
	}
	out := make([]layout.Flash, 0, len(raw))
	for _, f := range raw {
		if fl, ok := f.(layout.Flash); ok {
			out = append(out, fl)
		}
	}
	_ = sess.Save(c.Request(), c.Response())
	return out
}
