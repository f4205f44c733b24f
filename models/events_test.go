package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// attrFixture builds campaigns and ledger rows by hand, so each test states
// exactly when a message was read or tapped.
type attrFixture struct {
	t     *testing.T
	store *models.Store
	base  time.Time
	n     int
}

func (f *attrFixture) contact() int64 {
	f.t.Helper()
	f.n++
	var id int64
	now := time.Now().UTC()
	err := f.store.DB(context.Background()).Raw(`INSERT INTO contacts (phone, marketing_opt_in, created_at, updated_at) VALUES (?, TRUE, ?, ?) RETURNING id`,
		fmt.Sprintf("+5531%09d", f.n), now, now).Scan(&id).Error
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// campaign makes a campaign with the given window and conversion events.
func (f *attrFixture) campaign(days int, events ...string) int64 {
	f.t.Helper()
	ctx := context.Background()
	c := &models.Campaign{Name: "attr", SegmentIDs: []int64{1}, Schedule: models.Schedule{Type: models.ScheduleNow}}
	if err := f.store.CreateCampaign(ctx, c); err != nil {
		f.t.Fatal(err)
	}
	if len(events) > 0 || days > 0 {
		if err := f.store.SetCampaignAttribution(ctx, c.ID, days, events); err != nil {
			f.t.Fatal(err)
		}
	}
	return c.ID
}

// message adds a ledger row; read/tapped are offsets from base (nil = never).
func (f *attrFixture) message(campaignID, contactID int64, status string, read, tapped *time.Duration) int64 {
	f.t.Helper()
	at := func(d *time.Duration) any {
		if d == nil {
			return nil
		}
		return f.base.Add(*d)
	}
	var id int64
	err := f.store.DB(context.Background()).Raw(`INSERT INTO messages (campaign_id, contact_id, status, send_after, sent_at, read_at, tapped_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, campaignID, contactID, status, f.base, at(read), at(read), at(tapped), f.base, f.base).Scan(&id).Error
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func hours(h float64) *time.Duration { d := time.Duration(h * float64(time.Hour)); return &d }

func money(v float64) *float64 { return &v }

func TestEventAttribution(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := &attrFixture{t: t, store: db.Store, base: time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(time.Second)}
			record := func(contact int64, name string, value float64, at time.Duration, key string) models.EventResult {
				t.Helper()
				res, err := db.Store.RecordEvents(ctx, []models.EventInput{{ContactID: contact, Name: name, Value: money(value),
					Currency: "usd", OccurredAt: f.base.Add(at), IdempotencyKey: key}})
				if err != nil {
					t.Fatal(err)
				}
				return res[0]
			}
			attributedTo := func(res models.EventResult) int64 {
				if res.MessageID == nil {
					return 0
				}
				return *res.MessageID
			}

			t.Run("event before the read is not a conversion", func(t *testing.T) {
				camp := f.campaign(3)
				c := f.contact()
				f.message(camp, c, models.MessageRead, hours(5), nil)
				if res := record(c, "purchase", 10, time.Hour, ""); res.Attribution != "" {
					t.Fatalf("attributed %+v before the read", res)
				}
			})
			t.Run("event after the window is not a conversion", func(t *testing.T) {
				camp := f.campaign(3)
				c := f.contact()
				f.message(camp, c, models.MessageRead, hours(0), nil)
				if res := record(c, "purchase", 10, 72*time.Hour+time.Minute, ""); res.Attribution != "" {
					t.Fatalf("attributed %+v after a 3-day window", res)
				}
				// Inside a longer window the same gap counts.
				camp7 := f.campaign(7)
				c2 := f.contact()
				m := f.message(camp7, c2, models.MessageRead, hours(0), nil)
				if res := record(c2, "purchase", 10, 72*time.Hour+time.Minute, ""); attributedTo(res) != m || res.Attribution != models.AttributionConversion {
					t.Fatalf("7-day window: got %+v, want conversion of %d", res, m)
				}
			})
			t.Run("delivered but unread is not a conversion", func(t *testing.T) {
				camp := f.campaign(3)
				c := f.contact()
				f.message(camp, c, models.MessageDelivered, nil, nil)
				if res := record(c, "purchase", 10, time.Hour, ""); res.Attribution != "" {
					t.Fatalf("attributed %+v to an unread message", res)
				}
			})
			t.Run("latest read or tapped message wins", func(t *testing.T) {
				campA, campB := f.campaign(3), f.campaign(3)
				c := f.contact()
				// A read at 1 h and tapped at 6 h; B read at 4 h: A's tap is latest.
				a := f.message(campA, c, models.MessageRead, hours(1), hours(6))
				b := f.message(campB, c, models.MessageRead, hours(4), nil)
				if res := record(c, "purchase", 30, 7*time.Hour, ""); attributedTo(res) != a {
					t.Fatalf("got message %d, want %d (tapped last; b=%d)", attributedTo(res), a, b)
				}
				// An event at 5 h sees A's read (1 h) and B's read (4 h): B wins.
				c2 := f.contact()
				a2 := f.message(campA, c2, models.MessageRead, hours(1), hours(6))
				b2 := f.message(campB, c2, models.MessageRead, hours(4), nil)
				if res := record(c2, "purchase", 30, 5*time.Hour, ""); attributedTo(res) != b2 {
					t.Fatalf("got message %d, want %d (read last before the event; a=%d)", attributedTo(res), b2, a2)
				}
			})
			t.Run("names the campaign does not count are not conversions", func(t *testing.T) {
				camp := f.campaign(3, "signup")
				c := f.contact()
				m := f.message(camp, c, models.MessageRead, hours(1), nil)
				if res := record(c, "purchase", 10, 2*time.Hour, ""); res.Attribution != "" {
					t.Fatalf("purchase attributed to a signup campaign: %+v", res)
				}
				if res := record(c, "signup", 0, 3*time.Hour, ""); attributedTo(res) != m {
					t.Fatalf("signup: got %+v, want message %d", res, m)
				}
			})
			t.Run("one conversion per message, revenue summed", func(t *testing.T) {
				camp := f.campaign(3)
				c := f.contact()
				m := f.message(camp, c, models.MessageRead, hours(1), nil)
				first := record(c, "purchase", 20, 2*time.Hour, "")
				second := record(c, "purchase", 5.5, 3*time.Hour, "")
				if first.Attribution != models.AttributionConversion || second.Attribution != models.AttributionRevenue || attributedTo(second) != m {
					t.Fatalf("first %+v second %+v", first, second)
				}
				conv, err := db.Store.CampaignConversions(ctx, camp)
				if err != nil {
					t.Fatal(err)
				}
				if conv.Converted != 1 || conv.Revenue != 25.5 {
					t.Fatalf("counters %+v, want 1 conversion and 25.50", conv)
				}
			})
			t.Run("re-sent event with the same key is recorded once", func(t *testing.T) {
				camp := f.campaign(3)
				c := f.contact()
				f.message(camp, c, models.MessageRead, hours(1), nil)
				first := record(c, "purchase", 40, 2*time.Hour, "order-1001-"+db.Name)
				again := record(c, "purchase", 40, 2*time.Hour, "order-1001-"+db.Name)
				if first.Duplicate || !again.Duplicate || again.ID != first.ID || again.Attribution != models.AttributionConversion {
					t.Fatalf("first %+v again %+v", first, again)
				}
				var orders int
				var spent float64
				row := db.Store.DB(ctx).Raw("SELECT total_orders, total_spent FROM contacts WHERE id = ?", c).Row()
				if err := row.Scan(&orders, &spent); err != nil {
					t.Fatal(err)
				}
				if orders != 1 || spent != 40 {
					t.Fatalf("contact has %d orders, %.2f spent; want 1 and 40", orders, spent)
				}
				conv, _ := db.Store.CampaignConversions(ctx, camp)
				if conv.Converted != 1 || conv.Revenue != 40 {
					t.Fatalf("counters %+v after a duplicate", conv)
				}
			})
			t.Run("holdout conversions are counted for uplift", func(t *testing.T) {
				camp := f.campaign(3)
				held, late := f.contact(), f.contact()
				f.message(camp, held, models.MessageHoldout, nil, nil)
				f.message(camp, late, models.MessageHoldout, nil, nil)
				res := record(held, "purchase", 12, 10*time.Hour, "")
				record(held, "purchase", 3, 11*time.Hour, "")
				record(late, "purchase", 9, 80*time.Hour, "") // after the window
				if res.Attribution != "" || len(res.HoldoutCampaigns) != 1 || res.HoldoutCampaigns[0] != camp {
					t.Fatalf("holdout event result %+v", res)
				}
				conv, _ := db.Store.CampaignConversions(ctx, camp)
				if conv.HoldoutConverted != 1 || conv.HoldoutRevenue != 15 || conv.Converted != 0 {
					t.Fatalf("holdout counters %+v, want 1 conversion and 15.00", conv)
				}
			})
			// Every campaign's kept counters equal a recount.
			var ids []int64
			if err := db.Store.DB(ctx).Raw("SELECT id FROM campaigns").Scan(&ids).Error; err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				kept, _ := db.Store.CampaignConversions(ctx, id)
				re, err := db.Store.RecountConversions(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if kept != re {
					t.Errorf("campaign %d: kept %+v, recount %+v", id, kept, re)
				}
			}
		})
	}
}

func TestResolveContacts(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	ctx := context.Background()
	ext := "crm-7"
	c := &models.Contact{Phone: "+5511999990001", ExternalID: &ext}
	if err := db.Store.CreateContact(ctx, c, "test"); err != nil {
		t.Fatal(err)
	}
	got, err := db.Store.ResolveContacts(ctx, []models.ContactRef{{ContactID: c.ID}, {Phone: "+5511999990001"}, {ExternalID: "crm-7"},
		{Phone: "+5511000000000"}, {ContactID: c.ID + 99}, {ExternalID: "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{c.ID, c.ID, c.ID, 0, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ResolveContacts = %v, want %v", got, want)
		}
	}
}
