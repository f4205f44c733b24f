package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/analytics"
	"github.com/heraldhq/herald/views/campaigns"
	"github.com/heraldhq/herald/views/components"
)

// analyticsRoutes registers the analytics pages and API endpoints.
func (h *Handlers) analyticsRoutes(r routes) {
	r.view("/analytics", h.analyticsPage)
	r.view("/analytics/campaigns.csv", h.analyticsCampaignsCSV)
	r.view("/analytics/activity.csv", h.analyticsActivityCSV)
	r.view("/analytics/heatmap.csv", h.analyticsHeatmapCSV)
	r.view("/campaigns/:id/timeline", h.campaignTimeline)
	r.view("/campaigns/:id/timeline.csv", h.campaignTimelineCSV)
	r.view("/campaigns/:id/report.csv", h.campaignReportCSV)
	r.edit(http.MethodPost, "/demo", h.demoLoad)
	h.apiEventsRoutes(r)
}

// funnelSteps are a campaign's funnel steps from its counters.
func funnelSteps(targeted, sent, delivered, read, tapped, converted int64) []components.FunnelStep {
	return []components.FunnelStep{
		{Label: "Targeted", Count: targeted},
		{Label: "Sent", Count: sent, RateLabel: "of targeted"},
		{Label: "Delivered", Count: delivered, RateLabel: "delivery rate"},
		{Label: "Read", Count: read, RateLabel: "read rate"},
		{Label: "Tapped", Count: tapped, RateLabel: "tap-to-open"},
		// Conversions come from readers whether or not they tapped, so the
		// rate is of those who read.
		{Label: "Converted", Count: converted, RateLabel: "conversion rate (of read)", RateOf: "Read"},
	}
}

// money formats an amount for the report; the workspace's events are
// assumed to share one currency.
func money(v float64) string { return components.Money(v) }

// roi is (revenue − cost) ÷ cost as a percentage, or "–" without cost.
func roi(revenue, cost float64) string {
	if cost <= 0 {
		return "–"
	}
	return strconv.FormatFloat((revenue-cost)/cost*100, 'f', 0, 64) + "%"
}

// campaignReport builds the report section of the campaign page. The funnel,
// rates, money and uplift come from campaign_stats; only an A/B campaign's
// per-variant split reads its ledger rows.
func (h *Handlers) campaignReport(ctx context.Context, camp *models.Campaign, st models.CampaignStats) (*campaigns.ReportView, error) {
	conv, err := h.store.CampaignConversions(ctx, camp.ID)
	if err != nil {
		return nil, err
	}
	attr, err := h.store.CampaignAttribution(ctx, camp.ID)
	if err != nil {
		return nil, err
	}
	r := &campaigns.ReportView{CampaignID: camp.ID,
		Funnel: components.Funnel{ID: "funnel", Title: "Funnel of " + camp.Name,
			Steps: funnelSteps(st.Targeted-st.Holdout, st.Sent, st.Delivered, st.Read, st.Tapped, conv.Converted)},
		Attribution: strings.Join(attr.Events, ", ") + " within " + strconv.Itoa(attr.Days) + " days of a read or tap",
		Revenue:     money(conv.Revenue), Cost: money(st.Cost), ROI: roi(conv.Revenue, st.Cost),
	}
	r.Rates = []campaigns.Rate{
		{Label: "Delivery rate", Value: components.Percent(st.Delivered, st.Sent), Hint: "delivered ÷ sent"},
		{Label: "Read rate", Value: components.Percent(st.Read, st.Delivered), Hint: "read ÷ delivered"},
		{Label: "Tap-to-open", Value: components.Percent(st.Tapped, st.Read), Hint: "tapped ÷ read"},
		{Label: "Conversion rate", Value: components.Percent(conv.Converted, st.Read), Hint: "converted ÷ read"},
	}
	if st.Holdout > 0 {
		treatedN := st.Sent
		sig := models.TwoProportionZ(conv.Converted, treatedN, conv.HoldoutConverted, st.Holdout)
		u := &campaigns.UpliftView{TreatedN: components.Thousands(treatedN), HoldoutN: components.Thousands(st.Holdout),
			TreatedRate: components.Percent(conv.Converted, treatedN), HoldoutRate: components.Percent(conv.HoldoutConverted, st.Holdout),
			Uplift: uplift(conv.Converted, treatedN, conv.HoldoutConverted, st.Holdout), Significant: sig.Significant}
		u.Verdict = verdict(sig, "the campaign", "the holdout")
		r.Uplift = u
	}
	if len(camp.Variants) > 0 {
		if err := h.variantReport(ctx, camp, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// uplift is the relative change of the treated rate over the holdout rate.
func uplift(xt, nt, xh, nh int64) string {
	if nt == 0 || nh == 0 {
		return "–"
	}
	rt, rh := float64(xt)/float64(nt), float64(xh)/float64(nh)
	pp := (rt - rh) * 100
	if rh == 0 {
		return fmt.Sprintf("%+.1f points", pp)
	}
	return fmt.Sprintf("%+.0f%% (%+.1f points)", (rt-rh)/rh*100, pp)
}

// verdict words a z-test for marketers.
func verdict(sig models.Significance, a, b string) string {
	switch {
	case !sig.Enough:
		return "Not yet significant: too few contacts or conversions to tell."
	case !sig.Significant:
		return fmt.Sprintf("Not yet significant (p = %.2f): the difference may be chance.", sig.P)
	case sig.Z > 0:
		return fmt.Sprintf("Significant: %s does better than %s (p = %.3f).", a, b, sig.P)
	}
	return fmt.Sprintf("Significant: %s does better than %s (p = %.3f).", b, a, sig.P)
}

func (h *Handlers) variantReport(ctx context.Context, camp *models.Campaign, r *campaigns.ReportView) error {
	vs, err := h.store.CampaignVariants(ctx, camp.ID)
	if err != nil {
		return err
	}
	for _, v := range vs {
		name := "Variant " + string(rune('A'+v.Variant))
		tmpl := ""
		if v.TemplateID != nil {
			if t, err := h.store.TemplateByID(ctx, *v.TemplateID); err == nil {
				tmpl = t.Name
			}
		}
		r.Variants = append(r.Variants, campaigns.VariantView{Name: name, Template: tmpl,
			Funnel: components.Funnel{ID: "funnel-variant-" + strconv.Itoa(v.Variant), Title: name + " funnel",
				Steps: funnelSteps(v.Targeted, v.Sent, v.Delivered, v.Read, v.Tapped, v.Converted)},
			Rates: []campaigns.Rate{
				{Label: "Read rate", Value: components.Percent(v.Read, v.Delivered)},
				{Label: "Conversion rate", Value: components.Percent(v.Converted, v.Read)},
				{Label: "Revenue", Value: money(v.Revenue)},
			}})
	}
	if len(vs) < 2 {
		r.VariantVerdict = "Not yet significant: only one variant has been sent."
		return nil
	}
	// Compare the first two arms on conversions when there are any, else on reads.
	a, b := vs[0], vs[1]
	metric := "conversion rate"
	sig := models.TwoProportionZ(a.Converted, a.Read, b.Converted, b.Read)
	if a.Converted+b.Converted == 0 {
		metric = "read rate"
		sig = models.TwoProportionZ(a.Read, a.Delivered, b.Read, b.Delivered)
	}
	r.VariantSignificant = sig.Significant
	r.VariantVerdict = "On " + metric + ": " + verdict(sig, "variant A", "variant B")
	return nil
}

// campaignTimeline is the lazily loaded chart of the campaign page: hourly
// for a campaign's first two days, daily after.
func (h *Handlers) campaignTimeline(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	s, points, err := h.timelineSeries(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, campaigns.Timeline(s, len(points) == 0), campaigns.Timeline(s, len(points) == 0))
}

func (h *Handlers) timelineSeries(ctx context.Context, id int64) (components.Series, []models.ActivityPoint, error) {
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return components.Series{}, nil, err
	}
	hourly := camp.LaunchedAt == nil || time.Since(*camp.LaunchedAt) < 48*time.Hour
	points, err := h.store.CampaignTimeline(ctx, id, hourly)
	if err != nil {
		return components.Series{}, nil, err
	}
	s := activitySeries("timeline", "Messages sent and conversions of "+camp.Name, points, hourly)
	return s, points, nil
}

// activitySeries turns activity points into a column (sent) and line
// (conversions) chart.
func activitySeries(id, title string, points []models.ActivityPoint, hourly bool) components.Series {
	s := components.Series{ID: id, Title: title, BarName: "messages sent", LineName: "conversions", PeriodName: "Day (UTC)"}
	if hourly {
		s.PeriodName = "Hour (UTC)"
	}
	for _, p := range points {
		label := p.Bucket
		if t, err := time.Parse(models.BucketLayout(hourly), p.Bucket); err == nil {
			label = t.Format("Jan 2")
			if hourly {
				label = t.Format("Jan 2 15h")
			}
		}
		s.Points = append(s.Points, components.SeriesPoint{Label: label, Bucket: p.Bucket, Bars: float64(p.Sent), Line: float64(p.Converted)})
	}
	return s
}

// writeCSV sends rows as a CSV download.
func writeCSV(c echo.Context, filename string, header []string, rows [][]string) error {
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write(header); err != nil {
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("handlers: write %s: %w", filename, err)
	}
	return nil
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func activityRows(points []models.ActivityPoint) [][]string {
	rows := make([][]string, len(points))
	for i, p := range points {
		rows[i] = []string{p.Bucket, i64(p.Sent), i64(p.Read), i64(p.Converted), f2(p.Revenue)}
	}
	return rows
}

func (h *Handlers) campaignTimelineCSV(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	_, points, err := h.timelineSeries(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return writeCSV(c, fmt.Sprintf("campaign-%d-timeline.csv", id), []string{"period_utc", "sent", "read", "converted", "revenue"}, activityRows(points))
}

func (h *Handlers) campaignReportCSV(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	st, err := h.store.CampaignStats(ctx, id)
	if err != nil {
		return err
	}
	r, err := h.campaignReport(ctx, camp, st)
	if err != nil {
		return err
	}
	var rows [][]string
	add := func(group string, f components.Funnel) {
		for _, s := range f.Rows() {
			rows = append(rows, []string{group, s.Label, i64(s.Count), s.StepRate, s.DropOff})
		}
	}
	add("all", r.Funnel)
	for _, v := range r.Variants {
		add(v.Name, v.Funnel)
	}
	rows = append(rows, []string{"all", "Revenue", r.Revenue, "", ""}, []string{"all", "Cost", r.Cost, "", ""})
	if r.Uplift != nil {
		rows = append(rows, []string{"holdout", "Holdout", r.Uplift.HoldoutN, r.Uplift.HoldoutRate, ""})
	}
	return writeCSV(c, fmt.Sprintf("campaign-%d-report.csv", id), []string{"group", "step", "count", "step_rate", "drop_off"}, rows)
}

// analyticsPeriod reads ?days= (7 or 30, default 30).
func analyticsPeriod(c echo.Context) int {
	if c.QueryParam("days") == "7" {
		return 7
	}
	return 30
}

func (h *Handlers) analyticsPage(c echo.Context) error {
	ctx := c.Request().Context()
	days := analyticsPeriod(c)
	segmentID, _ := strconv.ParseInt(c.QueryParam("segment_id"), 10, 64)
	now := time.Now().UTC()
	vm := analytics.View{Days: days, SegmentID: segmentID}
	for _, d := range []int{7, 30} {
		t, err := h.store.TotalsSince(ctx, now.AddDate(0, 0, -d))
		if err != nil {
			return err
		}
		vm.Totals = append(vm.Totals, analytics.TotalsView{Days: d, Totals: t})
	}
	since := now.AddDate(0, 0, -days+1).Truncate(24 * time.Hour)
	points, err := h.store.Activity(ctx, since)
	if err != nil {
		return err
	}
	vm.Activity = activitySeries("activity", fmt.Sprintf("Messages sent and conversions per day, last %d days", days),
		models.FillDays(points, since, now), false)
	rows, err := h.campaignRows(ctx)
	if err != nil {
		return err
	}
	vm.Campaigns = rows
	segs, err := h.store.ListSegments(ctx)
	if err != nil {
		return err
	}
	for _, s := range segs {
		vm.Segments = append(vm.Segments, components.Option{Value: i64(s.ID), Label: s.Name, Selected: s.ID == segmentID})
	}
	grid, err := h.heatmap(ctx, since, segmentID)
	if err != nil {
		return err
	}
	title := "Reads and taps by local weekday and hour"
	for _, o := range vm.Segments {
		if o.Selected {
			title += " · " + o.Label
		}
	}
	vm.Heatmap = components.Heatmap{ID: "heatmap", Title: title, Peaks: models.PeakWindows(grid)}
	for d := range 7 {
		for hr := range 24 {
			vm.Heatmap.Cells[d][hr] = components.HeatCell{Reads: grid[d][hr].Reads, Taps: grid[d][hr].Taps}
		}
	}
	return render(c, http.StatusOK, analytics.Page(h.page(c, "Analytics", "analytics"), vm), nil)
}

func (h *Handlers) heatmap(ctx context.Context, since time.Time, segmentID int64) (models.EngagementGrid, error) {
	rules, err := h.store.DeliveryRules(ctx)
	if err != nil {
		return models.EngagementGrid{}, err
	}
	return h.store.EngagementHeatmap(ctx, models.HeatmapFilter{Since: since, SegmentID: segmentID, DefaultTimezone: rules.DefaultTimezone})
}

// campaignRows are the recent launched campaigns with their key rates.
func (h *Handlers) campaignRows(ctx context.Context) ([]analytics.CampaignRow, error) {
	list, err := h.store.ListCampaigns(ctx, 50)
	if err != nil {
		return nil, err
	}
	var out []analytics.CampaignRow
	for _, cw := range list {
		if cw.LaunchedAt == nil {
			continue
		}
		st := cw.Stats
		out = append(out, analytics.CampaignRow{ID: cw.ID, Name: cw.Name, Status: cw.Status, LaunchedAt: *cw.LaunchedAt,
			Sent: st.Sent, Delivered: st.Delivered, Read: st.Read, Tapped: st.Tapped, Converted: st.Converted,
			Revenue: st.Revenue, Cost: st.Cost,
			DeliveryRate: components.Percent(st.Delivered, st.Sent), ReadRate: components.Percent(st.Read, st.Delivered),
			TapRate: components.Percent(st.Tapped, st.Read), ConversionRate: components.Percent(st.Converted, st.Read)})
	}
	return out, nil
}

func (h *Handlers) analyticsCampaignsCSV(c echo.Context) error {
	rows, err := h.campaignRows(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{i64(r.ID), r.Name, r.Status, r.LaunchedAt.UTC().Format(time.RFC3339), i64(r.Sent), i64(r.Delivered), i64(r.Read),
			i64(r.Tapped), i64(r.Converted), r.DeliveryRate, r.ReadRate, r.TapRate, r.ConversionRate, f2(r.Revenue), f2(r.Cost)}
	}
	return writeCSV(c, "campaigns.csv", []string{"id", "name", "status", "launched_at", "sent", "delivered", "read", "tapped", "converted",
		"delivery_rate", "read_rate", "tap_to_open", "conversion_rate", "revenue", "cost"}, out)
}

func (h *Handlers) analyticsActivityCSV(c echo.Context) error {
	days := analyticsPeriod(c)
	now := time.Now().UTC()
	since := now.AddDate(0, 0, -days+1).Truncate(24 * time.Hour)
	points, err := h.store.Activity(c.Request().Context(), since)
	if err != nil {
		return err
	}
	return writeCSV(c, "activity.csv", []string{"day_utc", "sent", "read", "converted", "revenue"}, activityRows(models.FillDays(points, since, now)))
}

func (h *Handlers) analyticsHeatmapCSV(c echo.Context) error {
	days := analyticsPeriod(c)
	segmentID, _ := strconv.ParseInt(c.QueryParam("segment_id"), 10, 64)
	since := time.Now().UTC().AddDate(0, 0, -days+1).Truncate(24 * time.Hour)
	grid, err := h.heatmap(c.Request().Context(), since, segmentID)
	if err != nil {
		return err
	}
	var rows [][]string
	for d := range 7 {
		for hr := range 24 {
			rows = append(rows, []string{components.Weekdays[d], components.HourLabel(hr), i64(grid[d][hr].Reads), i64(grid[d][hr].Taps)})
		}
	}
	return writeCSV(c, "engagement-heatmap.csv", []string{"weekday_local", "hour_local", "reads", "taps"}, rows)
}

// showReport is the report section of a launched campaign's page.
func (h *Handlers) showReport(ctx context.Context, id int64) (*campaigns.ReportView, error) {
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := h.store.CampaignStats(ctx, id)
	if err != nil {
		return nil, err
	}
	return h.campaignReport(ctx, camp, st)
}
