package jobs_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// TestSimulatedCampaignFunnel sends a campaign through the simulator with
// human-like outcome shares, lets the simulator's real webhooks flow into
// the applier, records purchases for some readers and a holdout contact,
// and checks every funnel number exactly against the simulator's
// deterministic outcomes — and the kept counters against a full recount.
func TestSimulatedCampaignFunnel(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, simulator.Config{Seed: 11, TimeScale: 0, MPS: 0,
				Outcomes: simulator.Outcomes{NotOnWhatsApp: 0.05, Read: 0.6, TapQuickReply: 0.25}})
			applier := jobs.NewWebhookApplier(f.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
			var mu sync.Mutex
			hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				err := applier.Apply(r.Context(), body)
				mu.Unlock()
				if err != nil {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
			}))
			t.Cleanup(hooks.Close)
			f.sim.SetWebhookURL(hooks.URL)

			tmpl := templating.Template{Name: "funnel_offer", Language: "en_US", Category: "MARKETING", Body: "Hi {{1}}, 20% off today.",
				Buttons:   []templating.Button{{Type: "quick_reply", Text: "Show me"}},
				Variables: templating.Variables{Body: []templating.VariableMapping{{Field: "first_name", Fallback: "there"}}}}
			tmpl.Normalize()
			f.sim.AddTemplate(templating.Definition(tmpl, templating.DefinitionOptions{}), whatsapp.StatusApproved)
			templateID := f.storeTemplate(tmpl, models.TemplateApproved)

			f.contacts(eligible(300, 0))
			noConsent := eligible(12, 5000)
			for i := range noConsent {
				noConsent[i].optIn = false
			}
			f.contacts(noConsent)
			seg := f.segment(`{"all":[{"field":"country","op":"eq","value":"BR"}]}`)
			camp := f.campaign(templateID, []int64{seg}, func(c *models.Campaign) { c.HoldoutPercent = 10 })
			e := f.engine("funnel", jobs.EngineConfig{Unthrottled: true})
			if _, err := e.Launch(ctx, nil, camp.ID); err != nil {
				t.Fatal(err)
			}
			f.drain(ctx, e, 0)

			// What the simulator decided for each recipient.
			var want models.CampaignStats
			var readers, holdouts []ledgerRow
			for _, r := range f.ledger(camp.ID) {
				want.Targeted++
				switch r.Status {
				case models.MessageSkipped:
					want.SkippedNoConsent++
					continue
				case models.MessageHoldout:
					want.Holdout++
					holdouts = append(holdouts, r)
					continue
				}
				want.Sent++
				o := f.sim.OutcomeFor(r.ToPhone)
				if o.NotOnWhatsApp {
					want.Failed++
					continue
				}
				want.Delivered++
				if o.Read {
					want.Read++
					readers = append(readers, r)
					if o.Interaction == simulator.InteractionQuickReply {
						want.Tapped++
					}
				}
			}
			if want.Read < 50 || want.Holdout == 0 || want.Failed == 0 || want.Tapped == 0 {
				t.Fatalf("the simulated audience is too thin to test: %+v", want)
			}
			var got models.CampaignStats
			deadline := time.Now().Add(20 * time.Second)
			for {
				var err error
				if got, err = f.store.CampaignStats(ctx, camp.ID); err != nil {
					t.Fatal(err)
				}
				if (got.Sent == want.Sent && got.Delivered == want.Delivered && got.Read == want.Read &&
					got.Tapped == want.Tapped && got.Failed == want.Failed) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got.Targeted != want.Targeted || got.Sent != want.Sent || got.Delivered != want.Delivered || got.Read != want.Read ||
				got.Tapped != want.Tapped || got.Failed != want.Failed || got.Holdout != want.Holdout || got.SkippedNoConsent != want.SkippedNoConsent {
				t.Fatalf("funnel\n got  %+v\n want %+v", got, want)
			}

			// Purchases: every third reader buys once, the first of them twice
			// (revenue adds up, one conversion); one held-out contact buys too.
			var events []models.EventInput
			wantConv := models.ConversionCounts{}
			for i, r := range readers {
				if i%3 != 0 {
					continue
				}
				v := float64(10 + i)
				events = append(events, models.EventInput{ContactID: r.ContactID, Name: "purchase", Value: &v})
				wantConv.Converted++
				wantConv.Revenue += v
			}
			extra := 7.5
			events = append(events, models.EventInput{ContactID: readers[0].ContactID, Name: "purchase", Value: &extra})
			wantConv.Revenue += extra
			held := 20.0
			events = append(events, models.EventInput{ContactID: holdouts[0].ContactID, Name: "purchase", Value: &held})
			wantConv.HoldoutConverted, wantConv.HoldoutRevenue = 1, held
			// A signup is no conversion for a campaign counting purchases.
			events = append(events, models.EventInput{ContactID: readers[1].ContactID, Name: "signup"})
			if _, err := f.store.RecordEvents(ctx, events); err != nil {
				t.Fatal(err)
			}
			conv, err := f.store.CampaignConversions(ctx, camp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if conv != wantConv {
				t.Fatalf("conversions %+v, want %+v", conv, wantConv)
			}
			recount, err := f.store.RecountConversions(ctx, camp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if recount != conv {
				t.Fatalf("conversion counters %+v drifted from the recount %+v", conv, recount)
			}
			kept := f.checkCounters(camp.ID)
			if kept.Converted != wantConv.Converted {
				t.Fatalf("campaign_stats.converted = %d, want %d", kept.Converted, wantConv.Converted)
			}
			// Repairing from the ledger changes nothing.
			rebuilt, err := f.store.RebuildCampaignStats(ctx, camp.ID)
			if err != nil {
				t.Fatal(err)
			}
			after, _ := f.store.CampaignStats(ctx, camp.ID)
			rebuilt.Cost, after.Cost = 0, 0
			if after != rebuilt {
				b1, _ := json.Marshal(after)
				b2, _ := json.Marshal(rebuilt)
				t.Fatalf("rebuild changed the counters:\n%s\n%s", b1, b2)
			}
		})
	}
}
