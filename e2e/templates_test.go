package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/heraldhq/herald/models"
)

// TestComposeTemplateWithButtons composes a template with two quick replies
// and a URL button and watches the phone preview follow the typing.
func TestComposeTemplateWithButtons(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	p := newPage(t)
	p.signIn(s, s.Email, s.Pass)
	p.open(s.URL + "/templates/new")
	p.waitVisible("#composer-form")
	p.fill("#f-name", "flash_sale")
	p.fill("#f-body", "Hi {{1}}, everything is 30% off until midnight.")
	// The variable mapping appears, and the preview fills it for the sample contact.
	p.waitVisible(`select[name="var.body.0.field"]`)
	p.setValue(`select[name="var.body.0.field"]`, "first_name")
	p.fill(`input[name="var.body.0.fallback"]`, "there")
	p.waitJS(`document.querySelector("#preview-pane .bubble-body").textContent.includes("Hi Ana")`)

	p.click(`button[value="quick_reply"]`)
	p.waitVisible(`input[name="buttons.0.text"]`)
	p.fill(`input[name="buttons.0.text"]`, "Show me")
	p.click(`button[value="quick_reply"]`)
	p.waitVisible(`input[name="buttons.1.text"]`)
	p.fill(`input[name="buttons.1.text"]`, "Not now")
	p.click(`button[value="url"]`)
	p.waitVisible(`input[name="buttons.2.url"]`)
	p.fill(`input[name="buttons.2.text"]`, "Shop now")
	p.fill(`input[name="buttons.2.url"]`, "https://shop.example.com/sale")
	p.waitJS(`document.querySelectorAll("#preview-pane .bubble-button").length === 3 &&
		document.querySelector("#preview-pane .bubble-buttons").textContent.includes("Shop now")`)
	p.waitJS(`document.querySelector("#issues").textContent.includes("Ready")`)
	body := p.text("#preview-pane .bubble-body")
	buttons := p.text("#preview-pane .bubble-buttons")
	if !strings.Contains(body, "Hi Ana, everything is 30% off") || !strings.Contains(buttons, "Show me") || !strings.Contains(buttons, "Not now") {
		t.Errorf("preview body %q, buttons %q", body, buttons)
	}
	p.screenshot("composer")
	p.click(`#composer-actions button[value="draft"]`)
	p.waitVisible(".badge-DRAFT")

	store, err := models.Open(context.Background(), s.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rows, err := store.ListTemplates(context.Background(), models.TemplateFilter{Query: "flash_sale"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !strings.Contains(rows[0].Buttons, "Shop now") {
		t.Errorf("saved = %+v", rows)
	}
}
