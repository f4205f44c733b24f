package models

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// WebhookDelivery is one raw webhook body, stored before it is answered so a
// crash loses none; Meta offers no way to fetch missed webhooks.
type WebhookDelivery struct {
	ID          int64
	Source      string
	Body        []byte
	ReceivedAt  time.Time
	ProcessedAt *time.Time
	Attempts    int
	LastError   string
}

// TableName maps to the inbox table.
func (WebhookDelivery) TableName() string { return "webhook_inbox" }

// StoreWebhook saves a verified webhook body and returns its id.
func (s *Store) StoreWebhook(ctx context.Context, source string, body []byte) (int64, error) {
	d := WebhookDelivery{Source: source, Body: body, ReceivedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(&d).Error; err != nil {
		return 0, fmt.Errorf("models: store webhook: %w", err)
	}
	return d.ID, nil
}

// maxWebhookAttempts stops retrying a body that keeps failing; it stays in
// the inbox with its error for an operator.
const maxWebhookAttempts = 5

// webhookLease is how long a claimed body is reserved for one applier; an
// instance that dies lets it go after this.
const webhookLease = time.Minute

// ClaimWebhooks leases up to limit unprocessed bodies, oldest first, so
// several instances apply different bodies. Applying is idempotent anyway
// (status changes are monotonic and deduplicated).
func (s *Store) ClaimWebhooks(ctx context.Context, limit int) ([]WebhookDelivery, error) {
	now := time.Now().UTC()
	lock := ""
	if s.dialect == Postgres {
		lock = "FOR UPDATE SKIP LOCKED"
	}
	var out []WebhookDelivery
	err := s.db.WithContext(ctx).Raw(`UPDATE webhook_inbox SET claimed_until = ?
		WHERE id IN (SELECT id FROM webhook_inbox
			WHERE processed_at IS NULL AND attempts < ? AND (claimed_until IS NULL OR claimed_until < ?)
			ORDER BY id LIMIT ? `+lock+`)
		RETURNING id, source, body, received_at, processed_at, attempts, last_error`,
		now.Add(webhookLease), maxWebhookAttempts, now, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: claim webhooks: %w", err)
	}
	// RETURNING does not keep the subquery's order; bodies are applied in
	// the order they arrived, so a late "failed" cannot overtake a "read".
	slices.SortFunc(out, func(a, b WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// FinishWebhook marks a body applied, or records why it failed.
func (s *Store) FinishWebhook(ctx context.Context, id int64, applyErr error) error {
	updates := map[string]any{"attempts": gormExpr("attempts + 1"), "claimed_until": nil}
	if applyErr == nil {
		updates["processed_at"] = time.Now().UTC()
		updates["last_error"] = ""
	} else {
		updates["last_error"] = applyErr.Error()
	}
	if err := s.db.WithContext(ctx).Model(&WebhookDelivery{}).Where("id = ?", id).Updates(updates).Error; err != nil {
		return fmt.Errorf("models: finish webhook %d: %w", id, err)
	}
	return nil
}

// LastWebhookAt is when the newest webhook arrived, for the setup checklist.
func (s *Store) LastWebhookAt(ctx context.Context) (*time.Time, error) {
	var d WebhookDelivery
	err := s.db.WithContext(ctx).Order("id DESC").Limit(1).Find(&d).Error
	if err != nil {
		return nil, fmt.Errorf("models: last webhook: %w", err)
	}
	if d.ID == 0 {
		return nil, nil
	}
	return &d.ReceivedAt, nil
}

// PruneWebhooks deletes applied bodies older than keep.
func (s *Store) PruneWebhooks(ctx context.Context, keep time.Duration) error {
	err := s.db.WithContext(ctx).Where("processed_at IS NOT NULL AND processed_at < ?", time.Now().UTC().Add(-keep)).
		Delete(&WebhookDelivery{}).Error
	if err != nil {
		return fmt.Errorf("models: prune webhooks: %w", err)
	}
	return nil
}

// ContactIDsByWAID maps WhatsApp IDs (digits, as in inbound webhooks) to
// contact ids, matching the stored wa_id or the E.164 phone.
func (s *Store) ContactIDsByWAID(ctx context.Context, waIDs []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(waIDs) == 0 {
		return out, nil
	}
	phones := make([]string, len(waIDs))
	for i, w := range waIDs {
		phones[i] = "+" + w
	}
	var rows []struct {
		ID    int64
		Phone string
		WAID  string `gorm:"column:wa_id"`
	}
	err := s.db.WithContext(ctx).Raw("SELECT id, phone, wa_id FROM contacts WHERE phone IN ? OR wa_id IN ?", phones, waIDs).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: contacts by wa_id: %w", err)
	}
	for _, r := range rows {
		if r.WAID != "" {
			out[r.WAID] = r.ID
		}
		out[strings.TrimPrefix(r.Phone, "+")] = r.ID
	}
	return out, nil
}

// TouchContactsActive records that contacts wrote to the business: an
// inbound message is activity, which re-engagement segments rely on.
func (s *Store) TouchContactsActive(ctx context.Context, at map[int64]time.Time) error {
	for id, t := range at {
		err := s.db.WithContext(ctx).Exec(
			"UPDATE contacts SET last_active_at = ? WHERE id = ? AND (last_active_at IS NULL OR last_active_at < ?)",
			t.UTC(), id, t.UTC()).Error
		if err != nil {
			return fmt.Errorf("models: touch contact %d: %w", id, err)
		}
	}
	return nil
}

// OptOutSettings say how Herald answers an opt-out keyword.
type OptOutSettings struct {
	// Keywords replace the built-in list when not empty.
	Keywords []string `json:"keywords"`
	// ConfirmationTemplateID is an approved UTILITY template sent back at
	// once to confirm the opt-out; 0 sends nothing.
	ConfirmationTemplateID int64 `json:"confirmation_template_id"`
}

// OptOutSettingsKey is where OptOutSettings are stored.
const OptOutSettingsKey = "opt_out"

// QueueOptOutConfirmations queues the confirmation template for contacts
// who just opted out, in the priority lane, so it goes out within seconds.
// It is a UTILITY message about their own request, not marketing. A
// contact confirmed in the last day is not confirmed again, so a replayed
// webhook or a second STOP sends nothing more.
func (s *Store) QueueOptOutConfirmations(ctx context.Context, contactIDs []int64, templateID int64) error {
	if len(contactIDs) == 0 || templateID == 0 {
		return nil
	}
	now := time.Now().UTC()
	return s.Tx(ctx, func(tx *Store) error {
		if err := tx.lockLedgerWriters(ctx, false); err != nil {
			return err
		}
		err := tx.db.WithContext(ctx).Exec(`INSERT INTO messages (contact_id, template_id, to_phone, category, priority, status,
			send_after, params, created_at, updated_at)
			SELECT c.id, t.id, c.phone, t.category, ?, 'pending', ?, '{}', ?, ?
			FROM contacts c JOIN templates t ON t.id = ? AND t.status = 'APPROVED'
			WHERE c.id IN ? AND c.reachability = 'reachable'
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = c.id AND m.template_id = t.id AND m.created_at > ?)`,
			TransactionalPriority, now, now, now, templateID, contactIDs, now.Add(-24*time.Hour)).Error
		if err != nil {
			return fmt.Errorf("models: queue opt-out confirmations: %w", err)
		}
		return nil
	})
}
