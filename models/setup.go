package models

import (
	"context"
	"fmt"
	"time"
)

// SetupFacts are what the setup checklist needs to know.
type SetupFacts struct {
	Senders           []Sender
	LastWebhookAt     *time.Time
	ApprovedTemplates int64
	ContactsWithOptIn int64
	ContactsTotal     int64
}

// SetupFacts gathers the checklist's inputs.
func (s *Store) SetupFacts(ctx context.Context) (SetupFacts, error) {
	var f SetupFacts
	var err error
	if f.Senders, err = s.Senders(ctx); err != nil {
		return f, err
	}
	if f.LastWebhookAt, err = s.LastWebhookAt(ctx); err != nil {
		return f, err
	}
	var counts struct{ Approved, OptIn, Total int64 }
	err = s.db.WithContext(ctx).Raw(`SELECT
		(SELECT COUNT(*) FROM templates WHERE status = 'APPROVED' AND archived_at IS NULL) AS approved,
		(SELECT COUNT(*) FROM contacts WHERE marketing_opt_in AND reachability = 'reachable') AS opt_in,
		(SELECT COUNT(*) FROM contacts) AS total`).Scan(&counts).Error
	if err != nil {
		return f, fmt.Errorf("models: setup facts: %w", err)
	}
	f.ApprovedTemplates, f.ContactsWithOptIn, f.ContactsTotal = counts.Approved, counts.OptIn, counts.Total
	return f, nil
}
