package handlers_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldhq/herald/models"
)

// browser starts a headless Chromium for one test; it skips without one
// (fails under CI=true) and in -short mode.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is required under CI")
		}
		t.Skip("no Chromium found")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1100))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// screenshotOnFailure saves the page when the test failed, for a human.
func screenshotOnFailure(t *testing.T, ctx context.Context) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var png []byte
		if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 90)); err != nil {
			t.Logf("screenshot: %v", err)
			return
		}
		name := filepath.Join(os.TempDir(), strings.ReplaceAll(t.Name(), "/", "_")+".png")
		if err := os.WriteFile(name, png, 0o600); err == nil {
			t.Logf("screenshot saved to %s", name)
		}
	})
}

func TestBrowserComposeTemplateWithButtons(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e := setup(t)
	if _, err := e.store.UpsertUser(context.Background(), "marketer@example.com", "password-for-tests", models.RoleMarketer); err != nil {
		t.Fatal(err)
	}
	screenshotOnFailure(t, ctx)

	var body, buttons, issues string
	err := chromedp.Run(ctx,
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.SendKeys(`input[name="email"]`, "marketer@example.com"),
		chromedp.SendKeys(`input[name="password"]`, "password-for-tests"),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`.sidebar`),
		chromedp.Navigate(e.srv.URL+"/templates/new"),
		chromedp.WaitVisible(`#composer-form`),
		chromedp.SendKeys(`#f-name`, "flash_sale"),
		chromedp.SendKeys(`#f-body`, "Hi {{1}}, everything is 30% off until midnight."),
		// The preview follows the body, filled for the sample contact.
		chromedp.WaitVisible(`select[name="var.body.0.field"]`),
		chromedp.SetValue(`select[name="var.body.0.field"]`, "first_name"),
		chromedp.SendKeys(`input[name="var.body.0.fallback"]`, "there"),
		chromedp.Poll(`document.querySelector("#preview-pane .bubble-body").textContent.includes("Hi Ana")`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		// Two quick replies and a URL button.
		chromedp.Click(`button[value="quick_reply"]`),
		chromedp.WaitVisible(`input[name="buttons.0.text"]`),
		chromedp.SendKeys(`input[name="buttons.0.text"]`, "Show me"),
		chromedp.Click(`button[value="quick_reply"]`),
		chromedp.WaitVisible(`input[name="buttons.1.text"]`),
		chromedp.SendKeys(`input[name="buttons.1.text"]`, "Not now"),
		chromedp.Click(`button[value="url"]`),
		chromedp.WaitVisible(`input[name="buttons.2.url"]`),
		chromedp.SendKeys(`input[name="buttons.2.text"]`, "Shop now"),
		chromedp.SendKeys(`input[name="buttons.2.url"]`, "https://shop.example.com/sale"),
		chromedp.Poll(`document.querySelectorAll("#preview-pane .bubble-button").length === 3 &&
			document.querySelector("#preview-pane .bubble-buttons").textContent.includes("Shop now")`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Poll(`document.querySelector("#issues").textContent.includes("Ready")`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(`#preview-pane .bubble-body`, &body),
		chromedp.Text(`#preview-pane .bubble-buttons`, &buttons),
		chromedp.Text(`#issues`, &issues),
		chromedp.Click(`#composer-actions button[value="draft"]`),
		chromedp.WaitVisible(`.badge-DRAFT`),
	)
	if err != nil {
		t.Fatalf("browser: %v (issues: %q)", err, issues)
	}
	if !strings.Contains(body, "Hi Ana, everything is 30% off") || !strings.Contains(buttons, "Show me") || !strings.Contains(buttons, "Not now") {
		t.Errorf("preview body %q, buttons %q", body, buttons)
	}
	rows, _ := e.store.ListTemplates(context.Background(), models.TemplateFilter{})
	if len(rows) != 1 || rows[0].Name != "flash_sale" || !strings.Contains(rows[0].Buttons, "Shop now") {
		t.Errorf("saved = %+v", rows)
	}
}
