package models

import (
	"context"
	"fmt"
)

// Totals are the headline counts on the dashboard.
type Totals struct {
	Contacts, Segments, Templates, Campaigns int64
}

// Totals counts the main objects; the contacts are ListHealth's total, so
// a large list is not counted twice per dashboard.
func (s *Store) Totals(ctx context.Context) (Totals, error) {
	var t Totals
	err := s.db.WithContext(ctx).Raw(`SELECT
		(SELECT COUNT(*) FROM segments) AS segments,
		(SELECT COUNT(*) FROM templates WHERE archived_at IS NULL) AS templates,
		(SELECT COUNT(*) FROM campaigns) AS campaigns`).Scan(&t).Error
	if err != nil {
		return t, fmt.Errorf("models: totals: %w", err)
	}
	h, err := s.ListHealth(ctx)
	if err != nil {
		return t, err
	}
	t.Contacts = h.Total
	return t, nil
}
