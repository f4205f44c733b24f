package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// TestCampaignFromTemplateAndSegment is the marketer's main journey: with an
// approved template and a segment in place, compose a campaign in one
// screen, confirm, launch, and watch it complete; the simulated Cloud API
// then holds exactly one message per contact.
func TestCampaignFromTemplateAndSegment(t *testing.T) {
	t.Parallel()
	sim := simulator.New(simulator.Config{Seed: 3, TimeScale: 0, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	simURL, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cfg := sim.Config()
	s := startServer(t, "", "WHATSAPP_API_URL="+simURL, "WHATSAPP_TOKEN="+cfg.Token,
		"WHATSAPP_PHONE_NUMBER_ID="+cfg.PhoneNumberID, "WHATSAPP_WABA_ID="+cfg.WABAID, "WHATSAPP_APP_SECRET="+cfg.AppSecret)

	// Seed what a marketer would already have: an approved template (at
	// Meta and in Herald), contacts and a segment.
	ctx := context.Background()
	store, err := models.Open(ctx, s.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sim.AddTemplate(whatsapp.TemplateDefinition{Name: "order_update", Language: "en_US", Category: whatsapp.CategoryUtility,
		Components: []whatsapp.TemplateComponent{{Type: whatsapp.TemplateBody, Text: "Hello {{1}}, your order is on its way.",
			Example: &whatsapp.TemplateExample{BodyText: [][]string{{"Ana"}}}}}}, whatsapp.StatusApproved)
	tmpl := &models.Template{WABAID: cfg.WABAID, Name: "order_update", Language: "en_US", Category: "UTILITY", Status: models.TemplateApproved,
		Body: "Hello {{1}}, your order is on its way.", Variables: `{"body":[{"field":"first_name","fallback":"there"}]}`}
	if err := store.CreateTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	const contacts = 25
	now := time.Now().UTC()
	for i := range contacts {
		err := store.DB(ctx).Exec(`INSERT INTO contacts (phone, first_name, country, timezone, marketing_opt_in, tags, created_at, updated_at)
			VALUES (?, 'Ana', 'BR', 'America/Sao_Paulo', TRUE, '["customers"]', ?, ?)`, fmt.Sprintf("+5511955%06d", i), now, now).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	seg, err := store.CreateSegment(ctx, models.SegmentInput{Name: "Customers"})
	if err != nil {
		t.Fatal(err)
	}

	p := newPage(t)
	p.signIn(s, s.Email, s.Pass)
	p.open(fmt.Sprintf("%s/campaigns/new?template_id=%d&segment_id=%d", s.URL, tmpl.ID, seg.ID))
	p.waitVisible("#campaign-form")
	p.fill("#f-name", "Shipping update")
	p.screenshot("campaign-composer")
	p.click("#campaign-form button[type=submit]")
	p.waitVisible("#launch")
	if stats := p.text(".stats"); !strings.Contains(stats, "25") {
		t.Fatalf("confirmation does not show the 25 contacts: %q", stats)
	}
	p.screenshot("campaign-confirm")
	p.click("#launch")
	p.waitVisible("#campaign-progress")
	p.waitText("#campaign-status", "completed")
	p.screenshot("campaign-completed")

	got := map[string]int{}
	for _, r := range sim.Received() {
		got[r.To]++
	}
	if len(got) != contacts {
		t.Fatalf("the simulator received messages for %d contacts, want %d", len(got), contacts)
	}
	for to, n := range got {
		if n != 1 {
			t.Errorf("%s received %d messages", to, n)
		}
	}
}
