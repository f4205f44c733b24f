package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/phone"
	"github.com/heraldhq/herald/views/campaigns"
	"github.com/heraldhq/herald/views/components"
)

// campaignsRoutes registers the campaigns pages and API endpoints.
func (h *Handlers) campaignsRoutes(r routes) {
	r.view("/campaigns", h.campaignList)
	r.edit(http.MethodGet, "/campaigns/new", h.campaignNew)
	r.edit(http.MethodPost, "/campaigns", h.campaignCreate)
	r.view("/campaigns/:id", h.campaignShow)
	r.view("/campaigns/:id/progress", h.campaignProgress)
	r.edit(http.MethodGet, "/campaigns/:id/confirm", h.campaignConfirm)
	r.edit(http.MethodPost, "/campaigns/:id/launch", h.campaignLaunch)
	r.edit(http.MethodPost, "/campaigns/:id/test", h.campaignTest)
	r.edit(http.MethodPost, "/campaigns/:id/pause", h.campaignPause)
	r.edit(http.MethodPost, "/campaigns/:id/resume", h.campaignResume)
	r.edit(http.MethodPost, "/campaigns/:id/cancel", h.campaignCancel)
	r.edit(http.MethodPost, "/campaigns/:id/duplicate", h.campaignDuplicate)
	r.admin(http.MethodGet, "/settings/delivery", h.deliveryPage)
	r.admin(http.MethodPost, "/settings/delivery", h.deliverySave)
	h.apiCampaignsRoutes(r)
}

// LargeAudience is the reachable count above which launching needs an
// explicit confirmation.
const LargeAudience = 10_000

// timezones offered in the composer and settings; a contact's own zone may
// be any IANA name.
var timezones = []string{"UTC", "America/Sao_Paulo", "America/Mexico_City", "America/Bogota", "America/Argentina/Buenos_Aires",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London", "Europe/Lisbon",
	"Europe/Madrid", "Europe/Paris", "Europe/Berlin", "Europe/Istanbul", "Africa/Lagos", "Africa/Cairo", "Africa/Johannesburg",
	"Asia/Dubai", "Asia/Kolkata", "Asia/Jakarta", "Asia/Singapore", "Asia/Manila", "Asia/Tokyo", "Australia/Sydney"}

func scheduleLabel(c *models.Campaign) string {
	s := c.Schedule
	switch s.Type {
	case models.ScheduleAt:
		if s.At != nil {
			return "at " + s.At.UTC().Format("2006-01-02 15:04 UTC")
		}
	case models.ScheduleLocalTime:
		return s.Date + " " + s.Time + " in each contact's zone"
	case models.ScheduleCron:
		return "recurring: " + s.Cron + " (" + s.Timezone + ")"
	}
	return "now"
}

func (h *Handlers) campaignList(c echo.Context) error {
	ctx := c.Request().Context()
	list, err := h.store.ListCampaigns(ctx, 200)
	if err != nil {
		return err
	}
	upcoming, err := h.store.UpcomingRuns(ctx, 50)
	if err != nil {
		return err
	}
	vm := campaigns.ListView{CanEdit: currentUser(c).Role.Allows(models.RoleMarketer)}
	for _, x := range list {
		st := x.Stats
		vm.Rows = append(vm.Rows, campaigns.Row{ID: x.ID, Name: x.Name, Status: x.Status, StatusReason: x.StatusReason,
			Schedule: scheduleLabel(&x.Campaign), Targeted: st.Targeted, Queued: st.Queued, Sent: st.Sent, Delivered: st.Delivered,
			Read: st.Read, Failed: st.Failed, Done: st.Done(), CreatedAt: x.CreatedAt})
	}
	for _, u := range upcoming {
		vm.Upcoming = append(vm.Upcoming, campaigns.Upcoming{ID: u.ID, Name: u.Name, Schedule: scheduleLabel(&u), NextRunAt: *u.NextRunAt, Status: u.Status})
	}
	return render(c, http.StatusOK, campaigns.List(h.page(c, "Campaigns", "campaigns"), vm), nil)
}

// campaignForm is the composer's input, read from a form or a query.
type campaignForm struct {
	v campaigns.FormValues
}

func readCampaignForm(values url.Values, rules models.DeliveryRules) campaignForm {
	f := campaignForm{v: campaigns.FormValues{
		Name: strings.TrimSpace(values.Get("name")), SenderID: values.Get("sender_id"), TemplateID: values.Get("template_id"),
		VariantTemplateID: values.Get("variant_template_id"), VariantShare: values.Get("variant_share"),
		SegmentIDs: map[string]bool{}, ExcludeIDs: map[string]bool{},
		ScheduleType: values.Get("schedule_type"), At: values.Get("at"), Timezone: values.Get("timezone"),
		LocalDate: values.Get("local_date"), LocalTime: values.Get("local_time"), Repeat: values.Get("repeat"),
		RepeatDay: values.Get("repeat_day"), RepeatTime: values.Get("repeat_time"), Cron: strings.TrimSpace(values.Get("cron")),
		Deadline: values.Get("deadline"), QuietHours: values.Get("quiet_hours") == "on", FrequencyCap: values.Get("frequency_cap") == "on",
		Holdout: values.Get("holdout_percent"), Values: map[string]string{}, QuietStart: values.Get("quiet_start"),
		QuietEnd: values.Get("quiet_end"), ReentryDays: values.Get("reentry_days"),
		AttributionDays: values.Get("attribution_days"), ConversionEvents: values.Get("conversion_events"),
	}}
	for _, id := range values["segment_ids"] {
		f.v.SegmentIDs[id] = true
	}
	if id := values.Get("segment_id"); id != "" {
		f.v.SegmentIDs[id] = true
	}
	for _, id := range values["exclude_segment_ids"] {
		f.v.ExcludeIDs[id] = true
	}
	for k, v := range values {
		if name, ok := strings.CutPrefix(k, "value."); ok && len(v) > 0 {
			f.v.Values[name] = v[0]
		}
	}
	if f.v.Timezone == "" {
		f.v.Timezone = rules.DefaultTimezone
	}
	if f.v.ReentryDays == "" {
		f.v.ReentryDays = "30"
	}
	if f.v.VariantShare == "" {
		f.v.VariantShare = "50"
	}
	if f.v.AttributionDays == "" {
		f.v.AttributionDays = strconv.Itoa(models.DefaultAttributionDays)
	}
	if f.v.ConversionEvents == "" {
		f.v.ConversionEvents = models.EventPurchase
	}
	f.v.DefaultQuietStart, f.v.DefaultQuietEnd = rules.QuietStart, rules.QuietEnd
	f.v.DefaultFrequencyCount, f.v.DefaultFrequencyIn = rules.FrequencyCapCount, rules.FrequencyCapDays
	return f
}

func parseIDs(set map[string]bool) []int64 {
	var out []int64
	for k := range set {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// campaign converts the form into a draft and the errors of fields the
// conversion itself checks (dates and numbers).
func (f campaignForm) campaign() (*models.Campaign, components.FieldErrors) {
	errs := components.FieldErrors{}
	v := f.v
	c := &models.Campaign{Name: v.Name, SegmentIDs: parseIDs(v.SegmentIDs), ExcludeSegmentIDs: parseIDs(v.ExcludeIDs),
		RespectQuietHours: v.QuietHours, FrequencyCap: v.FrequencyCap, TemplateValues: v.Values, QuietStart: v.QuietStart,
		QuietEnd: v.QuietEnd, Timezone: v.Timezone}
	if id, err := strconv.ParseInt(v.TemplateID, 10, 64); err == nil {
		c.TemplateID = &id
	}
	if id, err := strconv.ParseInt(v.SenderID, 10, 64); err == nil && id > 0 {
		c.SenderID = &id
	}
	if v.Holdout != "" {
		n, err := strconv.Atoi(v.Holdout)
		if err != nil {
			errs["holdout_percent"] = "Give a whole number of percent."
		}
		c.HoldoutPercent = n
	}
	if n, err := strconv.Atoi(v.ReentryDays); err == nil {
		c.ReentryDays = n
	} else {
		errs["reentry_days"] = "Give a number of days."
	}
	if n, err := strconv.Atoi(v.AttributionDays); err == nil && n > 0 {
		c.AttributionDays = n
	} else {
		errs["attribution_days"] = "Give a number of days."
	}
	for _, e := range strings.Split(v.ConversionEvents, ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.ConversionEvents = append(c.ConversionEvents, e)
		}
	}
	loc, err := time.LoadLocation(v.Timezone)
	if err != nil {
		errs["schedule.timezone"] = "Unknown time zone."
		loc = time.UTC
	}
	parseLocal := func(field, s string) *time.Time {
		if s == "" {
			return nil
		}
		t, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
		if err != nil {
			errs[field] = "Give a date and time."
			return nil
		}
		t = t.UTC()
		return &t
	}
	c.Deadline = parseLocal("deadline", v.Deadline)
	switch v.ScheduleType {
	case "", models.ScheduleNow:
		c.Schedule = models.Schedule{Type: models.ScheduleNow}
	case models.ScheduleAt:
		c.Schedule = models.Schedule{Type: models.ScheduleAt, At: parseLocal("schedule.at", v.At)}
	case models.ScheduleLocalTime:
		c.Schedule = models.Schedule{Type: models.ScheduleLocalTime, Date: v.LocalDate, Time: v.LocalTime}
	case models.ScheduleCron:
		spec := v.Cron
		if v.Repeat != "custom" {
			clock, err := models.ParseClock(v.RepeatTime)
			if err != nil {
				errs["repeat_time"] = "Give the time as HH:MM."
			}
			spec = fmt.Sprintf("%d %d * * *", int(clock)%60, int(clock)/60)
			if v.Repeat == "weekly" {
				spec = fmt.Sprintf("%d %d * * %s", int(clock)%60, int(clock)/60, v.RepeatDay)
			}
		}
		c.Schedule = models.Schedule{Type: models.ScheduleCron, Cron: spec, Timezone: v.Timezone}
	default:
		c.Schedule = models.Schedule{Type: v.ScheduleType}
	}
	if v.VariantTemplateID != "" && c.TemplateID != nil {
		b, err1 := strconv.ParseInt(v.VariantTemplateID, 10, 64)
		share, err2 := strconv.Atoi(v.VariantShare)
		if err1 != nil || err2 != nil || share <= 0 || share >= 100 {
			errs["variants"] = "Give A a share between 1 and 99 percent."
		} else {
			c.Variants = []models.Variant{{TemplateID: *c.TemplateID, Share: share}, {TemplateID: b, Share: 100 - share}}
		}
	}
	return c, errs
}

func (h *Handlers) formView(ctx context.Context, f campaignForm, errs components.FieldErrors) (campaigns.FormView, error) {
	vm := campaigns.FormView{Form: f.v, Errors: errs, Timezones: timezones}
	if !slices.Contains(vm.Timezones, f.v.Timezone) {
		vm.Timezones = append([]string{f.v.Timezone}, vm.Timezones...)
	}
	tmpls, err := h.store.ListTemplates(ctx, models.TemplateFilter{Status: models.TemplateApproved})
	if err != nil {
		return vm, err
	}
	vm.Templates = append(vm.Templates, components.Option{Value: "", Label: "Choose a template"})
	for _, t := range tmpls {
		val := strconv.FormatInt(t.ID, 10)
		vm.Templates = append(vm.Templates, components.Option{Value: val, Label: t.Name + " (" + t.Language + ", " + strings.ToLower(t.Category) + ")", Selected: val == f.v.TemplateID})
		if val == f.v.TemplateID {
			if tt, err := jobs.TemplateFromModel(&t); err == nil {
				seen := map[string]bool{}
				all := slices.Concat(tt.Variables.Header, tt.Variables.Body)
				for _, m := range tt.Variables.Buttons {
					all = append(all, m)
				}
				for _, m := range all {
					if m.Campaign != "" && !seen[m.Campaign] {
						seen[m.Campaign] = true
						vm.Vars = append(vm.Vars, campaigns.VarField{Name: m.Campaign, Value: f.v.Values[m.Campaign], Example: m.Example})
					}
				}
			}
		}
	}
	segs, err := h.store.ListSegments(ctx)
	if err != nil {
		return vm, err
	}
	for _, s := range segs {
		hint := ""
		if s.Kind == models.SegmentStatic {
			hint = "list"
		}
		vm.Segments = append(vm.Segments, campaigns.Choice{Value: strconv.FormatInt(s.ID, 10), Label: s.Name, Hint: hint})
	}
	senders, err := h.store.Senders(ctx)
	if err != nil {
		return vm, err
	}
	for _, s := range senders {
		val := strconv.FormatInt(s.ID, 10)
		label := s.Name
		if s.DisplayPhone != "" {
			label += " (" + s.DisplayPhone + ")"
		}
		if s.Status != "active" {
			label += " — " + s.Status
		}
		vm.Senders = append(vm.Senders, components.Option{Value: val, Label: label, Selected: val == f.v.SenderID})
	}
	return vm, nil
}

func (h *Handlers) campaignNew(c echo.Context) error {
	ctx := c.Request().Context()
	rules, err := h.store.DeliveryRules(ctx)
	if err != nil {
		return err
	}
	q := c.QueryParams()
	f := readCampaignForm(q, rules)
	if !q.Has("name") { // a fresh form, not a re-render after a template change
		f.v.QuietHours, f.v.FrequencyCap = true, true
	}
	vm, err := h.formView(ctx, f, nil)
	if err != nil {
		return err
	}
	p := h.page(c, "New campaign", "campaigns")
	return render(c, http.StatusOK, campaigns.New(p, vm), campaigns.Form(p, vm))
}

func (h *Handlers) campaignCreate(c echo.Context) error {
	ctx := c.Request().Context()
	rules, err := h.store.DeliveryRules(ctx)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	f := readCampaignForm(form, rules)
	camp, errs := f.campaign()
	for k, v := range models.ValidateCampaign(camp) {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	if len(errs) == 0 {
		refs, err := h.store.CheckCampaignRefs(ctx, camp)
		if err != nil {
			return err
		}
		for k, v := range refs {
			errs[k] = v
		}
	}
	if len(errs) > 0 {
		vm, err := h.formView(ctx, f, errs)
		if err != nil {
			return err
		}
		p := h.page(c, "New campaign", "campaigns")
		return render(c, http.StatusUnprocessableEntity, campaigns.New(p, vm), campaigns.Form(p, vm))
	}
	if u := currentUser(c); u != nil {
		camp.CreatedByID = &u.ID
	}
	if err := h.store.CreateCampaign(ctx, camp); err != nil {
		return err
	}
	return redirect(c, "/campaigns/"+strconv.FormatInt(camp.ID, 10)+"/confirm")
}

func (h *Handlers) showView(ctx context.Context, c echo.Context, id int64) (campaigns.ShowView, error) {
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return campaigns.ShowView{}, err
	}
	st, err := h.store.CampaignStats(ctx, id)
	if err != nil {
		return campaigns.ShowView{}, err
	}
	reasons, err := h.store.CampaignReasons(ctx, id)
	if err != nil {
		return campaigns.ShowView{}, err
	}
	runs, err := h.store.CampaignRuns(ctx, id)
	if err != nil {
		return campaigns.ShowView{}, err
	}
	vm := campaigns.ShowView{ID: camp.ID, Name: camp.Name, Status: camp.Status, StatusReason: camp.StatusReason,
		Schedule: scheduleLabel(camp), CanEdit: currentUser(c).Role.Allows(models.RoleMarketer),
		Live: camp.Status == models.CampaignRunning || camp.Status == models.CampaignScheduled}
	if camp.NextRunAt != nil {
		vm.NextRunAt = camp.NextRunAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	for _, tid := range camp.TemplateIDs() {
		if t, err := h.store.TemplateByID(ctx, tid); err == nil {
			if vm.Template != "" {
				vm.Template += " / "
			}
			vm.Template += t.Name
		}
	}
	vm.Audience = fmt.Sprintf("%d segment(s)", len(camp.SegmentIDs))
	if len(camp.ExcludeSegmentIDs) > 0 {
		vm.Audience += fmt.Sprintf(", %d excluded", len(camp.ExcludeSegmentIDs))
	}
	vm.Stats = campaigns.StatsView{Targeted: st.Targeted, Queued: st.Queued, Sent: st.Sent, Delivered: st.Delivered, Read: st.Read,
		Tapped: st.Tapped, Converted: st.Converted, Failed: st.Failed, Unknown: st.Unknown, Holdout: st.Holdout,
		Suppressed: st.Suppressed(), Expired: st.Expired, Cancelled: st.Cancelled, Done: st.Done()}
	if camp.LaunchedAt != nil && st.Sent > 0 && vm.Live {
		if secs := time.Since(*camp.LaunchedAt).Seconds(); secs > 0 {
			vm.Stats.Rate = fmt.Sprintf("%.0f msg/s since launch", float64(st.Sent)/secs)
		}
	}
	for _, r := range reasons {
		label := r.Status
		if r.Reason != "" {
			label += ": " + r.Reason
		}
		vm.Reasons = append(vm.Reasons, campaigns.Choice{Label: label, Value: components.Thousands(r.Count)})
	}
	for _, r := range runs {
		vm.Runs = append(vm.Runs, campaigns.Choice{Label: r.ScheduledFor.UTC().Format("2006-01-02 15:04 UTC"), Value: components.Thousands(r.Targeted)})
	}
	return vm, nil
}

func (h *Handlers) campaignShow(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	vm, err := h.showView(c.Request().Context(), c, id)
	if err != nil {
		return err
	}
	if vm.Status != models.CampaignDraft {
		if vm.Report, err = h.showReport(c.Request().Context(), id); err != nil {
			return err
		}
	}
	return render(c, http.StatusOK, campaigns.Show(h.page(c, vm.Name, "campaigns"), vm), nil)
}

func (h *Handlers) campaignProgress(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	vm, err := h.showView(c.Request().Context(), c, id)
	if err != nil {
		return err
	}
	if !vm.Live && c.Request().Header.Get("HX-Request") == "true" {
		// The campaign stopped sending while the page polled: reload it
		// once, so the header's actions (pause, cancel…) match the status.
		c.Response().Header().Set("HX-Refresh", "true")
	}
	return render(c, http.StatusOK, campaigns.Progress(vm), campaigns.Progress(vm))
}

var skipLabels = map[string]string{
	models.SkipOptedOut: "opted out", models.SkipUnreachable: "unreachable (not on WhatsApp)", models.SkipBlocked: "blocked",
	models.SkipNoConsent: "no consent for this category", models.SkipUSMarketing: "US numbers (Meta delivers no marketing there)",
}

func (h *Handlers) confirmView(ctx context.Context, camp *models.Campaign) (campaigns.ConfirmView, error) {
	vm := campaigns.ConfirmView{ID: camp.ID, Name: camp.Name, Schedule: scheduleLabel(camp)}
	_, canTest := h.gateway.(TemplateTestSender)
	vm.CanTest = canTest && camp.TemplateID != nil
	est, err := h.store.EstimateCampaign(ctx, camp, time.Now())
	if err != nil {
		return vm, err
	}
	vm.Matching, vm.Reachable, vm.Holdout, vm.FrequencyCapped, vm.QuietDeferred = est.Matching, est.Reachable, est.Holdout, est.FrequencyCapped, est.QuietDeferred
	vm.Category = strings.ToLower(est.Category)
	vm.Large = est.Reachable > LargeAudience
	reasons := make([]string, 0, len(est.Skipped))
	for r := range est.Skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		label := skipLabels[r]
		if label == "" {
			label = r
		}
		vm.Skipped = append(vm.Skipped, campaigns.Choice{Label: label, Value: components.Thousands(est.Skipped[r])})
	}
	pricing, err := h.store.Pricing(ctx)
	if err != nil {
		return vm, err
	}
	cost := 0.0
	for country, n := range est.ByCountry {
		cost += pricing.PriceOf(country, est.Category) * float64(n)
	}
	vm.Cost = fmt.Sprintf("$%.2f", cost)
	mps, tier := 80.0, 0
	if camp.SenderID != nil {
		if s, err := h.store.SenderByID(ctx, *camp.SenderID); err == nil {
			mps, tier = float64(max(s.ThroughputMPS, 1)), jobs.TierLimit(s.MessagingLimitTier)
		}
	}
	vm.Duration = estimateDuration(est.Reachable-est.FrequencyCapped, mps, tier)
	if t, err := h.store.TemplateByID(ctx, camp.TemplateIDs()[0]); err == nil {
		vm.Template = t.Name + " (" + t.Language + ")"
	}
	return vm, nil
}

// estimateDuration says how long n messages take at mps, and over how many
// days when the messaging-limit tier (unique contacts per 24 h) is smaller.
func estimateDuration(n int64, mps float64, tier int) string {
	if n <= 0 {
		return "–"
	}
	secs := float64(n) / mps
	d := time.Duration(math.Ceil(secs)) * time.Second
	out := d.String()
	if tier > 0 && n > int64(tier) {
		days := (n + int64(tier) - 1) / int64(tier)
		out = fmt.Sprintf("%d days (tier of %s a day)", days, components.Thousands(int64(tier)))
	}
	return out
}

func (h *Handlers) campaignConfirm(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	if camp.Status != models.CampaignDraft {
		return redirect(c, "/campaigns/"+strconv.FormatInt(id, 10))
	}
	vm, err := h.confirmView(ctx, camp)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, campaigns.Confirm(h.page(c, "Launch "+camp.Name, "campaigns"), vm), nil)
}

func (h *Handlers) campaignLaunch(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	if camp.Status == models.CampaignDraft && c.FormValue("confirm_large") != "yes" {
		vm, err := h.confirmView(ctx, camp)
		if err != nil {
			return err
		}
		if vm.Large {
			vm.Error = "Tick the box to confirm sending to this many contacts."
			return render(c, http.StatusUnprocessableEntity, campaigns.Confirm(h.page(c, "Launch "+camp.Name, "campaigns"), vm), nil)
		}
	}
	res, err := h.store.LaunchCampaign(ctx, id, time.Now())
	if err != nil {
		if errors.Is(err, models.ErrConflict) || errors.Is(err, models.ErrInvalid) {
			h.flash(c, "error", conflictMessage(err))
			return redirect(c, "/campaigns/"+strconv.FormatInt(id, 10))
		}
		return err
	}
	h.wakeSenders()
	msg := "Launched."
	if res.RunID > 0 {
		msg = fmt.Sprintf("Launched: %s messages queued.", components.Thousands(res.Pending))
		if res.Deferred > 0 {
			msg += fmt.Sprintf(" %s wait for quiet hours to end.", components.Thousands(res.Deferred))
		}
	}
	h.flash(c, "success", msg)
	return redirect(c, "/campaigns/"+strconv.FormatInt(id, 10))
}

// campaignStateAction runs a pause/resume/cancel from the campaign page.
func (h *Handlers) campaignStateAction(c echo.Context, do func(ctx context.Context, id int64) error, done string) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	if err := do(c.Request().Context(), id); err != nil {
		if !errors.Is(err, models.ErrConflict) {
			return err
		}
		h.flash(c, "error", conflictMessage(err))
	} else {
		h.flash(c, "success", done)
	}
	return redirect(c, "/campaigns/"+strconv.FormatInt(id, 10))
}

func (h *Handlers) campaignPause(c echo.Context) error {
	return h.campaignStateAction(c, func(ctx context.Context, id int64) error { return h.store.PauseCampaign(ctx, id, "") }, "Paused.")
}

func (h *Handlers) campaignResume(c echo.Context) error {
	return h.campaignStateAction(c, func(ctx context.Context, id int64) error {
		err := h.store.ResumeCampaign(ctx, id)
		if err == nil {
			h.wakeSenders()
		}
		return err
	}, "Resumed.")
}

func (h *Handlers) campaignCancel(c echo.Context) error {
	return h.campaignStateAction(c, h.store.CancelCampaign, "Cancelled. Messages not yet sent will not be sent.")
}

func (h *Handlers) campaignDuplicate(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	cp, err := h.store.DuplicateCampaign(c.Request().Context(), id, &u.ID)
	if err != nil {
		return err
	}
	h.flash(c, "success", "Copied as a draft; check it, then launch.")
	return redirect(c, "/campaigns/"+strconv.FormatInt(cp.ID, 10)+"/confirm")
}

// maxPriceRows is how many pricing rows the settings form shows (the saved
// ones plus blanks to add markets).
const maxPriceRows = 16

func deliveryView(rules models.DeliveryRules, pricing models.Pricing) campaigns.DeliveryView {
	vm := campaigns.DeliveryView{QuietStart: rules.QuietStart, QuietEnd: rules.QuietEnd,
		FrequencyCount: strconv.Itoa(rules.FrequencyCapCount), FrequencyDays: strconv.Itoa(rules.FrequencyCapDays),
		DefaultTimezone: rules.DefaultTimezone, FailureRate: strconv.FormatFloat(rules.AutoPauseFailureRate, 'f', -1, 64),
		MinAttempts: strconv.Itoa(rules.AutoPauseMinAttempts), Timezones: timezones}
	countries := make([]string, 0, len(pricing))
	for k := range pricing {
		countries = append(countries, k)
	}
	sort.Strings(countries)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, k := range countries {
		p := pricing[k]
		vm.Pricing = append(vm.Pricing, campaigns.PriceRow{Country: k, Marketing: f(p.Marketing), Utility: f(p.Utility), Authentication: f(p.Authentication)})
	}
	for len(vm.Pricing) < maxPriceRows {
		vm.Pricing = append(vm.Pricing, campaigns.PriceRow{})
	}
	return vm
}

func (h *Handlers) deliveryPage(c echo.Context) error {
	ctx := c.Request().Context()
	rules, err := h.store.DeliveryRules(ctx)
	if err != nil {
		return err
	}
	pricing, err := h.store.Pricing(ctx)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, campaigns.Delivery(h.page(c, "Delivery rules", "settings"), deliveryView(rules, pricing)), nil)
}

func (h *Handlers) deliverySave(c echo.Context) error {
	ctx := c.Request().Context()
	errs := components.FieldErrors{}
	num := func(field string) int {
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue(field)))
		if err != nil {
			errs[field] = "Give a whole number."
		}
		return n
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(c.FormValue("auto_pause_failure_rate")), 64)
	if err != nil {
		errs["auto_pause_failure_rate"] = "Give a share such as 0.2."
	}
	rules := models.DeliveryRules{QuietStart: c.FormValue("quiet_start"), QuietEnd: c.FormValue("quiet_end"),
		FrequencyCapCount: num("frequency_cap_count"), FrequencyCapDays: num("frequency_cap_days"),
		DefaultTimezone: c.FormValue("default_timezone"), AutoPauseFailureRate: rate, AutoPauseMinAttempts: num("auto_pause_min_attempts")}
	for k, v := range rules.Validate() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	pricing := models.Pricing{}
	for i := range maxPriceRows {
		country := strings.ToUpper(strings.TrimSpace(c.FormValue("price_country_" + strconv.Itoa(i))))
		if country == "" {
			continue
		}
		var p models.Price
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"marketing", &p.Marketing}, {"utility", &p.Utility}, {"authentication", &p.Authentication}} {
			v, err := strconv.ParseFloat(strings.TrimSpace(c.FormValue("price_"+f.name+"_"+strconv.Itoa(i))), 64)
			if err != nil || v < 0 {
				errs["pricing"] = "Prices must be numbers such as 0.0625 (row " + country + ")."
			}
			*f.dst = v
		}
		pricing[country] = p
	}
	if len(errs) > 0 {
		vm := deliveryView(rules, pricing)
		vm.Errors = errs
		return render(c, http.StatusUnprocessableEntity, campaigns.Delivery(h.page(c, "Delivery rules", "settings"), vm), nil)
	}
	if err := h.store.PutSetting(ctx, models.DeliveryRulesKey, rules); err != nil {
		return err
	}
	if err := h.store.PutSetting(ctx, models.PricingKey, pricing); err != nil {
		return err
	}
	h.flash(c, "success", "Delivery rules saved. Running campaigns use them within seconds.")
	return redirect(c, "/settings/delivery")
}

// campaignTest sends the campaign's template to the marketer's own number
// from the confirmation page, before anyone else gets it.
func (h *Handlers) campaignTest(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	sender, ok := h.gateway.(TemplateTestSender)
	if !ok || camp.TemplateID == nil {
		return render(c, http.StatusConflict, campaigns.TestResult(false, "Test sends are not available here."), nil)
	}
	n, err := phone.Parse(c.FormValue("phone"), "")
	if err != nil {
		return render(c, http.StatusUnprocessableEntity,
			campaigns.TestResult(false, "Enter your number in international format, e.g. +5511987654321."), nil)
	}
	if err := sender.SendTest(ctx, *camp.TemplateID, n.E164); err != nil {
		h.log.Warn("campaign test send", "campaign", id, "err", err)
		return render(c, http.StatusOK, campaigns.TestResult(false, "WhatsApp refused the test: "+err.Error()), nil)
	}
	return render(c, http.StatusOK, campaigns.TestResult(true, "Sent to "+n.E164+". Check your phone."), nil)
}
