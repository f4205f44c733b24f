package models

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// CampaignStats are a campaign's funnel counters, kept in campaign_stats and
// changed in the same transaction as the ledger rows they count, so reading
// them never needs a scan of messages.
type CampaignStats struct {
	CampaignID             int64   `json:"-"`
	Targeted               int64   `json:"targeted"`
	SkippedOptedOut        int64   `json:"skipped_opted_out"`
	SkippedUnreachable     int64   `json:"skipped_unreachable"`
	SkippedBlocked         int64   `json:"skipped_blocked"`
	SkippedNoConsent       int64   `json:"skipped_no_consent"`
	SkippedUSMarketing     int64   `json:"skipped_us_marketing" gorm:"column:skipped_us_marketing"`
	SkippedFrequencyCapped int64   `json:"skipped_frequency_capped"`
	SkippedOther           int64   `json:"skipped_other"`
	Holdout                int64   `json:"holdout"`
	Queued                 int64   `json:"queued"`
	Sent                   int64   `json:"sent"`
	Delivered              int64   `json:"delivered"`
	Read                   int64   `json:"read"`
	Tapped                 int64   `json:"tapped"`
	Converted              int64   `json:"converted"`
	Failed                 int64   `json:"failed"`
	Unknown                int64   `json:"unknown"`
	Expired                int64   `json:"expired"`
	Cancelled              int64   `json:"cancelled"`
	Revenue                float64 `json:"revenue"`
	Cost                   float64 `json:"cost"`
}

// Suppressed is every contact skipped before sending, whatever the reason.
func (s CampaignStats) Suppressed() int64 {
	return s.SkippedOptedOut + s.SkippedUnreachable + s.SkippedBlocked + s.SkippedNoConsent +
		s.SkippedUSMarketing + s.SkippedFrequencyCapped + s.SkippedOther
}

// Done is how many targeted messages reached a final state.
func (s CampaignStats) Done() int64 { return s.Targeted - s.Queued }

// statColumns are the counters a statDelta may touch; they double as the
// allowlist that keeps column names out of reach of input.
var statColumns = []string{"targeted", "skipped_opted_out", "skipped_unreachable", "skipped_blocked",
	"skipped_no_consent", "skipped_us_marketing", "skipped_frequency_capped", "skipped_other", "holdout",
	"queued", "sent", "delivered", "read", "tapped", "converted", "failed", "unknown", "expired", "cancelled"}

// skipColumn maps a skip reason to its counter.
func skipColumn(reason string) string {
	switch reason {
	case SkipOptedOut, SkipUnreachable, SkipBlocked, SkipNoConsent, SkipUSMarketing, SkipFrequencyCapped:
		return "skipped_" + reason
	}
	return "skipped_other"
}

// statDelta is a change to one campaign's counters.
type statDelta map[string]int64

// add merges other into d.
func (d statDelta) add(other statDelta) {
	for k, v := range other {
		d[k] += v
	}
}

// statDeltas are changes to several campaigns' counters.
type statDeltas map[int64]statDelta

func (ds statDeltas) add(campaignID *int64, d statDelta) {
	if campaignID == nil {
		return
	}
	cur := ds[*campaignID]
	if cur == nil {
		cur = statDelta{}
		ds[*campaignID] = cur
	}
	cur.add(d)
}

// apply writes every campaign's delta, in campaign id order so concurrent
// transactions lock the counter rows in one order and cannot deadlock on them.
func (s *Store) applyDeltas(ctx context.Context, ds statDeltas) error {
	ids := make([]int64, 0, len(ds))
	for id := range ds {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := s.addStats(ctx, id, ds[id]); err != nil {
			return err
		}
	}
	return nil
}

// addStats adds d to the campaign's counters, creating the row if needed.
func (s *Store) addStats(ctx context.Context, campaignID int64, d statDelta) error {
	var sets []string
	var args []any
	for _, col := range statColumns {
		if v := d[col]; v != 0 {
			sets = append(sets, col+" = "+col+" + ?")
			args = append(args, v)
		}
	}
	if len(sets) == 0 {
		return nil
	}
	now := time.Now().UTC()
	db := s.db.WithContext(ctx)
	args = append(args, now, campaignID)
	res := db.Exec("UPDATE campaign_stats SET "+strings.Join(sets, ", ")+", updated_at = ? WHERE campaign_id = ?", args...)
	if res.Error != nil {
		return fmt.Errorf("models: campaign %d counters: %w", campaignID, res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	if err := s.ensureStats(ctx, campaignID); err != nil {
		return err
	}
	if err := db.Exec("UPDATE campaign_stats SET "+strings.Join(sets, ", ")+", updated_at = ? WHERE campaign_id = ?", args...).Error; err != nil {
		return fmt.Errorf("models: campaign %d counters: %w", campaignID, err)
	}
	return nil
}

func (s *Store) ensureStats(ctx context.Context, campaignID int64) error {
	err := s.db.WithContext(ctx).Exec("INSERT INTO campaign_stats (campaign_id, updated_at) VALUES (?, ?) ON CONFLICT (campaign_id) DO NOTHING",
		campaignID, time.Now().UTC()).Error
	if err != nil {
		return fmt.Errorf("models: create campaign %d counters: %w", campaignID, err)
	}
	return nil
}

// CampaignStats reads one campaign's counters (zero before launch).
func (s *Store) CampaignStats(ctx context.Context, campaignID int64) (CampaignStats, error) {
	m, err := s.CampaignStatsFor(ctx, []int64{campaignID})
	if err != nil {
		return CampaignStats{}, err
	}
	st := m[campaignID]
	st.CampaignID = campaignID
	return st, nil
}

// CampaignStatsFor reads several campaigns' counters.
func (s *Store) CampaignStatsFor(ctx context.Context, ids []int64) (map[int64]CampaignStats, error) {
	out := map[int64]CampaignStats{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []CampaignStats
	if err := s.db.WithContext(ctx).Table("campaign_stats").Where("campaign_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: read campaign counters: %w", err)
	}
	for _, r := range rows {
		out[r.CampaignID] = r
	}
	return out, nil
}

// RecountCampaignStats computes a campaign's counters from its ledger rows.
// Tests compare it with CampaignStats; an operator could use it to repair.
func (s *Store) RecountCampaignStats(ctx context.Context, campaignID int64) (CampaignStats, error) {
	var st CampaignStats
	err := s.db.WithContext(ctx).Raw(`SELECT
		COUNT(*) AS targeted,
		COALESCE(SUM(CASE WHEN status = 'skipped' AND status_reason = 'opted_out' THEN 1 ELSE 0 END), 0) AS skipped_opted_out,
		COALESCE(SUM(CASE WHEN status = 'skipped' AND status_reason = 'unreachable' THEN 1 ELSE 0 END), 0) AS skipped_unreachable,
		COALESCE(SUM(CASE WHEN status = 'skipped' AND status_reason = 'blocked' THEN 1 ELSE 0 END), 0) AS skipped_blocked,
		COALESCE(SUM(CASE WHEN status = 'skipped' AND status_reason = 'no_consent' THEN 1 ELSE 0 END), 0) AS skipped_no_consent,
		COALESCE(SUM(CASE WHEN status = 'skipped' AND status_reason = 'us_marketing' THEN 1 ELSE 0 END), 0) AS skipped_us_marketing,
		COALESCE(SUM(CASE WHEN status = 'skipped' AND status_reason = 'frequency_capped' THEN 1 ELSE 0 END), 0) AS skipped_frequency_capped,
		COALESCE(SUM(CASE WHEN status = 'skipped' AND status_reason NOT IN ('opted_out', 'unreachable', 'blocked', 'no_consent', 'us_marketing', 'frequency_capped') THEN 1 ELSE 0 END), 0) AS skipped_other,
		COALESCE(SUM(CASE WHEN status = 'holdout' THEN 1 ELSE 0 END), 0) AS holdout,
		COALESCE(SUM(CASE WHEN status IN ('pending', 'claimed', 'sending') THEN 1 ELSE 0 END), 0) AS queued,
		COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS sent,
		COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS delivered,
		COALESCE(SUM(CASE WHEN read_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS read,
		COALESCE(SUM(CASE WHEN tapped_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS tapped,
		COALESCE(SUM(CASE WHEN converted_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS converted,
		COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
		COALESCE(SUM(CASE WHEN status = 'unknown' THEN 1 ELSE 0 END), 0) AS unknown,
		COALESCE(SUM(CASE WHEN status = 'expired' THEN 1 ELSE 0 END), 0) AS expired,
		COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) AS cancelled
		FROM messages WHERE campaign_id = ?`, campaignID).Scan(&st).Error
	if err != nil {
		return st, fmt.Errorf("models: recount campaign %d: %w", campaignID, err)
	}
	st.CampaignID = campaignID
	return st, nil
}

// ReasonCount is how many messages ended with one reason.
type ReasonCount struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// CampaignReasons lists failure, skip and unknown reasons with counts, most
// frequent first, for the campaign page's "errors by reason". A large
// campaign's may be up to sharedCountTTL old (shared_counts.go).
func (s *Store) CampaignReasons(ctx context.Context, campaignID int64) ([]ReasonCount, error) {
	count := func(ctx context.Context) ([]ReasonCount, error) { return s.countCampaignReasons(ctx, campaignID) }
	if s.reasons == nil {
		return count(ctx)
	}
	return s.reasons.get(ctx, campaignID, count, func(rs []ReasonCount) bool {
		var n int64
		for _, r := range rs {
			n += r.Count
		}
		return n >= reasonsCountedFrom
	})
}

func (s *Store) countCampaignReasons(ctx context.Context, campaignID int64) ([]ReasonCount, error) {
	var out []ReasonCount
	err := s.db.WithContext(ctx).Raw(`SELECT status, status_reason AS reason, COUNT(*) AS count FROM messages
		WHERE campaign_id = ? AND status IN ('failed', 'skipped', 'unknown', 'expired') GROUP BY status, status_reason
		ORDER BY COUNT(*) DESC LIMIT 50`, campaignID).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: campaign %d reasons: %w", campaignID, err)
	}
	return out, nil
}

// valuesCTE builds a CTE named name with one row per rows entry, for a
// batched UPDATE … FROM: one statement writes many rows with their own
// values. SQLite gets `WITH name(cols…) AS (VALUES (…), (…))`. Postgres gets
// the rows as one JSON parameter read by jsonb_to_recordset: planning a
// VALUES list of a few hundred rows of cast parameters costs Postgres
// several milliseconds per statement (more than running it), while the
// JSON form plans in a fraction of one; the send engine writes such a
// batch for every few hundred messages.
func valuesCTE(d Dialect, name string, cols []valueCol, rows [][]any) (string, []any) {
	if d == Postgres {
		return jsonRowsCTE(name, cols, rows)
	}
	var b strings.Builder
	b.WriteString("WITH " + name + "(")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
	}
	b.WriteString(") AS (VALUES ")
	args := make([]any, 0, len(rows)*len(cols))
	for r, row := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			if d == Postgres {
				b.WriteString("CAST(? AS " + c.pgType + ")")
			} else {
				b.WriteString("?")
			}
			args = append(args, row[i])
		}
		b.WriteString(")")
	}
	b.WriteString(") ")
	return b.String(), args
}

type valueCol struct{ name, pgType string }

// retryTx runs fn in a transaction and retries it a few times when Postgres
// aborts it for a deadlock or a serialization conflict; both are expected
// under concurrent webhook and send traffic and succeed on a second try.
func (s *Store) retryTx(ctx context.Context, fn func(tx *Store) error) error {
	var err error
	for attempt := range 4 {
		err = s.Tx(ctx, fn)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || (pgErr.Code != "40P01" && pgErr.Code != "40001") {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

// NullTime scans a timestamp whatever form the driver returns it in (time
// values from column reads, text from SQLite expressions and RETURNING).
type NullTime struct {
	Time  time.Time
	Valid bool
}

// sqliteTimeLayouts are the text forms SQLite hands back.
var sqliteTimeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

// Scan implements sql.Scanner.
func (t *NullTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*t = NullTime{}
		return nil
	case time.Time:
		*t = NullTime{Time: x.UTC(), Valid: true}
		return nil
	case []byte:
		return t.Scan(string(x))
	case string:
		for _, layout := range sqliteTimeLayouts {
			if p, err := time.Parse(layout, x); err == nil {
				*t = NullTime{Time: p.UTC(), Valid: true}
				return nil
			}
		}
		return fmt.Errorf("models: cannot read %q as a time", x)
	}
	return fmt.Errorf("models: cannot read %T as a time", v)
}

// Value implements driver.Valuer.
func (t NullTime) Value() (driver.Value, error) {
	if !t.Valid {
		return nil, nil
	}
	return t.Time, nil
}

// Ptr returns the time or nil.
func (t NullTime) Ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// isNoRows tells gorm's not-found apart from real errors.

// jsonRowsCTE is valuesCTE for Postgres: the rows travel as one jsonb
// array of objects keyed by column name.
func jsonRowsCTE(name string, cols []valueCol, rows [][]any) (string, []any) {
	objs := make([]map[string]any, len(rows))
	for r, row := range rows {
		o := make(map[string]any, len(cols))
		for i, c := range cols {
			o[c.name] = jsonCell(row[i])
		}
		objs[r] = o
	}
	js, err := json.Marshal(objs)
	if err != nil {
		// Every cell is a plain value (jsonCell); this cannot fail.
		panic(fmt.Sprintf("models: encode batch rows: %v", err))
	}
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = c.name + " " + c.pgType
	}
	// The LIMIT, written as a literal, tells the planner how many rows the
	// batch has: it otherwise assumes 100 for any function and, for a batch
	// of one on a ledger of a few thousand rows, scanned the whole table
	// rather than probe one primary key.
	return "WITH " + name + " AS (SELECT * FROM jsonb_to_recordset(CAST(? AS jsonb)) AS " + name + "_rows(" +
		strings.Join(defs, ", ") + ") LIMIT " + strconv.Itoa(len(rows)) + ") ", []any{string(js)}
}

// jsonCell turns a batch cell into what encodes as the JSON its column
// type reads: times as RFC 3339 with nanoseconds, absent values as null.
func jsonCell(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.UTC().Format(time.RFC3339Nano)
	case NullTime:
		if !x.Valid {
			return nil
		}
		return x.Time.UTC().Format(time.RFC3339Nano)
	case *string:
		if x == nil {
			return nil
		}
		return *x
	case *int64:
		if x == nil {
			return nil
		}
		return *x
	}
	return v
}
