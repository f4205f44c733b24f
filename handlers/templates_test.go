package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// setupWithGateway is setup with a WhatsApp template gateway wired in.
func setupWithGateway(t *testing.T, gw handlers.TemplateGateway) *env {
	t.Helper()
	db := testdb.SQLite(t)
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secret = "test-secret-test-secret-test-secret"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := echo.New()
	handlers.New(handlers.Deps{Config: cfg, Store: db.Store, Runner: jobs.New(db.Store, log), Log: log, TemplateGateway: gw}).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, echo: e, store: db.Store, db: db}
}

// fakeGateway records submissions and answers like Meta; it also sends tests.
type fakeGateway struct {
	mu        sync.Mutex
	submitted []whatsapp.TemplateDefinition
	tests     []string
	list      []whatsapp.Template
}

func (g *fakeGateway) CreateTemplate(_ context.Context, def whatsapp.TemplateDefinition) (whatsapp.CreateTemplateResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.submitted = append(g.submitted, def)
	return whatsapp.CreateTemplateResult{ID: "meta-" + strconv.Itoa(len(g.submitted)), Status: "PENDING", Category: def.Category}, nil
}

func (g *fakeGateway) ListTemplates(context.Context) ([]whatsapp.Template, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.list, nil
}

func (g *fakeGateway) SendTest(_ context.Context, id int64, phone string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tests = append(g.tests, strconv.FormatInt(id, 10)+"→"+phone)
	return nil
}

// validForm is a composer form for a valid template with two quick replies
// and a tracked URL button.
func validForm(name string) url.Values {
	return url.Values{
		"name": {name}, "language": {"en_US"}, "category": {"MARKETING"}, "parameter_format": {"POSITIONAL"},
		"header_type": {"text"}, "header_text": {"Flash sale"},
		"body": {"Hi {{1}}, {{2}} off everything until midnight."}, "footer": {"Reply STOP to opt out"},
		"buttons.0.type": {"quick_reply"}, "buttons.0.text": {"Show me"},
		"buttons.1.type": {"quick_reply"}, "buttons.1.text": {"Stop promotions"}, "buttons.1.payload": {"STOP"},
		"buttons.2.type": {"url"}, "buttons.2.text": {"Shop now"}, "buttons.2.url": {"https://shop.example.com/sale/{{1}}"}, "buttons.2.track": {"1"},
		"var.body.0.source": {"field"}, "var.body.0.field": {"first_name"}, "var.body.0.fallback": {"there"},
		"var.body.1.source": {"value"}, "var.body.1.value": {"30%"},
		"var.button.2.source": {"campaign"}, "var.button.2.campaign": {"slug"}, "var.button.2.fallback": {"all"},
	}
}

// noRedirect returns the response to the request itself.
func noRedirect(c *client) *client {
	cp := *c
	h := *c.http
	h.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cp.http = &h
	return &cp
}

func TestComposerPreviewFollowsTheBody(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user(models.RoleMarketer)

	doc := c.doc(c.get("/templates/new"))
	form := doc.Find("form#composer-form")
	if trig, _ := form.Attr("hx-trigger"); trig != "input changed delay:300ms" {
		t.Errorf("composer hx-trigger = %q", trig)
	}
	if post, _ := form.Attr("hx-post"); post != "/templates/preview" {
		t.Errorf("composer hx-post = %q", post)
	}
	if doc.Find("script:not([src])").Length() != 0 {
		t.Error("composer has an inline script; the CSP forbids it")
	}

	preview := func(body string, extra url.Values) (string, string, bool) {
		t.Helper()
		f := validForm("flash_sale")
		f.Set("body", body)
		for k, v := range extra {
			f[k] = v
		}
		res := c.postForm("/templates/preview", f)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("preview status %d", res.StatusCode)
		}
		d := c.doc(res)
		disabled := d.Find(`#composer-actions button[value="draft"]`).AttrOr("disabled", "no") != "no"
		return strings.TrimSpace(d.Find("#preview-pane .bubble-body").Text()), d.Find("#issues").Text(), disabled
	}
	body, issues, disabled := preview("Hi {{1}}, {{2}} off everything until midnight.", nil)
	if body != "Hi Ana, 30% off everything until midnight." || disabled || !strings.Contains(issues, "Ready") {
		t.Errorf("preview = %q, issues %q, save disabled %v", body, issues, disabled)
	}
	body, _, _ = preview("Hello {{1}}, {{2}} off shoes today.", nil)
	if body != "Hello Ana, 30% off shoes today." {
		t.Errorf("preview after edit = %q", body)
	}
	// Meta's rule (variable at the end) shows live and disables saving.
	body, issues, disabled = preview("Hello {{1}}, take {{2}}", nil)
	if !strings.Contains(issues, "cannot end with a variable") || !disabled || body != "Hello Ana, take 30%" {
		t.Errorf("invalid preview = %q, issues %q, disabled %v", body, issues, disabled)
	}

	// A new variable brings its mapping row out of band; an unchanged set does not.
	f := validForm("flash_sale")
	f.Set("body", "Hi {{1}}, {{2}} off, ends {{3}}. Enjoy!")
	f.Set("vars_sig", "stale")
	d := c.doc(c.postForm("/templates/preview", f))
	if d.Find(`#variables[hx-swap-oob] select[name="var.body.2.source"]`).Length() != 1 {
		t.Error("new variable {{3}} has no mapping row in the out-of-band swap")
	}
	sig, _ := d.Find(`input[name="vars_sig"]`).Attr("value")
	f.Set("vars_sig", sig)
	if d := c.doc(c.postForm("/templates/preview", f)); d.Find("#variables").Length() != 0 {
		t.Error("variables re-sent although the set did not change")
	}

	// With contacts in the database, the first one is the sample.
	now := time.Now().UTC()
	if err := e.store.DB(context.Background()).Exec(`INSERT INTO contacts (phone, first_name, created_at, updated_at) VALUES ('+5511900000001', 'Bruno', ?, ?)`, now, now).Error; err != nil {
		t.Fatal(err)
	}
	if body, _, _ := preview("Hi {{1}}, {{2}} off everything until midnight.", nil); body != "Hi Bruno, 30% off everything until midnight." {
		t.Errorf("preview with a contact = %q", body)
	}
	if body, _, _ := preview("Hi {{1}}, {{2}} off everything until midnight.", url.Values{"sample": {"sample"}}); body != "Hi Ana, 30% off everything until midnight." {
		t.Errorf("preview as the built-in sample = %q", body)
	}
}

func TestComposerAddsAndRemovesButtons(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user(models.RoleMarketer)
	f := validForm("flash_sale")
	f.Set("add_button", "quick_reply")
	d := c.doc(c.postForm("/templates/compose", f))
	var types []string
	d.Find(`input[name$=".type"][type="hidden"]`).Each(func(_ int, s *goquery.Selection) { types = append(types, s.AttrOr("value", "")) })
	if strings.Join(types, ",") != "quick_reply,quick_reply,quick_reply,url" {
		t.Errorf("after adding a quick reply: %v (quick replies must stay grouped)", types)
	}
	// The URL button moved to index 3 and kept its mapping.
	if v, _ := d.Find(`input[name="var.button.3.campaign"]`).Attr("value"); v != "slug" {
		t.Errorf("URL suffix mapping after insert = %q", v)
	}
	f = validForm("flash_sale")
	f.Set("remove_button", "0")
	d = c.doc(c.postForm("/templates/compose", f))
	if n := d.Find(`input[name$=".type"][type="hidden"]`).Length(); n != 2 {
		t.Errorf("after removing: %d buttons", n)
	}
	if v, _ := d.Find(`input[name="var.button.1.campaign"]`).Attr("value"); v != "slug" {
		t.Errorf("URL suffix mapping after removal = %q", v)
	}
}

func TestComposerRefusesInvalidTemplates(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user(models.RoleMarketer)
	f := validForm("Flash Sale")
	f.Set("body", "{{1}} off everything")
	f.Del("var.body.1.source")
	f.Set("var.body.0.field", "attributes.plan")
	f.Set("var.body.0.fallback", "")
	res := c.postForm("/templates", f)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.StatusCode)
	}
	d := c.doc(res)
	for _, field := range []string{"name", "body"} {
		if d.Find("#e-"+field).Length() != 1 || d.Find("#f-"+field).AttrOr("aria-invalid", "") != "true" {
			t.Errorf("no error shown next to %s", field)
		}
	}
	if !strings.Contains(d.Find(".var-row .field-error").Text(), "fallback") {
		t.Errorf("variable row error = %q", d.Find(".var-row .field-error").Text())
	}
	if d.Find(`#composer-actions button[value="submit"][disabled]`).Length() != 1 {
		t.Error("submit button enabled although issues exist")
	}
	if rows, _ := e.store.ListTemplates(context.Background(), models.TemplateFilter{}); len(rows) != 0 {
		t.Errorf("invalid template stored: %+v", rows)
	}
	// A viewer cannot create at all.
	v := e.user(models.RoleViewer)
	if res := v.postForm("/templates", validForm("flash_sale")); res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer create: status %d", res.StatusCode)
	}
}

func TestTemplateLifecycleWithGateway(t *testing.T) {
	t.Parallel()
	gw := &fakeGateway{}
	e := setupWithGateway(t, gw)
	c := e.user(models.RoleMarketer)
	ctx := context.Background()

	f := validForm("flash_sale")
	f.Set("action", "submit")
	res := c.postForm("/templates", f)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.Path, "/templates/") {
		t.Fatalf("create: status %d at %s", res.StatusCode, res.Request.URL)
	}
	d := c.doc(res)
	if !strings.Contains(d.Find("#flashes").Text(), "Submitted") || d.Find(".badge-PENDING").Length() != 1 {
		t.Errorf("detail after submit: flashes %q", d.Find("#flashes").Text())
	}
	if len(gw.submitted) != 1 {
		t.Fatalf("gateway got %d submissions", len(gw.submitted))
	}
	def := gw.submitted[0]
	btns := def.Components[len(def.Components)-1].Buttons
	if def.Name != "flash_sale" || len(btns) != 3 || btns[2].URL != "http://127.0.0.1:8080/r/{{1}}" {
		t.Errorf("definition = %+v", def)
	}
	rows, _ := e.store.ListTemplates(ctx, models.TemplateFilter{})
	if len(rows) != 1 || rows[0].Status != models.TemplatePending || rows[0].MetaID != "meta-1" {
		t.Fatalf("rows = %+v", rows)
	}
	id := strconv.FormatInt(rows[0].ID, 10)

	// The list shows it with its status; the filter finds it.
	d = c.doc(c.get("/templates?status=PENDING"))
	if d.Find("table.templates-table tbody tr").Length() != 1 || d.Find(".badge-PENDING").Length() != 1 {
		t.Error("pending template not listed")
	}
	d = c.doc(c.get("/templates?status=APPROVED"))
	if d.Find("table.templates-table tbody tr").Length() != 0 {
		t.Error("approved filter lists a pending template")
	}

	// A webhook approves it; a test send goes through the gateway.
	if err := e.store.SetTemplateStatus(ctx, "2000000001", models.TemplateRef{MetaID: "meta-1"}, models.TemplateApproved, ""); err != nil {
		t.Fatal(err)
	}
	res = c.postForm("/templates/"+id+"/test", url.Values{"phone": {"+5511987654321"}})
	if res.StatusCode != http.StatusOK || len(gw.tests) != 1 || gw.tests[0] != id+"→+5511987654321" {
		t.Errorf("send test: status %d, tests %v", res.StatusCode, gw.tests)
	}

	// Content of a submitted template cannot change, but mappings can.
	f = validForm("flash_sale")
	f.Set("var.body.1.value", "40%")
	res = c.postForm("/templates/"+id, f)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("update mappings: status %d", res.StatusCode)
	}
	if row, _ := e.store.TemplateByID(ctx, rows[0].ID); !strings.Contains(row.Variables, "40%") || row.Status != models.TemplateApproved {
		t.Errorf("after mapping update: %s %s", row.Status, row.Variables)
	}

	// Duplicate, add a language, archive.
	res = c.postForm("/templates/"+id+"/duplicate", url.Values{"name": {"flash_sale_b"}})
	if res.StatusCode != http.StatusOK || !strings.HasSuffix(res.Request.URL.Path, "/edit") {
		t.Errorf("duplicate: %d at %s", res.StatusCode, res.Request.URL)
	}
	if res := c.postForm("/templates/"+id+"/duplicate", url.Values{"name": {"Bad Name"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("duplicate with a bad name: %d", res.StatusCode)
	}
	if res := c.postForm("/templates/"+id+"/languages", url.Values{"language": {"pt_BR"}}); res.StatusCode != http.StatusOK {
		t.Errorf("add language: %d", res.StatusCode)
	}
	if res := c.postForm("/templates/"+id+"/languages", url.Values{"language": {"pt_BR"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("add the same language twice: %d", res.StatusCode)
	}
	if res := c.postForm("/templates/"+id+"/archive", url.Values{}); res.StatusCode != http.StatusOK {
		t.Errorf("archive: %d", res.StatusCode)
	}
	active, _ := e.store.ListTemplates(ctx, models.TemplateFilter{})
	if len(active) != 2 {
		t.Errorf("active after archive = %d, want the copy and the translation", len(active))
	}
}

func TestSendTestWithoutSender(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user(models.RoleMarketer)
	if res := c.postForm("/templates", validForm("flash_sale")); res.StatusCode != http.StatusOK {
		t.Fatalf("create: %d", res.StatusCode)
	}
	rows, _ := e.store.ListTemplates(context.Background(), models.TemplateFilter{})
	id := strconv.FormatInt(rows[0].ID, 10)
	d := c.doc(c.get("/templates/" + id))
	if !strings.Contains(d.Text(), "Test sends are not available") || !strings.Contains(d.Text(), "WhatsApp is not connected") {
		t.Error("detail page does not say that sending and submitting are unavailable")
	}
	res := c.postForm("/templates/"+id+"/test", url.Values{"phone": {"+5511987654321"}})
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(c.doc(res).Find("#e-phone").Text(), "not available") {
		t.Errorf("test without sender: %d", res.StatusCode)
	}
}

func templateAPICall(t *testing.T, e *env, key, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			raw = []byte(s)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: not JSON: %v", method, path, err)
	}
	return res.StatusCode, out
}

func TestTemplatesAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, key, err := e.store.CreateAPIKey(context.Background(), "shop", models.RoleMarketer, nil)
	if err != nil {
		t.Fatal(err)
	}
	contract := `{"name": "flash_sale_oct", "language": "en_US", "category": "MARKETING",
	 "header": {"type": "text", "text": "Flash sale"},
	 "body": "Hi {{1}}, {{2}} off everything until midnight.",
	 "footer": "Reply STOP to opt out",
	 "buttons": [{"type": "quick_reply", "text": "Show me"},
	             {"type": "url", "text": "Shop now", "url": "https://shop.example.com/sale/{{1}}", "track": true}],
	 "variables": {"body": [{"field": "first_name", "fallback": "there"}, {"value": "30%"}],
	               "buttons": {"1": {"campaign": "slug", "fallback": "all"}}}}`
	status, created := templateAPICall(t, e, key, http.MethodPost, "/api/v1/templates", contract)
	if status != http.StatusCreated || created["status"] != "DRAFT" || created["name"] != "flash_sale_oct" || created["id"] == nil {
		t.Fatalf("create: %d %v", status, created)
	}
	id := strconv.Itoa(int(created["id"].(float64)))

	status, got := templateAPICall(t, e, key, http.MethodGet, "/api/v1/templates/"+id, nil)
	buttons, _ := got["buttons"].([]any)
	if status != http.StatusOK || got["status"] != "DRAFT" || len(buttons) != 2 || got["body"] != "Hi {{1}}, {{2}} off everything until midnight." {
		t.Errorf("get: %d %v", status, got)
	}
	status, list := templateAPICall(t, e, key, http.MethodGet, "/api/v1/templates", nil)
	items, _ := list["templates"].([]any)
	if status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["status"] != "DRAFT" {
		t.Errorf("list: %d %v", status, list)
	}
	if status, _ := templateAPICall(t, e, key, http.MethodPost, "/api/v1/templates", contract); status != http.StatusConflict {
		t.Errorf("duplicate create: %d", status)
	}

	bad := strings.NewReplacer(`"flash_sale_oct"`, `"Flash Sale"`, `"Hi {{1}}, {{2}} off everything until midnight."`, `"Hi {{1}}, {{2}}"`).Replace(contract)
	status, errBody := templateAPICall(t, e, key, http.MethodPost, "/api/v1/templates", bad)
	apiError, _ := errBody["error"].(map[string]any)
	fields, _ := apiError["fields"].(map[string]any)
	if status != http.StatusUnprocessableEntity || apiError["code"] != "validation_failed" || fields["name"] == nil || fields["body"] == nil {
		t.Errorf("invalid create: %d %v", status, errBody)
	}
	if status, _ := templateAPICall(t, e, key, http.MethodPost, "/api/v1/templates", `{"name": "x", "bodyy": "typo"}`); status != http.StatusBadRequest {
		t.Errorf("unknown field: %d", status)
	}
	if status, _ := templateAPICall(t, e, key, http.MethodGet, "/api/v1/templates/9999", nil); status != http.StatusNotFound {
		t.Errorf("unknown id: %d", status)
	}
	_, viewerKey, _ := e.store.CreateAPIKey(context.Background(), "bi", models.RoleViewer, nil)
	if status, _ := templateAPICall(t, e, viewerKey, http.MethodPost, "/api/v1/templates", contract); status != http.StatusForbidden {
		t.Errorf("viewer key create: %d", status)
	}
}

func TestTrackedLinkRecordsTapAndRedirects(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	db := e.store.DB(ctx)
	now := time.Now().UTC()
	if err := db.Exec(`INSERT INTO campaigns (name, created_at, updated_at) VALUES ('October sale', ?, ?)`, now, now).Error; err != nil {
		t.Fatal(err)
	}
	var campaignID, messageID int64
	db.Raw(`SELECT id FROM campaigns`).Scan(&campaignID)
	if err := db.Exec(`INSERT INTO messages (campaign_id, to_phone, send_after, created_at, updated_at) VALUES (?, '5511', ?, ?, ?)`, campaignID, now, now, now).Error; err != nil {
		t.Fatal(err)
	}
	db.Raw(`SELECT id FROM messages`).Scan(&messageID)
	if _, err := e.store.CreateLink(ctx, "Tap12345", messageID, "https://shop.example.com/sale/shoes?color=red"); err != nil {
		t.Fatal(err)
	}

	anon := noRedirect(e.anon())
	for range 2 {
		res := anon.get("/r/Tap12345")
		if res.StatusCode != http.StatusFound {
			t.Fatalf("status %d, want 302", res.StatusCode)
		}
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		if loc.Host != "shop.example.com" || loc.Path != "/sale/shoes" || q.Get("color") != "red" || q.Get("utm_source") != "whatsapp" ||
			q.Get("utm_medium") != "message" || q.Get("utm_campaign") != "October sale" {
			t.Errorf("Location = %s", loc)
		}
	}
	var events int64
	db.Raw(`SELECT COUNT(*) FROM message_events WHERE message_id = ? AND status = 'tapped'`, messageID).Scan(&events)
	var tapped int64
	db.Raw(`SELECT COUNT(*) FROM messages WHERE id = ? AND tapped_at IS NOT NULL`, messageID).Scan(&tapped)
	if events != 1 || tapped != 1 {
		t.Errorf("tap events = %d, tapped messages = %d; want 1 and 1", events, tapped)
	}

	for _, code := range []string{"Unknown1", "bad!code"} {
		res := anon.get("/r/" + url.PathEscape(code))
		if res.StatusCode != http.StatusNotFound || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: status %d, type %s", code, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
}

// TestRoundTripThroughSimulator submits a template to the Cloud API
// simulator and follows it from PENDING to APPROVED by the periodic sync
// (the webhook path is wired by the integrator with the webhooks handler).
func TestRoundTripThroughSimulator(t *testing.T) {
	t.Parallel()
	cfg := simulator.DefaultConfig()
	cfg.TimeScale = 0
	cfg.ApprovalDelay = 50 * time.Millisecond
	sim := simulator.New(cfg)
	base, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: base, Token: cfg.Token, WABAID: cfg.WABAID, PhoneNumberID: cfg.PhoneNumberID})
	e := setupWithGateway(t, client)
	c := e.user(models.RoleMarketer)
	ctx := context.Background()

	f := validForm("flash_sale")
	f.Set("action", "submit")
	if res := c.postForm("/templates", f); res.StatusCode != http.StatusOK {
		t.Fatalf("create and submit: %d", res.StatusCode)
	}
	row, err := e.store.TemplateByNameLanguage(ctx, cfg.WABAID, "flash_sale", "en_US")
	if err != nil || row.Status != models.TemplatePending || row.MetaID == "" {
		t.Fatalf("after submit: %+v, %v", row, err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		approved := false
		for _, st := range sim.Templates() {
			if st.Name == "flash_sale" && st.Status == whatsapp.StatusApproved {
				approved = true
			}
		}
		if approved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator never approved the template: %+v", sim.Templates())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res := c.postForm("/templates/sync", url.Values{}); res.StatusCode != http.StatusOK {
		t.Fatalf("sync: %d", res.StatusCode)
	}
	row, err = e.store.TemplateByID(ctx, row.ID)
	if err != nil || row.Status != models.TemplateApproved {
		t.Fatalf("after sync: %+v, %v", row, err)
	}
	// The approved template, rendered for a contact, is a send the Cloud API accepts.
	tmpl, err := templating.FromColumns(templating.Columns{Name: row.Name, Language: row.Language, Category: row.Category,
		ParameterFormat: row.ParameterFormat, Header: row.Header, Body: row.Body, Footer: row.Footer, Buttons: row.Buttons, Variables: row.Variables})
	if err != nil {
		t.Fatal(err)
	}
	msg, comps, err := templating.Render(tmpl, templating.Contact{FirstName: "Carla"}, map[string]string{"slug": "shoes"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Send(ctx, whatsapp.Message{To: "5511987654321", Template: &whatsapp.TemplateMessage{Name: row.Name, Language: row.Language, Components: comps}}); err != nil {
		t.Errorf("simulator refused the rendered send: %v", err)
	}
	if len(msg.Links) != 1 || msg.Links[0].Destination != "https://shop.example.com/sale/shoes" {
		t.Errorf("tracked links = %+v", msg.Links)
	}
	// The simulator's hello_world, made "in WhatsApp Manager", was imported.
	if hw, err := e.store.TemplateByNameLanguage(ctx, cfg.WABAID, "hello_world", "en_US"); err != nil || hw.Status != models.TemplateApproved {
		t.Errorf("hello_world import: %+v, %v", hw, err)
	}
}
