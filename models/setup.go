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
	err = s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM templates WHERE status = 'APPROVED' AND archived_at IS NULL`).
		Scan(&f.ApprovedTemplates).Error
	if err != nil {
		return f, fmt.Errorf("models: setup facts: %w", err)
	}
	// The contact counts are the list health's (shared briefly on a large
	// list), not two more scans of the contacts per dashboard.
	h, err := s.ListHealth(ctx)
	if err != nil {
		return f, err
	}
	f.ContactsWithOptIn, f.ContactsTotal = h.Reachable, h.Total
	return f, nil
}
