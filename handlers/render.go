package handlers

import (
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/heraldhq/herald/views/layout"
)

// isHTMX tells an htmx request (which wants a fragment) from a page load.
func isHTMX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-Boosted") != "true"
}

// render writes the full page, or only fragment when htmx asked and a
// fragment is given.
func render(c echo.Context, status int, page templ.Component, fragment templ.Component) error {
	component := page
	if fragment != nil && isHTMX(c) {
		component = fragment
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return component.Render(c.Request().Context(), c.Response())
}

// page builds the shell's view model for the current request; it also
// takes the session's pending flash messages.
func (h *Handlers) page(c echo.Context, title, active string) layout.Page {
	p := layout.Page{Title: title, Active: active, CSRF: csrfToken(c)}
	if u := currentUser(c); u != nil {
		p.User = &layout.User{Email: u.Email, Role: string(u.Role)}
	}
	p.Flashes = h.takeFlashes(c)
	return p
}

func csrfToken(c echo.Context) string {
	token, _ := c.Get(middleware.DefaultCSRFConfig.ContextKey).(string)
	return token
}

// redirect answers a form post: a normal 303 for browsers, HX-Redirect for htmx.
func redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
