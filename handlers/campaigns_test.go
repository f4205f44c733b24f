package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
)

// seedAudience stores an approved template, n opted-in contacts and a
// segment of everyone; it returns the template and segment ids.
func seedAudience(t *testing.T, e *env, n int) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	tmpl := &models.Template{Name: "sale_" + strconv.FormatInt(time.Now().UnixNano(), 36), Language: "en_US", Category: "MARKETING",
		Body: "Hi {{1}}, {{2}} off.", Status: models.TemplateApproved,
		Variables: `{"body":[{"field":"first_name","fallback":"there"},{"campaign":"discount","example":"30%"}]}`}
	if err := e.store.CreateTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err := e.store.DB(ctx).Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO contacts (phone, country, timezone, marketing_opt_in, created_at, updated_at)
		SELECT '+5511' || CAST(900000000 + i AS TEXT), 'BR', 'UTC', TRUE, ?, ? FROM seq`, n, now, now).Error
	if err != nil {
		t.Fatal(err)
	}
	seg, err := e.store.CreateSegment(ctx, models.SegmentInput{Name: "everyone " + strconv.FormatInt(time.Now().UnixNano(), 36)})
	if err != nil {
		t.Fatal(err)
	}
	return tmpl.ID, seg.ID
}

// apiCall sends a JSON request with a fresh key of role.
func apiCall(t *testing.T, e *env, role models.Role, method, path, body string) (int, map[string]any) {
	t.Helper()
	_, key, err := e.store.CreateAPIKey(context.Background(), "test", role, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func TestAPICampaignLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tmpl, seg := seedAudience(t, e, 12)

	status, body := apiCall(t, e, models.RoleMarketer, http.MethodPost, "/campaigns", `{"name": "", "segment_ids": [], "schedule": {"type": "cron", "cron": "nope", "timezone": "UTC"}}`)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid campaign: status %d %v", status, body)
	}
	fields, _ := body["error"].(map[string]any)["fields"].(map[string]any)
	for _, f := range []string{"name", "template_id", "segment_ids", "schedule.cron"} {
		if fields[f] == nil {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
	status, body = apiCall(t, e, models.RoleMarketer, http.MethodPost, "/campaigns", fmt.Sprintf(`{"name": "October flash sale", "template_id": %d,
		"segment_ids": [%d], "exclude_segment_ids": [], "schedule": {"type": "now"}, "respect_quiet_hours": false, "frequency_cap": true,
		"deadline": "2099-10-31T23:59:00Z", "template_values": {"discount": "30%%"}}`, tmpl, seg))
	if status != http.StatusCreated || body["status"] != "draft" {
		t.Fatalf("create: %d %v", status, body)
	}
	id := int64(body["id"].(float64))
	if status, _ := apiCall(t, e, models.RoleViewer, http.MethodPost, fmt.Sprintf("/campaigns/%d/launch", id), ""); status != http.StatusForbidden {
		t.Errorf("viewer launch: %d, want 403", status)
	}
	status, body = apiCall(t, e, models.RoleMarketer, http.MethodPost, fmt.Sprintf("/campaigns/%d/launch", id), "")
	if status != http.StatusAccepted || body["status"] != "running" {
		t.Fatalf("launch: %d %v", status, body)
	}
	if status, _ := apiCall(t, e, models.RoleMarketer, http.MethodPost, fmt.Sprintf("/campaigns/%d/launch", id), ""); status != http.StatusConflict {
		t.Errorf("second launch: %d, want 409", status)
	}
	status, body = apiCall(t, e, models.RoleViewer, http.MethodGet, fmt.Sprintf("/campaigns/%d", id), "")
	funnel, _ := body["funnel"].(map[string]any)
	if status != http.StatusOK || funnel["targeted"] != float64(12) || funnel["queued"] != float64(12) {
		t.Fatalf("get: %d %v", status, body)
	}
	for _, k := range []string{"targeted", "suppressed", "queued", "sent", "delivered", "read", "tapped", "converted", "failed", "revenue"} {
		if _, ok := funnel[k]; !ok {
			t.Errorf("funnel lacks %s", k)
		}
	}
	for _, step := range []struct{ action, want string }{{"pause", "paused"}, {"resume", "running"}, {"cancel", "cancelled"}} {
		status, body = apiCall(t, e, models.RoleMarketer, http.MethodPost, fmt.Sprintf("/campaigns/%d/%s", id, step.action), "")
		if status != http.StatusOK || body["status"] != step.want {
			t.Errorf("%s: %d %v", step.action, status, body["status"])
		}
	}
	if status, _ := apiCall(t, e, models.RoleMarketer, http.MethodPost, fmt.Sprintf("/campaigns/%d/resume", id), ""); status != http.StatusConflict {
		t.Errorf("resume a cancelled campaign: %d, want 409", status)
	}
	_, body = apiCall(t, e, models.RoleViewer, http.MethodGet, fmt.Sprintf("/campaigns/%d", id), "")
	if f := body["funnel"].(map[string]any); f["queued"] != float64(0) {
		t.Errorf("after cancel: %v", f)
	}
	if status, body := apiCall(t, e, models.RoleViewer, http.MethodGet, "/campaigns", ""); status != http.StatusOK || len(body["campaigns"].([]any)) != 1 {
		t.Errorf("list: %d %v", status, body)
	}
}

func TestCampaignComposerAndLaunch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tmpl, seg := seedAudience(t, e, 5)
	marketer := e.user(models.RoleMarketer)

	// The composer lists the template and segment and asks for the
	// template's campaign value.
	doc := marketer.doc(marketer.get(fmt.Sprintf("/campaigns/new?template_id=%d&segment_id=%d&name=", tmpl, seg)))
	if doc.Find(`input[name="value.discount"]`).Length() != 1 {
		t.Error("composer does not ask for the campaign value")
	}
	if doc.Find(fmt.Sprintf(`input[name="segment_ids"][value="%d"][checked]`, seg)).Length() != 1 {
		t.Error("segment from the query is not preselected")
	}

	// Errors show next to their fields.
	res := marketer.postForm("/campaigns", url.Values{"name": {""}, "schedule_type": {"at"}, "at": {"not a date"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid form: %d", res.StatusCode)
	}
	doc = marketer.doc(res)
	for _, f := range []string{"name", "schedule.at"} {
		if doc.Find("#e-"+strings.ReplaceAll(f, ".", "\\.")).Length() == 0 && doc.Find(`[aria-invalid="true"]`).Length() == 0 {
			t.Errorf("no error shown for %s", f)
		}
	}
	if doc.Find("#e-name").Length() != 1 {
		t.Error("name error not next to the field")
	}

	// A valid form creates a draft and leads to the confirmation.
	res = marketer.postForm("/campaigns", url.Values{"name": {"Win-back"}, "template_id": {strconv.FormatInt(tmpl, 10)},
		"segment_ids": {strconv.FormatInt(seg, 10)}, "schedule_type": {"now"}, "timezone": {"UTC"}, "reentry_days": {"30"},
		"value.discount": {"20%"}, "frequency_cap": {"on"}})
	if res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Request.URL.Path, "/confirm") {
		t.Fatalf("create: %d at %s", res.StatusCode, res.Request.URL)
	}
	doc = marketer.doc(res)
	if !strings.Contains(doc.Find(".stats").Text(), "5") {
		t.Errorf("confirmation does not show 5 matching contacts: %q", doc.Find(".stats").Text())
	}
	launch, _ := doc.Find("form.launch-form").Attr("action")
	res = marketer.postForm(launch, url.Values{})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("launch: %d", res.StatusCode)
	}
	doc = marketer.doc(res)
	if got := doc.Find("#campaign-status").Text(); got != "running" {
		t.Errorf("campaign page status %q, want running", got)
	}
	if _, ok := doc.Find("#campaign-progress").Attr("hx-get"); !ok {
		t.Error("running campaign page does not poll for progress")
	}

	// Viewers see the campaign but cannot change it.
	viewer := e.user(models.RoleViewer)
	if res := viewer.get("/campaigns"); res.StatusCode != http.StatusOK {
		t.Errorf("viewer list: %d", res.StatusCode)
	}
	if res := viewer.postForm(strings.TrimSuffix(launch, "/launch")+"/pause", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer pause: %d, want 403", res.StatusCode)
	}
}

func TestLargeAudienceNeedsExplicitConfirmation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tmpl, seg := seedAudience(t, e, 10_050)
	c := &models.Campaign{Name: "big", TemplateID: &tmpl, SegmentIDs: []int64{seg}, Schedule: models.Schedule{Type: "now"}, ReentryDays: 30}
	if err := e.store.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	marketer := e.user(models.RoleMarketer)
	path := fmt.Sprintf("/campaigns/%d/launch", c.ID)
	res := marketer.postForm(path, url.Values{})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("launch without ticking: %d, want 422", res.StatusCode)
	}
	if marketer.doc(res).Find("#e-confirm_large").Length() != 1 {
		t.Error("no error next to the confirmation box")
	}
	res = marketer.postForm(path, url.Values{"confirm_large": {"yes"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("confirmed launch: %d", res.StatusCode)
	}
	st, _ := e.store.CampaignStats(context.Background(), c.ID)
	if st.Targeted != 10_050 {
		t.Errorf("targeted %d", st.Targeted)
	}
}

func TestDeliveryRulesSettings(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin := e.user(models.RoleAdmin)
	res := admin.postForm("/settings/delivery", url.Values{"quiet_start": {"22:00"}, "quiet_end": {"8:99"}, "frequency_cap_count": {"3"},
		"frequency_cap_days": {"7"}, "default_timezone": {"UTC"}, "auto_pause_failure_rate": {"0.3"}, "auto_pause_min_attempts": {"100"}})
	if res.StatusCode != http.StatusUnprocessableEntity || admin.doc(res).Find("#e-quiet_end").Length() != 1 {
		t.Fatalf("bad quiet end: %d", res.StatusCode)
	}
	res = admin.postForm("/settings/delivery", url.Values{"quiet_start": {"22:00"}, "quiet_end": {"08:00"}, "frequency_cap_count": {"3"},
		"frequency_cap_days": {"7"}, "default_timezone": {"America/Sao_Paulo"}, "auto_pause_failure_rate": {"0.3"}, "auto_pause_min_attempts": {"100"},
		"price_country_0": {"br"}, "price_marketing_0": {"0.07"}, "price_utility_0": {"0.01"}, "price_authentication_0": {"0.01"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("save: %d", res.StatusCode)
	}
	rules, _ := e.store.DeliveryRules(context.Background())
	if rules.QuietStart != "22:00" || rules.FrequencyCapCount != 3 || rules.DefaultTimezone != "America/Sao_Paulo" {
		t.Errorf("saved rules %+v", rules)
	}
	pricing, _ := e.store.Pricing(context.Background())
	if pricing.PriceOf("BR", "MARKETING") != 0.07 {
		t.Errorf("saved pricing %+v", pricing)
	}
	marketer := e.user(models.RoleMarketer)
	if res := marketer.get("/settings/delivery"); res.StatusCode != http.StatusForbidden {
		t.Errorf("marketer opens delivery rules: %d", res.StatusCode)
	}
}

func TestCampaignAttributionSettings(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tmpl := &models.Template{Name: "promo", Language: "en_US", Category: "MARKETING", Body: "Sale!", Status: "APPROVED"}
	if err := e.store.CreateTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	seg, err := e.store.CreateSegment(ctx, models.SegmentInput{Name: "all"})
	if err != nil {
		t.Fatal(err)
	}
	body := func(days int, events string) string {
		return fmt.Sprintf(`{"name": "signups", "template_id": %d, "segment_ids": [%d], "attribution_days": %d, "conversion_events": %s}`,
			tmpl.ID, seg.ID, days, events)
	}
	status, got := apiCall(t, e, models.RoleMarketer, http.MethodPost, "/campaigns", body(120, `["purchase"]`))
	if status != http.StatusUnprocessableEntity || got["error"].(map[string]any)["fields"].(map[string]any)["attribution_days"] == nil {
		t.Fatalf("a 120-day window: %d %v, want 422 on attribution_days", status, got)
	}
	status, got = apiCall(t, e, models.RoleMarketer, http.MethodPost, "/campaigns", body(7, `["signup", "trial_started"]`))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, got)
	}
	a, err := e.store.CampaignAttribution(ctx, int64(got["id"].(float64)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Days != 7 || len(a.Events) != 2 || a.Events[0] != "signup" {
		t.Fatalf("stored attribution %+v", a)
	}
	// Without the fields the defaults apply: 3 days, purchase.
	status, got = apiCall(t, e, models.RoleMarketer, http.MethodPost, "/campaigns",
		fmt.Sprintf(`{"name": "defaults", "template_id": %d, "segment_ids": [%d]}`, tmpl.ID, seg.ID))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, got)
	}
	if a, _ := e.store.CampaignAttribution(ctx, int64(got["id"].(float64))); a.Days != 3 || a.Events[0] != "purchase" {
		t.Fatalf("default attribution %+v", a)
	}
}
