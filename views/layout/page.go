// Package layout is the app shell every page renders inside: the HTML head,
// the navigation, flash messages and the CSRF token that htmx sends.
package layout

// Page is what the shell needs to know about the request.
type Page struct {
	Title   string
	Active  string // navigation key of the current section
	User    *User  // nil on the sign-in page
	CSRF    string
	Flashes []Flash
}

// User is the signed-in user as the shell shows it.
type User struct {
	Email string
	Role  string
}

// CanEdit reports whether the user may change audiences, templates and
// campaigns; the server enforces it, the UI only hides what would be refused.
func (u *User) CanEdit() bool { return u != nil && (u.Role == "marketer" || u.Role == "admin") }

// IsAdmin reports whether the user may manage users, senders and keys.
func (u *User) IsAdmin() bool { return u != nil && u.Role == "admin" }

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind    string // "success", "error" or "info"
	Message string
}

// NavItem is one entry of the main navigation.
type NavItem struct {
	Key, Label, Href, Icon string
}

// Nav lists the sections in the order marketers use them.
var Nav = []NavItem{
	{"dashboard", "Dashboard", "/", "◧"},
	{"contacts", "Contacts", "/contacts", "☺"},
	{"segments", "Segments", "/segments", "◎"},
	{"templates", "Templates", "/templates", "✉"},
	{"campaigns", "Campaigns", "/campaigns", "➤"},
	{"transactional", "Transactional", "/transactional", "⚡"},
	{"analytics", "Analytics", "/analytics", "▤"},
	{"settings", "Settings", "/settings", "⚙"},
}

func csrfHeaders(token string) string {
	return `{"X-CSRF-Token": "` + token + `"}`
}
