package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldhq/herald/models"
)

// contactPages are the contact list pages the contacts scenario times: the
// list itself and the searches and filters people type, against the
// generated audience (first names from a list of ten, last names Test<g>,
// e-mails person<g>@example.com, numbers in eight countries).
func contactPages(n int) []struct{ label, query string } {
	return []struct{ label, query string }{
		{"list", ""},
		{"list page 20", "page=20"},
		{"common first name", "q=maria"},
		{"rare surname", fmt.Sprintf("q=Test%d", n*2/3+1)},
		{"e-mail fragment", "q=person12"},
		{"e-mail fragment, rare", fmt.Sprintf("q=person%d%%40", n*3/5+7)},
		{"phone fragment", "q=98765"},
		{"phone as typed", "q=" + url.QueryEscape("(11) 9000-1234")},
		{"tag", "tag=vip"},
		{"rare tag", "tag=churn-risk"},
		{"name and tag", "q=maria&tag=vip"},
		{"status", "status=unreachable"},
	}
}

// contactsScenario times the contact list page and its searches at the
// audience's size through the real router (the page a person sees: rows,
// count, filter menus, HTML), each the median of 5 after a warm-up. The
// baseline is the least such a page can cost: the newest 50 contacts by
// primary key, straight from Postgres.
func (b *bench) contactsScenario(ws *webServer, store *models.Store, n int) error {
	if _, err := store.UpsertUser(b.ctx, "contacts@example.com", "bench-password", models.RoleViewer); err != nil {
		return err
	}
	c, err := ws.signIn("contacts@example.com", "bench-password", nil)
	if err != nil {
		return err
	}
	median := func(fn func() error) (time.Duration, error) {
		if err := fn(); err != nil { // warm-up
			return 0, err
		}
		return medianTime(5, fn)
	}
	pages := contactPages(n)
	b.step("contacts: timing %d list pages and searches over %d contacts", len(pages), n)
	var worst time.Duration
	var worstLabel string
	var notes []string
	for _, p := range pages {
		d, err := median(func() error {
			res, err := c.Get(ws.URL + "/contacts?" + p.query)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("GET /contacts?%s: %d", p.query, res.StatusCode)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if d > worst {
			worst, worstLabel = d, p.label
		}
		label := p.label
		if query, _ := url.QueryUnescape(p.query); query != "" {
			label += " (" + strings.TrimPrefix(query, "q=") + ")"
		}
		notes = append(notes, label+" "+fmtDur(d))
	}
	base, err := median(func() error {
		var rows []models.Contact
		return store.DB(b.ctx).Raw("SELECT * FROM contacts ORDER BY id DESC LIMIT 50").Scan(&rows).Error
	})
	if err != nil {
		return err
	}
	b.add(row{Scenario: fmt.Sprintf("contact list and search, %dk contacts", n/1000),
		Measured: fmtDur(worst) + " slowest (" + worstLabel + ")", Baseline: fmtDur(base) + " newest 50 by primary key",
		Ratio: ratio(base.Seconds(), worst.Seconds()), Target: "< 100 ms each", Pass: pass(worst < 100*time.Millisecond),
		Value: worst.Seconds() * 1000, Base: base.Seconds() * 1000,
		Notes: "GET /contacts through the real router, median of 5 warm loads each: " + strings.Join(notes, ", ")})
	return nil
}
