package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// CallbackDelivery is one status callback to POST to an API caller's
// callback_url, kept until it is answered with 2xx or given up.
type CallbackDelivery struct {
	ID          int64
	MessageID   int64
	URL         string
	Event       string
	Payload     string
	Attempts    int
	LastStatus  int
	LastError   string
	NextAttempt NullTime `gorm:"column:next_attempt_at"`
	DeliveredAt NullTime
	FailedAt    NullTime
	CreatedAt   NullTime
}

// CallbackPayload is the JSON body of a status callback.
type CallbackPayload struct {
	ID             int64          `json:"id"`
	Status         string         `json:"status"`
	At             time.Time      `json:"at"`
	To             string         `json:"to"`
	Template       string         `json:"template"`
	IdempotencyKey string         `json:"idempotency_key,omitempty"`
	Error          *CallbackError `json:"error,omitempty"`
}

// CallbackError says why a message failed, expired or was skipped.
type CallbackError struct {
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason"`
}

// callbackRow is a message whose ledger status moved since its last
// queued callback.
type callbackRow struct {
	TransactionalMessage
	NotifiedStatus string
}

// QueueCallbacks finds up to limit messages with a callback_url whose
// status moved since their last callback and queues one delivery per API
// status they passed (queued, sent, delivered, read, failed, expired…),
// each at most once per message. It polls the ledger through a partial
// index instead of hooking the send engine and the webhook applier: every
// path that changes a status is covered without touching them. It returns
// how many messages it looked at.
func (s *Store) QueueCallbacks(ctx context.Context, limit int, now time.Time) (int, error) {
	n := 0
	err := s.retryTx(ctx, func(tx *Store) error {
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE OF m SKIP LOCKED"
		}
		var rows []callbackRow
		err := tx.db.WithContext(ctx).Raw(`SELECT m.id, m.to_phone, COALESCE(t.name, '') AS template_name, m.status, m.status_reason,
			m.error_code, m.idempotency_key, m.callback_url, m.sent_at, m.delivered_at, m.read_at, m.failed_at, m.created_at,
			m.updated_at, m.notified_status
			FROM messages m LEFT JOIN templates t ON t.id = m.template_id
			WHERE m.callback_url <> '' AND m.notified_status <> m.status ORDER BY m.id LIMIT ?`+lock, limit).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("models: messages with callbacks due: %w", err)
		}
		n = len(rows)
		for _, r := range rows {
			for _, ev := range callbackEvents(&r.TransactionalMessage) {
				body, err := json.Marshal(ev)
				if err != nil {
					return fmt.Errorf("models: callback payload: %w", err)
				}
				err = tx.db.WithContext(ctx).Exec(`INSERT INTO callback_deliveries (message_id, url, event, payload, next_attempt_at, created_at)
					VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id, event) DO NOTHING`,
					r.ID, r.CallbackURL, ev.Status, string(body), now.UTC(), now.UTC()).Error
				if err != nil {
					return fmt.Errorf("models: queue callback: %w", err)
				}
			}
			if err := tx.db.WithContext(ctx).Exec("UPDATE messages SET notified_status = ? WHERE id = ? AND status = ?",
				r.Status, r.ID, r.Status).Error; err != nil {
				return fmt.Errorf("models: mark callback queued: %w", err)
			}
		}
		return nil
	})
	return n, err
}

// callbackEvents lists the API statuses a message has reached, in order.
// Queuing them all each time is safe: a delivery exists once per status.
func callbackEvents(m *TransactionalMessage) []CallbackPayload {
	base := CallbackPayload{ID: m.ID, To: m.ToPhone, Template: m.TemplateName}
	if m.IdempotencyKey != nil {
		base.IdempotencyKey = *m.IdempotencyKey
	}
	var out []CallbackPayload
	add := func(status string, at time.Time, e *CallbackError) {
		p := base
		p.Status, p.At, p.Error = status, at.UTC(), e
		out = append(out, p)
	}
	add("queued", m.CreatedAt.Time, nil)
	if m.SentAt.Valid {
		add(MessageSent, m.SentAt.Time, nil)
	}
	if m.DeliveredAt.Valid {
		add(MessageDelivered, m.DeliveredAt.Time, nil)
	}
	if m.ReadAt.Valid {
		add(MessageRead, m.ReadAt.Time, nil)
	}
	switch m.Status {
	case MessageFailed:
		at := m.FailedAt.Time
		if !m.FailedAt.Valid {
			at = m.UpdatedAt.Time
		}
		add(MessageFailed, at, &CallbackError{Code: m.ErrorCode, Reason: m.StatusReason})
	case MessageExpired, MessageSkipped, MessageCancelled, MessageUnknown:
		add(m.Status, m.UpdatedAt.Time, &CallbackError{Code: m.ErrorCode, Reason: m.StatusReason})
	}
	return out
}

// ClaimCallbacks takes up to limit due deliveries for one attempt each:
// their next attempt moves lease ahead, so a crashed worker's claim comes
// due again by itself, and other instances skip them meanwhile.
func (s *Store) ClaimCallbacks(ctx context.Context, limit int, lease time.Duration, now time.Time) ([]CallbackDelivery, error) {
	now = now.UTC()
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []CallbackDelivery
	err := s.db.WithContext(ctx).Raw(`UPDATE callback_deliveries SET next_attempt_at = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM callback_deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
		RETURNING id, message_id, url, event, payload, attempts, last_status, last_error, next_attempt_at, delivered_at, failed_at, created_at`,
		now.Add(lease), now, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: claim callbacks: %w", err)
	}
	return out, nil
}

// CallbackAttempt is the result of one POST of a delivery.
type CallbackAttempt struct {
	ID         int64
	HTTPStatus int    // 0 when no answer came
	Error      string // "" on success
	// Retry is when to try again; zero means give up (on failure) or done.
	Retry time.Time
}

// FinishCallback records one attempt: delivered on success, scheduled
// again at Retry, or failed for good.
func (s *Store) FinishCallback(ctx context.Context, a CallbackAttempt, now time.Time) error {
	now = now.UTC()
	upd := map[string]any{"last_status": a.HTTPStatus, "last_error": truncate(a.Error, 500)}
	switch {
	case a.Error == "":
		upd["delivered_at"], upd["next_attempt_at"] = now, nil
	case !a.Retry.IsZero():
		upd["next_attempt_at"] = a.Retry.UTC()
	default:
		upd["failed_at"], upd["next_attempt_at"] = now, nil
	}
	if err := s.db.WithContext(ctx).Table("callback_deliveries").Where("id = ?", a.ID).Updates(upd).Error; err != nil {
		return fmt.Errorf("models: record callback %d: %w", a.ID, err)
	}
	return nil
}

// MessageCallbacks lists a message's callback deliveries, oldest first.
func (s *Store) MessageCallbacks(ctx context.Context, messageID int64) ([]CallbackDelivery, error) {
	var out []CallbackDelivery
	err := s.db.WithContext(ctx).Raw(`SELECT id, message_id, url, event, payload, attempts, last_status, last_error,
		next_attempt_at, delivered_at, failed_at, created_at FROM callback_deliveries WHERE message_id = ? ORDER BY id`, messageID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: message %d callbacks: %w", messageID, err)
	}
	return out, nil
}
