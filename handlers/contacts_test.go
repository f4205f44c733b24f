package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

const messyCSV = "\ufeffWhatsApp;Nome;E-mail;Tags\n" +
	"+55 (11) 98765-4321;Ana Lima;ana@example.com;vip\n" +
	"5.51199E+12;Broken;;\n" +
	"11912345678;Bia;;\n"

func TestImportUIFlow(t *testing.T) {
	t.Parallel()
	e := setupContacts(t, testdb.SQLite(t))
	c := e.user(models.RoleMarketer)

	// The empty list invites an import.
	doc := c.doc(c.get("/contacts"))
	if doc.Find(`.empty-state a[href="/contacts/imports/new"]`).Length() != 1 {
		t.Fatal("empty contact list has no Import CSV call to action")
	}

	// Upload → the mapping step with guessed fields and a preview.
	res := c.postMultipart("/contacts/imports", "/contacts/imports/new", nil, "shop.csv", []byte(messyCSV))
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.Path, "/contacts/imports/") {
		t.Fatalf("upload: %d at %s", res.StatusCode, res.Request.URL)
	}
	importPath := res.Request.URL.Path
	doc = c.doc(res)
	if got, _ := doc.Find(`select[name="map_0"] option[selected]`).Attr("value"); got != "phone" {
		t.Errorf("WhatsApp column guessed as %q, want phone", got)
	}
	if got, _ := doc.Find(`select[name="map_1"] option[selected]`).Attr("value"); got != "name" {
		t.Errorf("Nome column guessed as %q, want name", got)
	}
	preview := doc.Find("#import-preview").Text()
	for _, want := range []string{"+5511987654321", "Ana Lima", "scientific notation"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview lacks %q: %s", want, preview)
		}
	}

	// Changing the mapping re-renders the preview (here: without a default
	// country the bare national number is rejected).
	form := url.Values{"map_0": {"phone"}, "map_1": {"name"}, "map_2": {"email"}, "map_3": {"tags"},
		"mode": {"upsert"}, "default_country": {"BR"}, "tags": {"Spring"}, "consent": {"granted"},
		"overwrite": {"first_name", "email"}}
	res = c.postForm(importPath+"/preview", form)
	if body := readAll(t, res); res.StatusCode != http.StatusOK || !strings.Contains(body, "+5511912345678") {
		t.Errorf("preview with default country: %d %s", res.StatusCode, body)
	}
	// A mapping without a phone is refused with the reason.
	bad := url.Values{"map_1": {"name"}, "mode": {"upsert"}}
	if res = c.postForm(importPath+"/confirm", bad); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("confirm without phone column: %d, want 422", res.StatusCode)
	}

	// Confirm → the progress page polls every second.
	res = c.postForm(importPath+"/confirm", form)
	doc = c.doc(res)
	status := doc.Find("#import-status")
	if trigger, _ := status.Attr("hx-trigger"); res.StatusCode != http.StatusOK || trigger != "every 1s" {
		t.Fatalf("after confirm: %d, status section trigger %q", res.StatusCode, trigger)
	}
	if res = c.postForm(importPath+"/confirm", form); res.StatusCode != http.StatusConflict {
		t.Errorf("confirming twice: %d, want 409", res.StatusCode)
	}

	e.runImports()

	// The report: counts, the rejected row with its line, the download.
	res = c.getHTMX(importPath + "/progress")
	doc = c.doc(res)
	if _, polling := doc.Find("#import-status").Attr("hx-trigger"); polling {
		t.Error("the finished report still polls")
	}
	report := doc.Text()
	for _, want := range []string{"Imported", "Rejected", "scientific notation", "Download errors as CSV"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if got := strings.TrimSpace(doc.Find(".stat").First().Find(".stat-value").Text()); got != "2" {
		t.Errorf("imported stat %q, want 2", got)
	}
	res = c.get(importPath + "/errors.csv")
	if body := readAll(t, res); !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.Contains(body, "3,") || !strings.Contains(body, "5.51199E+12") {
		t.Errorf("errors CSV (%s): %s", res.Header.Get("Content-Type"), body)
	}

	// The contacts are there, tagged and with consent from the import.
	ana, err := e.store.ContactByPhone(context.Background(), "+5511987654321")
	if err != nil {
		t.Fatal(err)
	}
	if ana.FirstName != "Ana" || !ana.MarketingOptIn || ana.MarketingOptInSource != "CSV import shop.csv" || strings.Join(ana.Tags, ",") != "vip,spring" {
		t.Errorf("imported contact %+v", ana)
	}
	// The history lists the import.
	if !strings.Contains(c.doc(c.get("/contacts/imports")).Text(), "shop.csv") {
		t.Error("import history lacks the file")
	}

	// Search as you type returns only the results fragment.
	res = c.getHTMX("/contacts?q=ana")
	doc = c.doc(res)
	if doc.Find("aside.sidebar").Length() != 0 || doc.Find("#contacts-results tbody tr").Length() != 1 {
		t.Errorf("htmx search: sidebar %d rows %d; want fragment with one row",
			doc.Find("aside.sidebar").Length(), doc.Find("#contacts-results tbody tr").Length())
	}
	page := c.doc(c.get("/contacts"))
	if trigger, _ := page.Find(`input[name="q"]`).Attr("hx-trigger"); !strings.Contains(trigger, "keyup changed delay:300ms") {
		t.Errorf("search box trigger %q", trigger)
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestImportUploadRefusals(t *testing.T) {
	t.Parallel()
	e := setupContacts(t, testdb.SQLite(t))
	c := e.user(models.RoleMarketer)
	tests := []struct {
		name   string
		file   []byte
		status int
		want   string
	}{
		{"too large", []byte("phone\n" + strings.Repeat("+5511987654321\n", 5000)), http.StatusRequestEntityTooLarge, "larger than the limit"},
		{"workbook", []byte("PK\x03\x04binary"), http.StatusUnprocessableEntity, "not a CSV"},
		{"empty", []byte(""), http.StatusUnprocessableEntity, "empty"},
	}
	for _, tt := range tests {
		res := c.postMultipart("/contacts/imports", "/contacts/imports/new", nil, tt.name+".csv", tt.file)
		doc := c.doc(res)
		if res.StatusCode != tt.status || !strings.Contains(doc.Find("#e-file").Text(), tt.want) {
			t.Errorf("%s: %d %q, want %d mentioning %q", tt.name, res.StatusCode, doc.Find("#e-file").Text(), tt.status, tt.want)
		}
	}
	// Viewers may look but not upload.
	v := e.user(models.RoleViewer)
	if res := v.get("/contacts"); res.StatusCode != http.StatusOK {
		t.Errorf("viewer list: %d", res.StatusCode)
	}
	if res := v.get("/contacts/imports/new"); res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer upload page: %d, want 403", res.StatusCode)
	}
}

func TestContactPagesEditAndBulk(t *testing.T) {
	t.Parallel()
	e := setupContacts(t, testdb.SQLite(t))
	c := e.user(models.RoleMarketer)
	ctx := context.Background()

	// Create with a field error, then correctly.
	res := c.postForm("/contacts", url.Values{"phone": {"12"}, "email": {"nope"}})
	doc := c.doc(res)
	if res.StatusCode != http.StatusUnprocessableEntity || doc.Find("#e-phone").Length() != 1 || doc.Find("#e-email").Length() != 1 {
		t.Fatalf("invalid create: %d, errors phone %d email %d", res.StatusCode, doc.Find("#e-phone").Length(), doc.Find("#e-email").Length())
	}
	res = c.postForm("/contacts", url.Values{"phone": {"+55 11 98765-4321"}, "first_name": {"Ana"}, "tags": {"VIP, new"},
		"transactional_opt_in": {"true"}, "attributes": {"plan = pro"}})
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Request.URL.Path, "/contacts/") {
		t.Fatalf("create: %d at %s", res.StatusCode, res.Request.URL)
	}
	contactPath := res.Request.URL.Path
	ana, err := e.store.ContactByPhone(ctx, "+5511987654321")
	if err != nil || ana.Timezone != "America/Sao_Paulo" || ana.Attributes["plan"] != "pro" {
		t.Fatalf("created %+v %v", ana, err)
	}
	// Edit: opt in → consent history shows it on the page.
	res = c.postForm(contactPath, url.Values{"phone": {ana.Phone}, "first_name": {"Ana"}, "marketing_opt_in": {"true"},
		"transactional_opt_in": {"true"}, "reachability": {"reachable"}})
	doc = c.doc(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(doc.Find(".consent-table").Text(), "granted") {
		t.Errorf("edit: %d, consent table %q", res.StatusCode, doc.Find(".consent-table").Text())
	}
	if form := doc.Find(`form[data-confirm][action$="/delete"]`); form.Length() != 1 {
		t.Error("no delete form with a confirmation")
	}

	// Bulk: tag the ticked contact, then opt out all matching a search.
	other := &models.Contact{Phone: "+5511912345678", FirstName: "Bia", TransactionalOptIn: true}
	if err := e.store.CreateContact(ctx, other, "test"); err != nil {
		t.Fatal(err)
	}
	res = c.postForm("/contacts/bulk", url.Values{"action": {"tag"}, "bulk_tag": {"gold"}, "scope": {"selected"},
		"ids": {fmt.Sprint(other.ID)}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("bulk tag: %d", res.StatusCode)
	}
	if got, _ := e.store.Contact(ctx, other.ID); strings.Join(got.Tags, ",") != "gold" {
		t.Errorf("bulk tag on selection: %v", got.Tags)
	}
	res = c.postForm("/contacts/bulk", url.Values{"action": {"opt_out"}, "scope": {"all"}, "f_q": {"bia"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("bulk opt-out: %d", res.StatusCode)
	}
	if got, _ := e.store.Contact(ctx, other.ID); got.Reachability != models.ReachabilityOptedOut {
		t.Errorf("bulk opt-out on search: %s", got.Reachability)
	}
	if got, _ := e.store.Contact(ctx, ana.ID); got.Reachability != models.ReachabilityReachable {
		t.Errorf("bulk opt-out reached a contact outside the search: %s", got.Reachability)
	}
	// Filter by status shows only the opted-out one.
	if n := c.doc(c.get("/contacts?status=opted_out")).Find("#contacts-results tbody tr").Length(); n != 1 {
		t.Errorf("status filter rows %d, want 1", n)
	}

	// Suppression list upload marks known numbers and adds unknown ones.
	res = c.postMultipart("/contacts/suppression", "/contacts/suppression", map[string]string{"status": "blocked"},
		"stop.csv", []byte("phone\n+5511987654321\n+447911123456\nnonsense\n"))
	if body := readAll(t, res); res.StatusCode != http.StatusOK || !strings.Contains(body, "1 known contacts, 1 added") {
		t.Errorf("suppression upload: %d %s", res.StatusCode, body)
	}
	if got, _ := e.store.Contact(ctx, ana.ID); got.Reachability != models.ReachabilityBlocked {
		t.Errorf("suppressed contact is %s", got.Reachability)
	}

	// Erase.
	if res = c.postForm(contactPath+"/delete", url.Values{}); res.StatusCode != http.StatusOK {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if res = c.get(contactPath); res.StatusCode != http.StatusNotFound {
		t.Errorf("erased contact page: %d, want 404", res.StatusCode)
	}
}

func TestContactsAPI(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			e := setupContacts(t, db)
			key := e.apiKey(models.RoleMarketer)

			// Import round trip: upload, poll, done with the errors listed.
			body, ctype := multipartBody(t, map[string]string{
				"mapping": `{"Mobile": "phone", "First": "first_name", "Plan": "attributes.plan"}`,
				"tags":    "api, Import", "default_country": "br", "opt_in": "true",
			}, "crm.csv", []byte("Mobile,First,Plan\n(11) 98765-4321,Ana,pro\n5.51199E+12,Bad,\n\n+5511912345678,Bia,free\n"))
			status, out := e.api(key, http.MethodPost, "/contacts/imports", ctype, body)
			if status != http.StatusAccepted || out["id"] == nil {
				t.Fatalf("create import: %d %v", status, out)
			}
			path := fmt.Sprintf("/contacts/imports/%v", out["id"])
			if status, out = e.api(key, http.MethodGet, path, "", nil); status != http.StatusOK || out["status"] != "queued" {
				t.Errorf("before the worker: %d %v", status, out)
			}
			e.runImports()
			status, out = e.api(key, http.MethodGet, path, "", nil)
			if status != http.StatusOK || out["status"] != "done" || out["rows_total"] != 3.0 || out["rows_imported"] != 2.0 ||
				out["rows_updated"] != 0.0 || out["rows_rejected"] != 1.0 {
				t.Fatalf("after the worker: %d %v", status, out)
			}
			errs, _ := out["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["line"] != 3.0 || !strings.Contains(fmt.Sprint(errs[0]), "scientific") {
				t.Errorf("errors %v, want line 3 scientific notation", out["errors"])
			}

			// Bad requests get the CONTRACT error shape.
			body, ctype = multipartBody(t, map[string]string{"mode": "merge", "mapping": "{nope"}, "x.csv", []byte("phone\n+5511987654321\n"))
			status, out = e.api(key, http.MethodPost, "/contacts/imports", ctype, body)
			apiError, _ := out["error"].(map[string]any)
			fields, _ := apiError["fields"].(map[string]any)
			if status != http.StatusUnprocessableEntity || apiError["code"] != "validation_failed" || fields["mode"] == nil || fields["mapping"] == nil {
				t.Errorf("bad import request: %d %v", status, out)
			}
			body, ctype = multipartBody(t, nil, "", nil)
			if status, out = e.api(key, http.MethodPost, "/contacts/imports", ctype, body); status != http.StatusUnprocessableEntity {
				t.Errorf("import without file: %d %v", status, out)
			}
			viewer := e.apiKey(models.RoleViewer)
			body, ctype = multipartBody(t, nil, "x.csv", []byte("phone\n+5511987654321\n"))
			if status, _ = e.api(viewer, http.MethodPost, "/contacts/imports", ctype, body); status != http.StatusForbidden {
				t.Errorf("viewer import: %d, want 403", status)
			}

			// Contacts: find by phone in any format, patch, create, delete.
			status, out = e.api(key, http.MethodGet, "/contacts?phone="+url.QueryEscape("+55 11 98765-4321"), "", nil)
			list, _ := out["contacts"].([]any)
			if status != http.StatusOK || len(list) != 1 {
				t.Fatalf("find by phone: %d %v", status, out)
			}
			ana := list[0].(map[string]any)
			if ana["first_name"] != "Ana" || ana["marketing_opt_in"] != true || fmt.Sprint(ana["tags"]) != "[api import]" {
				t.Errorf("imported contact %v", ana)
			}
			id := fmt.Sprint(ana["id"])
			status, out = e.api(key, http.MethodPatch, "/contacts/"+id, "application/json", jsonBody(map[string]any{"last_name": "Lima", "lifecycle_stage": "active"}))
			if status != http.StatusOK || out["last_name"] != "Lima" || out["first_name"] != "Ana" || out["lifecycle_stage"] != "active" {
				t.Errorf("patch: %d %v", status, out)
			}
			status, out = e.api(key, http.MethodPatch, "/contacts/"+id, "application/json", jsonBody(map[string]any{"email": "not-an-email"}))
			if fields := out["error"].(map[string]any)["fields"].(map[string]any); status != http.StatusUnprocessableEntity || fields["email"] == nil {
				t.Errorf("bad patch: %d %v", status, out)
			}
			status, out = e.api(key, http.MethodPost, "/contacts", "application/json", jsonBody(map[string]any{"phone": "+447911123456", "first_name": "Carl"}))
			if status != http.StatusCreated || out["country"] != "GG" {
				t.Errorf("create: %d %v", status, out)
			}
			if status, _ = e.api(key, http.MethodPost, "/contacts", "application/json", jsonBody(map[string]any{"phone": "+447911123456"})); status != http.StatusConflict {
				t.Errorf("duplicate create: %d, want 409", status)
			}
			if status, out = e.api(key, http.MethodGet, "/contacts?q=carl&page=1", "", nil); status != http.StatusOK || out["total"] != 1.0 {
				t.Errorf("search: %d %v", status, out)
			}
			if status, _ = e.api(key, http.MethodDelete, "/contacts/"+id, "", nil); status != http.StatusNoContent {
				t.Errorf("delete: %d", status)
			}
			if status, _ = e.api(key, http.MethodGet, "/contacts/"+id, "", nil); status != http.StatusNotFound {
				t.Errorf("get deleted: %d, want 404", status)
			}
		})
	}
}
