package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestImportCSVWithErrorReport uploads a messy Shopify-like export, accepts
// the guessed mapping, watches the progress bar finish and opens the
// rejected rows, including the Excel-mangled number with its line number.
func TestImportCSVWithErrorReport(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	var b strings.Builder
	b.WriteString("First Name;Last Name;Phone;Accepts Marketing;Total Spent;Tags\n")
	for i := range 300 {
		fmt.Fprintf(&b, "Cliente %d;Silva;+55 (11) 98765-%04d;yes;\"1.234,%02d\";vip, brasil\n", i, i, i%100)
	}
	b.WriteString("Broken;Row;5.51199E+12;yes;10;\n") // line 302
	file := filepath.Join(t.TempDir(), "shopify-export.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	p := newPage(t)
	p.signIn(s, s.Email, s.Pass)
	p.open(s.URL + "/contacts/imports/new")
	p.do(chromedp.SetUploadFiles(chromedp.CSS(`input[name="file"]`), []string{file}))
	p.click(`form[action="/contacts/imports"] button[type=submit]`)
	p.waitVisible("#mapping-form")
	p.waitText("#import-preview", "Cliente 0")
	p.screenshot("mapping")
	p.click(`#mapping-form button[type=submit]`)
	p.waitText("#import-status", "Import finished")
	p.waitText("#import-status", "Rejected rows")
	p.waitText(".import-errors", "302")
	report := p.text(".import-errors")
	if !strings.Contains(report, "scientific notation") {
		t.Errorf("the rejected row does not say why: %q", report)
	}
	if imported := p.text("#import-status .stats"); !strings.Contains(imported, "300") {
		t.Errorf("stats %q do not show 300 imported contacts", imported)
	}
	p.screenshot("report")

	// The error report downloads as CSV for the signed-in user…
	href := p.eval(`document.querySelector('a[download]').getAttribute('href')`).(string)
	p.do(chromedp.Evaluate[chromedp.Void](`fetch(` + "`" + `${location.origin}` + href + "`" + `).then(r => r.text()).then(t => { window.__csv = t })`))
	p.waitJS(`window.__csv && window.__csv.includes("302")`)
	// …and not for anyone else.
	res, err := http.Get(s.URL + href)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// Anonymous download is refused (the report holds personal data).
	if res.Request.URL.Path != "/login" {
		t.Errorf("anonymous errors.csv ended at %s, want the sign-in page", res.Request.URL.Path)
	}
}
