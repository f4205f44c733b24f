package handlers_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/heraldhq/herald/demo"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/components"
)

func thousands(n int64) string { return components.Thousands(n) }

// loadSmallDemo fills the env's store with a small demo (no live sends).
func loadSmallDemo(t *testing.T, e *env) demo.Result {
	t.Helper()
	res, err := demo.Load(context.Background(), e.store, demo.Options{Contacts: 300, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestDashboardEmptyAndFilled(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user(models.RoleMarketer)
	doc := c.doc(c.get("/"))
	if doc.Find("#load-demo").Length() != 1 || doc.Find("#recent-campaigns").Length() != 0 {
		t.Fatal("an empty dashboard should offer demo data and no campaign table")
	}
	viewer := e.user(models.RoleViewer)
	if viewer.doc(viewer.get("/")).Find("#load-demo").Length() != 0 {
		t.Fatal("viewers cannot load demo data, so the button must not show")
	}
	res := loadSmallDemo(t, e)
	doc = c.doc(c.get("/"))
	if doc.Find("#load-demo").Length() != 0 {
		t.Fatal("the demo offer stays after loading")
	}
	if got := doc.Find("#recent-campaigns tbody tr").Length(); got != len(res.Campaigns) {
		t.Fatalf("recent campaigns rows = %d, want %d", got, len(res.Campaigns))
	}
	if !strings.Contains(doc.Find("#recent-campaigns").Text(), "Weekly newsletter") {
		t.Fatal("the newsletter is missing from recent campaigns")
	}
	health := doc.Find("#list-health").Text()
	for _, want := range []string{"Reachable with marketing consent", "Opted out", "Unreachable", "Blocked", "No marketing consent"} {
		if !strings.Contains(health, want) {
			t.Fatalf("list health lacks %q: %s", want, health)
		}
	}
	// A second load is refused.
	r := c.postForm("/demo", url.Values{})
	if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /demo again: %d", r.StatusCode)
	}
	var n int64
	e.store.DB(context.Background()).Raw("SELECT COUNT(*) FROM campaigns").Scan(&n)
	if n != int64(len(res.Campaigns)) {
		t.Fatalf("a second load made more campaigns: %d", n)
	}
}

func TestAnalyticsPageAndCSV(t *testing.T) {
	t.Parallel()
	e := setup(t)
	res := loadSmallDemo(t, e)
	c := e.user(models.RoleViewer)
	r := c.get("/analytics")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /analytics: %d", r.StatusCode)
	}
	doc := c.doc(r)
	if doc.Find("#heatmap svg[role=img] title").Length() == 0 || doc.Find("#heatmap rect.heat").Length() != 7*24+6 {
		t.Fatal("the heatmap is missing or incomplete")
	}
	peaks := doc.Find("#peak-windows li")
	if peaks.Length() == 0 || !strings.Contains(peaks.First().Text(), ":00") {
		t.Fatalf("no named peak windows: %q", doc.Find("#peak-windows").Text())
	}
	if doc.Find("#activity svg desc").Length() != 1 || doc.Find("#campaign-rates tbody tr").Length() != len(res.Campaigns) {
		t.Fatal("activity chart or campaign table missing")
	}
	// The segment filter narrows the heatmap.
	if r := c.get("/analytics?days=7&segment_id=" + itoa(res.Segments[1])); r.StatusCode != http.StatusOK {
		t.Fatalf("segment heatmap: %d", r.StatusCode)
	}
	for path, header := range map[string]string{
		"/analytics/campaigns.csv":                               "id,name,status,launched_at,sent",
		"/analytics/activity.csv":                                "day_utc,sent,read,converted,revenue",
		"/analytics/heatmap.csv":                                 "weekday_local,hour_local,reads,taps",
		"/campaigns/" + itoa(res.Campaigns[0]) + "/report.csv":   "group,step,count,step_rate,drop_off",
		"/campaigns/" + itoa(res.Campaigns[0]) + "/timeline.csv": "period_utc,sent,read,converted,revenue",
	} {
		r := c.get(path)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(string(body), header) {
			t.Fatalf("%s: %d %s %.80q", path, r.StatusCode, r.Header.Get("Content-Type"), body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %d rows, %v", path, len(rows), err)
		}
	}
	r = c.get("/analytics/heatmap.csv")
	rows, _ := csv.NewReader(r.Body).ReadAll()
	if len(rows) != 1+7*24 {
		t.Fatalf("heatmap CSV has %d rows, want 169", len(rows))
	}
}

func TestCampaignReportSection(t *testing.T) {
	t.Parallel()
	e := setup(t)
	res := loadSmallDemo(t, e)
	ctx := context.Background()
	id := res.Campaigns[0]
	st, err := e.store.CampaignStats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	c := e.user(models.RoleViewer)
	doc := c.doc(c.get("/campaigns/" + itoa(id)))
	funnel := doc.Find("#funnel")
	if funnel.Find("svg[role=img]").Length() != 1 {
		t.Fatal("no funnel chart on the campaign page")
	}
	// The hidden table carries the counters exactly.
	cells := map[string]string{}
	funnel.Find("table tbody tr").Each(func(_ int, s *goquery.Selection) {
		cells[s.Find("th").Text()] = s.Find("td").First().Text()
	})
	for label, n := range map[string]int64{"Sent": st.Sent, "Delivered": st.Delivered, "Read": st.Read, "Tapped": st.Tapped, "Converted": st.Converted} {
		if cells[label] != thousands(n) {
			t.Fatalf("funnel %s = %q, want %s (cells %v)", label, cells[label], thousands(n), cells)
		}
	}
	if st.Converted == 0 || !strings.Contains(doc.Find("#report-heading").Parent().Parent().Text(), "ROI") {
		t.Fatalf("the report lacks conversions or ROI (converted %d)", st.Converted)
	}
	r := c.getHTMX("/campaigns/" + itoa(id) + "/timeline")
	tl := c.doc(r)
	if tl.Find("svg[role=img]").Length() != 1 || tl.Find("rect.chart-bar").Length() == 0 {
		t.Fatal("the timeline fragment has no chart")
	}
	// A draft has no report.
	draft := &models.Campaign{Name: "draft", SegmentIDs: res.Segments[:1], TemplateID: &res.Templates[0], Schedule: models.Schedule{Type: "now"}}
	if err := e.store.CreateCampaign(ctx, draft); err != nil {
		t.Fatal(err)
	}
	if c.doc(c.get("/campaigns/"+itoa(draft.ID))).Find("#campaign-report").Length() != 0 {
		t.Fatal("a draft shows a report")
	}
}
