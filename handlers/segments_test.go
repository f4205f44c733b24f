package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/heraldhq/herald/models"
)

// addContacts inserts contacts (phone, country, tags JSON, reachable and
// opted in) straight into the table.
func addSegmentContacts(t *testing.T, e *env, rows ...[3]string) {
	t.Helper()
	now := time.Now().UTC()
	for _, r := range rows {
		err := e.store.DB(context.Background()).Exec(`INSERT INTO contacts (phone, country, tags, marketing_opt_in, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, r[0], r[1], r[2], r[1] != "MX", now, now).Error
		if err != nil {
			t.Fatal(err)
		}
	}
}

func segAPI(t *testing.T, e *env, key, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	}
	return res.StatusCode, out
}

func segAPIKey(t *testing.T, e *env, role models.Role) string {
	t.Helper()
	_, key, err := e.store.CreateAPIKey(context.Background(), "segments-test", role, nil)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestSegmentsAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	addSegmentContacts(t, e, [3]string{"+5511900000001", "BR", `["vip"]`}, [3]string{"+5511900000002", "BR", `[]`},
		[3]string{"+5215500000003", "MX", `["vip"]`}, [3]string{"+14155550004", "US", `["vip"]`})
	key := segAPIKey(t, e, models.RoleMarketer)

	status, seg := segAPI(t, e, key, "POST", "/api/v1/segments",
		`{"name":"LatAm VIP","rules":{"all":[{"field":"country","op":"in","value":["BR","MX"]},{"field":"tags","op":"contains","value":"vip"}]}}`)
	if status != http.StatusCreated || seg["name"] != "LatAm VIP" || seg["kind"] != "dynamic" {
		t.Fatalf("create: %d %v", status, seg)
	}
	id := int64(seg["id"].(float64))
	path := fmt.Sprintf("/api/v1/segments/%d", id)

	if status, got := segAPI(t, e, key, "GET", path, ""); status != http.StatusOK || got["id"] != seg["id"] || got["rules"] == nil {
		t.Fatalf("get: %d %v", status, got)
	}
	if status, got := segAPI(t, e, key, "GET", path+"/count", ""); status != http.StatusOK || got["count"] != 2.0 || got["reachable"] != 1.0 {
		t.Fatalf("count: %d %v", status, got)
	}
	status, got := segAPI(t, e, key, "POST", "/api/v1/segments/preview", `{"rules":{"field":"tags","op":"contains","value":"vip"}}`)
	if status != http.StatusOK || got["count"] != 3.0 {
		t.Fatalf("preview: %d %v", status, got)
	}
	status, got = segAPI(t, e, key, "PATCH", path, `{"name":"Renamed","rules":{"field":"country","op":"eq","value":"US"}}`)
	if status != http.StatusOK || got["name"] != "Renamed" {
		t.Fatalf("patch: %d %v", status, got)
	}
	if status, got := segAPI(t, e, key, "GET", "/api/v1/segments", ""); status != http.StatusOK || len(got["segments"].([]any)) != 1 {
		t.Fatalf("list: %d %v", status, got)
	}
	if status, got := segAPI(t, e, key, "GET", "/api/v1/segments/fields", ""); status != http.StatusOK || len(got["fields"].([]any)) < 17 {
		t.Fatalf("fields: %d %v", status, got)
	}

	// Invalid rules: 422 with the path of each problem.
	for _, tt := range []struct{ method, path, body, field, msg string }{
		{"POST", "/api/v1/segments", `{"name":"x","rules":{"all":[{"field":"country","op":"eq","value":"BR"},{"field":"total_spent","op":"gte","value":"lots"}]}}`, "all[1].value", "number"},
		{"POST", "/api/v1/segments/preview", `{"rules":{"any":[{"field":"shoe","op":"eq","value":1}]}}`, "any[0].field", "unknown field"},
		{"PATCH", path, `{"rules":{"all":[{"any":[{"field":"tags","op":"gt","value":1}]}]}}`, "all[0].any[0].op", "does not apply"},
	} {
		status, got := segAPI(t, e, key, tt.method, tt.path, tt.body)
		errObj, _ := got["error"].(map[string]any)
		fields, _ := errObj["fields"].(map[string]any)
		msg, _ := fields[tt.field].(string)
		if status != http.StatusUnprocessableEntity || errObj["code"] != "invalid_rules" || !strings.Contains(msg, tt.msg) {
			t.Errorf("%s %s: %d %v, want 422 invalid_rules with %s", tt.method, tt.path, status, got, tt.field)
		}
	}
	if status, _ := segAPI(t, e, key, "POST", "/api/v1/segments", `{"rules":{"all":[]}}`); status != http.StatusUnprocessableEntity {
		t.Fatalf("nameless: %d", status)
	}

	// A viewer key reads but cannot change.
	viewer := segAPIKey(t, e, models.RoleViewer)
	if status, _ := segAPI(t, e, viewer, "GET", path+"/count", ""); status != http.StatusOK {
		t.Fatalf("viewer count: %d", status)
	}
	if status, _ := segAPI(t, e, viewer, "DELETE", path, ""); status != http.StatusForbidden {
		t.Fatalf("viewer delete: %d", status)
	}

	// Delete is refused while a scheduled campaign targets the segment.
	now := time.Now().UTC()
	err := e.store.DB(context.Background()).Exec(`INSERT INTO campaigns (name, status, segment_ids, created_at, updated_at)
		VALUES ('Launch', 'scheduled', ?, ?, ?)`, fmt.Sprintf("[%d]", id), now, now).Error
	if err != nil {
		t.Fatal(err)
	}
	if status, got := segAPI(t, e, key, "DELETE", path, ""); status != http.StatusConflict || !strings.Contains(fmt.Sprint(got), "Launch") {
		t.Fatalf("delete in use: %d %v", status, got)
	}
	e.store.DB(context.Background()).Exec(`UPDATE campaigns SET status = 'completed'`)
	if status, _ := segAPI(t, e, key, "DELETE", path, ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if status, _ := segAPI(t, e, key, "GET", path, ""); status != http.StatusNotFound {
		t.Fatalf("get deleted: %d", status)
	}
}

// builderForm is a two-condition tree as the builder page posts it.
func segBuilderForm() url.Values {
	return url.Values{
		"name": {"Brazil VIP"}, "r.t": {"all"},
		"r.0.t": {"cond"}, "r.0.field": {"country"}, "r.0.op": {"eq"}, "r.0.value": {"BR"},
		"r.1.t":   {"any"},
		"r.1.0.t": {"cond"}, "r.1.0.field": {"tags"}, "r.1.0.op": {"contains"}, "r.1.0.value": {"vip"},
	}
}

func segHTMXPost(t *testing.T, c *client, path string, form url.Values) *http.Response {
	t.Helper()
	form.Set("_csrf", c.csrf("/settings"))
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestSegmentBuilderFragment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	addSegmentContacts(t, e, [3]string{"+5511900000001", "BR", `["vip"]`})
	c := e.user(models.RoleMarketer)

	// Adding a group to the root appends it after the existing children.
	form := segBuilderForm()
	form.Set("action", "add_group:r")
	res := segHTMXPost(t, c, "/segments/builder", form)
	if res.StatusCode != http.StatusOK || res.Header.Get("HX-Trigger") != "segment-changed" {
		t.Fatalf("builder: %d %q", res.StatusCode, res.Header.Get("HX-Trigger"))
	}
	doc := c.doc(res)
	if doc.Find("#builder").Length() != 1 || doc.Find("html").Length() != 0 && doc.Find("nav").Length() != 0 {
		t.Fatal("builder did not answer with its fragment")
	}
	if doc.Find("fieldset#f-r-2-group").Length() != 1 || doc.Find(`select[name="r.2.0.field"]`).Length() != 1 {
		html, _ := doc.Html()
		t.Fatalf("no new group with a condition:\n%s", html)
	}
	if v, _ := doc.Find(`[name="r.1.0.value"]`).Attr("value"); v != "vip" {
		t.Fatalf("existing value lost: %q", v)
	}

	// Removing renumbers: the group at r.1 goes, nothing else.
	form = segBuilderForm()
	form.Set("action", "remove:r.1")
	doc = c.doc(segHTMXPost(t, c, "/segments/builder", form))
	if doc.Find(`[name="r.1.t"]`).Length() != 0 || doc.Find(`[name="r.0.field"]`).Length() != 1 {
		t.Fatal("remove left the group or dropped the condition")
	}

	// Changing the field resets an operator that no longer fits.
	form = segBuilderForm()
	form.Set("r.0.field", "total_spent")
	form.Set("r.0.op", "contains")
	doc = c.doc(segHTMXPost(t, c, "/segments/builder", form))
	if op, _ := doc.Find(`select[name="r.0.op"] option[selected]`).Attr("value"); op != "eq" {
		t.Fatalf("operator %q after switching to a number field", op)
	}
	if typ, _ := doc.Find(`input[name="r.0.value"]`).Attr("type"); typ != "number" {
		t.Fatalf("value input type %q for a number", typ)
	}

	// An invalid value shows its error beside its condition only.
	form = segBuilderForm()
	form.Set("r.1.0.field", "total_spent")
	form.Set("r.1.0.op", "gte")
	form.Set("r.1.0.value", "lots")
	doc = c.doc(segHTMXPost(t, c, "/segments/builder", form))
	if msg := doc.Find("#f-r-1-0-cond .rule-error").Text(); !strings.Contains(msg, "number") {
		t.Fatalf("error beside the condition: %q", msg)
	}
	if doc.Find("#f-r-0-cond .rule-error").Length() != 0 {
		t.Fatal("error shown on the valid condition")
	}
}

func TestSegmentPreviewCounts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	addSegmentContacts(t, e, [3]string{"+5511900000001", "BR", `["vip"]`}, [3]string{"+5511900000002", "BR", `[]`},
		[3]string{"+5215500000003", "MX", `["vip"]`})
	c := e.user(models.RoleMarketer)

	count := func(form url.Values) string {
		doc := c.doc(segHTMXPost(t, c, "/segments/preview", form))
		return doc.Find(".stat-value").First().Text()
	}
	if got := count(segBuilderForm()); got != "1" {
		t.Fatalf("count %q, want 1", got)
	}
	form := segBuilderForm()
	form.Set("r.t", "any") // BR or vip
	if got := count(form); got != "3" {
		t.Fatalf("count %q after switching to any, want 3", got)
	}
	form = segBuilderForm()
	form.Set("r.0.value", "MX")
	doc := c.doc(segHTMXPost(t, c, "/segments/preview", form))
	if got := doc.Find(".stat-value").Eq(1).Text(); got != "0" { // the MX contact has no opt-in
		t.Fatalf("reachable %q, want 0", got)
	}
	if doc.Find("table.sample tbody tr").Length() != 1 {
		t.Fatal("no sample row")
	}
	form = segBuilderForm()
	form.Set("r.0.op", "in")
	form.Set("r.0.value", "")
	doc = c.doc(segHTMXPost(t, c, "/segments/preview", form))
	if !strings.Contains(doc.Text(), "at least one value") {
		t.Fatalf("preview of invalid rules: %s", doc.Text())
	}
}

func TestSegmentPages(t *testing.T) {
	t.Parallel()
	e := setup(t)
	addSegmentContacts(t, e, [3]string{"+5511900000001", "BR", `["vip"]`}, [3]string{"+5511900000002", "BR", `[]`})
	c := e.user(models.RoleMarketer)

	if doc := c.doc(c.get("/segments")); doc.Find(".empty-state").Length() != 1 {
		t.Fatal("no empty state")
	}
	if doc := c.doc(c.get("/segments/new")); doc.Find("#builder").Length() != 1 || doc.Find(`select[name="r.t"]`).Length() != 1 {
		t.Fatal("new page has no builder")
	}

	// Invalid rules re-render with 422 and the error in place.
	bad := segBuilderForm()
	bad.Set("r.1.0.op", "gt")
	res := c.postForm("/segments", bad)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid create: %d", res.StatusCode)
	}
	if doc := c.doc(res); doc.Find("#f-r-1-0-cond .rule-error").Length() != 1 {
		t.Fatal("no error beside the condition")
	}

	res = c.postForm("/segments", segBuilderForm())
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.Path, "/segments/") {
		t.Fatalf("create: %d at %s", res.StatusCode, res.Request.URL)
	}
	segPath := res.Request.URL.Path
	doc := c.doc(res)
	if v, _ := doc.Find(`input[name="name"]`).Attr("value"); v != "Brazil VIP" {
		t.Fatalf("saved name %q", v)
	}
	if v, _ := doc.Find(`[name="r.1.0.value"]`).Attr("value"); v != "vip" {
		t.Fatal("saved rules did not come back into the builder")
	}
	if got := doc.Find("#segment-preview .stat-value").First().Text(); got != "1" {
		t.Fatalf("page count %q", got)
	}
	list := c.doc(c.get("/segments"))
	if !strings.Contains(list.Find("table").Text(), "Brazil VIP") {
		t.Fatal("list lacks the segment")
	}

	// Rename through the same form.
	renamed := segBuilderForm()
	renamed.Set("name", "Brazilian VIPs")
	if res := c.postForm(segPath, renamed); res.StatusCode != http.StatusOK {
		t.Fatalf("rename: %d", res.StatusCode)
	}
	// Duplicate, freeze.
	if res := c.postForm(segPath+"/duplicate", url.Values{}); !strings.Contains(c.doc(res).Find("h1").Text(), "Copy of Brazilian VIPs") {
		t.Fatal("duplicate did not open the copy")
	}
	res = c.postForm(segPath+"/freeze", url.Values{})
	if doc := c.doc(res); !strings.Contains(doc.Text(), "static list") || !strings.Contains(doc.Find(".flash").Text(), "1 contacts") {
		t.Fatalf("freeze: %s", doc.Find(".flash").Text())
	}

	// Delete refused while scheduled, with the reason.
	id := strings.TrimPrefix(segPath, "/segments/")
	now := time.Now().UTC()
	e.store.DB(context.Background()).Exec(`INSERT INTO campaigns (name, status, exclude_segment_ids, created_at, updated_at)
		VALUES ('Black Friday', 'paused', ?, ?, ?)`, "["+id+"]", now, now)
	res = c.postForm(segPath+"/delete", url.Values{})
	if doc := c.doc(res); res.Request.URL.Path != segPath || !strings.Contains(doc.Find(".flash-error").Text(), "Black Friday") {
		t.Fatalf("delete in use: at %s, %q", res.Request.URL.Path, doc.Find(".flash").Text())
	}
	e.store.DB(context.Background()).Exec(`DELETE FROM campaigns`)
	if res := c.postForm(segPath+"/delete", url.Values{}); res.Request.URL.Path != "/segments" {
		t.Fatalf("delete went to %s", res.Request.URL.Path)
	}

	// A viewer sees a read-only builder and cannot save.
	v := e.user(models.RoleViewer)
	first, _ := e.store.ListSegments(context.Background())
	doc = v.doc(v.get(fmt.Sprintf("/segments/%d", first[0].ID)))
	if doc.Find(`button[type="submit"]`).FilterFunction(func(_ int, s *goquery.Selection) bool { return s.Text() == "Save segment" }).Length() != 0 {
		t.Fatal("viewer sees Save")
	}
	if res := v.postForm("/segments", segBuilderForm()); res.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer create: %d", res.StatusCode)
	}
}

func TestSegmentUpload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	addSegmentContacts(t, e, [3]string{"+5511900000001", "BR", `[]`}, [3]string{"+5511900000002", "BR", `[]`})
	c := e.user(models.RoleMarketer)
	upload := func(name, content string) *http.Response {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("_csrf", c.csrf("/settings"))
		w.WriteField("name", name)
		w.WriteField("default_country", "BR")
		fw, _ := w.CreateFormFile("file", "numbers.csv")
		fw.Write([]byte(content))
		w.Close()
		res, err := c.http.Post(c.base+"/segments/upload", w.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	// International, national (default country BR), unknown, and junk.
	res := upload("Event guests", "phone\n+55 11 90000-0001\n(11) 90000-0002\n+55 21 98765-4321\nnot a number\n")
	doc := c.doc(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(doc.Find(".flash").Text(), "2 of 3 numbers matched") ||
		!strings.Contains(doc.Find(".flash").Text(), "1 lines were not valid") {
		t.Fatalf("upload: %d %q", res.StatusCode, doc.Find(".flash").Text())
	}
	if got := doc.Find("#segment-preview .stat-value").First().Text(); got != "2" {
		t.Fatalf("list count %q", got)
	}
	res = upload("", "nothing here")
	if res.StatusCode != http.StatusUnprocessableEntity || c.doc(res).Find("#e-name").Length() != 1 {
		t.Fatalf("bad upload: %d", res.StatusCode)
	}
}

func TestContactsAPIFiltersByDynamicSegment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	for p, country := range map[string]string{"+5511987650001": "BR", "+5511987650002": "BR", "+525512345678": "MX"} {
		if err := e.store.CreateContact(ctx, &models.Contact{Phone: p, Country: country}, "test"); err != nil {
			t.Fatal(err)
		}
	}
	seg, err := e.store.CreateSegment(ctx, models.SegmentInput{Name: "Brazil", Rules: json.RawMessage(`{"all":[{"field":"country","op":"eq","value":"BR"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	key := segAPIKey(t, e, models.RoleViewer)
	status, body := segAPI(t, e, key, http.MethodGet, "/api/v1/contacts?segment_id="+strconv.FormatInt(seg.ID, 10), "")
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, body)
	}
	if got := len(body["contacts"].([]any)); got != 2 {
		t.Fatalf("%d contacts in the Brazil segment, want 2", got)
	}
	status, body = segAPI(t, e, key, http.MethodGet, "/api/v1/contacts?segment_id=99999", "")
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown segment: status %d %v, want 422", status, body)
	}
}
