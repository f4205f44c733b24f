package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// ledgerFixture makes a campaign with n messages in status sending, each to
// its own contact, and returns the campaign id and message ids.
func ledgerFixture(t *testing.T, store *models.Store, n int, category string) (int64, []int64) {
	t.Helper()
	ctx := context.Background()
	c := &models.Campaign{Name: "ledger", SegmentIDs: []int64{1}, Schedule: models.Schedule{Type: models.ScheduleNow}}
	if err := store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ids := make([]int64, n)
	for i := range ids {
		var contactID int64
		err := store.DB(ctx).Raw(`INSERT INTO contacts (phone, marketing_opt_in, created_at, updated_at) VALUES (?, TRUE, ?, ?) RETURNING id`,
			fmt.Sprintf("+5521%09d", i), now, now).Scan(&contactID).Error
		if err != nil {
			t.Fatal(err)
		}
		err = store.DB(ctx).Raw(`INSERT INTO messages (campaign_id, contact_id, to_phone, category, status, send_after, attempts, claimed_at, created_at, updated_at)
			VALUES (?, ?, '', ?, 'sending', ?, 1, ?, ?, ?) RETURNING id`, c.ID, contactID, category, now, now, now, now).Scan(&ids[i]).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := store.DB(ctx).Exec(`INSERT INTO campaign_stats (campaign_id, targeted, queued, updated_at) VALUES (?, ?, ?, ?)`, c.ID, n, n, now).Error; err != nil {
		t.Fatal(err)
	}
	return c.ID, ids
}

func checkCounters(t *testing.T, store *models.Store, campaignID int64) models.CampaignStats {
	t.Helper()
	ctx := context.Background()
	kept, err := store.CampaignStats(ctx, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	recount, err := store.RecountCampaignStats(ctx, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	if kept != recount {
		t.Fatalf("counters drifted:\nkept    %+v\nrecount %+v", kept, recount)
	}
	return kept
}

func TestApplyStatusUpdatesIsMonotonic(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := db.Store
			campaignID, ids := ledgerFixture(t, store, 6, "MARKETING")
			// Sends 0-3 got their answers; 4 timed out (unknown); 5 is
			// still in flight when its webhook arrives.
			outcomes := []models.SendOutcome{}
			for i := range 4 {
				outcomes = append(outcomes, models.SendOutcome{ID: ids[i], Status: models.MessageSent, WAMID: fmt.Sprintf("wamid.%d", i)})
			}
			outcomes = append(outcomes, models.SendOutcome{ID: ids[4], Status: models.MessageUnknown, Reason: "timeout"})
			if err := store.RecordOutcomes(ctx, outcomes); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now().UTC()
			at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
			// 0: read arrives first; a late delivered and a duplicate read
			// follow in a later webhook.
			if n, err := store.ApplyStatusUpdates(ctx, []models.StatusUpdate{{WAMID: "wamid.0", Status: "read", Timestamp: at(3)}}); err != nil || n != 1 {
				t.Fatalf("read: applied %d, err %v", n, err)
			}
			updates := []models.StatusUpdate{
				{WAMID: "wamid.0", Status: "delivered", Timestamp: at(2)},
				{WAMID: "wamid.0", Status: "read", Timestamp: at(3)},
				// 1: delivered, then failed: failed wins.
				{WAMID: "wamid.1", Status: "delivered", Timestamp: at(1)},
				{WAMID: "wamid.1", Status: "failed", ErrorCode: 131026, ErrorTitle: "Message undeliverable", Timestamp: at(4)},
				// 2: read, then failed: ignored.
				{WAMID: "wamid.2", Status: "read", Timestamp: at(1)},
				{WAMID: "wamid.2", Status: "failed", ErrorCode: 131000, Timestamp: at(5)},
				// 4: unknown, resolved by biz_opaque_callback_data.
				{WAMID: "wamid.4", MessageID: ids[4], Status: "delivered", Timestamp: at(2)},
				// 5: the webhook beats the send answer.
				{WAMID: "wamid.5", MessageID: ids[5], Status: "sent", Timestamp: at(1)},
				// Unknown message: ignored.
				{WAMID: "wamid.nobody", Status: "delivered", Timestamp: at(1)},
			}
			n, err := store.ApplyStatusUpdates(ctx, updates)
			if err != nil {
				t.Fatal(err)
			}
			if n != 5 {
				t.Errorf("applied %d updates, want 5", n)
			}
			// The late answer for 5 changes nothing: the webhook counted it.
			if err := store.RecordOutcomes(ctx, []models.SendOutcome{{ID: ids[5], Status: models.MessageSent, WAMID: "wamid.5"}}); err != nil {
				t.Fatal(err)
			}
			// Replaying the whole batch is a no-op.
			if n, err := store.ApplyStatusUpdates(ctx, updates); err != nil || n != 0 {
				t.Errorf("replay applied %d (err %v), want 0", n, err)
			}
			want := map[int64]string{ids[0]: "read", ids[1]: "failed", ids[2]: "read", ids[3]: "sent", ids[4]: "delivered", ids[5]: "sent"}
			for id, status := range want {
				var got struct {
					Status string
					WAMID  *string `gorm:"column:wamid"`
				}
				store.DB(ctx).Raw("SELECT status, wamid FROM messages WHERE id = ?", id).Scan(&got)
				if got.Status != status || got.WAMID == nil {
					t.Errorf("message %d: %s (wamid %v), want %s with a wamid", id, got.Status, got.WAMID, status)
				}
			}
			var reach string
			store.DB(ctx).Raw("SELECT c.reachability FROM contacts c JOIN messages m ON m.contact_id = c.id WHERE m.id = ?", ids[1]).Scan(&reach)
			if reach != "unreachable" {
				t.Errorf("contact of a 131026 failure is %s, want unreachable", reach)
			}
			hist, err := store.MessageHistory(ctx, ids[0])
			if err != nil || len(hist) != 1 || hist[0].Status != "read" {
				t.Errorf("history of message 0: %+v (err %v); want one read event", hist, err)
			}
			first, err := store.MarkTapped(ctx, ids[0], "", at(9))
			if err != nil || !first {
				t.Fatalf("first tap: %v %v", first, err)
			}
			if again, _ := store.MarkTapped(ctx, 0, "wamid.0", at(10)); again {
				t.Error("second tap counted")
			}
			st := checkCounters(t, store, campaignID)
			if st.Sent != 6 || st.Delivered != 4 || st.Read != 2 || st.Failed != 1 || st.Unknown != 0 || st.Tapped != 1 || st.Queued != 0 {
				t.Errorf("funnel %+v", st)
			}
		})
	}
}

func TestMarketingCapFailureRetriesTomorrow(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := db.Store
			campaignID, ids := ledgerFixture(t, store, 1, "MARKETING")
			if err := store.RecordOutcomes(ctx, []models.SendOutcome{{ID: ids[0], Status: models.MessageSent, WAMID: "wamid.cap"}}); err != nil {
				t.Fatal(err)
			}
			_, err := store.ApplyStatusUpdates(ctx, []models.StatusUpdate{{WAMID: "wamid.cap", Status: "failed", ErrorCode: 131049, ErrorTitle: "healthy ecosystem", Timestamp: time.Now()}})
			if err != nil {
				t.Fatal(err)
			}
			var row struct {
				Status    string
				SendAfter models.NullTime
			}
			store.DB(ctx).Raw("SELECT status, send_after FROM messages WHERE id = ?", ids[0]).Scan(&row)
			if row.Status != "pending" || row.SendAfter.Time.Before(time.Now().Add(23*time.Hour)) {
				t.Errorf("after 131049: %+v, want pending for tomorrow", row)
			}
			st := checkCounters(t, store, campaignID)
			if st.Queued != 1 || st.Sent != 0 {
				t.Errorf("funnel %+v", st)
			}
		})
	}
}

func TestQuietHoursDefer(t *testing.T) {
	t.Parallel()
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	q := models.QuietHours{Start: 21 * 60, End: 9 * 60}
	day := models.QuietHours{Start: 12 * 60, End: 14 * 60}
	tests := []struct {
		name string
		q    models.QuietHours
		at   time.Time
		want time.Time
	}{
		{"evening waits for the morning", q, time.Date(2026, 1, 5, 22, 30, 0, 0, sp), time.Date(2026, 1, 6, 9, 0, 0, 0, sp)},
		{"early morning waits for nine", q, time.Date(2026, 1, 5, 3, 0, 0, 0, sp), time.Date(2026, 1, 5, 9, 0, 0, 0, sp)},
		{"daytime goes now", q, time.Date(2026, 1, 5, 12, 0, 0, 0, sp), time.Date(2026, 1, 5, 12, 0, 0, 0, sp)},
		{"window end is open", q, time.Date(2026, 1, 5, 9, 0, 0, 0, sp), time.Date(2026, 1, 5, 9, 0, 0, 0, sp)},
		{"same-day window", day, time.Date(2026, 1, 5, 13, 0, 0, 0, sp), time.Date(2026, 1, 5, 14, 0, 0, 0, sp)},
		{"empty window never defers", models.QuietHours{}, time.Date(2026, 1, 5, 23, 0, 0, 0, sp), time.Date(2026, 1, 5, 23, 0, 0, 0, sp)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.q.Defer(tt.at.UTC(), sp); !got.Equal(tt.want) {
				t.Errorf("Defer(%s) = %s, want %s", tt.at, got.In(sp), tt.want)
			}
		})
	}
}

func TestValidateCampaign(t *testing.T) {
	t.Parallel()
	tmpl := int64(1)
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	before := at.Add(-time.Hour)
	tests := []struct {
		name  string
		edit  func(c *models.Campaign)
		field string
	}{
		{"valid", func(*models.Campaign) {}, ""},
		{"no name", func(c *models.Campaign) { c.Name = " " }, "name"},
		{"no template", func(c *models.Campaign) { c.TemplateID = nil }, "template_id"},
		{"no segment", func(c *models.Campaign) { c.SegmentIDs = nil }, "segment_ids"},
		{"bad schedule", func(c *models.Campaign) { c.Schedule.Type = "soon" }, "schedule.type"},
		{"bad cron", func(c *models.Campaign) {
			c.Schedule = models.Schedule{Type: "cron", Cron: "every day", Timezone: "UTC"}
		}, "schedule.cron"},
		{"bad local date", func(c *models.Campaign) {
			c.Schedule = models.Schedule{Type: "local_time", Date: "tomorrow", Time: "10:00"}
		}, "schedule.date"},
		{"holdout too big", func(c *models.Campaign) { c.HoldoutPercent = 80 }, "holdout_percent"},
		{"variants off 100", func(c *models.Campaign) {
			c.Variants = []models.Variant{{TemplateID: 1, Share: 50}, {TemplateID: 2, Share: 40}}
		}, "variants"},
		{"deadline before send", func(c *models.Campaign) { c.Schedule = models.Schedule{Type: "at", At: &at}; c.Deadline = &before }, "deadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &models.Campaign{Name: "x", TemplateID: &tmpl, SegmentIDs: []int64{1}, Schedule: models.Schedule{Type: "now"}}
			tt.edit(c)
			errs := models.ValidateCampaign(c)
			if tt.field == "" && len(errs) > 0 {
				t.Fatalf("unexpected errors %v", errs)
			}
			if tt.field != "" && errs[tt.field] == "" {
				t.Fatalf("no error on %s: %v", tt.field, errs)
			}
		})
	}
}
