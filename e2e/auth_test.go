package e2e

import (
	"strings"
	"testing"
)

// TestSignInDashboardRoleAndSignOut is the first journey: an admin signs
// in, sees the dashboard and adds a viewer; the viewer is refused the admin
// pages by the server; both sign out.
func TestSignInDashboardRoleAndSignOut(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dbURL := ""
			if db == "postgres" {
				dbURL = postgresURL(t)
			}
			s := startServer(t, dbURL)
			p := newPage(t)
			p.signIn(s, s.Email, s.Pass)
			p.screenshot("dashboard")
			if h := p.text("main.content h1"); h != "Dashboard" {
				t.Fatalf("after sign-in the heading is %q, want Dashboard", h)
			}
			nav := p.text("nav[aria-label=Main]")
			for _, section := range []string{"Contacts", "Segments", "Templates", "Campaigns", "Analytics", "Settings"} {
				if !strings.Contains(nav, section) {
					t.Errorf("navigation lacks %s: %q", section, nav)
				}
			}

			p.open(s.URL + "/settings/users")
			p.waitVisible("#user-form")
			p.fill("#user-form #f-email", "viewer@example.com")
			p.fill("#user-form #f-password", "viewer-password-1")
			p.setValue("#user-form #f-role", "viewer")
			p.click("#user-form button[type=submit]")
			p.waitText("table", "viewer@example.com")
			p.signOut(s)

			v := newPage(t)
			v.signIn(s, "viewer@example.com", "viewer-password-1")
			v.open(s.URL + "/settings/users")
			v.waitVisible(".error-box")
			if body := v.text(".error-box"); !strings.Contains(body, "403") {
				t.Fatalf("viewer on /settings/users saw %q, want a 403", body)
			}
			v.signOut(s)
		})
	}
}

// TestWrongPasswordShowsGenericError checks the sign-in form's refusal.
func TestWrongPasswordShowsGenericError(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	p := newPage(t)
	p.open(s.URL + "/login")
	p.fill("#f-email", s.Email)
	p.fill("#f-password", "not-the-password")
	p.click("form.login-form button[type=submit]")
	p.waitText(".flash-error", "Wrong e-mail or password")
}

func (p *page) signOut(s *server) {
	p.t.Helper()
	p.open(s.URL + "/")
	p.click(".whoami button[type=submit]")
	p.waitVisible("#f-email")
	if url := p.location(); !strings.Contains(url, "/login") {
		p.t.Fatalf("after sign-out at %s, want /login", url)
	}
}
