// Package e2e drives the real `herald serve` binary in headless Chromium
// through the marketer's main journeys. Each test starts its own server
// process on its own database; one Chromium serves every test, each in its
// own browser context (separate cookies). A failing test saves a
// screenshot under e2e/screenshots/.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/heraldhq/herald/testdb"
)

var (
	heraldBin   string
	allocCtx    context.Context
	browserCtx  context.Context
	browserOnce sync.Once
	browserErr  error
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "herald-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		heraldBin = filepath.Join(dir, "herald")
		build := exec.Command("go", "build", "-o", heraldBin, "../cmd/herald")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build herald:", err)
			return 1
		}
		defer func() {
			if browserCtx != nil {
				chromedp.Cancel(browserCtx)
			}
		}()
		return m.Run()
	}()
	os.Exit(code)
}

// chromiumPath finds Debian's chromium, or returns "".
func chromiumPath() string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return ""
}

// startBrowser launches the shared headless Chromium once.
func startBrowser(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped with -short")
	}
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("e2e: Chromium is required under CI (apt-get install chromium)")
		}
		t.Skip("e2e: no Chromium; apt-get install chromium")
	}
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.WindowSize(1366, 900),
		)
		allocCtx, _ = chromedp.NewExecAllocator(context.Background(), opts...)
		browserCtx, _ = chromedp.NewContext(allocCtx)
		// The first Do starts the browser; it must not carry a timeout.
		browserErr = chromedp.Do(browserCtx)
	})
	if browserErr != nil {
		t.Fatalf("e2e: start Chromium: %v", browserErr)
	}
}

// server is one running `herald serve`.
type server struct {
	URL    string
	DBURL  string
	Email  string
	Pass   string
	cmd    *exec.Cmd
	logs   *syncBuffer
	waitCh chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs herald serve on a fresh SQLite database (or dbURL when
// given) with a known admin, and waits until it is ready.
func startServer(t *testing.T, dbURL string, extraEnv ...string) *server {
	t.Helper()
	dir := t.TempDir()
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(dir, "herald.db")
	}
	addr := freeAddr(t)
	s := &server{URL: "http://" + addr, DBURL: dbURL, Email: "admin@example.com", Pass: "e2e-password-123", logs: &syncBuffer{}}
	cmd := exec.Command(heraldBin, "serve")
	cmd.Env = append(os.Environ(),
		"HERALD_ADDR="+addr,
		"DATABASE_URL="+dbURL,
		"HERALD_DATA_DIR="+dir,
		"HERALD_ADMIN_EMAIL="+s.Email,
		"HERALD_ADMIN_PASSWORD="+s.Pass,
		"HERALD_LOG_LEVEL=debug",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	s.waitCh = make(chan error, 1)
	go func() { s.waitCh <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.waitCh:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("herald logs:\n%s", tail(s.logs.String(), 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.waitCh:
			t.Fatalf("herald exited early: %v\n%s", err, s.logs.String())
		default:
		}
		res, err := http.Get(s.URL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("herald did not become ready:\n%s", s.logs.String())
	return nil
}

func tail(s string, lines int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	var all []string
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// page is one isolated browser context (its own cookies) with a tab. Its
// methods fail the test, with a screenshot, when the browser reports an error.
type page struct {
	t   *testing.T
	ctx context.Context
}

// actionTimeout bounds each step, so a missing element fails in seconds.
const actionTimeout = 20 * time.Second

func newPage(t *testing.T) *page {
	t.Helper()
	startBrowser(t)
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("e2e: open tab: %v", err)
	}
	return &page{t: t, ctx: ctx}
}

// do runs steps in order, each within actionTimeout.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	for _, step := range steps {
		ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
		err := chromedp.Do(ctx, step)
		cancel()
		if err != nil {
			p.fail(err)
		}
	}
}

func (p *page) fail(err error) {
	p.t.Helper()
	var url string
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	url, _ = chromedp.Run(ctx, chromedp.Location())
	cancel()
	p.screenshot("failure")
	p.t.Fatalf("browser at %s: %v", url, err)
}

// run returns the value of one action.
func run[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.fail(err)
	}
	return v
}

// Common steps, named for what a person does.
func (p *page) open(url string)        { p.t.Helper(); p.do(chromedp.Navigate(url)) }
func (p *page) waitVisible(css string) { p.t.Helper(); p.do(chromedp.WaitVisible(chromedp.CSS(css))) }
func (p *page) click(css string) {
	p.t.Helper()
	p.waitSettled()
	p.do(chromedp.Click(chromedp.CSS(css)))
}
func (p *page) fill(css, text string) {
	p.t.Helper()
	p.waitSettled()
	p.do(chromedp.SendKeys(chromedp.CSS(css), text))
}
func (p *page) setValue(css, value string) {
	p.t.Helper()
	p.waitSettled()
	p.do(chromedp.SetValue(chromedp.CSS(css), value))
}
func (p *page) text(css string) string { p.t.Helper(); return run(p, chromedp.Text(chromedp.CSS(css))) }
func (p *page) location() string       { p.t.Helper(); return run(p, chromedp.Location()) }
func (p *page) eval(js string) any     { p.t.Helper(); return run(p, chromedp.Evaluate[any](js)) }

// waitText polls until the element's text contains want. It reads through
// JavaScript, so a page that is still loading or just swapped by htmx is
// retried instead of failing on a stale node.
func (p *page) waitText(css, want string) {
	p.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	expr := fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.innerText:""})()`, css)
	var got string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil {
			got = v
			if strings.Contains(got, want) {
				return
			}
		}
		time.Sleep(150 * time.Millisecond)
	}
	p.fail(fmt.Errorf("%s shows %q, waited for %q", css, got, want))
}

// waitJS polls a JavaScript expression until it is true.
func (p *page) waitJS(expr string) { p.t.Helper(); p.poll(expr, 150*time.Millisecond) }

// htmxSettled is true once htmx has bound its handlers to all it swapped
// in: the settle task that processes new nodes is the one that removes
// htmx-added. Chrome runs queued input ahead of timers, so on a busy machine
// a click sent right after a swap can land on a button that has no handler
// yet and is lost; click, fill and setValue wait for this first.
const htmxSettled = `!document.querySelector(".htmx-added, .htmx-settling, .htmx-swapping")`

func (p *page) waitSettled() { p.t.Helper(); p.poll(htmxSettled, 20*time.Millisecond) }

func (p *page) poll(expr string, every time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(every)
	}
	p.fail(fmt.Errorf("timed out waiting for %s", expr))
}

// screenshot saves the current page under e2e/screenshots/<test>-<name>.png.
func (p *page) screenshot(name string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	dir := "screenshots"
	_ = os.MkdirAll(dir, 0o755)
	file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(p.t.Name())+"-"+name+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p.t.Logf("screenshot saved: e2e/%s", file)
	return file
}

// signIn signs in through the form and waits for the app shell.
func (p *page) signIn(s *server, email, password string) {
	p.t.Helper()
	p.open(s.URL + "/login")
	p.fill("#f-email", email)
	p.fill("#f-password", password)
	p.click("form.login-form button[type=submit]")
	p.waitVisible("main.content")
}

// postgresURL gives a fresh Postgres schema for a server, or skips.
func postgresURL(t *testing.T) string {
	t.Helper()
	u, err := testdb.NewPostgresSchema(t)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Postgres is required under CI: %v", err)
		}
		t.Skipf("no Postgres: %v", err)
	}
	return u
}
