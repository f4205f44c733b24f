package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/models"
)

// publicRoutes are the only routes an anonymous caller may use.
var publicRoutes = map[string]bool{
	"GET /login": true, "POST /login": true,
	"GET /healthz": true, "GET /readyz": true, "GET /metrics": true,
	"GET /static*": true, "HEAD /static*": true,
	"GET /webhooks/whatsapp": true, "POST /webhooks/whatsapp": true,
	"GET /r/:code":          true,
	"GET /api/openapi.yaml": true,
}

// TestEveryRouteRefusesAnonymous walks Echo's route table, so a route added
// later is covered without editing this test.
func TestEveryRouteRefusesAnonymous(t *testing.T) {
	t.Parallel()
	e := setup(t)
	checked := 0
	for _, r := range e.echo.Routes() {
		key := r.Method + " " + r.Path
		if publicRoutes[key] || strings.HasPrefix(r.Method, "echo_route") || r.Method == "RouteNotFound" {
			continue
		}
		path := strings.NewReplacer(":id", "1", ":code", "x", "*", "x").Replace(r.Path)
		path = replaceParams(path)
		req, _ := http.NewRequest(r.Method, e.srv.URL+path, strings.NewReader("a=b"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		checked++
		switch {
		case strings.HasPrefix(r.Path, "/api/"):
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: anonymous got %d, want 401", key, res.StatusCode)
			}
		case res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login"):
		case res.StatusCode == http.StatusForbidden || res.StatusCode == http.StatusUnauthorized:
		default:
			t.Errorf("%s: anonymous got %d (Location %q), want a refusal", key, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if checked < 8 {
		t.Fatalf("only %d routes checked; is the route table empty?", checked)
	}
}

// replaceParams fills any remaining :param with a plausible id.
func replaceParams(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "1"
		}
	}
	return strings.Join(parts, "/")
}

func TestSignInErrorsAreGeneric(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user(models.RoleMarketer)
	tests := []struct{ name, email, password string }{
		{"wrong password", "marketer@example.com", "not the password"},
		{"unknown e-mail", "ghost@example.com", "password-for-tests"},
	}
	var bodies []string
	for _, tt := range tests {
		c := e.anon()
		res := c.postForm("/login", url.Values{"email": {tt.email}, "password": {tt.password}})
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tt.name, res.StatusCode)
		}
		bodies = append(bodies, c.doc(res).Find(".flash-error").Text())
	}
	if bodies[0] == "" || bodies[0] != bodies[1] {
		t.Fatalf("errors differ or are empty: %q vs %q", bodies[0], bodies[1])
	}
}

func TestSignInRedirectsToRequestedPage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	if _, err := e.store.UpsertUser(context.Background(), "a@example.com", "password-for-tests", models.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	c := e.anon()
	res := c.get("/settings/users")
	if res.Request.URL.Path != "/login" || res.Request.URL.Query().Get("next") != "/settings/users" {
		t.Fatalf("anonymous /settings/users landed on %s", res.Request.URL)
	}
	res = c.postForm("/login", url.Values{"email": {"a@example.com"}, "password": {"password-for-tests"}, "next": {"/settings/users"}})
	if res.Request.URL.Path != "/settings/users" {
		t.Fatalf("after sign-in landed on %s, want /settings/users", res.Request.URL)
	}
	// An off-site next is ignored.
	c = e.anon()
	res = c.postForm("/login", url.Values{"email": {"a@example.com"}, "password": {"password-for-tests"}, "next": {"//evil.example/"}})
	if res.Request.URL.Host != strings.TrimPrefix(e.srv.URL, "http://") || res.Request.URL.Path != "/" {
		t.Fatalf("off-site next led to %s", res.Request.URL)
	}
}

func TestExpiredSessionGoesBackToSignIn(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u, err := e.store.UpsertUser(context.Background(), "old@example.com", "password-for-tests", models.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	// Forge a correctly signed session that was issued 8 days ago.
	cfg := config.Config{Secret: "test-secret-test-secret-test-secret"}
	store := sessions.NewCookieStore(cfg.Key("session-sign"), cfg.Key("session-encrypt"))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	sess, _ := store.New(req, "herald_session")
	sess.Values["uid"] = u.ID
	sess.Values["iat"] = time.Now().Add(-8 * 24 * time.Hour).Unix()
	if err := sess.Save(req, rec); err != nil {
		t.Fatal(err)
	}
	c := e.anon()
	base, _ := url.Parse(e.srv.URL)
	c.http.Jar.SetCookies(base, rec.Result().Cookies())
	res := c.get("/settings/api-keys")
	if res.Request.URL.Path != "/login" || res.Request.URL.Query().Get("next") != "/settings/api-keys" {
		t.Fatalf("expired session landed on %s, want sign-in with next", res.Request.URL)
	}
}

func TestForgedCSRFIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin := e.user(models.RoleAdmin)
	for _, token := range []string{"", "forged-token"} {
		form := url.Values{"email": {"intruder@example.com"}, "password": {"long enough password"}, "role": {"admin"}}
		if token != "" {
			form.Set("_csrf", token)
		}
		res := admin.postRaw("/settings/users", form)
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("token %q: status %d, want 403", token, res.StatusCode)
		}
	}
	if _, err := e.store.UserByEmail(context.Background(), "intruder@example.com"); err == nil {
		t.Fatal("a forged request created a user")
	}
}

func TestRolesAreEnforcedOnTheServer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		role       models.Role
		method     string
		path       string
		wantStatus int
	}{
		{models.RoleViewer, http.MethodGet, "/", http.StatusOK},
		{models.RoleViewer, http.MethodGet, "/settings/users", http.StatusForbidden},
		{models.RoleViewer, http.MethodPost, "/settings/api-keys", http.StatusForbidden},
		{models.RoleMarketer, http.MethodGet, "/settings/users", http.StatusForbidden},
		{models.RoleAdmin, http.MethodGet, "/settings/users", http.StatusOK},
	}
	for _, tt := range tests {
		c := e.user(tt.role)
		var res *http.Response
		if tt.method == http.MethodGet {
			res = c.get(tt.path)
		} else {
			res = c.postForm(tt.path, url.Values{"name": {"x"}, "role": {"admin"}})
		}
		if res.StatusCode != tt.wantStatus {
			t.Errorf("%s %s %s: status %d, want %d", tt.role, tt.method, tt.path, res.StatusCode, tt.wantStatus)
		}
	}
	keys, _ := e.store.ListAPIKeys(context.Background())
	if len(keys) != 0 {
		t.Fatalf("a viewer created %d API key(s)", len(keys))
	}
}

func TestAPIKeyAuthentication(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, key, err := e.store.CreateAPIKey(context.Background(), "test", models.RoleViewer, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, auth string
		want       int
		wantCode   string
	}{
		{"no header", "", http.StatusUnauthorized, "unauthorized"},
		{"unknown key", "Bearer hrld_nope", http.StatusUnauthorized, "invalid_api_key"},
		{"valid key", "Bearer " + key, http.StatusOK, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/me", nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != tt.want || body.Error.Code != tt.wantCode {
			t.Errorf("%s: %d %q, want %d %q", tt.name, res.StatusCode, body.Error.Code, tt.want, tt.wantCode)
		}
		if tt.want == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: content type %q, want JSON", tt.name, res.Header.Get("Content-Type"))
		}
	}
}

func TestFormErrorsShowNextToTheField(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin := e.user(models.RoleAdmin)
	res := admin.postForm("/settings/users", url.Values{"email": {"bad"}, "password": {"short"}, "role": {"admin"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.StatusCode)
	}
	doc := admin.doc(res)
	for _, field := range []string{"email", "password"} {
		if doc.Find("#e-"+field).Length() != 1 {
			t.Errorf("no error shown next to %s", field)
		}
		if v, _ := doc.Find("#f-" + field).Attr("aria-invalid"); v != "true" {
			t.Errorf("%s is not marked invalid", field)
		}
	}
	if doc.Find("#e-role").Length() != 0 {
		t.Error("role is valid but shows an error")
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	res := e.anon().get("/login")
	for header, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := res.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q allows too much", csp)
	}
	var session *http.Cookie
	for _, ck := range e.user(models.RoleViewer).http.Jar.Cookies(mustURL(e.srv.URL)) {
		if ck.Name == "herald_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie after sign-in")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if res := e.anon().get(path); res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	_ = e.store.Close()
	if res := e.anon().get("/readyz"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed: %d, want 503", res.StatusCode)
	}
}
