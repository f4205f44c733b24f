package models

import (
	"context"
	"fmt"
)

// Totals are the headline counts on the dashboard; its contact count is
// ListHealth's total.
type Totals struct {
	Segments, Templates, Campaigns int64
}

// Totals counts the main objects but the contacts, which the dashboard
// takes from ListHealth so a large list is not counted again.
func (s *Store) Totals(ctx context.Context) (Totals, error) {
	var t Totals
	err := s.db.WithContext(ctx).Raw(`SELECT
		(SELECT COUNT(*) FROM segments) AS segments,
		(SELECT COUNT(*) FROM templates WHERE archived_at IS NULL) AS templates,
		(SELECT COUNT(*) FROM campaigns) AS campaigns`).Scan(&t).Error
	if err != nil {
		return t, fmt.Errorf("models: totals: %w", err)
	}
	return t, nil
}
