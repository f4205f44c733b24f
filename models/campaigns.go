package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gorm.io/gorm"
)

// Campaign statuses. A campaign moves draft → scheduled (a future "at" send)
// or running (now, local time, recurring) → completed; paused and running
// swap on pause/resume; cancelled is final. Messages are claimed only while
// their campaign is scheduled or running.
const (
	CampaignDraft     = "draft"
	CampaignScheduled = "scheduled"
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignCompleted = "completed"
	CampaignCancelled = "cancelled"
)

// Schedule types, as in CONTRACT.md.
const (
	ScheduleNow       = "now"
	ScheduleAt        = "at"
	ScheduleLocalTime = "local_time"
	ScheduleCron      = "cron"
)

// Schedule says when a campaign sends: {"type":"now"}, {"type":"at","at":…},
// {"type":"local_time","date":"2026-12-01","time":"10:00"} in each contact's
// zone, or {"type":"cron","cron":"0 10 * * *","timezone":"…"}.
type Schedule struct {
	Type     string     `json:"type"`
	At       *time.Time `json:"at,omitempty"`
	Date     string     `json:"date,omitempty"`
	Time     string     `json:"time,omitempty"`
	Cron     string     `json:"cron,omitempty"`
	Timezone string     `json:"timezone,omitempty"`
}

// cronParser reads standard five-field specs and descriptors (@daily).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate returns what is wrong with the schedule, keyed by field name
// under "schedule".
func (s Schedule) Validate() map[string]string {
	errs := map[string]string{}
	switch s.Type {
	case ScheduleNow:
	case ScheduleAt:
		if s.At == nil || s.At.IsZero() {
			errs["schedule.at"] = "Give the date and time to send at (RFC 3339)."
		}
	case ScheduleLocalTime:
		if _, err := time.Parse(time.DateOnly, s.Date); err != nil {
			errs["schedule.date"] = "Give the date as YYYY-MM-DD."
		}
		if _, err := ParseClock(s.Time); err != nil {
			errs["schedule.time"] = "Give the time as HH:MM."
		}
	case ScheduleCron:
		if _, err := cronParser.Parse(s.Cron); err != nil {
			errs["schedule.cron"] = "This is not a cron expression (minute hour day month weekday)."
		}
		if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "" {
			errs["schedule.timezone"] = "Choose a time zone such as America/Sao_Paulo."
		}
	default:
		errs["schedule.type"] = "Choose now, at, local_time or cron."
	}
	return errs
}

// NextCronRun is the first run of a cron schedule strictly after t.
func (s Schedule) NextCronRun(t time.Time) (time.Time, error) {
	spec, err := cronParser.Parse(s.Cron)
	if err != nil {
		return time.Time{}, fmt.Errorf("models: cron %q: %w", s.Cron, err)
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return time.Time{}, fmt.Errorf("models: cron time zone %q: %w", s.Timezone, err)
	}
	return spec.Next(t.In(loc)).UTC(), nil
}

// Variant is one arm of an A/B test: a template and its share in percent.
type Variant struct {
	TemplateID int64 `json:"template_id"`
	Share      int   `json:"share"`
}

// Campaign is a message to an audience on a schedule. JSON columns are
// decoded into typed fields by AfterFind and encoded by BeforeSave.
type Campaign struct {
	ID                int64             `json:"id"`
	Name              string            `json:"name"`
	Kind              string            `json:"kind"`
	Status            string            `json:"status"`
	StatusReason      string            `json:"status_reason"`
	SenderID          *int64            `json:"sender_id"`
	TemplateID        *int64            `json:"template_id"`
	TemplateValues    map[string]string `json:"template_values" gorm:"serializer:json"`
	SegmentIDs        []int64           `json:"segment_ids" gorm:"serializer:json"`
	ExcludeSegmentIDs []int64           `json:"exclude_segment_ids" gorm:"serializer:json"`
	Schedule          Schedule          `json:"schedule" gorm:"serializer:json"`
	RespectQuietHours bool              `json:"respect_quiet_hours"`
	FrequencyCap      bool              `json:"frequency_cap"`
	Deadline          *time.Time        `json:"deadline"`
	HoldoutPercent    int               `json:"holdout_percent"`
	Variants          []Variant         `json:"variants" gorm:"serializer:json"`
	ReentryDays       int               `json:"reentry_days"`
	// AttributionDays is how long after a read or tap an event counts as
	// this campaign's conversion; ConversionEvents names the events that do.
	AttributionDays  int        `json:"attribution_days"`
	ConversionEvents []string   `json:"conversion_events" gorm:"serializer:json"`
	QuietStart       string     `json:"quiet_start"` // "" = Settings → Delivery rules
	QuietEnd         string     `json:"quiet_end"`
	Timezone         string     `json:"timezone"` // for contacts without one; "" = settings default
	Priority         int        `json:"priority"`
	NextRunAt        *time.Time `json:"next_run_at"`
	LaunchedAt       *time.Time `json:"launched_at"`
	CompletedAt      *time.Time `json:"completed_at"`
	CreatedByID      *int64     `json:"created_by_id"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// TableName is the campaigns table.
func (Campaign) TableName() string { return "campaigns" }

// BeforeSave keeps JSON columns valid: nil slices and maps become [] and {}.
func (c *Campaign) BeforeSave(*gorm.DB) error {
	if c.TemplateValues == nil {
		c.TemplateValues = map[string]string{}
	}
	if c.SegmentIDs == nil {
		c.SegmentIDs = []int64{}
	}
	if c.ExcludeSegmentIDs == nil {
		c.ExcludeSegmentIDs = []int64{}
	}
	if c.Variants == nil {
		c.Variants = []Variant{}
	}
	if c.AttributionDays == 0 {
		c.AttributionDays = DefaultAttributionDays
	}
	if len(c.ConversionEvents) == 0 {
		c.ConversionEvents = []string{EventPurchase}
	}
	if c.Kind == "" {
		c.Kind = "broadcast"
	}
	if c.Status == "" {
		c.Status = CampaignDraft
	}
	return nil
}

// Recurring reports whether the campaign runs on a cron schedule.
func (c *Campaign) Recurring() bool { return c.Schedule.Type == ScheduleCron }

// TemplateIDs lists the templates the campaign sends: the variants', or the
// single template.
func (c *Campaign) TemplateIDs() []int64 {
	if len(c.Variants) > 0 {
		ids := make([]int64, len(c.Variants))
		for i, v := range c.Variants {
			ids[i] = v.TemplateID
		}
		return ids
	}
	if c.TemplateID != nil {
		return []int64{*c.TemplateID}
	}
	return nil
}

// Editable reports whether the campaign's content may still change.
func (c *Campaign) Editable() bool { return c.Status == CampaignDraft }

// ValidateCampaign checks a campaign's own fields (not that referenced rows
// exist; see Store.CheckCampaignRefs) and returns messages keyed by the API
// field name.
func ValidateCampaign(c *Campaign) map[string]string {
	errs := map[string]string{}
	if strings.TrimSpace(c.Name) == "" {
		errs["name"] = "Name the campaign."
	} else if len(c.Name) > 200 {
		errs["name"] = "Use at most 200 characters."
	}
	if c.TemplateID == nil && len(c.Variants) == 0 {
		errs["template_id"] = "Choose a template."
	}
	if len(c.SegmentIDs) == 0 {
		errs["segment_ids"] = "Choose at least one segment."
	}
	if c.AttributionDays < 0 || c.AttributionDays > MaxAttributionDays {
		errs["attribution_days"] = fmt.Sprintf("Between 1 and %d days.", MaxAttributionDays)
	}
	for _, e := range c.ConversionEvents {
		if strings.TrimSpace(e) == "" || len(e) > 100 {
			errs["conversion_events"] = "Event names such as purchase or signup, each at most 100 characters."
		}
	}
	for k, v := range c.Schedule.Validate() {
		errs[k] = v
	}
	if c.HoldoutPercent < 0 || c.HoldoutPercent > 50 {
		errs["holdout_percent"] = "Use 0 to 50 percent."
	}
	if n := len(c.Variants); n > 0 {
		total := 0
		for _, v := range c.Variants {
			total += v.Share
			if v.Share <= 0 || v.TemplateID == 0 {
				errs["variants"] = "Each variant needs a template and a share above 0."
			}
		}
		if n < 2 || n > 4 {
			errs["variants"] = "Use 2 to 4 variants, or none."
		} else if total != 100 && errs["variants"] == "" {
			errs["variants"] = "Variant shares must add up to 100."
		}
	}
	if c.ReentryDays < 0 || c.ReentryDays > 3650 {
		errs["reentry_days"] = "Use 0 to 3650 days."
	}
	for _, f := range []struct{ name, v string }{{"quiet_start", c.QuietStart}, {"quiet_end", c.QuietEnd}} {
		if f.v != "" {
			if _, err := ParseClock(f.v); err != nil {
				errs[f.name] = "Give the time as HH:MM."
			}
		}
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			errs["timezone"] = "Unknown time zone."
		}
	}
	if c.Deadline != nil && c.Schedule.Type == ScheduleAt && c.Schedule.At != nil && !c.Deadline.After(*c.Schedule.At) {
		errs["deadline"] = "The deadline must come after the send time."
	}
	return errs
}

// CheckCampaignRefs checks that the campaign's sender, templates and
// segments exist and that its templates share one category, and returns
// field errors as ValidateCampaign does.
func (s *Store) CheckCampaignRefs(ctx context.Context, c *Campaign) (map[string]string, error) {
	errs := map[string]string{}
	db := s.db.WithContext(ctx)
	var category string
	for _, id := range c.TemplateIDs() {
		var t struct{ Category, Status string }
		err := db.Raw("SELECT category, status FROM templates WHERE id = ? AND archived_at IS NULL", id).Scan(&t).Error
		if err != nil {
			return nil, fmt.Errorf("models: check campaign template: %w", err)
		}
		field := "template_id"
		if len(c.Variants) > 0 {
			field = "variants"
		}
		switch {
		case t.Category == "":
			errs[field] = fmt.Sprintf("Template %d does not exist.", id)
		case category != "" && t.Category != category:
			errs[field] = "All variants must use templates of one category."
		}
		category = t.Category
	}
	for _, list := range []struct {
		field string
		ids   []int64
	}{{"segment_ids", c.SegmentIDs}, {"exclude_segment_ids", c.ExcludeSegmentIDs}} {
		if len(list.ids) == 0 {
			continue
		}
		var n int64
		if err := db.Raw("SELECT COUNT(*) FROM segments WHERE id IN ?", list.ids).Scan(&n).Error; err != nil {
			return nil, fmt.Errorf("models: check campaign segments: %w", err)
		}
		if int(n) != len(uniqueIDs(list.ids)) {
			errs[list.field] = "A chosen segment does not exist."
		}
	}
	if c.SenderID != nil {
		var n int64
		if err := db.Raw("SELECT COUNT(*) FROM senders WHERE id = ?", *c.SenderID).Scan(&n).Error; err != nil {
			return nil, fmt.Errorf("models: check campaign sender: %w", err)
		}
		if n == 0 {
			errs["sender_id"] = "That sender does not exist."
		}
	}
	return errs, nil
}

func uniqueIDs(ids []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// CreateCampaign stores a new draft campaign; validate it first.
func (s *Store) CreateCampaign(ctx context.Context, c *Campaign) error {
	c.ID = 0
	c.Status = CampaignDraft
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	if err := s.db.WithContext(ctx).Create(c).Error; err != nil {
		return fmt.Errorf("models: create campaign: %w", err)
	}
	return nil
}

// UpdateCampaign saves a draft's fields; launched campaigns are ErrConflict.
func (s *Store) UpdateCampaign(ctx context.Context, c *Campaign) error {
	return s.Tx(ctx, func(tx *Store) error {
		cur, err := tx.Campaign(ctx, c.ID)
		if err != nil {
			return err
		}
		if !cur.Editable() {
			return fmt.Errorf("models: campaign %d is %s and can no longer change: %w", c.ID, cur.Status, ErrConflict)
		}
		c.Status, c.CreatedAt, c.CreatedByID = cur.Status, cur.CreatedAt, cur.CreatedByID
		c.UpdatedAt = time.Now().UTC()
		if err := tx.db.WithContext(ctx).Save(c).Error; err != nil {
			return fmt.Errorf("models: update campaign %d: %w", c.ID, err)
		}
		return nil
	})
}

// Campaign finds a campaign by id.
func (s *Store) Campaign(ctx context.Context, id int64) (*Campaign, error) {
	var c Campaign
	if err := s.db.WithContext(ctx).First(&c, id).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("campaign %d", id))
	}
	return &c, nil
}

// ListCampaigns returns campaigns, newest first, with their counters.
func (s *Store) ListCampaigns(ctx context.Context, limit int) ([]CampaignWithStats, error) {
	if limit <= 0 {
		limit = 200
	}
	var list []Campaign
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&list).Error; err != nil {
		return nil, fmt.Errorf("models: list campaigns: %w", err)
	}
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	stats, err := s.CampaignStatsFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]CampaignWithStats, len(list))
	for i, c := range list {
		out[i] = CampaignWithStats{Campaign: c, Stats: stats[c.ID]}
	}
	return out, nil
}

// CampaignWithStats is a campaign and its funnel, for lists.
type CampaignWithStats struct {
	Campaign
	Stats CampaignStats
}

// DuplicateCampaign copies a campaign as a new draft named "Copy of …".
func (s *Store) DuplicateCampaign(ctx context.Context, id int64, by *int64) (*Campaign, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	cp := *c
	cp.Name = "Copy of " + c.Name
	cp.StatusReason, cp.NextRunAt, cp.LaunchedAt, cp.CompletedAt, cp.CreatedByID = "", nil, nil, nil, by
	if err := s.CreateCampaign(ctx, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// DeleteCampaign removes a draft. A draft has no ledger rows; any that
// exist go with it, as the ledger has no foreign key on Postgres.
func (s *Store) DeleteCampaign(ctx context.Context, id int64) error {
	return s.Tx(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		res := db.Exec("DELETE FROM campaigns WHERE id = ? AND status = ?", id, CampaignDraft)
		if res.Error != nil {
			return fmt.Errorf("models: delete campaign %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("models: delete campaign %d (only drafts can be deleted): %w", id, ErrConflict)
		}
		if err := db.Exec("DELETE FROM messages WHERE campaign_id = ?", id).Error; err != nil {
			return fmt.Errorf("models: delete campaign %d: its messages: %w", id, err)
		}
		return nil
	})
}

// PauseCampaign stops claiming the campaign's messages; those in flight
// finish. reason is shown to the marketer ("" for a manual pause).
func (s *Store) PauseCampaign(ctx context.Context, id int64, reason string) error {
	return s.setCampaignStatus(ctx, id, CampaignPaused, reason, []string{CampaignScheduled, CampaignRunning})
}

// ResumeCampaign lets a paused campaign send again.
func (s *Store) ResumeCampaign(ctx context.Context, id int64) error {
	return s.Tx(ctx, func(tx *Store) error {
		c, err := tx.Campaign(ctx, id)
		if err != nil {
			return err
		}
		if c.Status != CampaignPaused {
			return fmt.Errorf("models: resume campaign %d: it is %s: %w", id, c.Status, ErrConflict)
		}
		var runs int64
		if err := tx.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM campaign_runs WHERE campaign_id = ?", id).Scan(&runs).Error; err != nil {
			return fmt.Errorf("models: resume campaign %d: %w", id, err)
		}
		next := CampaignRunning
		if runs == 0 && c.Schedule.Type == ScheduleAt {
			next = CampaignScheduled
		}
		return tx.setCampaignStatus(ctx, id, next, "", []string{CampaignPaused})
	})
}

// CancelCampaign stops the campaign for good: its queued messages become
// cancelled (counted), messages in flight finish.
func (s *Store) CancelCampaign(ctx context.Context, id int64) error {
	return s.Tx(ctx, func(tx *Store) error {
		if err := tx.setCampaignStatus(ctx, id, CampaignCancelled, "", []string{CampaignDraft, CampaignScheduled, CampaignRunning, CampaignPaused}); err != nil {
			return err
		}
		now := time.Now().UTC()
		res := tx.db.WithContext(ctx).Exec(`UPDATE messages SET status = 'cancelled', updated_at = ?
			WHERE campaign_id = ? AND status IN ('pending', 'claimed')`, now, id)
		if res.Error != nil {
			return fmt.Errorf("models: cancel campaign %d: %w", id, res.Error)
		}
		if err := tx.addStats(ctx, id, statDelta{"queued": -res.RowsAffected, "cancelled": res.RowsAffected}); err != nil {
			return err
		}
		return tx.db.WithContext(ctx).Exec("UPDATE campaigns SET next_run_at = NULL, completed_at = ? WHERE id = ?", now, id).Error
	})
}

func (s *Store) setCampaignStatus(ctx context.Context, id int64, status, reason string, from []string) error {
	res := s.db.WithContext(ctx).Exec("UPDATE campaigns SET status = ?, status_reason = ?, updated_at = ? WHERE id = ? AND status IN ?",
		status, reason, time.Now().UTC(), id, from)
	if res.Error != nil {
		return fmt.Errorf("models: set campaign %d %s: %w", id, status, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.Campaign(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("models: campaign %d cannot become %s from its current status: %w", id, status, ErrConflict)
	}
	return nil
}

// DeliveryRulesKey is the settings key of Settings → Delivery rules.
const DeliveryRulesKey = "delivery_rules"

// DeliveryRules are the sending rules every campaign follows unless it
// overrides them.
type DeliveryRules struct {
	QuietStart string `json:"quiet_start"` // contact-local HH:MM; equal start and end = no quiet hours
	QuietEnd   string `json:"quiet_end"`
	// FrequencyCapCount marketing messages per contact in FrequencyCapDays,
	// across campaigns; 0 disables the cap.
	FrequencyCapCount int    `json:"frequency_cap_count"`
	FrequencyCapDays  int    `json:"frequency_cap_days"`
	DefaultTimezone   string `json:"default_timezone"` // for contacts without a zone
	// A campaign pauses itself when more than AutoPauseFailureRate of at
	// least AutoPauseMinAttempts finished sends failed.
	AutoPauseFailureRate float64 `json:"auto_pause_failure_rate"`
	AutoPauseMinAttempts int     `json:"auto_pause_min_attempts"`
}

// DefaultDeliveryRules are the rules before anyone edits them.
func DefaultDeliveryRules() DeliveryRules {
	return DeliveryRules{QuietStart: "21:00", QuietEnd: "09:00", FrequencyCapCount: 2, FrequencyCapDays: 7,
		DefaultTimezone: "UTC", AutoPauseFailureRate: 0.2, AutoPauseMinAttempts: 200}
}

// Validate returns what is wrong, per field.
func (r DeliveryRules) Validate() map[string]string {
	errs := map[string]string{}
	if _, err := ParseClock(r.QuietStart); err != nil {
		errs["quiet_start"] = "Give the time as HH:MM."
	}
	if _, err := ParseClock(r.QuietEnd); err != nil {
		errs["quiet_end"] = "Give the time as HH:MM."
	}
	if r.FrequencyCapCount < 0 || r.FrequencyCapCount > 100 {
		errs["frequency_cap_count"] = "Use 0 (no cap) to 100."
	}
	if r.FrequencyCapDays < 1 || r.FrequencyCapDays > 90 {
		errs["frequency_cap_days"] = "Use 1 to 90 days."
	}
	if _, err := time.LoadLocation(r.DefaultTimezone); err != nil || r.DefaultTimezone == "" {
		errs["default_timezone"] = "Unknown time zone."
	}
	if r.AutoPauseFailureRate <= 0 || r.AutoPauseFailureRate > 1 {
		errs["auto_pause_failure_rate"] = "Use a share above 0 and at most 1."
	}
	if r.AutoPauseMinAttempts < 1 {
		errs["auto_pause_min_attempts"] = "Use at least 1."
	}
	return errs
}

// DeliveryRules reads Settings → Delivery rules, with defaults.
func (s *Store) DeliveryRules(ctx context.Context) (DeliveryRules, error) {
	r := DefaultDeliveryRules()
	if _, err := s.GetSetting(ctx, DeliveryRulesKey, &r); err != nil {
		return DefaultDeliveryRules(), err
	}
	return r, nil
}

// Clock is a time of day in minutes after midnight.
type Clock int

// ParseClock reads "HH:MM".
func ParseClock(s string) (Clock, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("models: time of day %q: %w", s, ErrInvalid)
	}
	return Clock(t.Hour()*60 + t.Minute()), nil
}

// QuietHours is a daily window in local time during which marketing waits.
// Start after End wraps midnight (21:00–09:00).
type QuietHours struct {
	Start, End Clock
}

// Defer returns t, or the end of the quiet window if t (seen in loc) falls
// inside it. An empty window (Start == End) never defers.
func (q QuietHours) Defer(t time.Time, loc *time.Location) time.Time {
	if q.Start == q.End {
		return t
	}
	lt := t.In(loc)
	m := Clock(lt.Hour()*60 + lt.Minute())
	inside := false
	if q.Start < q.End {
		inside = m >= q.Start && m < q.End
	} else {
		inside = m >= q.Start || m < q.End
	}
	if !inside {
		return t
	}
	day := lt
	if q.Start > q.End && m >= q.Start {
		day = lt.AddDate(0, 0, 1) // the window opens tomorrow morning
	}
	open := time.Date(day.Year(), day.Month(), day.Day(), int(q.End)/60, int(q.End)%60, 0, 0, loc)
	return open.UTC()
}

// QuietHoursFor combines a campaign's override with the rules.
func QuietHoursFor(c *Campaign, r DeliveryRules) QuietHours {
	start, end := r.QuietStart, r.QuietEnd
	if c.QuietStart != "" && c.QuietEnd != "" {
		start, end = c.QuietStart, c.QuietEnd
	}
	s, err1 := ParseClock(start)
	e, err2 := ParseClock(end)
	if err1 != nil || err2 != nil {
		return QuietHours{}
	}
	return QuietHours{Start: s, End: e}
}

// LocalInstant is the UTC instant of date (YYYY-MM-DD) at clock (HH:MM) in loc.
func LocalInstant(date, clock string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("models: local time %s %s: %w", date, clock, ErrInvalid)
	}
	return t.UTC(), nil
}

// PricingKey is the settings key of the price table used for estimates.
const PricingKey = "pricing"

// Price is what one delivered message costs in a market, in USD, per category.
type Price struct {
	Marketing      float64 `json:"marketing"`
	Utility        float64 `json:"utility"`
	Authentication float64 `json:"authentication"`
}

// For returns the price of category.
func (p Price) For(category string) float64 {
	switch category {
	case "MARKETING":
		return p.Marketing
	case "AUTHENTICATION":
		return p.Authentication
	}
	return p.Utility
}

// Pricing maps ISO country codes (and "*" for the rest) to prices.
type Pricing map[string]Price

// DefaultPricing is Meta's illustrative card (October 2026 rates, see the
// WhatsApp reference): a starting point the admin edits in Settings.
func DefaultPricing() Pricing {
	na := Price{Marketing: 0.025, Utility: 0.0034, Authentication: 0.0034}
	return Pricing{
		"IN": {0.0118, 0.0014, 0.0014}, "BR": {0.0625, 0.0068, 0.0068}, "MX": {0.0397, 0.0085, 0.0085},
		"CO": {0.0125, 0.0008, 0.0008}, "ID": {0.0411, 0.025, 0.025}, "GB": {0.0635, 0.022, 0.022},
		"DE": {0.1365, 0.055, 0.055}, "US": na, "CA": na, "*": {0.06, 0.01, 0.01},
	}
}

// PriceOf is the price for a country, falling back to "*".
func (p Pricing) PriceOf(country, category string) float64 {
	if v, ok := p[country]; ok {
		return v.For(category)
	}
	return p["*"].For(category)
}

// Pricing reads the price table, with defaults.
func (s *Store) Pricing(ctx context.Context) (Pricing, error) {
	p := DefaultPricing()
	var saved Pricing
	ok, err := s.GetSetting(ctx, PricingKey, &saved)
	if err != nil || !ok {
		return p, err
	}
	return saved, nil
}
