package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// env is a running Herald HTTP server on a fresh database.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	echo  *echo.Echo
	store *models.Store
	db    testdb.DB
}

func setup(t *testing.T) *env {
	t.Helper()
	return setupOn(t, testdb.SQLite(t))
}

func setupOn(t *testing.T, db testdb.DB) *env {
	t.Helper()
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secret = "test-secret-test-secret-test-secret"
	if err := db.Store.UseCredentialKey(cfg.Key("credentials")); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := echo.New()
	runner := jobs.New(db.Store, log)
	handlers.New(handlers.Deps{Config: cfg, Store: db.Store, Runner: runner, Log: log}).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, echo: e, store: db.Store, db: db}
}

// user creates a user with role and returns a client signed in as them.
func (e *env) user(role models.Role) *client {
	e.t.Helper()
	email := string(role) + "@example.com"
	if _, err := e.store.UpsertUser(context.Background(), email, "password-for-tests", role); err != nil {
		e.t.Fatal(err)
	}
	c := e.anon()
	res := c.postForm("/login", url.Values{"email": {email}, "password": {"password-for-tests"}})
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" {
		e.t.Fatalf("sign in as %s: status %d at %s", role, res.StatusCode, res.Request.URL)
	}
	return c
}

// anon is a browser-like client with a cookie jar and no session.
func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.srv.URL, http: &http.Client{Jar: jar}}
}

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *client) get(path string) *http.Response {
	c.t.Helper()
	res, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { res.Body.Close() })
	return res
}

// csrf fetches a page and returns the token its forms carry.
func (c *client) csrf(path string) string {
	c.t.Helper()
	doc := c.doc(c.get(path))
	token, _ := doc.Find(`input[name="_csrf"]`).First().Attr("value")
	if token == "" {
		c.t.Fatalf("no CSRF token on %s", path)
	}
	return token
}

// postForm submits a form the way the page would, with its CSRF token.
func (c *client) postForm(path string, form url.Values) *http.Response {
	c.t.Helper()
	tokenPage := "/login"
	if path != "/login" {
		tokenPage = "/settings"
	}
	form.Set("_csrf", c.csrf(tokenPage))
	return c.postRaw(path, form)
}

// postRaw submits a form as given, without adding a token.
func (c *client) postRaw(path string, form url.Values) *http.Response {
	c.t.Helper()
	res, err := c.http.Post(c.base+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { res.Body.Close() })
	return res
}

func (c *client) doc(res *http.Response) *goquery.Document {
	c.t.Helper()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return doc
}
