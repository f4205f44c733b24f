package models

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
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

// bucketSQL is a text bucket of a UTC timestamp column: "2026-03-04" per
// day or "2026-03-04 13" per hour, the same on both databases.
func (s *Store) bucketSQL(col string, hourly bool) string {
	if s.dialect == Postgres {
		if hourly {
			return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
		}
		return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	if hourly {
		return "strftime('%Y-%m-%d %H', " + col + ")"
	}
	return "strftime('%Y-%m-%d', " + col + ")"
}

// BucketLayout is the Go layout of a bucket from bucketSQL.
func BucketLayout(hourly bool) string {
	if hourly {
		return "2006-01-02 15"
	}
	return "2006-01-02"
}

// ActivityPoint is one period of messages and conversions.
type ActivityPoint struct {
	Bucket    string  `json:"bucket"` // "2026-03-04" or "2026-03-04 13" (UTC)
	Sent      int64   `json:"sent"`
	Read      int64   `json:"read"`
	Converted int64   `json:"converted"`
	Revenue   float64 `json:"revenue"`
}

// CampaignTimeline is a campaign's messages sent and read and its
// conversions per hour (hourly) or day, oldest first. It reads the
// campaign's ledger rows, so the campaign page loads it separately from the
// funnel, which comes from the counters.
func (s *Store) CampaignTimeline(ctx context.Context, campaignID int64, hourly bool) ([]ActivityPoint, error) {
	return s.activity(ctx, "m.campaign_id = ?", []any{campaignID}, "e.campaign_id = ?", []any{campaignID}, hourly)
}

// Activity is every campaign's messages and conversions per day since t.
func (s *Store) Activity(ctx context.Context, since time.Time) ([]ActivityPoint, error) {
	since = since.UTC()
	return s.activity(ctx, "m.sent_at >= ?", []any{since}, "e.occurred_at >= ? AND e.campaign_id IS NOT NULL", []any{since}, false)
}

func (s *Store) activity(ctx context.Context, msgWhere string, msgArgs []any, evWhere string, evArgs []any, hourly bool) ([]ActivityPoint, error) {
	db := s.db.WithContext(ctx)
	byBucket := map[string]*ActivityPoint{}
	point := func(b string) *ActivityPoint {
		if byBucket[b] == nil {
			byBucket[b] = &ActivityPoint{Bucket: b}
		}
		return byBucket[b]
	}
	var sent []struct {
		Bucket string
		N      int64
	}
	err := db.Raw("SELECT "+s.bucketSQL("m.sent_at", hourly)+" AS bucket, COUNT(*) AS n FROM messages m WHERE "+msgWhere+
		" AND m.sent_at IS NOT NULL GROUP BY 1", msgArgs...).Scan(&sent).Error
	if err != nil {
		return nil, fmt.Errorf("models: messages over time: %w", err)
	}
	for _, r := range sent {
		point(r.Bucket).Sent = r.N
	}
	readWhere := strings.ReplaceAll(msgWhere, "m.sent_at", "m.read_at")
	var read []struct {
		Bucket string
		N      int64
	}
	err = db.Raw("SELECT "+s.bucketSQL("m.read_at", hourly)+" AS bucket, COUNT(*) AS n FROM messages m WHERE "+readWhere+
		" AND m.read_at IS NOT NULL GROUP BY 1", msgArgs...).Scan(&read).Error
	if err != nil {
		return nil, fmt.Errorf("models: reads over time: %w", err)
	}
	for _, r := range read {
		point(r.Bucket).Read = r.N
	}
	var conv []struct {
		Bucket  string
		N       int64
		Revenue float64
	}
	err = db.Raw("SELECT "+s.bucketSQL("e.occurred_at", hourly)+` AS bucket,
		SUM(CASE WHEN e.attribution = 'conversion' THEN 1 ELSE 0 END) AS n, COALESCE(SUM(e.value), 0) AS revenue
		FROM events e WHERE `+evWhere+" AND e.attribution IN ('conversion', 'revenue') GROUP BY 1", evArgs...).Scan(&conv).Error
	if err != nil {
		return nil, fmt.Errorf("models: conversions over time: %w", err)
	}
	for _, r := range conv {
		p := point(r.Bucket)
		p.Converted, p.Revenue = r.N, r.Revenue
	}
	out := make([]ActivityPoint, 0, len(byBucket))
	for _, p := range byBucket {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bucket < out[j].Bucket })
	return out, nil
}

// FillDays returns one point per UTC day from since to until, with the
// given points in place and zeros elsewhere, so a chart has no gaps.
func FillDays(points []ActivityPoint, since, until time.Time) []ActivityPoint {
	have := map[string]ActivityPoint{}
	for _, p := range points {
		have[p.Bucket] = p
	}
	var out []ActivityPoint
	for d := since.UTC().Truncate(24 * time.Hour); !d.After(until.UTC()); d = d.Add(24 * time.Hour) {
		b := d.Format(BucketLayout(false))
		p, ok := have[b]
		if !ok {
			p = ActivityPoint{Bucket: b}
		}
		out = append(out, p)
	}
	return out
}

// VariantFunnel is the funnel of one A/B variant (or of the holdout).
type VariantFunnel struct {
	Variant    int     `json:"variant"`
	TemplateID *int64  `json:"template_id"`
	Targeted   int64   `json:"targeted"`
	Sent       int64   `json:"sent"`
	Delivered  int64   `json:"delivered"`
	Read       int64   `json:"read"`
	Tapped     int64   `json:"tapped"`
	Converted  int64   `json:"converted"`
	Revenue    float64 `json:"revenue"`
}

// CampaignVariants counts each variant's funnel from the ledger (holdout
// rows excluded). Only A/B campaigns need it; it reads the campaign's rows.
func (s *Store) CampaignVariants(ctx context.Context, campaignID int64) ([]VariantFunnel, error) {
	var out []VariantFunnel
	err := s.db.WithContext(ctx).Raw(`SELECT variant, MIN(template_id) AS template_id, COUNT(*) AS targeted,
		SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END) AS sent,
		SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END) AS delivered,
		SUM(CASE WHEN read_at IS NOT NULL THEN 1 ELSE 0 END) AS read,
		SUM(CASE WHEN tapped_at IS NOT NULL THEN 1 ELSE 0 END) AS tapped,
		SUM(CASE WHEN converted_at IS NOT NULL THEN 1 ELSE 0 END) AS converted,
		COALESCE(SUM(revenue), 0) AS revenue
		FROM messages WHERE campaign_id = ? AND status <> 'holdout' GROUP BY variant ORDER BY variant`, campaignID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: campaign %d variants: %w", campaignID, err)
	}
	return out, nil
}

// RefreshCampaignCost recomputes a campaign's cost into campaign_stats:
// every delivered message priced by its contact's country and the category
// WhatsApp billed it under (the webhook's pricing category when recorded,
// else the template's), from the price table in Settings.
func (s *Store) RefreshCampaignCost(ctx context.Context, campaignID int64) (float64, error) {
	pricing, err := s.Pricing(ctx)
	if err != nil {
		return 0, err
	}
	var rows []struct {
		Country  string
		Category string
		N        int64
	}
	err = s.db.WithContext(ctx).Raw(`SELECT COALESCE(c.country, '') AS country,
		CASE WHEN m.pricing_category <> '' THEN UPPER(m.pricing_category) ELSE m.category END AS category, COUNT(*) AS n
		FROM messages m LEFT JOIN contacts c ON c.id = m.contact_id
		WHERE m.campaign_id = ? AND m.delivered_at IS NOT NULL GROUP BY 1, 2`, campaignID).Scan(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("models: campaign %d cost: %w", campaignID, err)
	}
	cost := 0.0
	for _, r := range rows {
		cost += float64(r.N) * pricing.PriceOf(r.Country, r.Category)
	}
	cost = math.Round(cost*100) / 100
	if err := s.ensureStats(ctx, campaignID); err != nil {
		return 0, err
	}
	if err := s.db.WithContext(ctx).Exec("UPDATE campaign_stats SET cost = ? WHERE campaign_id = ?", cost, campaignID).Error; err != nil {
		return 0, fmt.Errorf("models: store campaign %d cost: %w", campaignID, err)
	}
	return cost, nil
}

// RefreshRecentCosts refreshes the cost of campaigns sending now or
// finished within the last two days; a periodic job calls it.
func (s *Store) RefreshRecentCosts(ctx context.Context) error {
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT id FROM campaigns WHERE status IN ('running', 'paused', 'scheduled')
		OR (completed_at IS NOT NULL AND completed_at >= ?)`, time.Now().UTC().Add(-48*time.Hour)).Scan(&ids).Error
	if err != nil {
		return fmt.Errorf("models: campaigns to cost: %w", err)
	}
	for _, id := range ids {
		if _, err := s.RefreshCampaignCost(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// PeriodTotals are the funnel totals of the campaigns launched in a period.
type PeriodTotals struct {
	Campaigns        int64   `json:"campaigns"`
	Targeted         int64   `json:"targeted"`
	Sent             int64   `json:"sent"`
	Delivered        int64   `json:"delivered"`
	Read             int64   `json:"read"`
	Tapped           int64   `json:"tapped"`
	Converted        int64   `json:"converted"`
	Failed           int64   `json:"failed"`
	Revenue          float64 `json:"revenue"`
	Cost             float64 `json:"cost"`
	Holdout          int64   `json:"holdout"`
	HoldoutConverted int64   `json:"holdout_converted"`
}

// TotalsSince sums the counters of campaigns launched since t: no ledger
// scan, one row per campaign.
func (s *Store) TotalsSince(ctx context.Context, since time.Time) (PeriodTotals, error) {
	var t PeriodTotals
	err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) AS campaigns, COALESCE(SUM(st.targeted), 0) AS targeted,
		COALESCE(SUM(st.sent), 0) AS sent, COALESCE(SUM(st.delivered), 0) AS delivered, COALESCE(SUM(st.read), 0) AS read,
		COALESCE(SUM(st.tapped), 0) AS tapped, COALESCE(SUM(st.converted), 0) AS converted, COALESCE(SUM(st.failed), 0) AS failed,
		COALESCE(SUM(st.revenue), 0) AS revenue, COALESCE(SUM(st.cost), 0) AS cost, COALESCE(SUM(st.holdout), 0) AS holdout,
		COALESCE(SUM(st.holdout_converted), 0) AS holdout_converted
		FROM campaigns k JOIN campaign_stats st ON st.campaign_id = k.id WHERE k.launched_at >= ?`, since.UTC()).Scan(&t).Error
	if err != nil {
		return t, fmt.Errorf("models: totals since %s: %w", since.Format(time.DateOnly), err)
	}
	return t, nil
}

// ListHealth is how much of the contact list campaigns can reach.
type ListHealth struct {
	Total       int64 `json:"total"`
	Reachable   int64 `json:"reachable"` // reachable with marketing consent
	NoConsent   int64 `json:"no_consent"`
	OptedOut    int64 `json:"opted_out"`
	Unreachable int64 `json:"unreachable"`
	Blocked     int64 `json:"blocked"`
}

// ListHealth counts contacts by what keeps them from marketing messages.
// A large list's counts may be up to sharedCountTTL old (shared_counts.go).
func (s *Store) ListHealth(ctx context.Context) (ListHealth, error) {
	if s.health == nil {
		return s.countListHealth(ctx)
	}
	return s.health.get(ctx, struct{}{}, s.countListHealth, func(h ListHealth) bool { return h.Total >= healthCountedFrom })
}

func (s *Store) countListHealth(ctx context.Context) (ListHealth, error) {
	var h ListHealth
	err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) AS total,
		COALESCE(SUM(CASE WHEN reachability = 'reachable' AND marketing_opt_in THEN 1 ELSE 0 END), 0) AS reachable,
		COALESCE(SUM(CASE WHEN reachability = 'reachable' AND NOT marketing_opt_in THEN 1 ELSE 0 END), 0) AS no_consent,
		COALESCE(SUM(CASE WHEN reachability = 'opted_out' THEN 1 ELSE 0 END), 0) AS opted_out,
		COALESCE(SUM(CASE WHEN reachability = 'unreachable' THEN 1 ELSE 0 END), 0) AS unreachable,
		COALESCE(SUM(CASE WHEN reachability = 'blocked' THEN 1 ELSE 0 END), 0) AS blocked
		FROM contacts`).Scan(&h).Error
	if err != nil {
		return h, fmt.Errorf("models: list health: %w", err)
	}
	return h, nil
}

// Significance is a two-proportion z-test of rate A = xa/na against rate
// B = xb/nb.
type Significance struct {
	Z, P float64
	// Enough is false when either group is too small for the normal
	// approximation (fewer than 30, or fewer than 5 successes or failures).
	Enough bool
	// Significant is Enough and P < 0.05.
	Significant bool
}

// TwoProportionZ tests whether two rates differ (two-sided, pooled).
func TwoProportionZ(xa, na, xb, nb int64) Significance {
	var out Significance
	if na <= 0 || nb <= 0 {
		return out
	}
	pa, pb := float64(xa)/float64(na), float64(xb)/float64(nb)
	pool := float64(xa+xb) / float64(na+nb)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(na) + 1/float64(nb)))
	out.Enough = na >= 30 && nb >= 30 && xa+xb >= 5 && (na-xa)+(nb-xb) >= 5
	if se == 0 {
		out.P = 1
		return out
	}
	out.Z = (pa - pb) / se
	out.P = math.Erfc(math.Abs(out.Z) / math.Sqrt2)
	out.Significant = out.Enough && out.P < 0.05
	return out
}

// RebuildCampaignStats recomputes a campaign's counters from its ledger
// rows, events and holdout conversions and stores them: for repairs and
// for rows written outside the ledger's own paths (demo data).
func (s *Store) RebuildCampaignStats(ctx context.Context, campaignID int64) (CampaignStats, error) {
	st, err := s.RecountCampaignStats(ctx, campaignID)
	if err != nil {
		return st, err
	}
	conv, err := s.RecountConversions(ctx, campaignID)
	if err != nil {
		return st, err
	}
	st.Converted, st.Revenue = conv.Converted, conv.Revenue
	err = s.Tx(ctx, func(tx *Store) error {
		if err := tx.ensureStats(ctx, campaignID); err != nil {
			return err
		}
		return tx.db.WithContext(ctx).Exec(`UPDATE campaign_stats SET targeted = ?, skipped_opted_out = ?, skipped_unreachable = ?,
			skipped_blocked = ?, skipped_no_consent = ?, skipped_us_marketing = ?, skipped_frequency_capped = ?, skipped_other = ?,
			holdout = ?, queued = ?, sent = ?, delivered = ?, read = ?, tapped = ?, converted = ?, failed = ?, unknown = ?, expired = ?,
			cancelled = ?, revenue = ?, holdout_converted = ?, holdout_revenue = ?, updated_at = ? WHERE campaign_id = ?`,
			st.Targeted, st.SkippedOptedOut, st.SkippedUnreachable, st.SkippedBlocked, st.SkippedNoConsent, st.SkippedUSMarketing,
			st.SkippedFrequencyCapped, st.SkippedOther, st.Holdout, st.Queued, st.Sent, st.Delivered, st.Read, st.Tapped, st.Converted,
			st.Failed, st.Unknown, st.Expired, st.Cancelled, st.Revenue, conv.HoldoutConverted, conv.HoldoutRevenue, time.Now().UTC(), campaignID).Error
	})
	if err != nil {
		return st, fmt.Errorf("models: rebuild campaign %d counters: %w", campaignID, err)
	}
	return st, nil
}
