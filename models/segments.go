package models

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Segment kinds: a dynamic segment is its rules, evaluated when used; a
// static segment is a fixed list of contacts in segment_members.
const (
	SegmentDynamic = "dynamic"
	SegmentStatic  = "static"
)

// Segment is a saved audience.
type Segment struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Kind        string          `json:"kind"`
	Rules       json.RawMessage `json:"rules"`
	CreatedByID *int64          `json:"created_by_id,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	// Counts are the last counted audience sizes, nil before the first count.
	MatchCount     *int64     `json:"count,omitempty"`
	ReachableCount *int64     `json:"reachable,omitempty"`
	CountedAt      *time.Time `json:"counted_at,omitempty"`
}

// segmentRow is a segments row as scanned; rules is JSONB or TEXT.
type segmentRow struct {
	ID             int64
	Name           string
	Description    string
	Kind           string
	Rules          string
	CreatedByID    *int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
	MatchCount     *int64
	ReachableCount *int64
	CountedAt      *time.Time
}

func (r segmentRow) segment() Segment {
	return Segment{ID: r.ID, Name: r.Name, Description: r.Description, Kind: r.Kind, Rules: json.RawMessage(r.Rules),
		CreatedByID: r.CreatedByID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		MatchCount: r.MatchCount, ReachableCount: r.ReachableCount, CountedAt: r.CountedAt}
}

const segmentColumns = `id, name, description, kind, rules, created_by_id, created_at, updated_at,
	match_count, reachable_count, counted_at`

// SegmentInput is what a user gives to create a segment.
type SegmentInput struct {
	Name        string
	Description string
	Rules       json.RawMessage // nil: everyone
	CreatedByID *int64
}

// MaxSegmentName bounds segment names.
const MaxSegmentName = 200

func checkSegmentName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxSegmentName {
		return "", fmt.Errorf("models: segment name must be 1 to %d characters: %w", MaxSegmentName, ErrInvalid)
	}
	return name, nil
}

// normalizeRules validates rules with the store's own segments and returns
// them compacted; nil or empty means everyone.
func (s *Store) normalizeRules(ctx context.Context, rules json.RawMessage, self int64) (string, error) {
	if len(strings.TrimSpace(string(rules))) == 0 || string(rules) == "null" {
		return string(EmptyRules), nil
	}
	_, _, err := Compile(rules, CompileOptions{Dialect: s.dialect, Segments: s.segmentSource(ctx), Self: self})
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, rules); err != nil {
		return "", fmt.Errorf("models: segment rules: %w", ErrInvalid)
	}
	return buf.String(), nil
}

// CreateSegment saves a dynamic segment. Invalid rules return RuleErrors.
func (s *Store) CreateSegment(ctx context.Context, in SegmentInput) (*Segment, error) {
	name, err := checkSegmentName(in.Name)
	if err != nil {
		return nil, err
	}
	rules, err := s.normalizeRules(ctx, in.Rules, 0)
	if err != nil {
		return nil, err
	}
	return s.insertSegment(ctx, name, in.Description, SegmentDynamic, rules, in.CreatedByID)
}

func (s *Store) insertSegment(ctx context.Context, name, description, kind, rules string, by *int64) (*Segment, error) {
	now := time.Now().UTC()
	var id int64
	err := s.db.WithContext(ctx).Raw(`INSERT INTO segments (name, description, kind, rules, created_by_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, name, description, kind, rules, by, now, now).Scan(&id).Error
	if err != nil {
		return nil, fmt.Errorf("models: create segment %q: %w", name, err)
	}
	return s.Segment(ctx, id)
}

// Segment returns one segment.
func (s *Store) Segment(ctx context.Context, id int64) (*Segment, error) {
	var rows []segmentRow
	err := s.db.WithContext(ctx).Raw(`SELECT `+segmentColumns+` FROM segments WHERE id = ?`, id).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: segment %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("models: segment %d: %w", id, ErrNotFound)
	}
	seg := rows[0].segment()
	return &seg, nil
}

// ListSegments returns every segment, newest change first, with their
// last counted sizes.
func (s *Store) ListSegments(ctx context.Context) ([]Segment, error) {
	var rows []segmentRow
	err := s.db.WithContext(ctx).Raw(`SELECT ` + segmentColumns + ` FROM segments ORDER BY updated_at DESC, id DESC`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("models: list segments: %w", err)
	}
	out := make([]Segment, len(rows))
	for i, r := range rows {
		out[i] = r.segment()
	}
	return out, nil
}

// ListSegmentsCounted is ListSegments with counts no older than maxAge:
// stale ones are counted again (and cached) before returning.
func (s *Store) ListSegmentsCounted(ctx context.Context, maxAge time.Duration) ([]Segment, error) {
	segs, err := s.ListSegments(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for i := range segs {
		if segs[i].CountedAt != nil && now.Sub(*segs[i].CountedAt) < maxAge {
			continue
		}
		total, reachable, err := s.countSavedSegmentShared(ctx, segs[i].ID)
		if err != nil {
			// A segment whose rules broke (a referenced segment was
			// deleted) still lists, without a count.
			if errors.Is(err, ErrInvalid) {
				continue
			}
			return nil, err
		}
		counted := now.UTC()
		segs[i].MatchCount, segs[i].ReachableCount, segs[i].CountedAt = &total, &reachable, &counted
	}
	return segs, nil
}

// SegmentPatch changes a segment; nil fields stay. Rules apply to dynamic
// segments only.
type SegmentPatch struct {
	Name        *string
	Description *string
	Rules       json.RawMessage
}

// UpdateSegment renames a segment or changes its description or rules.
func (s *Store) UpdateSegment(ctx context.Context, id int64, p SegmentPatch) (*Segment, error) {
	seg, err := s.Segment(ctx, id)
	if err != nil {
		return nil, err
	}
	name, description, rules := seg.Name, seg.Description, string(seg.Rules)
	if p.Name != nil {
		if name, err = checkSegmentName(*p.Name); err != nil {
			return nil, err
		}
	}
	if p.Description != nil {
		description = *p.Description
	}
	rulesChanged := false
	if p.Rules != nil {
		if seg.Kind == SegmentStatic {
			return nil, fmt.Errorf("models: segment %d is a static list; its rules cannot change: %w", id, ErrInvalid)
		}
		if rules, err = s.normalizeRules(ctx, p.Rules, id); err != nil {
			return nil, err
		}
		rulesChanged = true
	}
	q := `UPDATE segments SET name = ?, description = ?, rules = ?, updated_at = ?`
	if rulesChanged {
		q += `, match_count = NULL, reachable_count = NULL, counted_at = NULL`
	}
	err = s.db.WithContext(ctx).Exec(q+` WHERE id = ?`, name, description, rules, time.Now().UTC(), id).Error
	if err != nil {
		return nil, fmt.Errorf("models: update segment %d: %w", id, err)
	}
	return s.Segment(ctx, id)
}

// segmentRefs lists the segment ids a rule tree refers to directly.
func (s *Store) segmentRefs(_ context.Context, rules json.RawMessage) []int64 {
	var ids []int64
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if id, ok := x["segment"].(float64); ok {
				ids = append(ids, int64(id))
			}
			for _, child := range x {
				walk(child)
			}
		case []any:
			for _, child := range x {
				walk(child)
			}
		}
	}
	var v any
	if json.Unmarshal(rules, &v) == nil {
		walk(v)
	}
	return ids
}

// DuplicateSegment copies a segment (rules, or members of a static list)
// under the name "Copy of …".
func (s *Store) DuplicateSegment(ctx context.Context, id int64, by *int64) (*Segment, error) {
	var out *Segment
	err := s.Tx(ctx, func(tx *Store) error {
		seg, err := tx.Segment(ctx, id)
		if err != nil {
			return err
		}
		name := "Copy of " + seg.Name
		if len(name) > MaxSegmentName {
			name = name[:MaxSegmentName]
		}
		if out, err = tx.insertSegment(ctx, name, seg.Description, seg.Kind, string(seg.Rules), by); err != nil {
			return err
		}
		if seg.Kind == SegmentStatic {
			err := tx.db.WithContext(ctx).Exec(`INSERT INTO segment_members (segment_id, contact_id)
				SELECT ?, contact_id FROM segment_members WHERE segment_id = ?`, out.ID, id).Error
			if err != nil {
				return fmt.Errorf("models: duplicate segment %d members: %w", id, err)
			}
		}
		return nil
	})
	return out, err
}

// activeCampaignStatuses are the campaign states during which a segment is
// still going to be read.
var activeCampaignStatuses = []string{"scheduled", "running", "paused"}

// SegmentInUse names the active campaigns (scheduled, running, paused) that
// target or exclude the segment.
func (s *Store) SegmentInUse(ctx context.Context, id int64) ([]string, error) {
	var names []string
	var q string
	if s.dialect == Postgres {
		q = `SELECT name FROM campaigns WHERE status IN (?) AND
			(segment_ids @> to_jsonb(CAST(? AS bigint)) OR exclude_segment_ids @> to_jsonb(CAST(? AS bigint)))`
	} else {
		q = `SELECT name FROM campaigns WHERE status IN (?) AND (
			EXISTS (SELECT 1 FROM json_each(campaigns.segment_ids) j WHERE j.value = ?) OR
			EXISTS (SELECT 1 FROM json_each(campaigns.exclude_segment_ids) j WHERE j.value = ?))`
	}
	if err := s.db.WithContext(ctx).Raw(q+` ORDER BY name`, activeCampaignStatuses, id, id).Scan(&names).Error; err != nil {
		return nil, fmt.Errorf("models: campaigns using segment %d: %w", id, err)
	}
	return names, nil
}

// DeleteSegment removes a segment. It refuses with ErrConflict while an
// active campaign uses it or another segment's rules refer to it.
func (s *Store) DeleteSegment(ctx context.Context, id int64) error {
	if _, err := s.Segment(ctx, id); err != nil {
		return err
	}
	names, err := s.SegmentInUse(ctx, id)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		return fmt.Errorf("models: segment %d is used by campaign %s: %w", id, strings.Join(names, ", "), ErrConflict)
	}
	segs, err := s.ListSegments(ctx)
	if err != nil {
		return err
	}
	for _, other := range segs {
		if other.ID != id && other.Kind == SegmentDynamic && slices.Contains(s.segmentRefs(ctx, other.Rules), id) {
			return fmt.Errorf("models: segment %d is part of segment %q: %w", id, other.Name, ErrConflict)
		}
	}
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM segments WHERE id = ?`, id).Error; err != nil {
		return fmt.Errorf("models: delete segment %d: %w", id, err)
	}
	return nil
}

// segmentSource resolves {"segment": ID} for the compiler.
func (s *Store) segmentSource(ctx context.Context) SegmentSource {
	return func(id int64) (string, json.RawMessage, error) {
		seg, err := s.Segment(ctx, id)
		if err != nil {
			return "", nil, err
		}
		return seg.Kind, seg.Rules, nil
	}
}

// CompileRules compiles rules for this store's database, resolving
// references to saved segments. See the package function CompileRules.
func (s *Store) CompileRules(ctx context.Context, rules json.RawMessage) (string, []any, error) {
	return Compile(rules, CompileOptions{Dialect: s.dialect, Now: time.Now(), Segments: s.segmentSource(ctx)})
}

// SegmentWhere is the audience of a saved segment as a condition over
// `contacts c`, for INSERT … SELECT snapshots:
//
//	where, args, err := store.SegmentWhere(ctx, id)
//	db.Exec("INSERT INTO … SELECT … FROM contacts c WHERE "+where, args...)
//
// Dynamic segments compile their rules as of now; static ones read
// segment_members.
func (s *Store) SegmentWhere(ctx context.Context, id int64) (string, []any, error) {
	seg, err := s.Segment(ctx, id)
	if err != nil {
		return "", nil, err
	}
	if seg.Kind == SegmentStatic {
		return "c.id IN (SELECT sm.contact_id FROM segment_members sm WHERE sm.segment_id = ?)", []any{id}, nil
	}
	where, args, err := s.CompileRules(ctx, seg.Rules)
	if err != nil {
		return "", nil, fmt.Errorf("models: segment %d: %w", id, err)
	}
	return where, args, nil
}

// SegmentMembershipSQL is SegmentWhere as a condition on a contacts table
// under any name or alias — `id IN (SELECT c.id FROM contacts c WHERE …)` —
// for ContactFilter.SegmentSQL and queries that do not alias contacts as c.
func (s *Store) SegmentMembershipSQL(ctx context.Context, id int64) (string, []any, error) {
	where, args, err := s.SegmentWhere(ctx, id)
	if err != nil {
		return "", nil, err
	}
	return "id IN (SELECT c.id FROM contacts c WHERE " + where + ")", args, nil
}

// reachableSQL is the part of an audience a marketing message can go to.
const reachableSQL = "c.reachability = 'reachable' AND c.marketing_opt_in"

func (s *Store) countWhere(ctx context.Context, where string, args []any) (total, reachable int64, err error) {
	var out struct{ Total, Reachable int64 }
	err = s.db.WithContext(ctx).Raw(`SELECT COUNT(*) AS total,
		COALESCE(SUM(CASE WHEN `+reachableSQL+` THEN 1 ELSE 0 END), 0) AS reachable
		FROM contacts c WHERE `+where, args...).Scan(&out).Error
	if err != nil {
		return 0, 0, fmt.Errorf("models: count segment: %w", err)
	}
	return out.Total, out.Reachable, nil
}

// CountSegment counts the contacts rules match, and of those the reachable
// ones: reachability 'reachable' and opted in to marketing.
func (s *Store) CountSegment(ctx context.Context, rules json.RawMessage) (total, reachable int64, err error) {
	where, args, err := s.CompileRules(ctx, rules)
	if err != nil {
		return 0, 0, err
	}
	return s.countWhere(ctx, where, args)
}

// countSavedSegmentShared is CountSavedSegment with one count per segment
// at a time in this process: when a count goes stale, everyone who opens
// the segments list in the meantime waits for the same count instead of
// each scanning the contacts again (at 1M contacts a count is 150-200 ms).
func (s *Store) countSavedSegmentShared(ctx context.Context, id int64) (total, reachable int64, err error) {
	if s.segmentCounts == nil {
		return s.CountSavedSegment(ctx, id)
	}
	v, err, _ := s.segmentCounts.Do(strconv.FormatInt(id, 10), func() (any, error) {
		// Others wait for this count: the first viewer leaving must not
		// cancel it for them.
		t, r, err := s.CountSavedSegment(context.WithoutCancel(ctx), id)
		return [2]int64{t, r}, err
	})
	if err != nil {
		return 0, 0, err
	}
	n := v.([2]int64)
	return n[0], n[1], nil
}

// CountSavedSegment counts a saved segment and caches the figures on it.
func (s *Store) CountSavedSegment(ctx context.Context, id int64) (total, reachable int64, err error) {
	where, args, err := s.SegmentWhere(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	if total, reachable, err = s.countWhere(ctx, where, args); err != nil {
		return 0, 0, err
	}
	err = s.db.WithContext(ctx).Exec(`UPDATE segments SET match_count = ?, reachable_count = ?, counted_at = ? WHERE id = ?`,
		total, reachable, time.Now().UTC(), id).Error
	if err != nil {
		return 0, 0, fmt.Errorf("models: cache count of segment %d: %w", id, err)
	}
	return total, reachable, nil
}

// SegmentSample is a contact as the segment preview shows it.
type SegmentSample struct {
	ID             int64      `json:"id"`
	Phone          string     `json:"phone"`
	FirstName      string     `json:"first_name"`
	LastName       string     `json:"last_name"`
	Country        string     `json:"country"`
	LifecycleStage string     `json:"lifecycle_stage"`
	Reachability   string     `json:"reachability"`
	MarketingOptIn bool       `json:"opt_in"`
	TotalSpent     float64    `json:"total_spent"`
	LastActiveAt   *time.Time `json:"last_active_at"`
}

// SampleSegment returns up to n matching contacts, most recently created first.
func (s *Store) SampleSegment(ctx context.Context, rules json.RawMessage, n int) ([]SegmentSample, error) {
	where, args, err := s.CompileRules(ctx, rules)
	if err != nil {
		return nil, err
	}
	n = min(max(n, 1), 100)
	var out []SegmentSample
	err = s.db.WithContext(ctx).Raw(`SELECT c.id, c.phone, c.first_name, c.last_name, c.country, c.lifecycle_stage,
		c.reachability, c.marketing_opt_in, c.total_spent, c.last_active_at
		FROM contacts c WHERE `+where+` ORDER BY c.id DESC LIMIT ?`, append(args, n)...).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: sample segment: %w", err)
	}
	return out, nil
}

// FreezeSegment saves who a segment matches right now as a new static list.
func (s *Store) FreezeSegment(ctx context.Context, id int64, name string, by *int64) (*Segment, error) {
	where, args, err := s.SegmentWhere(ctx, id)
	if err != nil {
		return nil, err
	}
	src, err := s.Segment(ctx, id)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		name = src.Name + " (" + time.Now().UTC().Format("2006-01-02 15:04") + ")"
	}
	if name, err = checkSegmentName(name); err != nil {
		return nil, err
	}
	var out *Segment
	err = s.Tx(ctx, func(tx *Store) error {
		desc := "Frozen from “" + src.Name + "” on " + time.Now().UTC().Format("2006-01-02 15:04 UTC") + "."
		if out, err = tx.insertSegment(ctx, name, desc, SegmentStatic, string(EmptyRules), by); err != nil {
			return err
		}
		err := tx.db.WithContext(ctx).Exec(`INSERT INTO segment_members (segment_id, contact_id)
			SELECT ?, c.id FROM contacts c WHERE `+where, append([]any{out.ID}, args...)...).Error
		if err != nil {
			return fmt.Errorf("models: freeze segment %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PhoneListResult reports how a static list from phone numbers went.
type PhoneListResult struct {
	Segment *Segment
	Numbers int      // distinct numbers read
	Matched int      // numbers that belong to a contact
	Missing []string // numbers with no contact (the first 100)
}

// MaxPhoneList bounds a static list made from uploaded numbers.
const MaxPhoneList = 1_000_000

// ReadPhoneList reads the first column of a CSV (or a plain list, one number
// a line), skipping a header and blank lines.
func ReadPhoneList(r io.Reader) ([]string, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	var out []string
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("models: read phone list line %d: %w: %w", line, err, ErrInvalid)
		}
		if len(rec) == 0 {
			continue
		}
		v := strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff"))
		if v == "" {
			continue
		}
		if line == 1 && !strings.ContainsFunc(v, unicode.IsDigit) {
			continue // a header such as "phone"
		}
		out = append(out, v)
		if len(out) > MaxPhoneList {
			return nil, fmt.Errorf("models: phone list has more than %d numbers: %w", MaxPhoneList, ErrInvalid)
		}
	}
	return out, nil
}

// CreateStaticSegmentFromPhones saves a static list of the contacts whose
// numbers are given, in E.164 as contacts store them (the caller normalises
// with package phone). Numbers without a contact are reported, not created.
func (s *Store) CreateStaticSegmentFromPhones(ctx context.Context, name string, e164 []string, by *int64) (*PhoneListResult, error) {
	name, err := checkSegmentName(name)
	if err != nil {
		return nil, err
	}
	res := &PhoneListResult{}
	seen := map[string]bool{}
	var phones []string
	for _, p := range e164 {
		if p = strings.TrimSpace(p); p != "" && !seen[p] {
			seen[p] = true
			phones = append(phones, p)
		}
	}
	res.Numbers = len(phones)
	if len(phones) == 0 {
		return nil, fmt.Errorf("models: the list holds no phone numbers: %w", ErrInvalid)
	}
	err = s.Tx(ctx, func(tx *Store) error {
		desc := fmt.Sprintf("Uploaded list of %d numbers.", len(phones))
		if res.Segment, err = tx.insertSegment(ctx, name, desc, SegmentStatic, string(EmptyRules), by); err != nil {
			return err
		}
		for chunk := range slices.Chunk(phones, 500) {
			var found []string
			db := tx.db.WithContext(ctx)
			if err := db.Raw(`SELECT phone FROM contacts WHERE phone IN (?)`, chunk).Scan(&found).Error; err != nil {
				return fmt.Errorf("models: match phone list: %w", err)
			}
			if err := db.Exec(`INSERT INTO segment_members (segment_id, contact_id)
				SELECT ?, id FROM contacts WHERE phone IN (?) ON CONFLICT DO NOTHING`, res.Segment.ID, chunk).Error; err != nil {
				return fmt.Errorf("models: save phone list: %w", err)
			}
			res.Matched += len(found)
			have := map[string]bool{}
			for _, f := range found {
				have[f] = true
			}
			for _, p := range chunk {
				if !have[p] && len(res.Missing) < 100 {
					res.Missing = append(res.Missing, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// SegmentMemberCount is the size of a static list.
func (s *Store) SegmentMemberCount(ctx context.Context, id int64) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM segment_members WHERE segment_id = ?`, id).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("models: members of segment %d: %w", id, err)
	}
	return n, nil
}

// sampleRows bounds the contacts DiscoverAttributeKeys and DistinctValues
// read: the newest ones, so the builder stays quick on a million contacts.
const sampleRows = 50_000

// MaxDistinctValues bounds DistinctValues.
const MaxDistinctValues = 300

// DiscoverAttributeKeys lists the custom attribute names in use (among the
// newest contacts), sorted. Names the compiler would refuse are left out.
func (s *Store) DiscoverAttributeKeys(ctx context.Context) ([]string, error) {
	var q string
	if s.dialect == Postgres {
		q = `SELECT DISTINCT k FROM (SELECT attributes FROM contacts ORDER BY id DESC LIMIT ?) s,
			jsonb_object_keys(CASE WHEN jsonb_typeof(s.attributes) = 'object' THEN s.attributes ELSE '{}'::jsonb END) k ORDER BY k LIMIT ?`
	} else {
		q = `SELECT DISTINCT j.key FROM (SELECT attributes FROM contacts ORDER BY id DESC LIMIT ?) s,
			json_each(CASE WHEN json_type(s.attributes) = 'object' THEN s.attributes ELSE '{}' END) j ORDER BY j.key LIMIT ?`
	}
	var keys []string
	if err := s.db.WithContext(ctx).Raw(q, sampleRows, MaxDistinctValues).Scan(&keys).Error; err != nil {
		return nil, fmt.Errorf("models: discover attribute keys: %w", err)
	}
	return slices.DeleteFunc(keys, func(k string) bool { return !attributeKey.MatchString(k) }), nil
}

// DistinctValues lists values in use for a field with few of them —
// country, timezone, language, lifecycle_stage, tags, or attributes.NAME —
// among the newest contacts, sorted and capped, for the builder's dropdowns.
func (s *Store) DistinctValues(ctx context.Context, field string) ([]string, error) {
	f, ok := lookupField(field)
	if !ok {
		return nil, fmt.Errorf("models: distinct values of %q: unknown field: %w", field, ErrInvalid)
	}
	var q string
	switch {
	case f.Type == FieldTags && s.dialect == Postgres:
		q = `SELECT DISTINCT v FROM (SELECT tags FROM contacts ORDER BY id DESC LIMIT ?) s,
			jsonb_array_elements_text(CASE WHEN jsonb_typeof(s.tags) = 'array' THEN s.tags ELSE '[]'::jsonb END) v ORDER BY v LIMIT ?`
	case f.Type == FieldTags:
		q = `SELECT DISTINCT j.value FROM (SELECT tags FROM contacts ORDER BY id DESC LIMIT ?) s,
			json_each(CASE WHEN json_type(s.tags) = 'array' THEN s.tags ELSE '[]' END) j ORDER BY j.value LIMIT ?`
	case f.Type == FieldAttribute:
		c := &compiler{opts: CompileOptions{Dialect: s.dialect}}
		expr := c.attrText(f.column)
		q = `SELECT DISTINCT v FROM (SELECT ` + expr + ` AS v FROM contacts c ORDER BY c.id DESC LIMIT ?) s
			WHERE v IS NOT NULL AND v <> '' ORDER BY v LIMIT ?`
	case slices.Contains([]string{"country", "timezone", "language", "lifecycle_stage", "reachability"}, f.Key):
		q = `SELECT DISTINCT v FROM (SELECT ` + f.column + ` AS v FROM contacts ORDER BY id DESC LIMIT ?) s
			WHERE v <> '' ORDER BY v LIMIT ?`
	default:
		return nil, fmt.Errorf("models: distinct values of %q: not a field with few values: %w", field, ErrInvalid)
	}
	var values []string
	if err := s.db.WithContext(ctx).Raw(q, sampleRows, MaxDistinctValues).Scan(&values).Error; err != nil {
		return nil, fmt.Errorf("models: distinct values of %s: %w", field, err)
	}
	return values, nil
}

// CampaignChoice is a campaign as the engagement condition's dropdown lists it.
type CampaignChoice struct {
	ID   int64
	Name string
}

// SegmentCampaignChoices lists the newest campaigns (up to 200) for
// engagement conditions.
func (s *Store) SegmentCampaignChoices(ctx context.Context) ([]CampaignChoice, error) {
	var out []CampaignChoice
	if err := s.db.WithContext(ctx).Raw(`SELECT id, name FROM campaigns ORDER BY id DESC LIMIT 200`).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("models: campaigns for segments: %w", err)
	}
	return out, nil
}
