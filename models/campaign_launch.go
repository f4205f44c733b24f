package models

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// audience is a campaign's recipients as SQL over `contacts c`: the union of
// its segments minus its exclusions, and for recurring campaigns minus the
// contacts it reached within its re-entry period.
type audience struct {
	where string
	args  []any
}

func (s *Store) campaignAudience(ctx context.Context, c *Campaign, now time.Time) (audience, error) {
	var include []string
	var args []any
	for _, id := range uniqueIDs(c.SegmentIDs) {
		w, a, err := s.SegmentWhere(ctx, id)
		if err != nil {
			return audience{}, fmt.Errorf("models: audience of campaign %d: %w", c.ID, err)
		}
		include = append(include, "("+w+")")
		args = append(args, a...)
	}
	if len(include) == 0 {
		return audience{}, fmt.Errorf("models: campaign %d has no segment: %w", c.ID, ErrInvalid)
	}
	where := "c.phone <> '' AND (" + strings.Join(include, " OR ") + ")"
	var exclude []string
	for _, id := range uniqueIDs(c.ExcludeSegmentIDs) {
		w, a, err := s.SegmentWhere(ctx, id)
		if err != nil {
			return audience{}, fmt.Errorf("models: exclusions of campaign %d: %w", c.ID, err)
		}
		exclude = append(exclude, "("+w+")")
		args = append(args, a...)
	}
	if len(exclude) > 0 {
		// COALESCE: a condition that is NULL for a contact must not drop it.
		where += " AND NOT COALESCE(" + strings.Join(exclude, " OR ") + ", FALSE)"
	}
	if c.Recurring() && c.ReentryDays > 0 && c.ID > 0 {
		where += ` AND NOT EXISTS (SELECT 1 FROM messages prev WHERE prev.campaign_id = ? AND prev.contact_id = c.id
			AND prev.status NOT IN ('skipped', 'expired', 'cancelled') AND prev.created_at >= ?)`
		args = append(args, c.ID, now.AddDate(0, 0, -c.ReentryDays).UTC())
	}
	return audience{where: where, args: args}, nil
}

// hashSQL is a deterministic bucket 0..9999 of a contact for a salt: the
// same contact lands in the same holdout or variant every time the campaign
// is computed, on both databases, without storing anything.
func hashSQL(salt int64) string {
	return fmt.Sprintf("((((c.id + %d) * 2654435761) %% 100003) %% 10000)", salt%1_000_000_007)
}

// usMarketingSQL matches US numbers, to which Meta no longer delivers
// marketing templates; +1 numbers of other NANP countries are kept when the
// contact's country says so.
const usMarketingSQL = "(c.phone LIKE '+1%' AND c.country IN ('US', ''))"

// launchColumns builds the per-contact status, reason, variant and
// template expressions of a campaign's snapshot.
func launchColumns(c *Campaign, category string) (status, reason, variant, template string) {
	marketing := category == "MARKETING"
	var conds []struct{ cond, reason string }
	conds = append(conds, struct{ cond, reason string }{"c.reachability <> 'reachable'", "c.reachability"})
	if marketing {
		conds = append(conds,
			struct{ cond, reason string }{"NOT c.marketing_opt_in", "'" + SkipNoConsent + "'"},
			struct{ cond, reason string }{usMarketingSQL, "'" + SkipUSMarketing + "'"})
	} else {
		conds = append(conds, struct{ cond, reason string }{"NOT c.transactional_opt_in", "'" + SkipNoConsent + "'"})
	}
	var st, rs strings.Builder
	st.WriteString("CASE")
	rs.WriteString("CASE")
	for _, k := range conds {
		st.WriteString(" WHEN " + k.cond + " THEN 'skipped'")
		rs.WriteString(" WHEN " + k.cond + " THEN " + k.reason)
	}
	if c.HoldoutPercent > 0 {
		st.WriteString(fmt.Sprintf(" WHEN %s < %d THEN 'holdout'", hashSQL(c.ID*7919+1), c.HoldoutPercent*100))
	}
	st.WriteString(" ELSE 'pending' END")
	rs.WriteString(" ELSE '' END")

	variant, template = "0", "NULL"
	if c.TemplateID != nil {
		template = fmt.Sprint(*c.TemplateID)
	}
	if len(c.Variants) > 0 {
		var vb, tb strings.Builder
		vb.WriteString("CASE")
		tb.WriteString("CASE")
		h := hashSQL(c.ID*104729 + 7)
		cum := 0
		for i, v := range c.Variants {
			cum += v.Share
			if i == len(c.Variants)-1 {
				vb.WriteString(fmt.Sprintf(" ELSE %d END", i))
				tb.WriteString(fmt.Sprintf(" ELSE %d END", v.TemplateID))
				break
			}
			vb.WriteString(fmt.Sprintf(" WHEN %s < %d THEN %d", h, cum*100, i))
			tb.WriteString(fmt.Sprintf(" WHEN %s < %d THEN %d", h, cum*100, v.TemplateID))
		}
		variant, template = vb.String(), tb.String()
	}
	return st.String(), rs.String(), variant, template
}

// campaignCategory is the category of the campaign's (first) template.
func (s *Store) campaignCategory(ctx context.Context, c *Campaign) (string, error) {
	ids := c.TemplateIDs()
	if len(ids) == 0 {
		return "", fmt.Errorf("models: campaign %d has no template: %w", c.ID, ErrInvalid)
	}
	var cat string
	if err := s.db.WithContext(ctx).Raw("SELECT category FROM templates WHERE id = ?", ids[0]).Scan(&cat).Error; err != nil {
		return "", fmt.Errorf("models: campaign %d template category: %w", c.ID, err)
	}
	if cat == "" {
		return "", fmt.Errorf("models: campaign %d: template %d is gone: %w", c.ID, ids[0], ErrInvalid)
	}
	return cat, nil
}

// RunResult says what one launch did.
type RunResult struct {
	RunID    int64
	Created  bool  // false when this run existed already (a repeated tick)
	Targeted int64 // ledger rows written
	Pending  int64 // of which to be sent
	Deferred int64 // pending rows whose send waits for quiet hours to end
}

// LaunchRun snapshots the campaign's audience into the ledger for the run
// scheduled at scheduledFor, in one transaction: the campaign_runs row
// (UNIQUE(campaign_id, scheduled_for) makes a repeated tick a no-op), one
// set-based INSERT … SELECT of every recipient with status, skip reason,
// holdout and variant decided in SQL, then one UPDATE per distinct contact
// time zone for local-time sends and quiet hours, and the counters.
func (s *Store) LaunchRun(ctx context.Context, campaignID int64, scheduledFor, now time.Time) (RunResult, error) {
	var res RunResult
	err := s.Tx(ctx, func(tx *Store) error {
		var err error
		res, err = tx.launchRun(ctx, campaignID, scheduledFor, now)
		return err
	})
	if err == nil {
		s.refreshLedgerStats(ctx, res)
	}
	return res, err
}

// ledgerStatsAfter is the launch size from which the ledger's statistics
// are refreshed at once rather than by autovacuum a minute or more later.
const ledgerStatsAfter = 10_000

// refreshLedgerStats re-samples the columns the claim plans with after a
// large launch. Until autovacuum gets to it, the planner believes the
// ledger holds the few pending rows it held before the launch, and plans
// each claim as a bitmap scan that sorts every pending row (150 ms per
// claim at 100k pending, so a campaign's claims cost O(n²)) instead of a
// walk of the due index that stops after one batch. A failure only costs
// speed, so it is logged, not returned.
func (s *Store) refreshLedgerStats(ctx context.Context, res RunResult) {
	if s.dialect != Postgres || res.Pending < ledgerStatsAfter {
		return
	}
	if err := s.db.WithContext(ctx).Exec("ANALYZE messages (status, send_after, priority, campaign_id, sender_id)").Error; err != nil {
		slog.Warn("refresh ledger statistics after a launch", "err", err)
	}
}

func (s *Store) launchRun(ctx context.Context, campaignID int64, scheduledFor, now time.Time) (RunResult, error) {
	var res RunResult
	now, scheduledFor = now.UTC(), scheduledFor.UTC().Truncate(time.Microsecond)
	db := s.db.WithContext(ctx)
	c, err := s.Campaign(ctx, campaignID)
	if err != nil {
		return res, err
	}
	var ids []int64
	err = db.Raw(`INSERT INTO campaign_runs (campaign_id, scheduled_for, status, created_at) VALUES (?, ?, 'snapshotting', ?)
		ON CONFLICT (campaign_id, scheduled_for) DO NOTHING RETURNING id`, campaignID, scheduledFor, now).Scan(&ids).Error
	if err != nil {
		return res, fmt.Errorf("models: launch campaign %d: create run: %w", campaignID, err)
	}
	if len(ids) == 0 {
		err := db.Raw("SELECT id FROM campaign_runs WHERE campaign_id = ? AND scheduled_for = ?", campaignID, scheduledFor).Scan(&res.RunID).Error
		return res, err
	}
	res.RunID, res.Created = ids[0], true
	if err := s.lockLedgerWriters(ctx, false); err != nil {
		return res, err
	}
	category, err := s.campaignCategory(ctx, c)
	if err != nil {
		return res, err
	}
	aud, err := s.campaignAudience(ctx, c, now)
	if err != nil {
		return res, err
	}
	status, reason, variant, template := launchColumns(c, category)
	base := scheduledFor
	if base.Before(now) {
		base = now
	}
	rules, err := s.DeliveryRules(ctx)
	if err != nil {
		return res, err
	}
	sendAfter, sendArgs, deferred, err := s.sendAfterByZone(ctx, c, category, rules, aud, status, base, now)
	if err != nil {
		return res, err
	}
	res.Deferred = deferred
	insert := `INSERT INTO messages (campaign_id, run_id, contact_id, sender_id, template_id, variant, to_phone, category,
		priority, status, status_reason, send_after, expires_at, created_at, updated_at)
		SELECT ?, ?, c.id, ?, ` + template + `, ` + variant + `, c.phone, ?, ?, ` + status + `, ` + reason + `, ` + sendAfter + `, ?, ?, ?
		FROM contacts c WHERE ` + aud.where
	args := []any{c.ID, res.RunID, c.SenderID, category, c.Priority}
	args = append(args, sendArgs...)
	args = append(args, c.Deadline, now, now)
	args = append(args, aud.args...)
	ins := db.Exec(insert, args...)
	if ins.Error != nil {
		return res, fmt.Errorf("models: launch campaign %d: snapshot audience: %w", campaignID, ins.Error)
	}
	res.Targeted = ins.RowsAffected

	var groups []struct {
		Status       string
		StatusReason string
		N            int64
	}
	if err := db.Raw("SELECT status, status_reason, COUNT(*) AS n FROM messages WHERE campaign_id = ? AND run_id = ? GROUP BY status, status_reason", c.ID, res.RunID).Scan(&groups).Error; err != nil {
		return res, fmt.Errorf("models: launch campaign %d: count snapshot: %w", campaignID, err)
	}
	d := statDelta{"targeted": res.Targeted}
	for _, g := range groups {
		switch g.Status {
		case MessagePending:
			d["queued"] += g.N
			res.Pending += g.N
		case MessageHoldout:
			d["holdout"] += g.N
		case MessageSkipped:
			d[skipColumn(g.StatusReason)] += g.N
		}
	}
	if err := s.ensureStats(ctx, c.ID); err != nil {
		return res, err
	}
	if err := s.addStats(ctx, c.ID, d); err != nil {
		return res, err
	}
	if err := db.Exec("UPDATE campaign_runs SET status = 'ready', targeted = ? WHERE id = ?", res.Targeted, res.RunID).Error; err != nil {
		return res, fmt.Errorf("models: launch campaign %d: finish run: %w", campaignID, err)
	}
	return res, nil
}

// sendAfterByZone returns the SQL expression (and its arguments) for each
// recipient's send_after: base, or per distinct contact time zone the
// local-time instant (local_time schedules) moved to the end of quiet hours
// for marketing due inside them. The zones are read once from the audience
// and the times computed in Go, so the snapshot INSERT writes every row's
// final send_after and no second pass over the ledger is needed. Contacts
// without a (valid) zone use the campaign's zone, else the rules' default.
// It also returns how many to-be-sent recipients quiet hours defer.
func (s *Store) sendAfterByZone(ctx context.Context, c *Campaign, category string, rules DeliveryRules, aud audience, status string, base, now time.Time) (string, []any, int64, error) {
	ts := "?"
	if s.dialect == Postgres {
		ts = "CAST(? AS TIMESTAMPTZ)"
	}
	local := c.Schedule.Type == ScheduleLocalTime
	quiet := QuietHours{}
	if c.RespectQuietHours && c.Priority <= 0 && category == "MARKETING" {
		quiet = QuietHoursFor(c, rules)
	}
	if !local && quiet.Start == quiet.End {
		return ts, []any{base}, 0, nil
	}
	var zones []struct {
		Timezone string
		Pending  int64
	}
	err := s.db.WithContext(ctx).Raw(`SELECT c.timezone AS timezone, SUM(CASE WHEN `+status+` = 'pending' THEN 1 ELSE 0 END) AS pending
		FROM contacts c WHERE `+aud.where+` GROUP BY c.timezone`, aud.args...).Scan(&zones).Error
	if err != nil {
		return "", nil, 0, fmt.Errorf("models: launch campaign %d: time zones: %w", c.ID, err)
	}
	fallback := time.UTC
	for _, name := range []string{c.Timezone, rules.DefaultTimezone} {
		if name == "" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			fallback = loc
			break
		}
	}
	var b strings.Builder
	var args []any
	var deferred int64
	b.WriteString("CASE c.timezone")
	for _, z := range zones {
		loc := fallback
		if z.Timezone != "" {
			if l, err := time.LoadLocation(z.Timezone); err == nil {
				loc = l
			}
		}
		due := base
		if local {
			if due, err = LocalInstant(c.Schedule.Date, c.Schedule.Time, loc); err != nil {
				return "", nil, 0, err
			}
			if due.Before(now) {
				due = now
			}
		}
		at := quiet.Defer(due, loc)
		if !at.Equal(due) {
			deferred += z.Pending
		}
		if at.Equal(base) {
			continue
		}
		b.WriteString(" WHEN ? THEN " + ts)
		args = append(args, z.Timezone, at)
	}
	b.WriteString(" ELSE " + ts + " END")
	args = append(args, base)
	return b.String(), args, deferred, nil
}

// LaunchCampaign starts a draft (or re-arms nothing else): "now" and
// "local_time" snapshot at once and run; "at" waits as scheduled until its
// time (or runs now if that time passed); "cron" runs and computes its
// first run time. The scheduler tick launches later runs.
func (s *Store) LaunchCampaign(ctx context.Context, id int64, now time.Time) (RunResult, error) {
	now = now.UTC()
	var res RunResult
	err := s.Tx(ctx, func(tx *Store) error {
		c, err := tx.Campaign(ctx, id)
		if err != nil {
			return err
		}
		if c.Status != CampaignDraft {
			return fmt.Errorf("models: campaign %d is %s, only drafts launch: %w", id, c.Status, ErrConflict)
		}
		if errs := ValidateCampaign(c); len(errs) > 0 {
			return fmt.Errorf("models: campaign %d is incomplete (%s): %w", id, firstError(errs), ErrInvalid)
		}
		if errs, err := tx.CheckCampaignRefs(ctx, c); err != nil {
			return err
		} else if len(errs) > 0 {
			return fmt.Errorf("models: campaign %d: %s: %w", id, firstError(errs), ErrInvalid)
		}
		status, next := CampaignRunning, (*time.Time)(nil)
		runNow := true
		switch c.Schedule.Type {
		case ScheduleAt:
			if c.Schedule.At.After(now) {
				at := c.Schedule.At.UTC()
				status, next, runNow = CampaignScheduled, &at, false
			}
		case ScheduleCron:
			n, err := c.Schedule.NextCronRun(now)
			if err != nil {
				return err
			}
			next, runNow = &n, false
		}
		upd := tx.db.WithContext(ctx).Exec(`UPDATE campaigns SET status = ?, status_reason = '', next_run_at = ?, launched_at = ?, updated_at = ?
			WHERE id = ? AND status = 'draft'`, status, next, now, now, id)
		if upd.Error != nil {
			return fmt.Errorf("models: launch campaign %d: %w", id, upd.Error)
		}
		if upd.RowsAffected == 0 {
			return fmt.Errorf("models: campaign %d launched twice: %w", id, ErrConflict)
		}
		if err := tx.ensureStats(ctx, id); err != nil {
			return err
		}
		if !runNow {
			return nil
		}
		res, err = tx.launchRun(ctx, id, now, now)
		return err
	})
	if err == nil {
		s.refreshLedgerStats(ctx, res)
	}
	return res, err
}

func firstError(errs map[string]string) string {
	for k, v := range errs {
		return k + ": " + v
	}
	return ""
}

// DueRun is a scheduled run the scheduler launched.
type DueRun struct {
	CampaignID int64
	Result     RunResult
}

// LaunchDueRuns launches every run whose time has come: "at" campaigns
// waiting as scheduled and recurring campaigns whose next_run_at passed.
// Each campaign is taken with a conditional UPDATE of next_run_at, so two
// instances ticking at once launch a run once; UNIQUE(campaign_id,
// scheduled_for) backs that up. A recurring campaign's next run is computed
// from now, so runs missed during downtime are not all replayed.
func (s *Store) LaunchDueRuns(ctx context.Context, now time.Time) ([]DueRun, error) {
	now = now.UTC()
	var due []Campaign
	if err := s.db.WithContext(ctx).Where("status IN ? AND next_run_at IS NOT NULL AND next_run_at <= ?",
		[]string{CampaignScheduled, CampaignRunning}, now).Order("next_run_at").Find(&due).Error; err != nil {
		return nil, fmt.Errorf("models: due campaigns: %w", err)
	}
	var out []DueRun
	for _, c := range due {
		scheduled := c.NextRunAt.UTC()
		var next *time.Time
		if c.Recurring() {
			n, err := c.Schedule.NextCronRun(now)
			if err != nil {
				_ = s.PauseCampaign(ctx, c.ID, err.Error())
				continue
			}
			next = &n
		}
		var res RunResult
		taken := false
		err := s.Tx(ctx, func(tx *Store) error {
			upd := tx.db.WithContext(ctx).Exec(`UPDATE campaigns SET next_run_at = ?, status = 'running', updated_at = ?
				WHERE id = ? AND next_run_at = ? AND status IN ('scheduled', 'running')`, next, now, c.ID, scheduled)
			if upd.Error != nil {
				return fmt.Errorf("models: take due campaign %d: %w", c.ID, upd.Error)
			}
			if upd.RowsAffected == 0 {
				return nil
			}
			taken = true
			var err error
			res, err = tx.launchRun(ctx, c.ID, scheduled, now)
			return err
		})
		if err != nil {
			return out, err
		}
		if taken {
			s.refreshLedgerStats(ctx, res)
			out = append(out, DueRun{CampaignID: c.ID, Result: res})
		}
	}
	return out, nil
}

// CompleteFinishedCampaigns marks running one-off campaigns completed once
// they have a run and nothing left in their queue, and returns their ids.
func (s *Store) CompleteFinishedCampaigns(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`SELECT k.id FROM campaigns k JOIN campaign_stats st ON st.campaign_id = k.id
		WHERE k.status = 'running' AND k.next_run_at IS NULL AND st.queued = 0
		AND EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = k.id)`).Scan(&ids).Error
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	now := time.Now().UTC()
	err = s.db.WithContext(ctx).Exec(`UPDATE campaigns SET status = 'completed', completed_at = ?, updated_at = ?
		WHERE id IN ? AND status = 'running' AND next_run_at IS NULL`, now, now, ids).Error
	if err != nil {
		return nil, fmt.Errorf("models: complete campaigns: %w", err)
	}
	return ids, nil
}

// AutoPauseFailing pauses a running campaign whose failures passed the
// rules' threshold, with the reason shown on its page. It reports whether
// it paused.
func (s *Store) AutoPauseFailing(ctx context.Context, campaignID int64, rules DeliveryRules) (bool, error) {
	st, err := s.CampaignStats(ctx, campaignID)
	if err != nil {
		return false, err
	}
	attempts := st.Sent + st.Failed
	if attempts < int64(rules.AutoPauseMinAttempts) || float64(st.Failed) <= rules.AutoPauseFailureRate*float64(attempts) {
		return false, nil
	}
	reason := fmt.Sprintf("paused automatically: %d of %d sends failed (over %.0f%%); check errors by reason, then resume",
		st.Failed, attempts, rules.AutoPauseFailureRate*100)
	res := s.db.WithContext(ctx).Exec("UPDATE campaigns SET status = 'paused', status_reason = ?, updated_at = ? WHERE id = ? AND status IN ('running', 'scheduled')",
		reason, time.Now().UTC(), campaignID)
	if res.Error != nil {
		return false, fmt.Errorf("models: auto-pause campaign %d: %w", campaignID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// CampaignRun is one launch of a campaign.
type CampaignRun struct {
	ID           int64
	CampaignID   int64
	ScheduledFor time.Time
	Status       string
	Targeted     int64
	CreatedAt    time.Time
}

// CampaignRuns lists a campaign's runs, newest first.
func (s *Store) CampaignRuns(ctx context.Context, campaignID int64) ([]CampaignRun, error) {
	var out []CampaignRun
	err := s.db.WithContext(ctx).Table("campaign_runs").Where("campaign_id = ?", campaignID).Order("scheduled_for DESC").Limit(100).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: campaign %d runs: %w", campaignID, err)
	}
	return out, nil
}

// UpcomingRuns lists scheduled and recurring campaigns by next run time.
func (s *Store) UpcomingRuns(ctx context.Context, limit int) ([]Campaign, error) {
	var out []Campaign
	err := s.db.WithContext(ctx).Where("next_run_at IS NOT NULL AND status IN ?", []string{CampaignScheduled, CampaignRunning, CampaignPaused}).
		Order("next_run_at").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: upcoming runs: %w", err)
	}
	return out, nil
}

// Estimate is the pre-launch picture of a campaign's audience.
type Estimate struct {
	Matching  int64
	Skipped   map[string]int64 // by reason
	Holdout   int64
	Reachable int64 // to be sent, before caps
	// FrequencyCapped estimates reachable contacts the frequency cap would skip now.
	FrequencyCapped int64
	// QuietDeferred counts reachable contacts whose zone is in quiet hours at
	// the send time, so their message waits.
	QuietDeferred int64
	// ByCountry counts reachable contacts per country code, for the cost.
	ByCountry map[string]int64
	Category  string
}

// EstimateCampaign computes the confirmation figures with the same SQL the
// launch uses, without writing anything.
func (s *Store) EstimateCampaign(ctx context.Context, c *Campaign, now time.Time) (Estimate, error) {
	est := Estimate{Skipped: map[string]int64{}, ByCountry: map[string]int64{}}
	category, err := s.campaignCategory(ctx, c)
	if err != nil {
		return est, err
	}
	est.Category = category
	aud, err := s.campaignAudience(ctx, c, now)
	if err != nil {
		return est, err
	}
	status, reason, _, _ := launchColumns(c, category)
	rules, err := s.DeliveryRules(ctx)
	if err != nil {
		return est, err
	}
	capCount := rules.FrequencyCapCount
	if !c.FrequencyCap || category != "MARKETING" || c.Priority > 0 {
		capCount = 0
	}
	var groups []struct {
		Status   string
		Reason   string
		Country  string
		Timezone string
		Capped   int64
		N        int64
	}
	cappedExpr := "0"
	var capArgs []any
	if capCount > 0 {
		cappedExpr = `CASE WHEN (SELECT COUNT(*) FROM messages h WHERE h.contact_id = c.id AND h.category = 'MARKETING' AND h.sent_at >= ?) >= ? THEN 1 ELSE 0 END`
		capArgs = []any{now.AddDate(0, 0, -rules.FrequencyCapDays).UTC(), capCount}
	}
	q := `SELECT st AS status, rs AS reason, country, timezone, SUM(capped) AS capped, COUNT(*) AS n FROM (
		SELECT ` + status + ` AS st, ` + reason + ` AS rs, c.country AS country, c.timezone AS timezone, ` +
		cappedExpr + ` AS capped FROM contacts c WHERE ` + aud.where + `) x GROUP BY st, rs, country, timezone`
	args := append(capArgs, aud.args...)
	if err := s.db.WithContext(ctx).Raw(q, args...).Scan(&groups).Error; err != nil {
		return est, fmt.Errorf("models: estimate campaign: %w", err)
	}
	quiet := QuietHours{}
	if c.RespectQuietHours && c.Priority <= 0 && category == "MARKETING" {
		quiet = QuietHoursFor(c, rules)
	}
	sendAt := now
	if c.Schedule.Type == ScheduleAt && c.Schedule.At != nil && c.Schedule.At.After(now) {
		sendAt = *c.Schedule.At
	}
	for _, g := range groups {
		est.Matching += g.N
		switch g.Status {
		case MessageSkipped:
			est.Skipped[g.Reason] += g.N
		case MessageHoldout:
			est.Holdout += g.N
		case MessagePending:
			est.Reachable += g.N
			est.FrequencyCapped += g.Capped
			est.ByCountry[g.Country] += g.N - g.Capped
			loc := time.UTC
			if l, err := time.LoadLocation(g.Timezone); err == nil && g.Timezone != "" {
				loc = l
			}
			due := sendAt
			if c.Schedule.Type == ScheduleLocalTime {
				if d, err := LocalInstant(c.Schedule.Date, c.Schedule.Time, loc); err == nil {
					due = d
				}
			}
			if !quiet.Defer(due, loc).Equal(due) {
				est.QuietDeferred += g.N
			}
		}
	}
	return est, nil
}
