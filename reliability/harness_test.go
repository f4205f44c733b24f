package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// heraldBin is `herald` built once for the package from ./cmd/herald.
var heraldBin string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "herald-reliability-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		heraldBin = filepath.Join(dir, "herald")
		build := exec.Command("go", "build", "-o", heraldBin, "../cmd/herald")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "reliability: build herald:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// world is one campaign's setting: a Postgres schema of its own, the
// simulated Cloud API on loopback, an approved template, an audience and a
// draft campaign to all of it.
type world struct {
	t        *testing.T
	dbURL    string
	store    *models.Store
	sim      *simulator.Server
	simURL   string
	campaign *models.Campaign
	contacts int
}

// newWorld prepares n opted-in contacts and a UTILITY campaign to them;
// simOpts adjust the simulator (faults, throughput cap).
func newWorld(t *testing.T, n int, simOpts ...func(*simulator.Config)) *world {
	t.Helper()
	db := testdb.Postgres(t)
	ctx := context.Background()
	// HIGH throughput (1,000 msg/s) and no daily tier, as a well-rated
	// number has: the suite tests guarantees, not Meta's limits.
	simCfg := simulator.Config{Seed: rand.Int64(), TimeScale: 0, ThroughputLevel: "HIGH",
		MessagingLimitTier: "TIER_UNLIMITED", Logger: slog.New(slog.DiscardHandler)}
	for _, o := range simOpts {
		o(&simCfg)
	}
	sim := simulator.New(simCfg)
	simURL, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	tmpl := templating.Template{Name: "reliability", Language: "en_US", Category: "UTILITY", Body: "Hi {{1}}, your order shipped.",
		Variables: templating.Variables{Body: []templating.VariableMapping{{Field: "first_name", Fallback: "there"}}}}
	tmpl.Normalize()
	sim.AddTemplate(templating.Definition(tmpl, templating.DefinitionOptions{}), whatsapp.StatusApproved)
	w := &world{t: t, dbURL: db.URL, store: db.Store, sim: sim, simURL: simURL, contacts: n}
	row := &models.Template{WABAID: sim.Config().WABAID, Name: tmpl.Name, Language: tmpl.Language, Category: tmpl.Category,
		Body: tmpl.Body, Status: models.TemplateApproved, Variables: `{"body":[{"field":"first_name","fallback":"there"}]}`}
	if err := w.store.CreateTemplate(ctx, row); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := w.store.DB(ctx).Exec(`INSERT INTO contacts (phone, wa_id, first_name, country, timezone, marketing_opt_in, created_at, updated_at)
		SELECT '+55119' || lpad(g::text, 8, '0'), '55119' || lpad(g::text, 8, '0'), 'Ana', 'BR', 'America/Sao_Paulo', TRUE, ?, ?
		FROM generate_series(1, ?) g`, now, now, n).Error; err != nil {
		t.Fatal(err)
	}
	seg, err := w.store.CreateSegment(ctx, models.SegmentInput{Name: "everyone"})
	if err != nil {
		t.Fatal(err)
	}
	c := &models.Campaign{Name: "reliability", TemplateID: &row.ID, SegmentIDs: []int64{seg.ID},
		Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30}
	if err := w.store.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	w.campaign = c
	return w
}

// launch snapshots the campaign; the Herald processes pick it up.
func (w *world) launch() {
	w.t.Helper()
	res, err := w.store.LaunchCampaign(context.Background(), w.campaign.ID, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	if res.Pending != int64(w.contacts) {
		w.t.Fatalf("launch queued %d of %d", res.Pending, w.contacts)
	}
}

// herald is one running `herald serve` process.
type herald struct {
	t      *testing.T
	name   string
	URL    string
	cmd    *exec.Cmd
	logs   *syncBuffer
	waitCh chan error
	once   sync.Once
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

// startHerald runs `herald serve` against the world's database (or dbURL)
// and simulator, and waits until /readyz answers 200.
func (w *world) startHerald(name, dbURL string) *herald {
	w.t.Helper()
	if dbURL == "" {
		dbURL = w.dbURL
	}
	addr := freeAddr(w.t)
	dir := w.t.TempDir()
	cfg := w.sim.Config()
	h := &herald{t: w.t, name: name, URL: "http://" + addr, logs: &syncBuffer{}, waitCh: make(chan error, 1)}
	h.cmd = exec.Command(heraldBin, "serve")
	h.cmd.Env = append(os.Environ(),
		"HERALD_ADDR="+addr, "DATABASE_URL="+dbURL, "HERALD_DATA_DIR="+dir,
		"HERALD_SECRET=reliability-secret-reliability-secret",
		"HERALD_ADMIN_EMAIL=admin@example.com", "HERALD_ADMIN_PASSWORD=reliability-password",
		"WHATSAPP_API_URL="+w.simURL, "WHATSAPP_TOKEN="+cfg.Token, "WHATSAPP_PHONE_NUMBER_ID="+cfg.PhoneNumberID,
		"WHATSAPP_WABA_ID="+cfg.WABAID, "WHATSAPP_APP_SECRET="+cfg.AppSecret, "HERALD_LOG_LEVEL=info")
	h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
	if err := h.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { h.waitCh <- h.cmd.Wait() }()
	w.t.Cleanup(func() {
		h.stop()
		if w.t.Failed() {
			w.t.Logf("%s logs:\n%s", name, tail(h.logs.String(), 40))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-h.waitCh:
			h.waitCh <- err
			w.t.Fatalf("%s exited early: %v\n%s", name, err, tail(h.logs.String(), 40))
		default:
		}
		if h.ready() == http.StatusOK {
			w.waitSenderChecked()
			return h
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.t.Fatalf("%s did not become ready:\n%s", name, tail(h.logs.String(), 40))
	return nil
}

// waitSenderChecked waits for Herald's start-up check to adopt the
// simulated number's throughput, so the send throttle is the number's.
func (w *world) waitSenderChecked() {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var mps int
		w.store.DB(context.Background()).Raw("SELECT COALESCE(MAX(throughput_mps), 0) FROM senders").Scan(&mps)
		if mps > models.DefaultThroughputMPS {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("sender throughput still %d msg/s", mps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready returns /readyz's status code, 0 when the process does not answer.
func (h *herald) ready() int {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(h.URL + "/readyz")
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// kill9 ends the process with SIGKILL, as a crash or an OOM kill would.
func (h *herald) kill9() {
	h.t.Helper()
	h.once.Do(func() {
		_ = h.cmd.Process.Signal(syscall.SIGKILL)
		<-h.waitCh
	})
}

// stop shuts the process down gracefully.
func (h *herald) stop() {
	h.once.Do(func() {
		_ = h.cmd.Process.Signal(os.Interrupt)
		select {
		case <-h.waitCh:
		case <-time.After(20 * time.Second):
			_ = h.cmd.Process.Kill()
			<-h.waitCh
		}
	})
}

func tail(s string, lines int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var all []string
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// statusCounts counts the campaign's ledger rows per status.
func (w *world) statusCounts() map[string]int64 {
	w.t.Helper()
	var rows []struct {
		Status string
		N      int64
	}
	if err := w.store.DB(context.Background()).Raw("SELECT status, COUNT(*) AS n FROM messages WHERE campaign_id = ? GROUP BY status",
		w.campaign.ID).Scan(&rows).Error; err != nil {
		w.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

// waitSent waits until at least n messages were sent (the simulator has
// them), for a kill at a chosen point of the campaign.
func (w *world) waitSent(n int, timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for len(w.sim.Received()) < n {
		if time.Now().After(deadline) {
			w.t.Fatalf("only %d of %d messages went out in %s: %v", len(w.sim.Received()), n, timeout, w.statusCounts())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rescueDead does what the rescuer does after its thresholds pass, for a
// process killed before cutoff: its claims go back to pending, its sends
// in flight become unknown (never resent). Live instances' rows are newer.
func (w *world) rescueDead(cutoff time.Time) models.RescueResult {
	w.t.Helper()
	res, err := w.store.RescueStale(context.Background(), cutoff, cutoff)
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

// waitSettled waits until no message is pending, claimed or sending.
func (w *world) waitSettled(timeout time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := w.statusCounts()
		if c[models.MessagePending]+c[models.MessageClaimed]+c[models.MessageSending] == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("campaign not settled after %s: %v", timeout, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// verdict is what checkExactlyOnce found.
type verdict struct {
	sent, unknown, failed int
	// unknownUnseen are unknown rows the simulator never received: marked
	// sending, but the request had not arrived when the sender died.
	unknownUnseen int
}

// checkExactlyOnce proves nothing was lost or duplicated: every contact
// has one ledger row; every sent row reached the simulator exactly once;
// an unknown row at most once; a failed row (allowFailed) carries a reason
// and was never accepted; no accepted request repeats a recipient and
// message (the simulator's Count); the kept counters equal a recount.
func (w *world) checkExactlyOnce(allowFailed bool) verdict {
	w.t.Helper()
	ctx := context.Background()
	var ledger []struct {
		ID           int64
		ContactID    int64
		Status       string
		StatusReason string
	}
	if err := w.store.DB(ctx).Raw("SELECT id, contact_id, status, status_reason FROM messages WHERE campaign_id = ? ORDER BY id",
		w.campaign.ID).Scan(&ledger).Error; err != nil {
		w.t.Fatal(err)
	}
	if len(ledger) != w.contacts {
		w.t.Fatalf("ledger has %d rows for %d contacts", len(ledger), w.contacts)
	}
	got := map[int64]int{}
	for _, r := range w.sim.Received() {
		got[models.ParseCallbackData(r.BizOpaque)]++
		if r.Count > 1 {
			w.t.Errorf("simulator received message %s for %s %d times", r.BizOpaque, r.To, r.Count)
		}
	}
	var v verdict
	contacts := map[int64]bool{}
	for _, r := range ledger {
		if contacts[r.ContactID] {
			w.t.Errorf("contact %d has two ledger rows", r.ContactID)
		}
		contacts[r.ContactID] = true
		switch {
		case r.Status == models.MessageSent || r.Status == models.MessageDelivered || r.Status == models.MessageRead:
			v.sent++
			if got[r.ID] != 1 {
				w.t.Errorf("message %d is %s but reached the simulator %d times", r.ID, r.Status, got[r.ID])
			}
		case r.Status == models.MessageUnknown:
			v.unknown++
			if got[r.ID] == 0 {
				v.unknownUnseen++
			}
			if got[r.ID] > 1 {
				w.t.Errorf("unknown message %d reached the simulator %d times", r.ID, got[r.ID])
			}
		case r.Status == models.MessageFailed && allowFailed:
			v.failed++
			if r.StatusReason == "" {
				w.t.Errorf("message %d failed without a reason", r.ID)
			}
			if got[r.ID] > 1 {
				w.t.Errorf("failed message %d reached the simulator %d times", r.ID, got[r.ID])
			}
		default:
			w.t.Errorf("message %d ended %s (%s)", r.ID, r.Status, r.StatusReason)
		}
	}
	kept, err := w.store.CampaignStats(ctx, w.campaign.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	recount, err := w.store.RecountCampaignStats(ctx, w.campaign.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	kept.Revenue, kept.Cost = 0, 0
	if kept != recount {
		w.t.Errorf("counters drifted from the ledger:\nkept    %+v\nrecount %+v", kept, recount)
	}
	return v
}
