package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/heraldhq/herald/models"
)

// Routes a viewer may POST: they change nothing (sign out, and previews
// that render a fragment from the posted form). The database snapshot
// taken around the walk proves they changed nothing.
var viewerMayPost = map[string]bool{
	"POST /logout": true, "POST /login": true, "POST /api/v1/segments/preview": true,
}

// routeParams fills a route's parameters with ids of rows the world has.
var routeParams = strings.NewReplacer(":id", "1", ":code", "x", "*", "x")

// browser is a signed-in session with its cookie jar.
type browser struct {
	t    *testing.T
	base string
	http *http.Client
}

func signIn(t *testing.T, site *web, store *models.Store, email string, role models.Role) *browser {
	t.Helper()
	if _, err := store.UpsertUser(context.Background(), email, "reliability-password", role); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: site.srv.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.get("/login")
	res := b.post("/login", url.Values{"email": {email}, "password": {"reliability-password"}, "_csrf": {b.csrf()}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", role, res.StatusCode)
	}
	return b
}

// csrf is the session's CSRF token (Echo keeps it in the herald_csrf cookie).
func (b *browser) csrf() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == "herald_csrf" {
			return c.Value
		}
	}
	b.t.Fatal("no CSRF cookie")
	return ""
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	res, err := b.http.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	return b.do(http.MethodPost, path, form)
}

func (b *browser) do(method, path string, form url.Values) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// dbFingerprint summarises every table a request could change.
func dbFingerprint(t *testing.T, store *models.Store) string {
	t.Helper()
	var parts []string
	// Sign-ins and key use stamp last_login/last_used: not a change of state.
	for _, table := range []string{"contacts", "segments", "templates", "campaigns", "messages", "(SELECT id, email, role FROM users)",
		"(SELECT id, name, role, revoked_at FROM api_keys)", "senders", "settings", "imports", "consent_events"} {
		var s string
		if err := store.DB(context.Background()).Raw("SELECT COUNT(*) || ':' || COALESCE(MD5(STRING_AGG(t::text, '|' ORDER BY t::text)), '') FROM " + table + " t").
			Scan(&s).Error; err != nil {
			t.Fatal(err)
		}
		parts = append(parts, table+"="+s)
	}
	return strings.Join(parts, " ")
}

// TestAccessControlWalk walks Echo's route table (so routes added later
// are covered) and proves: every state-changing browser route refuses a
// signed-in admin's request without a CSRF token (403); a viewer is refused
// (403) on every state-changing browser and API route even with a valid
// token or key; and nothing in the database changed. Anonymous access to
// every route is walked by handlers.TestEveryRouteRefusesAnonymous.
func TestAccessControlWalk(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3)
	site := newWeb(t, w.store, "")
	admin := signIn(t, site, w.store, "admin@example.com", models.RoleAdmin)
	viewer := signIn(t, site, w.store, "viewer@example.com", models.RoleViewer)
	_, viewerKey, err := w.store.CreateAPIKey(context.Background(), "viewer key", models.RoleViewer, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := dbFingerprint(t, w.store)
	var csrfChecked, viewerChecked int
	for _, r := range site.echo.Routes() {
		key := r.Method + " " + r.Path
		if r.Method == http.MethodGet || r.Method == http.MethodHead || strings.HasPrefix(r.Method, "echo_route") ||
			r.Method == "RouteNotFound" || strings.HasPrefix(r.Path, "/webhooks/") || key == "POST /login" {
			continue
		}
		path := routeParams.Replace(r.Path)
		form := url.Values{"name": {"changed"}, "status": {"archived"}, "role": {"admin"}, "email": {"x@example.com"}}
		if strings.HasPrefix(r.Path, "/api/") {
			req, _ := http.NewRequest(r.Method, site.srv.URL+path, strings.NewReader(`{"name":"changed"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+viewerKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if viewerMayPost[key] {
				if res.StatusCode >= 500 {
					t.Errorf("%s with a viewer API key: %d", key, res.StatusCode)
				}
				continue
			}
			viewerChecked++
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("%s with a viewer API key: %d, want 403", key, res.StatusCode)
			}
			continue
		}
		if key != "POST /logout" {
			csrfChecked++
			if res := admin.do(r.Method, path, form); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s as admin without a CSRF token: %d, want 403", key, res.StatusCode)
			}
		}
		if viewerMayPost[key] {
			continue
		}
		withToken := url.Values{"_csrf": {viewer.csrf()}}
		for k, v := range form {
			withToken[k] = v
		}
		viewerChecked++
		if res := viewer.do(r.Method, path, withToken); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s as viewer with a CSRF token: %d, want 403", key, res.StatusCode)
		}
	}
	if csrfChecked < 30 || viewerChecked < 40 {
		t.Fatalf("walked only %d CSRF and %d viewer routes; is the route table empty?", csrfChecked, viewerChecked)
	}
	if after := dbFingerprint(t, w.store); after != before {
		t.Errorf("the walk changed the database:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("%d state-changing browser routes refuse a missing CSRF token; %d browser and API routes refuse a viewer", csrfChecked, viewerChecked)
}

// TestHostileValuesAreInert proves: SQL-like values in segment rules and
// in the contact search are data, not SQL; HTML in contact names and in
// template values is escaped on every page that shows it.
func TestHostileValuesAreInert(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3)
	ctx := context.Background()
	site := newWeb(t, w.store, "")
	const script = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	if err := w.store.DB(ctx).Exec("UPDATE contacts SET first_name = ?, last_name = ? WHERE id = 1", script, script).Error; err != nil {
		t.Fatal(err)
	}
	if err := w.store.DB(ctx).Exec("UPDATE campaigns SET template_values = ? WHERE id = ?",
		`{"1":"`+strings.ReplaceAll(script, `"`, `\"`)+`"}`, w.campaign.ID).Error; err != nil {
		t.Fatal(err)
	}
	viewer := signIn(t, site, w.store, "viewer@example.com", models.RoleViewer)
	before := dbFingerprint(t, w.store)
	for _, rules := range []string{
		`{"field":"first_name","op":"eq","value":"' OR '1'='1"}`,
		`{"field":"first_name","op":"contains","value":"'; DROP TABLE contacts; --"}`,
		`{"field":"tags","op":"contains","value":"\") OR 1=1 --"}`,
		`{"field":"attributes.plan\"; DROP TABLE contacts; --","op":"eq","value":"x"}`,
	} {
		total, _, err := w.store.CountSegment(ctx, json.RawMessage(rules))
		if err != nil && !errors.Is(err, models.ErrInvalid) {
			t.Errorf("rules %s: %v (want a count or ErrInvalid)", rules, err)
		}
		if total != 0 {
			t.Errorf("rules %s matched %d contacts", rules, total)
		}
	}
	for _, q := range []string{"' OR 1=1 --", "%' OR '%'='", "'; DROP TABLE contacts; --", `\`, "%_%"} {
		code, body := viewer.get("/contacts?q=" + url.QueryEscape(q))
		if code != http.StatusOK {
			t.Errorf("search %q: %d", q, code)
		}
		if strings.Contains(body, "person") || strings.Contains(body, "+5511900000002") {
			t.Errorf("search %q listed contacts it does not match", q)
		}
	}
	raw := regexp.MustCompile(`<script>alert|<img src=x onerror`)
	pages := []string{"/contacts", "/contacts/1", "/segments/1", "/campaigns/" + itoa(w.campaign.ID), "/campaigns", "/"}
	shown := 0
	for _, p := range pages {
		code, body := viewer.get(p)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
			continue
		}
		if raw.MatchString(body) {
			t.Errorf("GET %s shows unescaped HTML from a contact or a template value", p)
		}
		if strings.Contains(body, "&lt;script&gt;alert") {
			shown++
		}
	}
	if shown < 2 {
		t.Errorf("the hostile name is shown escaped on only %d pages; the check did not look at it", shown)
	}
	if after := dbFingerprint(t, w.store); after != before {
		t.Errorf("hostile values changed the database")
	}
}

func itoa(n int64) string { return jsonNumber(n) }

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
