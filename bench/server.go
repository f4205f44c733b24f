package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
)

// webServer is Herald's real router on loopback over a bench schema.
type webServer struct {
	URL       string
	AppSecret string
	srv       *http.Server
}

// startWeb serves Herald's handlers (the same Register as `herald serve`)
// on a loopback port. Background workers do not run: the load measures the
// web tier.
func (b *bench) startWeb(store *models.Store) (*webServer, error) {
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		return nil, err
	}
	cfg.Secret = "bench-secret-bench-secret-bench-secret"
	if err := store.UseCredentialKey(cfg.Key("credentials")); err != nil {
		return nil, err
	}
	e := echo.New()
	handlers.New(handlers.Deps{Config: cfg, Store: store, Runner: jobs.New(store, b.quiet), Log: b.quiet}).Register(e)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	ws := &webServer{URL: "http://" + ln.Addr().String(), AppSecret: cfg.WhatsApp.AppSecret, srv: srv}
	b.cleanups = append(b.cleanups, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ws, nil
}

var csrfInput = regexp.MustCompile(`name="_csrf"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="_csrf"`)

// signIn returns an HTTP client with a signed-in session of email.
func (ws *webServer) signIn(email, password string, transport http.RoundTripper) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second}
	res, err := c.Get(ws.URL + "/login")
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return nil, errors.New("no CSRF token on /login")
	}
	token := string(m[1]) + string(m[2])
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {token}}
	res, err = c.Post(ws.URL+"/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" {
		return nil, fmt.Errorf("sign in as %s: status %d at %s", email, res.StatusCode, res.Request.URL.Path)
	}
	return c, nil
}
