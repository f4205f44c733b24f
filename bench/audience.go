package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/components"
	"github.com/heraldhq/herald/whatsapp"
)

// segmentRules is the 4-condition segment: country, tag, spend
// range, an event in the last 30 days.
const segmentRules = `{"all":[
	{"field":"country","op":"in","value":["BR","MX"]},
	{"field":"tags","op":"contains","value":"vip"},
	{"field":"total_spent","op":"between","value":[50,400]},
	{"event":"purchase","op":"count_gte","value":1,"within_days":30}]}`

// audienceScenarios seed one schema with the full audience (1M contacts,
// 5M events at scale 1) and measure what works on it: the contact list and
// search, the segment count, the launch snapshot, the funnel page, and the
// web and webhook load.
func (b *bench) audienceScenarios() error {
	n := b.n(1_000_000, 10_000)
	_, store, err := b.newSchema("audience")
	if err != nil {
		return err
	}
	b.step("audience: seeding %d contacts", n)
	if err := seedContacts(b.ctx, store, n); err != nil {
		return err
	}
	if b.wants("segment") {
		b.step("audience: seeding %d events", 5*n)
		if err := seedEvents(b.ctx, store, 5); err != nil {
			return err
		}
		if err := b.segmentCount(store, n); err != nil {
			return err
		}
	} else if err := sqlExec(b.ctx, store, "VACUUM ANALYZE contacts"); err != nil {
		return err
	}
	var ws *webServer
	if b.wants("contacts") {
		if ws, err = b.startWeb(store); err != nil {
			return err
		}
		if err := b.contactsScenario(ws, store, n); err != nil {
			return err
		}
	}
	var campaignID int64
	if b.wants("launch") || b.wants("funnel") || b.wants("ui-load") {
		if campaignID, err = b.launch(store, n); err != nil {
			return err
		}
	}
	if !b.wants("funnel") && !b.wants("ui-load") && !b.wants("webhook-load") {
		return nil
	}
	if ws == nil {
		if ws, err = b.startWeb(store); err != nil {
			return err
		}
	}
	if b.wants("funnel") {
		if err := b.funnel(ws, store, campaignID, n); err != nil {
			return err
		}
	}
	if b.wants("ui-load") {
		if err := b.uiLoad(ws, store, campaignID); err != nil {
			return err
		}
	}
	if b.wants("webhook-load") {
		if err := b.webhookLoad(ws); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) segmentCount(store *models.Store, n int) error {
	rules := json.RawMessage(segmentRules)
	total, _, err := store.CountSegment(b.ctx, rules) // warm
	if err != nil {
		return err
	}
	if total == 0 {
		return fmt.Errorf("the bench segment matches nobody; the generated data is off")
	}
	var times []time.Duration
	for range 5 {
		t0 := time.Now()
		if _, _, err := store.CountSegment(b.ctx, rules); err != nil {
			return err
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	median := times[len(times)/2]
	// Baseline: a bare COUNT(*) of every contact, the least a count can cost.
	t0 := time.Now()
	if err := sqlExec(b.ctx, store, "SELECT COUNT(*) FROM contacts"); err != nil {
		return err
	}
	base := time.Since(t0)
	r := row{Scenario: fmt.Sprintf("segment count, 4 conditions, %dk contacts + %dk events", n/1000, 5*n/1000),
		Measured: fmtDur(median), Baseline: fmtDur(base) + " COUNT(*) contacts", Ratio: ratio(base.Seconds(), median.Seconds()),
		Target: "< 300 ms warm", Pass: pass(median < 300*time.Millisecond), Value: median.Seconds() * 1000, Base: base.Seconds() * 1000,
		Notes: fmt.Sprintf("matches %d contacts; median of 5 warm counts", total)}
	if median >= 300*time.Millisecond {
		where, args, err := store.CompileRules(b.ctx, rules)
		if err == nil {
			var plan []string
			if err := store.DB(b.ctx).Raw("EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM contacts c WHERE "+where, args...).Scan(&plan).Error; err == nil {
				fmt.Printf("segment count slower than 300 ms; plan:\n%s\n\n", strings.Join(plan, "\n"))
			}
		}
	}
	b.add(r)
	return nil
}

// launch snapshots a campaign to every contact (with holdout and quiet
// hours, as a real marketing campaign has), and times it against a bare
// INSERT … SELECT of the same rows into an unindexed table.
func (b *bench) launch(store *models.Store, n int) (int64, error) {
	tmpl := &models.Template{WABAID: "bench", Name: "bench_launch", Language: "en_US", Category: "MARKETING",
		Body: "Hi {{1}}, news for you.", Status: models.TemplateApproved, Variables: `{"body":[{"field":"first_name","fallback":"there"}]}`}
	if err := store.CreateTemplate(b.ctx, tmpl); err != nil {
		return 0, err
	}
	seg, err := store.CreateSegment(b.ctx, models.SegmentInput{Name: "everyone"})
	if err != nil {
		return 0, err
	}
	c := &models.Campaign{Name: "bench launch", TemplateID: &tmpl.ID, SegmentIDs: []int64{seg.ID},
		Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30, HoldoutPercent: 5, RespectQuietHours: true}
	if err := store.CreateCampaign(b.ctx, c); err != nil {
		return 0, err
	}
	// Paused at once below, so nothing of it is claimed by later scenarios.
	if err := sqlExec(b.ctx, store, `CREATE TABLE launch_baseline AS SELECT id AS contact_id, phone, now() AS send_after FROM contacts WHERE false`); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := sqlExec(b.ctx, store, `INSERT INTO launch_baseline SELECT id, phone, now() FROM contacts`); err != nil {
		return 0, err
	}
	base := time.Since(t0)
	if !b.wants("launch") && !b.wants("funnel") && !b.wants("ui-load") {
		return 0, nil
	}
	b.step("launch: snapshot of %d recipients", n)
	t0 = time.Now()
	res, err := store.LaunchCampaign(b.ctx, c.ID, time.Now())
	took := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if res.Targeted != int64(n) {
		return 0, fmt.Errorf("launch targeted %d of %d", res.Targeted, n)
	}
	if err := store.PauseCampaign(b.ctx, c.ID, "bench: measured, not sent"); err != nil {
		return 0, err
	}
	if b.wants("launch") {
		target := 20 * time.Second * time.Duration(max(1, int(b.scale*1000))) / 1000
		b.add(row{Scenario: fmt.Sprintf("launch snapshot, %dk recipients", n/1000), Measured: fmtDur(took),
			Baseline: fmtDur(base) + " bare INSERT…SELECT", Ratio: ratio(base.Seconds(), took.Seconds()),
			Target: "< " + fmtDur(target) + " (20 s per 1M)", Pass: pass(took < target), Value: took.Seconds(), Base: base.Seconds(),
			Notes: "snapshot with suppression, 5% holdout and quiet hours per time zone into the indexed ledger; baseline copies (id, phone, now) into an unindexed table"})
	}
	return c.ID, nil
}

// funnel times the campaign's funnel for a campaign with n ledger rows the
// way the campaign report builds it (counters, conversions, attribution,
// the SVG funnel), and the whole campaign page through the real handler.
func (b *bench) funnel(ws *webServer, store *models.Store, campaignID int64, n int) error {
	median := func(fn func() error) (time.Duration, error) { return medianTime(7, fn) }
	render, err := median(func() error {
		st, err := store.CampaignStats(b.ctx, campaignID)
		if err != nil {
			return err
		}
		conv, err := store.CampaignConversions(b.ctx, campaignID)
		if err != nil {
			return err
		}
		if _, err := store.CampaignAttribution(b.ctx, campaignID); err != nil {
			return err
		}
		f := components.Funnel{ID: "funnel", Title: "Funnel", Steps: []components.FunnelStep{
			{Label: "Targeted", Count: st.Targeted}, {Label: "Sent", Count: st.Sent}, {Label: "Delivered", Count: st.Delivered},
			{Label: "Read", Count: st.Read}, {Label: "Tapped", Count: st.Tapped}, {Label: "Converted", Count: conv.Converted}}}
		return components.FunnelChart(f).Render(b.ctx, io.Discard)
	})
	if err != nil {
		return err
	}
	if _, err := store.UpsertUser(b.ctx, "funnel@example.com", "bench-password", models.RoleViewer); err != nil {
		return err
	}
	c, err := ws.signIn("funnel@example.com", "bench-password", nil)
	if err != nil {
		return err
	}
	page, err := median(func() error {
		res, err := c.Get(fmt.Sprintf("%s/campaigns/%d", ws.URL, campaignID))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET campaign page: %d", res.StatusCode)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.add(row{Scenario: fmt.Sprintf("campaign funnel render, %dk ledger rows", n/1000), Measured: fmtDur(render),
		Baseline: fmtDur(page) + " whole campaign page", Ratio: ratio(render.Seconds(), page.Seconds()),
		Target: "< 100 ms", Pass: pass(render < 100*time.Millisecond), Value: render.Seconds() * 1000, Base: page.Seconds() * 1000,
		Notes: "counters, conversions, attribution and the SVG funnel as the campaign report builds them (median of 7); the baseline is GET /campaigns/:id through the real router"})
	return nil
}

// latencies collects request timings from many goroutines.
type latencies struct {
	mu     sync.Mutex
	d      []time.Duration
	errors atomic.Int64
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) pct(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	return l.d[min(len(l.d)-1, int(float64(len(l.d))*p))]
}

// thinkTime is how long a browsing session waits between pages.
const thinkTime = time.Second

// uiLoad signs in 200 sessions and has each browse the main pages for a
// while, a second between clicks; it reports p50/p99 and errors.
func (b *bench) uiLoad(ws *webServer, store *models.Store, campaignID int64) error {
	const sessions = 200
	users := 20
	for i := range users {
		if _, err := store.UpsertUser(b.ctx, fmt.Sprintf("load%d@example.com", i), "bench-password", models.RoleMarketer); err != nil {
			return err
		}
	}
	transport := &http.Transport{MaxIdleConnsPerHost: sessions, MaxConnsPerHost: 0}
	b.step("ui-load: signing in %d sessions", sessions)
	clients := make([]*http.Client, sessions)
	var wg sync.WaitGroup
	var signErr atomic.Value
	sem := make(chan struct{}, 8)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := ws.signIn(fmt.Sprintf("load%d@example.com", i%users), "bench-password", transport)
			if err != nil {
				signErr.Store(err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	if err, _ := signErr.Load().(error); err != nil {
		return err
	}
	pages := []string{"/", "/campaigns", fmt.Sprintf("/campaigns/%d", campaignID), "/contacts", "/contacts?q=person12",
		"/segments", "/templates", "/settings"}
	if campaignID == 0 {
		pages = slices.Delete(pages, 2, 3)
	}
	dur := 10 * time.Second
	if b.scale < 0.5 {
		dur = 5 * time.Second
	}
	b.step("ui-load: %d sessions browsing for %s", sessions, dur)
	lat := &latencies{}
	deadline := time.Now().Add(dur)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := i; time.Now().Before(deadline); k++ {
				if k > i {
					time.Sleep(thinkTime) // a person reads the page before the next click
				}
				t0 := time.Now()
				res, err := c.Get(ws.URL + pages[k%len(pages)])
				if err != nil {
					lat.errors.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					lat.errors.Add(1)
				}
				lat.add(time.Since(t0))
			}
		}()
	}
	wg.Wait()
	// Alone, one session per page: what each page costs without the queue.
	var alone []string
	for _, p := range pages {
		var times []time.Duration
		for range 3 {
			t0 := time.Now()
			res, err := clients[0].Get(ws.URL + p)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			times = append(times, time.Since(t0))
		}
		slices.Sort(times)
		alone = append(alone, fmt.Sprintf("%s %s", p, fmtDur(times[1])))
	}
	total := len(lat.d)
	p50, p99 := lat.pct(0.5), lat.pct(0.99)
	b.add(row{Scenario: fmt.Sprintf("UI load, %d signed-in sessions", sessions),
		Measured: fmt.Sprintf("p50 %s, p99 %s, %d errors", fmtDur(p50), fmtDur(p99), lat.errors.Load()),
		Baseline: fmt.Sprintf("%.0f pages/s", float64(total)/dur.Seconds()), Ratio: "–",
		Target: "0 errors", Pass: pass(lat.errors.Load() == 0 && total > 0), Value: p99.Seconds() * 1000,
		Notes: fmt.Sprintf("%d page loads in %s, each session waiting %s between pages; each page alone (median of 3): %s", total, dur, thinkTime, strings.Join(alone, ", "))})
	return nil
}

// webhookLoad posts signed status webhooks at 2,000/s for a few seconds.
func (b *bench) webhookLoad(ws *webServer) error {
	const perSecond = 2000
	dur := 5 * time.Second
	if b.scale < 0.5 {
		dur = 3 * time.Second
	}
	total := int(perSecond * dur.Seconds())
	bodies := make([][]byte, total)
	for i := range bodies {
		bodies[i] = statusWebhook(fmt.Sprintf("wamid.load%d", i), "delivered", i)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	lat := &latencies{}
	jobs := make(chan []byte, 256)
	var wg sync.WaitGroup
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range jobs {
				req, _ := http.NewRequest(http.MethodPost, ws.URL+"/webhooks/whatsapp", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(body, ws.AppSecret))
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					lat.errors.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					lat.errors.Add(1)
				}
				lat.add(time.Since(t0))
			}
		}()
	}
	b.step("webhook-load: %d signed POSTs at %d/s", total, perSecond)
	start := time.Now()
	for i, body := range bodies {
		// Open loop: each request leaves at its scheduled time.
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / perSecond)); wait > 0 {
			time.Sleep(wait)
		}
		jobs <- body
	}
	close(jobs)
	wg.Wait()
	took := time.Since(start)
	achieved := float64(total) / took.Seconds()
	p50, p99 := lat.pct(0.5), lat.pct(0.99)
	b.add(row{Scenario: fmt.Sprintf("webhook load, %d signed POSTs/s for %s", perSecond, dur),
		Measured: fmt.Sprintf("p50 %s, p99 %s, %d errors", fmtDur(p50), fmtDur(p99), lat.errors.Load()),
		Baseline: fmtRate(achieved, "POSTs/s achieved"), Ratio: ratio(achieved, perSecond),
		Target: "0 errors, ≥ 0.95 of the offered rate", Pass: pass(lat.errors.Load() == 0 && achieved >= 0.95*perSecond), Value: p99.Seconds() * 1000, Base: achieved,
		Notes: "each POST is verified (HMAC) and stored in the webhook inbox before the 200, as Meta requires"})
	return nil
}

// statusWebhook is a Cloud API status notification for one message.
func statusWebhook(wamid, status string, i int) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1000000001"},"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"5511900000000"}]}}]}]}`,
		wamid, status, time.Now().Unix()+int64(i%10))
}
