package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
)

// TestBuildTwoGroupSegment builds a segment with a condition and a nested
// group in the rule builder and watches the live count follow each change.
func TestBuildTwoGroupSegment(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	store, err := models.Open(context.Background(), s.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now().UTC()
	for _, c := range [][3]string{{"+5511900000001", "BR", `["vip"]`}, {"+5511900000002", "BR", `[]`},
		{"+5215500000003", "MX", `["vip"]`}, {"+14155550004", "US", `[]`}} {
		err := store.DB(context.Background()).Exec(`INSERT INTO contacts (phone, country, tags, marketing_opt_in, created_at, updated_at)
			VALUES (?, ?, ?, TRUE, ?, ?)`, c[0], c[1], c[2], now, now).Error
		if err != nil {
			t.Fatal(err)
		}
	}

	p := newPage(t)
	p.signIn(s, s.Email, s.Pass)
	p.open(s.URL + "/segments/new")
	count := "#segment-preview .stat-value"
	p.waitText(count, "4")

	// First group (the root): country is any of BR.
	p.click(`#f-r-group .rule-actions button:first-child`)
	p.waitVisible(`input[name="r.0.value"]`)
	p.fill(`input[name="r.0.value"]`, "BR")
	p.waitText(count, "2")

	// Second group: any of — tags include vip.
	p.click(`#f-r-group > .rule-group-head .rule-actions button:nth-child(2)`)
	p.waitVisible(`#f-r-1-group select[name="r.1.0.field"]`)
	choose(p, `select[name="r.1.0.field"]`, "tags")
	// Wait for the builder to come back for the tags field (its value box asks
	// for comma-separated tags) before typing, or the swap would eat the text.
	p.waitJS(`document.querySelector('input[name="r.1.0.value"]') !== null &&
		document.querySelector('input[name="r.1.0.value"]').placeholder === "comma-separated"`)
	p.fill(`input[name="r.1.0.value"]`, "vip")
	p.waitJS(fmt.Sprintf(`document.querySelector(%q).innerText.trim() === "1"`, count))

	// Switching the root to "any" widens it to BR or vip.
	choose(p, `select[name="r.t"]`, "any")
	p.waitJS(fmt.Sprintf(`document.querySelector(%q).innerText.trim() === "3"`, count))
	p.screenshot("builder")

	p.fill(`#f-name`, "LatAm or VIP")
	p.click(`#segment-form > button[type="submit"]`)
	p.waitVisible(".flash-success")
	if h := p.text("h1"); h != "LatAm or VIP" {
		t.Fatalf("saved page heading %q", h)
	}
	segs, err := store.ListSegments(context.Background())
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v, %v", segs, err)
	}
	if total, _, err := store.CountSavedSegment(context.Background(), segs[0].ID); err != nil || total != 3 {
		t.Fatalf("saved segment counts %d, %v", total, err)
	}
}

// choose picks an option the way a person does, firing change so htmx
// re-renders the builder.
func choose(p *page, css, value string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`(function(){var e=document.querySelector(%q);e.value=%q;e.dispatchEvent(new Event("change",{bubbles:true}));return true})()`, css, value))
}
