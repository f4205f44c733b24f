package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Attribution is what a campaign counts as a conversion.
type Attribution struct {
	Days   int      `json:"attribution_days"`
	Events []string `json:"conversion_events"`
}

// SetCampaignAttribution sets a campaign's attribution window (days, 1 to
// MaxAttributionDays; 0 keeps the current one) and conversion event names
// (nil keeps the current ones).
func (s *Store) SetCampaignAttribution(ctx context.Context, campaignID int64, days int, events []string) error {
	if days < 0 || days > MaxAttributionDays {
		return fmt.Errorf("models: attribution window of %d days: %w", days, ErrInvalid)
	}
	upd := map[string]any{"updated_at": time.Now().UTC()}
	if days > 0 {
		upd["attribution_days"] = days
	}
	if events != nil {
		clean := make([]string, 0, len(events))
		for _, e := range events {
			if e = strings.TrimSpace(e); e != "" {
				clean = append(clean, e)
			}
		}
		if len(clean) == 0 {
			return fmt.Errorf("models: a campaign needs at least one conversion event: %w", ErrInvalid)
		}
		raw, err := json.Marshal(clean)
		if err != nil {
			return fmt.Errorf("models: conversion events: %w", err)
		}
		upd["conversion_events"] = string(raw)
	}
	r := s.db.WithContext(ctx).Table("campaigns").Where("id = ?", campaignID).Updates(upd)
	if r.Error != nil {
		return fmt.Errorf("models: set campaign %d attribution: %w", campaignID, r.Error)
	}
	if r.RowsAffected == 0 {
		return fmt.Errorf("models: campaign %d: %w", campaignID, ErrNotFound)
	}
	return nil
}

// CampaignAttribution reads a campaign's attribution settings.
func (s *Store) CampaignAttribution(ctx context.Context, campaignID int64) (Attribution, error) {
	var row struct {
		AttributionDays  int
		ConversionEvents string
	}
	err := s.db.WithContext(ctx).Raw("SELECT attribution_days, conversion_events FROM campaigns WHERE id = ?", campaignID).Scan(&row).Error
	if err != nil {
		return Attribution{}, fmt.Errorf("models: campaign %d attribution: %w", campaignID, err)
	}
	a := Attribution{Days: row.AttributionDays}
	if err := json.Unmarshal([]byte(row.ConversionEvents), &a.Events); err != nil || len(a.Events) == 0 {
		a.Events = []string{EventPurchase}
	}
	return a, nil
}
