package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event attributions stored in events.attribution.
const (
	// AttributionConversion: the event converted the message it names.
	AttributionConversion = "conversion"
	// AttributionRevenue: the message was converted before; the event only
	// added its value to the message's revenue.
	AttributionRevenue = "revenue"
)

// EventPurchase is the event name that also updates a contact's orders and
// spend, and the default conversion event of a campaign.
const EventPurchase = "purchase"

// MaxAttributionDays bounds campaigns.attribution_days: attribution looks
// back at most this far for a read or tapped message.
const MaxAttributionDays = 90

// DefaultAttributionDays is the window of a campaign that sets none.
const DefaultAttributionDays = 3

// EventInput is one in-app event to record for a known contact.
type EventInput struct {
	ContactID      int64
	Name           string
	Value          *float64
	Currency       string
	Properties     map[string]any
	OccurredAt     time.Time
	IdempotencyKey string // "" = none; a repeated key returns the first event
}

// EventResult says what recording one event did.
type EventResult struct {
	ID        int64 `json:"id"`
	ContactID int64 `json:"contact_id"`
	// Duplicate is true when the idempotency key was seen before: nothing
	// was recorded and ID is the first event's.
	Duplicate bool `json:"duplicate"`
	// Attribution is "", AttributionConversion or AttributionRevenue.
	Attribution string `json:"attribution,omitempty"`
	MessageID   *int64 `json:"message_id,omitempty"`
	CampaignID  *int64 `json:"campaign_id,omitempty"`
	// HoldoutCampaigns are the campaigns whose holdout group this event
	// counts a conversion for (uplift).
	HoldoutCampaigns []int64 `json:"holdout_campaigns,omitempty"`
}

// ValidateEvent returns what is wrong with an event's own fields, keyed by
// the API field name.
func ValidateEvent(e EventInput) map[string]string {
	errs := map[string]string{}
	name := strings.TrimSpace(e.Name)
	switch {
	case name == "":
		errs["name"] = "Name the event, e.g. purchase."
	case len(name) > 100:
		errs["name"] = "Use at most 100 characters."
	}
	if e.Value != nil && (*e.Value < 0 || *e.Value > 1e11) {
		errs["value"] = "Use a value from 0 to 100,000,000,000."
	}
	if len(e.Currency) > 3 {
		errs["currency"] = "Use a three-letter ISO 4217 code such as USD."
	}
	if len(e.IdempotencyKey) > 200 {
		errs["idempotency_key"] = "Use at most 200 characters."
	}
	if !e.OccurredAt.IsZero() && e.OccurredAt.After(time.Now().Add(24*time.Hour)) {
		errs["occurred_at"] = "The event cannot be in the future."
	}
	return errs
}

// ContactRef names a contact by id, phone (E.164) or external id.
type ContactRef struct {
	ContactID  int64
	Phone      string
	ExternalID string
}

// ResolveContacts maps refs to contact ids in order; 0 means unknown.
func (s *Store) ResolveContacts(ctx context.Context, refs []ContactRef) ([]int64, error) {
	out := make([]int64, len(refs))
	var ids []int64
	var phones, externals []string
	for _, r := range refs {
		switch {
		case r.ContactID > 0:
			ids = append(ids, r.ContactID)
		case r.Phone != "":
			phones = append(phones, r.Phone)
		case r.ExternalID != "":
			externals = append(externals, r.ExternalID)
		}
	}
	var rows []struct {
		ID         int64
		Phone      string
		ExternalID *string
	}
	if len(ids)+len(phones)+len(externals) > 0 {
		err := s.db.WithContext(ctx).Raw("SELECT id, phone, external_id FROM contacts WHERE id IN ? OR phone IN ? OR external_id IN ?",
			orZero(ids), orEmpty(phones), orEmpty(externals)).Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("models: resolve event contacts: %w", err)
		}
	}
	byID, byPhone, byExt := map[int64]bool{}, map[string]int64{}, map[string]int64{}
	for _, r := range rows {
		byID[r.ID] = true
		byPhone[r.Phone] = r.ID
		if r.ExternalID != nil {
			byExt[*r.ExternalID] = r.ID
		}
	}
	for i, r := range refs {
		switch {
		case r.ContactID > 0:
			if byID[r.ContactID] {
				out[i] = r.ContactID
			}
		case r.Phone != "":
			out[i] = byPhone[r.Phone]
		case r.ExternalID != "":
			out[i] = byExt[r.ExternalID]
		}
	}
	return out, nil
}

func orZero(ids []int64) []int64 {
	if len(ids) == 0 {
		return []int64{0}
	}
	return ids
}

func orEmpty(v []string) []string {
	if len(v) == 0 {
		return []string{"\x00"}
	}
	return v
}

// attributionCandidate is a message of the contact that an event may be
// attributed to: one read or tapped, or a holdout row.
type attributionCandidate struct {
	ID          int64
	CampaignID  int64
	Status      string
	ReadAt      NullTime
	TappedAt    NullTime
	SendAfter   NullTime
	ConvertedAt NullTime
}

// engagedAt is the latest moment the contact read or tapped the message
// at or before t.
func (m attributionCandidate) engagedAt(t time.Time) (time.Time, bool) {
	var best time.Time
	ok := false
	for _, v := range []NullTime{m.ReadAt, m.TappedAt} {
		if v.Valid && !v.Time.After(t) && (!ok || v.Time.After(best)) {
			best, ok = v.Time, true
		}
	}
	return best, ok
}

// attributionRule is what a campaign counts as its conversion.
type attributionRule struct {
	ID               int64
	AttributionDays  int
	ConversionEvents string
	events           []string
}

func (r *attributionRule) window() time.Duration {
	d := r.AttributionDays
	if d <= 0 {
		d = 3
	}
	return time.Duration(min(d, MaxAttributionDays)) * 24 * time.Hour
}

func (r *attributionRule) counts(name string) bool {
	return slices.Contains(r.events, name)
}

// conversionDelta is a change to a campaign's conversion counters.
type conversionDelta struct {
	converted, holdoutConverted int64
	revenue, holdoutRevenue     float64
}

// RecordEvents stores events in one transaction and attributes each, in
// the same transaction, to the latest message its contact read or tapped
// within that campaign's attribution window, if the campaign counts the
// event's name (see attribute). Purchases add to the contact's orders and
// spend; every event moves the contact's last activity forward. An event
// whose idempotency key was seen before is not recorded again: its result
// is the first event's, marked Duplicate. Contacts must exist.
func (s *Store) RecordEvents(ctx context.Context, list []EventInput) ([]EventResult, error) {
	var out []EventResult
	err := s.retryTx(ctx, func(tx *Store) error {
		var err error
		out, err = tx.recordEvents(ctx, list)
		return err
	})
	return out, err
}

func (s *Store) recordEvents(ctx context.Context, list []EventInput) ([]EventResult, error) {
	db := s.db.WithContext(ctx)
	now := time.Now().UTC()
	out := make([]EventResult, len(list))
	// Lock every contact of the batch in id order: events of one contact
	// are attributed one at a time, and two batches cannot deadlock.
	var contactIDs []int64
	for _, e := range list {
		contactIDs = append(contactIDs, e.ContactID)
	}
	contactIDs = uniqueIDs(contactIDs)
	slices.Sort(contactIDs)
	if s.dialect == Postgres && len(contactIDs) > 0 {
		var locked []int64
		if err := db.Raw("SELECT id FROM contacts WHERE id IN ? ORDER BY id FOR UPDATE", contactIDs).Scan(&locked).Error; err != nil {
			return nil, fmt.Errorf("models: lock event contacts: %w", err)
		}
	}
	rules := map[int64]*attributionRule{}
	deltas := map[int64]*conversionDelta{}
	delta := func(id int64) *conversionDelta {
		if deltas[id] == nil {
			deltas[id] = &conversionDelta{}
		}
		return deltas[id]
	}
	for i, e := range list {
		at := e.OccurredAt.UTC()
		if e.OccurredAt.IsZero() {
			at = now
		}
		e.Name = strings.TrimSpace(e.Name)
		res := EventResult{ContactID: e.ContactID}
		if e.IdempotencyKey != "" {
			var prior []struct {
				ID          int64
				ContactID   int64
				Attribution string
				MessageID   *int64
				CampaignID  *int64
			}
			err := db.Raw("SELECT id, contact_id, attribution, message_id, campaign_id FROM events WHERE idempotency_key = ?", e.IdempotencyKey).Scan(&prior).Error
			if err != nil {
				return nil, fmt.Errorf("models: look up event key: %w", err)
			}
			if len(prior) > 0 {
				p := prior[0]
				out[i] = EventResult{ID: p.ID, ContactID: p.ContactID, Duplicate: true, Attribution: p.Attribution,
					MessageID: p.MessageID, CampaignID: p.CampaignID}
				continue
			}
		}
		props := e.Properties
		if props == nil {
			props = map[string]any{}
		}
		propsJSON, err := json.Marshal(props)
		if err != nil {
			return nil, fmt.Errorf("models: event properties: %w", err)
		}
		var key *string
		if e.IdempotencyKey != "" {
			k := e.IdempotencyKey
			key = &k
		}
		if err := db.Raw(`INSERT INTO events (contact_id, name, value, currency, properties, occurred_at, created_at, idempotency_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.ContactID, e.Name, e.Value, strings.ToUpper(e.Currency), string(propsJSON), at, now, key).
			Scan(&res.ID).Error; err != nil {
			return nil, fmt.Errorf("models: insert event: %w", err)
		}
		value := 0.0
		if e.Value != nil {
			value = *e.Value
		}
		if err := s.attribute(ctx, &res, e.Name, value, at, rules, delta, now); err != nil {
			return nil, err
		}
		if err := s.touchContactForEvent(ctx, e.ContactID, e.Name, value, at, now); err != nil {
			return nil, err
		}
		out[i] = res
	}
	ids := make([]int64, 0, len(deltas))
	for id := range deltas {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.addConversionStats(ctx, id, *deltas[id]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// attribute credits one stored event (res.ID) to a message and to holdout
// rows. The treated side: among the contact's messages it READ or TAPPED no
// earlier than the campaign's attribution window before the event, of
// campaigns that count this event name, the one engaged with last wins;
// the first such event converts it, later ones only add revenue. The
// holdout side: every holdout row of the contact whose campaign counts the
// name and whose would-be send time lies within the window before the event
// records one holdout conversion (more events add revenue).
func (s *Store) attribute(ctx context.Context, res *EventResult, name string, value float64, at time.Time,
	rules map[int64]*attributionRule, delta func(int64) *conversionDelta, now time.Time) error {
	db := s.db.WithContext(ctx)
	var cands []attributionCandidate
	// Rows are created at launch, before they are sent, read or tapped; a
	// look-back of twice the longest window leaves room for late sends.
	since := at.Add(-2 * MaxAttributionDays * 24 * time.Hour)
	err := db.Raw(`SELECT id, campaign_id, status, read_at, tapped_at, send_after, converted_at FROM messages
		WHERE contact_id = ? AND campaign_id IS NOT NULL AND created_at >= ? AND created_at <= ?
		AND (read_at IS NOT NULL OR tapped_at IS NOT NULL OR status = 'holdout')`, res.ContactID, since, at).Scan(&cands).Error
	if err != nil {
		return fmt.Errorf("models: attribution candidates: %w", err)
	}
	if len(cands) == 0 {
		return nil
	}
	if err := s.loadRules(ctx, cands, rules); err != nil {
		return err
	}
	var best *attributionCandidate
	var bestAt time.Time
	for i := range cands {
		m := &cands[i]
		rule := rules[m.CampaignID]
		if rule == nil || !rule.counts(name) {
			continue
		}
		if m.Status == MessageHoldout {
			if !m.SendAfter.Valid || m.SendAfter.Time.After(at) || at.Sub(m.SendAfter.Time) > rule.window() {
				continue
			}
			first, err := s.creditHoldout(ctx, m, res.ID, value, at, now)
			if err != nil {
				return err
			}
			d := delta(m.CampaignID)
			d.holdoutRevenue += value
			if first {
				d.holdoutConverted++
				res.HoldoutCampaigns = append(res.HoldoutCampaigns, m.CampaignID)
			}
			continue
		}
		engaged, ok := m.engagedAt(at)
		if !ok || at.Sub(engaged) > rule.window() {
			continue
		}
		if best == nil || engaged.After(bestAt) || (engaged.Equal(bestAt) && m.ID > best.ID) {
			best, bestAt = m, engaged
		}
	}
	if best == nil {
		return nil
	}
	kind := AttributionRevenue
	if !best.ConvertedAt.Valid {
		r := db.Exec("UPDATE messages SET converted_at = ?, revenue = revenue + ?, updated_at = ? WHERE id = ? AND converted_at IS NULL",
			at, value, now, best.ID)
		if r.Error != nil {
			return fmt.Errorf("models: convert message %d: %w", best.ID, r.Error)
		}
		if r.RowsAffected > 0 {
			kind = AttributionConversion
		}
	}
	if kind == AttributionRevenue {
		if err := db.Exec("UPDATE messages SET revenue = revenue + ?, updated_at = ? WHERE id = ?", value, now, best.ID).Error; err != nil {
			return fmt.Errorf("models: add revenue to message %d: %w", best.ID, err)
		}
	}
	if err := db.Exec("UPDATE events SET message_id = ?, campaign_id = ?, attribution = ? WHERE id = ?",
		best.ID, best.CampaignID, kind, res.ID).Error; err != nil {
		return fmt.Errorf("models: attribute event %d: %w", res.ID, err)
	}
	d := delta(best.CampaignID)
	d.revenue += value
	if kind == AttributionConversion {
		d.converted++
	}
	mid, cid := best.ID, best.CampaignID
	res.Attribution, res.MessageID, res.CampaignID = kind, &mid, &cid
	return nil
}

// loadRules reads the attribution settings of the candidates' campaigns
// not yet in rules.
func (s *Store) loadRules(ctx context.Context, cands []attributionCandidate, rules map[int64]*attributionRule) error {
	var missing []int64
	for _, m := range cands {
		if _, ok := rules[m.CampaignID]; !ok {
			missing = append(missing, m.CampaignID)
		}
	}
	missing = uniqueIDs(missing)
	if len(missing) == 0 {
		return nil
	}
	var rows []attributionRule
	err := s.db.WithContext(ctx).Raw("SELECT id, attribution_days, conversion_events FROM campaigns WHERE id IN ?", missing).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("models: campaign attribution settings: %w", err)
	}
	for i := range rows {
		r := &rows[i]
		if err := json.Unmarshal([]byte(r.ConversionEvents), &r.events); err != nil || len(r.events) == 0 {
			r.events = []string{EventPurchase}
		}
		rules[r.ID] = r
	}
	for _, id := range missing {
		if _, ok := rules[id]; !ok {
			rules[id] = nil
		}
	}
	return nil
}

// creditHoldout records a holdout row's conversion, or adds revenue to it;
// first says whether this event converted it.
func (s *Store) creditHoldout(ctx context.Context, m *attributionCandidate, eventID int64, value float64, at, now time.Time) (bool, error) {
	db := s.db.WithContext(ctx)
	r := db.Exec(`INSERT INTO holdout_conversions (message_id, campaign_id, event_id, converted_at, revenue, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`, m.ID, m.CampaignID, eventID, at, value, now)
	if r.Error != nil {
		return false, fmt.Errorf("models: holdout conversion of message %d: %w", m.ID, r.Error)
	}
	if r.RowsAffected > 0 {
		return true, nil
	}
	if err := db.Exec("UPDATE holdout_conversions SET revenue = revenue + ? WHERE message_id = ?", value, m.ID).Error; err != nil {
		return false, fmt.Errorf("models: holdout revenue of message %d: %w", m.ID, err)
	}
	return false, nil
}

// touchContactForEvent moves the contact's last activity forward and, for a
// purchase, adds to its orders and spend.
func (s *Store) touchContactForEvent(ctx context.Context, contactID int64, name string, value float64, at, now time.Time) error {
	orders := 0
	spend := 0.0
	if name == EventPurchase {
		orders, spend = 1, value
	}
	err := s.db.WithContext(ctx).Exec(`UPDATE contacts SET total_orders = total_orders + ?, total_spent = total_spent + ?,
		last_active_at = CASE WHEN last_active_at IS NULL OR last_active_at < ? THEN ? ELSE last_active_at END, updated_at = ?
		WHERE id = ?`, orders, spend, at, at, now, contactID).Error
	if err != nil {
		return fmt.Errorf("models: update contact %d for event: %w", contactID, err)
	}
	return nil
}

// addConversionStats adds d to a campaign's conversion counters.
func (s *Store) addConversionStats(ctx context.Context, campaignID int64, d conversionDelta) error {
	q := `UPDATE campaign_stats SET converted = converted + ?, revenue = revenue + ?, holdout_converted = holdout_converted + ?,
		holdout_revenue = holdout_revenue + ?, updated_at = ? WHERE campaign_id = ?`
	args := []any{d.converted, d.revenue, d.holdoutConverted, d.holdoutRevenue, time.Now().UTC(), campaignID}
	db := s.db.WithContext(ctx)
	r := db.Exec(q, args...)
	if r.Error != nil {
		return fmt.Errorf("models: campaign %d conversion counters: %w", campaignID, r.Error)
	}
	if r.RowsAffected > 0 {
		return nil
	}
	if err := s.ensureStats(ctx, campaignID); err != nil {
		return err
	}
	if err := db.Exec(q, args...).Error; err != nil {
		return fmt.Errorf("models: campaign %d conversion counters: %w", campaignID, err)
	}
	return nil
}

// ConversionCounts are a campaign's conversion counters.
type ConversionCounts struct {
	Converted        int64   `json:"converted"`
	Revenue          float64 `json:"revenue"`
	HoldoutConverted int64   `json:"holdout_converted"`
	HoldoutRevenue   float64 `json:"holdout_revenue"`
}

// CampaignConversions reads a campaign's kept conversion counters.
func (s *Store) CampaignConversions(ctx context.Context, campaignID int64) (ConversionCounts, error) {
	var c ConversionCounts
	err := s.db.WithContext(ctx).Raw(`SELECT converted, revenue, holdout_converted, holdout_revenue FROM campaign_stats WHERE campaign_id = ?`,
		campaignID).Scan(&c).Error
	if err != nil {
		return c, fmt.Errorf("models: campaign %d conversions: %w", campaignID, err)
	}
	return c, nil
}

// RecountConversions computes a campaign's conversion counters from the
// ledger, the events and the holdout conversions; tests compare it with
// CampaignConversions.
func (s *Store) RecountConversions(ctx context.Context, campaignID int64) (ConversionCounts, error) {
	var c ConversionCounts
	err := s.db.WithContext(ctx).Raw(`SELECT
		(SELECT COUNT(*) FROM messages WHERE campaign_id = ? AND converted_at IS NOT NULL) AS converted,
		(SELECT COALESCE(SUM(revenue), 0) FROM messages WHERE campaign_id = ? AND status <> 'holdout') AS revenue,
		(SELECT COUNT(*) FROM holdout_conversions WHERE campaign_id = ?) AS holdout_converted,
		(SELECT COALESCE(SUM(revenue), 0) FROM holdout_conversions WHERE campaign_id = ?) AS holdout_revenue`,
		campaignID, campaignID, campaignID, campaignID).Scan(&c).Error
	if err != nil {
		return c, fmt.Errorf("models: recount campaign %d conversions: %w", campaignID, err)
	}
	return c, nil
}
