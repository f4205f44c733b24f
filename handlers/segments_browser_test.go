package handlers_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldhq/herald/models"
)

// browser starts headless Chromium for one test; without Chromium the test
// is skipped, or fails under CI=true.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
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
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser on ctx itself: a browser started by a Run with a
	// shorter-lived context would close with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// step is one named part of a browser journey.
type step struct {
	name    string
	actions []chromedp.Action[chromedp.Void]
}

// runSteps runs the steps in order, each with its own time limit, and
// names the one that failed.
func runSteps(t *testing.T, ctx context.Context, steps []step) {
	t.Helper()
	for _, s := range steps {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := chromedp.Do(sctx, s.actions...)
		cancel()
		if err != nil {
			t.Fatalf("step %q: %v", s.name, err)
		}
	}
}

// screenshotOnFailure saves the page when the test failed, for diagnosis.
func screenshotOnFailure(t *testing.T, ctx context.Context) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			file := filepath.Join(os.TempDir(), fmt.Sprintf("herald-%s.png", t.Name()))
			_ = os.WriteFile(file, png, 0o600)
			t.Logf("screenshot: %s", file)
		}
	})
}

// waitCount waits until the live count shows want.
func waitCount(want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector('#segment-preview .stat-value'); return !!el && el.textContent.trim() === %q; })()`, want),
		chromedp.WithPollingTimeout(15*time.Second))
}

// pick sets a select's value and fires change, as a user's choice would.
func pick(selector, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q; el.dispatchEvent(new Event('change', {bubbles: true})); })()`, selector, value))
}

// TestBrowserBuildsTwoGroupSegment is the marketer's journey: build a
// segment with a condition and a nested group and watch the count follow.
func TestBrowserBuildsTwoGroupSegment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := browser(t)
	screenshotOnFailure(t, ctx)
	addContacts(t, e, [3]string{"+5511900000001", "BR", `["vip"]`}, [3]string{"+5511900000002", "BR", `[]`},
		[3]string{"+5215500000003", "MX", `["vip"]`}, [3]string{"+14155550004", "US", `[]`})
	if _, err := e.store.UpsertUser(context.Background(), "m@example.com", "password-for-tests", models.RoleMarketer); err != nil {
		t.Fatal(err)
	}
	base := e.srv.URL
	runSteps(t, ctx, []step{
		{"sign in", []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(base + "/login"),
			chromedp.SendKeys(`input[name="email"]`, "m@example.com"),
			chromedp.SendKeys(`input[name="password"]`, "password-for-tests"),
			chromedp.Submit(`input[name="password"]`),
			chromedp.WaitVisible(`nav[aria-label="Main"]`),
		}},
		{"open the builder", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/segments/new"), waitCount("4")}},
		// First group: the root, with "country is any of BR".
		{"add a condition", []chromedp.Action[chromedp.Void]{
			chromedp.Click(`#f-r-group .rule-actions button:first-child`),
			chromedp.WaitVisible(`input[name="r.0.value"]`),
		}},
		{"type BR", []chromedp.Action[chromedp.Void]{chromedp.SendKeys(`input[name="r.0.value"]`, "BR"), waitCount("2")}},
		// Second group: "any of: tags include vip".
		{"add a group", []chromedp.Action[chromedp.Void]{
			chromedp.Click(`#f-r-group > .rule-group-head .rule-actions button:nth-child(2)`),
			chromedp.WaitVisible(`#f-r-1-group select[name="r.1.0.field"]`),
		}},
		{"pick tags", []chromedp.Action[chromedp.Void]{
			pick(`select[name="r.1.0.field"]`, "tags"),
			chromedp.WaitReady(`select[name="r.1.0.op"] option[value="contains"]`),
			chromedp.WaitVisible(`input[name="r.1.0.value"]`),
		}},
		{"type vip", []chromedp.Action[chromedp.Void]{chromedp.SendKeys(`input[name="r.1.0.value"]`, "vip"), waitCount("1")}},
		// Switching the root to "any" widens it: BR or vip.
		{"switch root to any", []chromedp.Action[chromedp.Void]{pick(`select[name="r.t"]`, "any"), waitCount("3")}},
		{"save", []chromedp.Action[chromedp.Void]{
			chromedp.SendKeys(`input[name="name"]`, "LatAm or VIP"),
			chromedp.Click(`#segment-form > button[type="submit"]`),
			chromedp.WaitVisible(`.flash-success`),
			waitCount("3"),
		}},
	})
	heading, err := chromedp.Run(ctx, chromedp.Text(`h1`))
	if err != nil {
		t.Fatal(err)
	}
	if heading != "LatAm or VIP" {
		t.Fatalf("saved page heading %q", heading)
	}
	segs, _ := e.store.ListSegments(context.Background())
	if len(segs) != 1 {
		t.Fatalf("%d segments saved", len(segs))
	}
	total, _, err := e.store.CountSavedSegment(context.Background(), segs[0].ID)
	if err != nil || total != 3 {
		t.Fatalf("saved segment counts %d, %v", total, err)
	}
}
