package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// webhookFixture is a contact with one sent message, on a fresh database.
type webhookFixture struct {
	store     *models.Store
	applier   *jobs.WebhookApplier
	contactID int64
	messageID int64
}

func newWebhookFixture(t *testing.T, db testdb.DB) webhookFixture {
	t.Helper()
	ctx := context.Background()
	c := &models.Contact{Phone: "+5511987654321", FirstName: "Ana", MarketingOptIn: true}
	if err := db.Store.CreateContact(ctx, c, "test"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err := db.Store.DB(ctx).Exec(`INSERT INTO messages (contact_id, to_phone, status, send_after, wamid, sent_at, created_at, updated_at)
		VALUES (?, ?, 'sent', ?, 'wamid.A', ?, ?, ?)`, c.ID, c.Phone, now, now, now, now).Error
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.Store.DB(ctx).Raw("SELECT id FROM messages WHERE wamid = 'wamid.A'").Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return webhookFixture{store: db.Store, applier: jobs.NewWebhookApplier(db.Store, slog.New(slog.NewTextHandler(io.Discard, nil))),
		contactID: c.ID, messageID: id}
}

func envelope(field, value string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"2000000001","changes":[{"field":%q,"value":%s}]}]}`, field, value))
}

func statusBody(status string, ts int64) []byte {
	return envelope("messages", fmt.Sprintf(`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1000000001"},
		"statuses":[{"id":"wamid.A","status":%q,"timestamp":"%d","recipient_id":"5511987654321","pricing":{"pricing_model":"PMP","type":"regular","category":"marketing"}}]}`, status, ts))
}

func inboundBody(msg string) []byte {
	return envelope("messages", `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1000000001"},
		"contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987654321"}],"messages":[`+msg+`]}`)
}

func (f webhookFixture) message(t *testing.T) (status string, deliveredAt, readAt, tappedAt *time.Time) {
	t.Helper()
	var row struct {
		Status                        string
		DeliveredAt, ReadAt, TappedAt *time.Time
	}
	if err := f.store.DB(context.Background()).Raw("SELECT status, delivered_at, read_at, tapped_at FROM messages WHERE id = ?", f.messageID).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row.Status, row.DeliveredAt, row.ReadAt, row.TappedAt
}

func TestWebhookStatusesReorderedAndReplayed(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			f := newWebhookFixture(t, db)
			ctx := context.Background()
			base := time.Now().Add(-time.Minute).Unix()
			// read arrives first, then the late delivered, then read again.
			for _, body := range [][]byte{statusBody("read", base+20), statusBody("delivered", base+10), statusBody("read", base+20), statusBody("delivered", base+10)} {
				if err := f.applier.Apply(ctx, body); err != nil {
					t.Fatal(err)
				}
			}
			status, _, readAt, _ := f.message(t)
			if status != "read" || readAt == nil {
				t.Fatalf("status %q read_at %v, want read", status, readAt)
			}
			var events int64
			f.store.DB(ctx).Raw("SELECT COUNT(*) FROM message_events WHERE message_id = ? AND status = 'read'", f.messageID).Scan(&events)
			if events != 1 {
				t.Fatalf("%d 'read' history rows after a replay, want 1", events)
			}
		})
	}
}

func TestWebhookInboundReplies(t *testing.T) {
	t.Parallel()
	ts := time.Now().Unix()
	tests := []struct {
		name       string
		msg        string
		wantOptIn  bool
		wantTapped bool
	}{
		{"STOP text", fmt.Sprintf(`{"from":"5511987654321","id":"wamid.IN1","timestamp":"%d","type":"text","text":{"body":" Stop! "}}`, ts), false, false},
		{"Portuguese PARAR", fmt.Sprintf(`{"from":"5511987654321","id":"wamid.IN2","timestamp":"%d","type":"text","text":{"body":"parar"}}`, ts), false, false},
		{"ordinary text keeps consent", fmt.Sprintf(`{"from":"5511987654321","id":"wamid.IN3","timestamp":"%d","type":"text","text":{"body":"stop sending me the wrong size please"}}`, ts), true, false},
		{"quick reply tap", fmt.Sprintf(`{"from":"5511987654321","id":"wamid.IN4","timestamp":"%d","type":"button","context":{"from":"15550001111","id":"wamid.A"},"button":{"payload":"SHOW_ME","text":"Show me"}}`, ts), true, true},
		{"stop promotions payload", fmt.Sprintf(`{"from":"5511987654321","id":"wamid.IN5","timestamp":"%d","type":"button","context":{"from":"15550001111","id":"wamid.A"},"button":{"payload":"STOP_PROMO|camp=42","text":"Stop promotions"}}`, ts), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newWebhookFixture(t, testdb.SQLite(t))
			ctx := context.Background()
			if err := f.applier.Apply(ctx, inboundBody(tt.msg)); err != nil {
				t.Fatal(err)
			}
			c, err := f.store.Contact(ctx, f.contactID)
			if err != nil {
				t.Fatal(err)
			}
			if c.MarketingOptIn != tt.wantOptIn {
				t.Errorf("marketing opt-in %v, want %v", c.MarketingOptIn, tt.wantOptIn)
			}
			if c.LastActiveAt == nil {
				t.Error("an inbound message did not update last_active_at")
			}
			_, _, _, tapped := f.message(t)
			if (tapped != nil) != tt.wantTapped {
				t.Errorf("tapped_at %v, want tapped=%v", tapped, tt.wantTapped)
			}
		})
	}
}

func TestWebhookTemplateStatusAndBadBodies(t *testing.T) {
	t.Parallel()
	f := newWebhookFixture(t, testdb.SQLite(t))
	ctx := context.Background()
	tmpl := &models.Template{WABAID: "2000000001", MetaID: "77", Name: "flash_sale", Language: "en_US", Category: "MARKETING",
		Body: "Hi {{1}}", Status: "PENDING"}
	if err := f.store.CreateTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	body := envelope("message_template_status_update", `{"event":"REJECTED","message_template_id":77,"message_template_name":"flash_sale","message_template_language":"en_US","reason":"INVALID_FORMAT"}`)
	if err := f.applier.Apply(ctx, body); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.TemplateByNameLanguage(ctx, "2000000001", "flash_sale", "en_US")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "REJECTED" || got.StatusReason != "INVALID_FORMAT" {
		t.Fatalf("template %s %q, want REJECTED INVALID_FORMAT", got.Status, got.StatusReason)
	}
	for _, bad := range []string{`{"object":`, `{"object":"page"}`, `[]`} {
		if err := f.applier.Apply(ctx, []byte(bad)); err == nil {
			t.Errorf("%s applied without an error", bad)
		}
	}
}

func TestWebhookInboxRoundMarksProcessed(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			f := newWebhookFixture(t, db)
			ctx := context.Background()
			if _, err := f.store.StoreWebhook(ctx, "whatsapp", statusBody("delivered", time.Now().Unix())); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.StoreWebhook(ctx, "whatsapp", []byte(`not json`)); err != nil {
				t.Fatal(err)
			}
			if _, err := f.applier.Round(ctx); err != nil {
				t.Fatal(err)
			}
			if status, _, _, _ := f.message(t); status != "delivered" {
				t.Fatalf("status %q after the round, want delivered", status)
			}
			var pending, failed int64
			f.store.DB(ctx).Raw("SELECT COUNT(*) FROM webhook_inbox WHERE processed_at IS NULL").Scan(&pending)
			f.store.DB(ctx).Raw("SELECT COUNT(*) FROM webhook_inbox WHERE last_error <> ''").Scan(&failed)
			if pending != 1 || failed != 1 {
				t.Fatalf("pending %d failed %d, want the malformed body kept with its error", pending, failed)
			}
		})
	}
}

func TestOptOutConfirmationQueuedOnce(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			f := newWebhookFixture(t, db)
			ctx := context.Background()
			tmpl := &models.Template{WABAID: "2000000001", Name: "opt_out_done", Language: "en_US", Category: "UTILITY",
				Body: "You will not get offers from us any more.", Status: "APPROVED"}
			if err := f.store.CreateTemplate(ctx, tmpl); err != nil {
				t.Fatal(err)
			}
			if err := f.store.PutSetting(ctx, models.OptOutSettingsKey, models.OptOutSettings{ConfirmationTemplateID: tmpl.ID}); err != nil {
				t.Fatal(err)
			}
			stop := inboundBody(fmt.Sprintf(`{"from":"5511987654321","id":"wamid.IN9","timestamp":"%d","type":"text","text":{"body":"STOP"}}`, time.Now().Unix()))
			for range 3 { // Meta retries; the user may also send STOP twice
				if err := f.applier.Apply(ctx, stop); err != nil {
					t.Fatal(err)
				}
			}
			var queued int64
			f.store.DB(ctx).Raw("SELECT COUNT(*) FROM messages WHERE template_id = ? AND contact_id = ? AND priority > 0 AND status = 'pending'",
				tmpl.ID, f.contactID).Scan(&queued)
			if queued != 1 {
				t.Fatalf("%d confirmations queued, want 1", queued)
			}
		})
	}
}
