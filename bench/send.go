package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/internal/cpumeter"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// sendWorkers and sendConcurrency are what `herald serve` runs: two send
// workers with the engine's default 128 requests in flight each. The bare
// loop gets the same total.
const (
	sendWorkers     = 2
	sendConcurrency = 128
)

// sendSetup is a schema with an audience, an approved template and a
// campaign ready to launch, and a Cloud API endpoint.
type sendSetup struct {
	dbURL    string
	store    *models.Store
	sim      *simulator.Server
	campaign *models.Campaign
	template templating.Template
}

// newSimulator starts a quiet simulator on loopback: no faults, no
// throughput cap, no webhooks.
func (b *bench) newSimulator(mps int) (*simulator.Server, *whatsapp.Client, error) {
	sim := simulator.New(simulator.Config{Seed: 7, TimeScale: 0, MPS: mps, Logger: b.quiet})
	url, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	b.cleanups = append(b.cleanups, func() { _ = sim.Close() })
	cfg := sim.Config()
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: url, Token: cfg.Token, PhoneNumberID: cfg.PhoneNumberID, WABAID: cfg.WABAID,
		Timeout: 10 * time.Second, HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}})
	return sim, client, nil
}

// trivialEndpoint answers every send like the Cloud API, doing nothing
// else: the engine's own cost shows against it.
func (b *bench) trivialEndpoint() (*whatsapp.Client, error) {
	var seq atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = r.Body.Read(make([]byte, 4096))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],"messages":[{"id":"wamid.T%d"}]}`, seq.Add(1))
	})}
	go func() { _ = srv.Serve(ln) }()
	b.cleanups = append(b.cleanups, func() { _ = srv.Close() })
	return whatsapp.NewClient(whatsapp.Config{BaseURL: "http://" + ln.Addr().String(), Token: "t", PhoneNumberID: "1",
		Timeout: 10 * time.Second, HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}), nil
}

// prepareSend seeds n contacts and a UTILITY campaign to all of them.
func (b *bench) prepareSend(prefix string, n int, sim *simulator.Server) (*sendSetup, error) {
	dbURL, store, err := b.newSchema(prefix)
	if err != nil {
		return nil, err
	}
	if err := seedContacts(b.ctx, store, n); err != nil {
		return nil, err
	}
	// Everyone reachable and opted in: every row of the ledger is a send.
	if err := sqlExec(b.ctx, store, "UPDATE contacts SET reachability = 'reachable', marketing_opt_in = TRUE"); err != nil {
		return nil, err
	}
	tmpl := templating.Template{Name: "bench_" + prefix, Language: "en_US", Category: "UTILITY", Body: "Hi {{1}}, your order shipped.",
		Variables: templating.Variables{Body: []templating.VariableMapping{{Field: "first_name", Fallback: "there"}}}}
	tmpl.Normalize()
	if sim != nil {
		sim.AddTemplate(templating.Definition(tmpl, templating.DefinitionOptions{}), whatsapp.StatusApproved)
	}
	row := &models.Template{WABAID: "bench", Name: tmpl.Name, Language: tmpl.Language, Category: tmpl.Category, Body: tmpl.Body,
		Status: models.TemplateApproved, Variables: `{"body":[{"field":"first_name","fallback":"there"}]}`}
	if err := store.CreateTemplate(b.ctx, row); err != nil {
		return nil, err
	}
	seg, err := store.CreateSegment(b.ctx, models.SegmentInput{Name: "everyone"})
	if err != nil {
		return nil, err
	}
	c := &models.Campaign{Name: "bench " + prefix, TemplateID: &row.ID, SegmentIDs: []int64{seg.ID},
		Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30}
	if err := store.CreateCampaign(b.ctx, c); err != nil {
		return nil, err
	}
	return &sendSetup{dbURL: dbURL, store: store, sim: sim, campaign: c, template: tmpl}, nil
}

// payloads are the messages the campaign sends, rendered the same way,
// for the bare loop.
func (s *sendSetup) payloads(n int) []whatsapp.Message {
	out := make([]whatsapp.Message, n)
	for i := range out {
		out[i] = whatsapp.Message{To: "+55119" + strconv.Itoa(10000000+i), BizOpaqueCallbackData: "m=" + strconv.Itoa(i+1),
			Template: &whatsapp.TemplateMessage{Name: s.template.Name, Language: s.template.Language,
				Components: []whatsapp.Component{{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{whatsapp.TextParam("Ana")}}}}}
	}
	return out
}

// bareLoop POSTs msgs with conc goroutines, recording nothing; msg/s.
func bareLoop(ctx context.Context, client *whatsapp.Client, msgs []whatsapp.Message, conc int) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(msgs)) {
					return
				}
				if _, err := client.Send(ctx, msgs[i]); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return 0, err
	}
	return float64(len(msgs)) / time.Since(start).Seconds(), nil
}

// cpuCost is CPU time per message: this process (engine, HTTP client and,
// for the trivial endpoint, its server) and the schema's Postgres backends.
type cpuCost struct{ self, pg float64 }

func (c cpuCost) String() string {
	return fmt.Sprintf("%.0f µs in the process + %.0f µs in Postgres", c.self, c.pg)
}

func perMessage(self, pg float64, n int64) cpuCost {
	return cpuCost{self: self * 1e6 / float64(n), pg: pg * 1e6 / float64(n)}
}

// engineSend launches the campaign and runs the send workers until
// nothing is due; it returns msg/s from the first claim to the last outcome,
// and the CPU each message cost.
func (b *bench) engineSend(s *sendSetup, client jobs.Sender, limits jobs.SenderLimits, unthrottled bool) (float64, int64, cpuCost, error) {
	res, err := s.store.LaunchCampaign(b.ctx, s.campaign.ID, time.Now())
	if err != nil {
		return 0, 0, cpuCost{}, err
	}
	e := jobs.NewEngine(s.store, jobs.StaticSenders{Client: client, Limits: limits}, "bench",
		jobs.EngineConfig{Unthrottled: unthrottled, Concurrency: sendConcurrency, Log: b.quiet})
	meter := cpumeter.Start(s.store, s.dbURL)
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" && s.sim != nil && unthrottled {
		// A CPU profile of this process while the engine sends to the
		// simulator (the send row the ratio is about).
		if f, err := os.Create(path); err == nil {
			if err := pprof.StartCPUProfile(f); err == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	for range sendWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.WaitIdle(b.ctx); err != nil {
				failed.Store(err)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	self, pg := meter.Stop()
	if err, _ := failed.Load().(error); err != nil {
		return 0, 0, cpuCost{}, err
	}
	st, err := s.store.CampaignStats(b.ctx, s.campaign.ID)
	if err != nil {
		return 0, 0, cpuCost{}, err
	}
	if st.Sent != res.Pending {
		return 0, 0, cpuCost{}, fmt.Errorf("sent %d of %d", st.Sent, res.Pending)
	}
	return float64(st.Sent) / took.Seconds(), st.Sent, perMessage(self, pg, st.Sent), nil
}

// sendRounds is how many times each send is measured, each round a bare
// loop and then the engine on a fresh schema. The ratio on a 2-core VM moves
// by ±0.08 from run to run (other tenants, the Go scheduler, checkpoints);
// the median of paired rounds is what the row reports, every round's ratio
// is in its notes.
const sendRounds = 3

// sendRound is one paired measurement: the bare loop of a campaign's
// requests, then the engine sending the campaign, on a schema of its own.
type sendRound struct {
	setup           *sendSetup
	bare, rate      float64
	cost            cpuCost
	bareCPUPerMsgUS float64
}

// sendScenarios: a 100k campaign end to end against the simulator and
// against a trivial endpoint, each beside a bare loop of the same requests;
// then the status webhooks for the simulator run.
func (b *bench) sendScenarios() error {
	n := b.n(100_000, 5_000)
	sim, simClient, err := b.newSimulator(0)
	if err != nil {
		return err
	}
	trivial, err := b.trivialEndpoint()
	if err != nil {
		return err
	}
	var simSetup *sendSetup
	for _, target := range []struct {
		name   string
		client *whatsapp.Client
		sim    *simulator.Server
	}{{"simulator", simClient, sim}, {"trivial endpoint", trivial, nil}} {
		if !b.wants("send") && !(b.wants("webhook-apply") && target.sim != nil) {
			continue
		}
		rounds := 1 // webhook-apply alone needs one sent campaign
		if b.wants("send") {
			rounds = sendRounds
		}
		var done []sendRound
		for r := range rounds {
			round, err := b.sendOnce(target.name, target.client, target.sim, n, r+1)
			if err != nil {
				return err
			}
			done = append(done, round)
		}
		if target.sim != nil {
			simSetup = done[len(done)-1].setup
		}
		if !b.wants("send") {
			continue
		}
		// Rounds are ranked by their ratio; the median round is reported
		// whole, so its rate, baseline and ratio agree.
		slices.SortFunc(done, func(x, y sendRound) int { return cmp.Compare(x.rate/x.bare, y.rate/y.bare) })
		// The two targets: ≥ 0.5 of the bare loop to the same
		// endpoint (the simulator), and at least listmonk's rate, which
		// was measured against a trivial local endpoint (≥ 10,000 msg/s).
		med := done[len(done)/2]
		goal, ok := "≥ 0.5 of bare", med.rate/med.bare >= 0.5
		if target.sim == nil {
			slices.SortFunc(done, func(x, y sendRound) int { return cmp.Compare(x.rate, y.rate) })
			med = done[len(done)/2]
			goal, ok = "≥ 10,000 msg/s (listmonk: 9,500 to a trivial endpoint)", med.rate >= 10_000
		}
		ratios := make([]string, len(done))
		for i, d := range done {
			ratios[i] = fmt.Sprintf("%.2f (%.0f / %.0f msg/s)", d.rate/d.bare, d.rate, d.bare)
		}
		b.add(row{Scenario: fmt.Sprintf("send %dk end to end → %s (Postgres)", n/1000, target.name),
			Measured: fmtRate(med.rate, "msg/s"), Baseline: fmtRate(med.bare, "msg/s bare loop"), Ratio: ratio(med.rate, med.bare),
			Target: goal, Pass: pass(ok), Value: med.rate, Base: med.bare,
			Notes: fmt.Sprintf("median of %d paired rounds (bare loop, then the engine, each round on a fresh schema), by ratio for the simulator "+
				"and by rate for the trivial endpoint; rounds, lowest first: %s; claim, render, send, record each outcome; "+
				"%d workers × %d in flight, bare loop %d goroutines; CPU per message in the median round: %s (bare loop: %.0f µs)",
				len(done), strings.Join(ratios, ", "), sendWorkers, sendConcurrency, sendWorkers*sendConcurrency, med.cost, med.bareCPUPerMsgUS)})
	}
	if b.wants("webhook-apply") && simSetup != nil {
		return b.webhookApply(simSetup)
	}
	return nil
}

// sendOnce runs one round against one endpoint: a fresh schema with n
// contacts and a campaign to them, the bare loop of the campaign's
// requests, then the engine sending the campaign.
func (b *bench) sendOnce(name string, client *whatsapp.Client, sim *simulator.Server, n, round int) (sendRound, error) {
	s, err := b.prepareSend(map[bool]string{true: "sendsim", false: "sendtriv"}[sim != nil], n, sim)
	if err != nil {
		return sendRound{}, err
	}
	b.step("send round %d: bare loop to the %s (%d requests)", round, name, n)
	bareStart := cpumeter.SelfCPU()
	bare, err := bareLoop(b.ctx, client, s.payloads(n), sendWorkers*sendConcurrency)
	if err != nil {
		return sendRound{}, fmt.Errorf("bare loop: %w", err)
	}
	bareCost := perMessage(cpumeter.SelfCPU()-bareStart, 0, int64(n))
	if sim != nil {
		sim.Reset()
	}
	b.step("send round %d: campaign of %d to the %s", round, n, name)
	rate, sent, cost, err := b.engineSend(s, client, jobs.SenderLimits{}, true)
	if err != nil {
		return sendRound{}, err
	}
	if sim != nil {
		dup := 0
		for _, r := range sim.Received() {
			if r.Count > 1 {
				dup++
			}
		}
		if got := len(sim.Received()); got != int(sent) || dup > 0 {
			return sendRound{}, fmt.Errorf("simulator received %d requests (%d repeats) for %d sent messages", got, dup, sent)
		}
	}
	return sendRound{setup: s, bare: bare, rate: rate, cost: cost, bareCPUPerMsgUS: bareCost.self}, nil
}

// webhookApply applies a "delivered" status to every sent message of the
// simulator run through ApplyStatusUpdates (what the webhook worker calls),
// then times a bare UPDATE of the same rows by wamid in the same batches.
func (b *bench) webhookApply(s *sendSetup) error {
	var wamids []string
	if err := s.store.DB(b.ctx).Raw("SELECT wamid FROM messages WHERE campaign_id = ? AND wamid IS NOT NULL ORDER BY id", s.campaign.ID).
		Scan(&wamids).Error; err != nil {
		return err
	}
	const batch = 500
	now := time.Now()
	b.step("webhook-apply: %d statuses", len(wamids))
	start := time.Now()
	applied := 0
	for from := 0; from < len(wamids); from += batch {
		var ups []models.StatusUpdate
		for _, w := range wamids[from:min(from+batch, len(wamids))] {
			ups = append(ups, models.StatusUpdate{WAMID: w, Status: models.MessageDelivered, Timestamp: now})
		}
		n, err := s.store.ApplyStatusUpdates(b.ctx, ups)
		if err != nil {
			return err
		}
		applied += n
	}
	took := time.Since(start)
	if applied != len(wamids) {
		return fmt.Errorf("applied %d of %d statuses", applied, len(wamids))
	}
	start = time.Now()
	for from := 0; from < len(wamids); from += batch {
		if err := sqlExec(b.ctx, s.store, "UPDATE messages SET read_at = ?, updated_at = ? WHERE wamid IN ?", now, now,
			wamids[from:min(from+batch, len(wamids))]); err != nil {
			return err
		}
	}
	base := time.Since(start)
	rate, bareRate := float64(applied)/took.Seconds(), float64(len(wamids))/base.Seconds()
	b.add(row{Scenario: fmt.Sprintf("webhook status apply, %dk statuses (Postgres)", applied/1000),
		Measured: fmtRate(rate, "events/s"), Baseline: fmtRate(bareRate, "rows/s bare UPDATE"), Ratio: ratio(rate, bareRate),
		Target: "≥ 5,000 events/s", Pass: pass(rate >= 5000), Value: rate, Base: bareRate,
		Notes: "ApplyStatusUpdates in batches of 500 (forward-only transition, history row, counters); baseline sets one column of the same rows by wamid in the same batches"})
	return nil
}

// throttleScenario sends at a sender rate of 80 msg/s and measures the
// rate the simulator saw.
func (b *bench) throttleScenario() error {
	const target = 80.0
	secs := 15.0
	if b.scale < 0.5 {
		secs = 6
	}
	n := int(target * secs)
	sim, client, err := b.newSimulator(0)
	if err != nil {
		return err
	}
	s, err := b.prepareSend("throttle", n, sim)
	if err != nil {
		return err
	}
	b.step("throttle: %d messages at %g msg/s", n, target)
	if _, _, _, err := b.engineSend(s, client, jobs.SenderLimits{Rate: target}, false); err != nil {
		return err
	}
	got := sim.Received()
	if len(got) != n {
		return fmt.Errorf("simulator received %d of %d", len(got), n)
	}
	// The engine paces in chunks of a tenth of a second's worth, so the
	// rate is the least-squares slope of arrivals over time (first-to-last
	// would count one chunk too many).
	rate := arrivalRate(got)
	errPct := 100 * (rate - target) / target
	if errPct < 0 {
		errPct = -errPct
	}
	b.add(row{Scenario: fmt.Sprintf("throttled send at %g msg/s (%d messages)", target, n),
		Measured: fmt.Sprintf("%.2f msg/s (error %.2f%%)", rate, errPct), Baseline: fmt.Sprintf("%g msg/s set", target),
		Ratio: fmt.Sprintf("%.3f", rate/target), Target: "within 2%", Pass: pass(errPct <= 2), Value: rate, Base: target})
	return nil
}

// transactionalScenario measures transactional latency during a broadcast:
// the handlers' Go benchmark BenchmarkTransactionalUnderBroadcast does the
// work (a broadcast at full speed on Postgres to the simulator, then API
// messages through the real HTTP handler), and this reads its summary line.
// The baseline is the same broadcast's rate alone, in windows as long as
// the load's just before and after it; the second criterion is that
// the broadcast's rate in the load window drops by no more than the
// transactional share of the messages sent in that window.
func (b *bench) transactionalScenario() error {
	tx := b.n(1_000, 100)
	// As the issue asks: the broadcast at the machine's full speed.
	if err := b.transactionalRun(b.n(100_000, 20_000), tx, 0); err != nil { // long enough to outlast the API load
		return err
	}
	// And at a sender's full rate, as Meta throttles a real number (1,000
	// msg/s is its highest default): long enough for the windows before,
	// during and after the load.
	const senderRate = 1_000
	loadSecs := float64(tx) / 200
	return b.transactionalRun(max(5_000, int(senderRate*(2+3*loadSecs))), tx, senderRate)
}

// dropResolution is about how far (percentage points) the edges of the
// ~5 s windows move the measured drop of a throttled broadcast, which
// leaves in chunks (16 messages with the benchmark's 32 slots): one chunk
// more or less at each edge of 4,000 messages. A sender whose rate the lane
// shares exactly measures a drop within it of the share.
const dropResolution = 0.5

// transactionalRun runs the handlers' benchmark once and adds its rows.
func (b *bench) transactionalRun(recipients, tx, senderRate int) error {
	cmd := exec.CommandContext(b.ctx, "go", "test", "./handlers", "-run", "^$", "-bench", "^BenchmarkTransactionalUnderBroadcast$",
		"-benchtime", "1x", "-count", "1")
	cmd.Env = append(os.Environ(), "BENCH_RECIPIENTS="+strconv.Itoa(recipients), "BENCH_TX="+strconv.Itoa(tx),
		"BENCH_SENDER_RATE="+strconv.Itoa(senderRate), "TEST_DATABASE_URL="+testdb.PostgresURL())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("transactional benchmark: %w\n%s", err, out)
	}
	var p50, p99, maxMs, alone, loaded, window, drop, share float64
	var n, nTx, rate, sender int
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if _, err := fmt.Sscanf(strings.TrimSpace(line),
			"transactional under a %d broadcast: p50 %f ms, p99 %f ms, max %f ms; "+
				"broadcast %f msg/s alone, %f msg/s in the %f s load window, drop %f %%, transactional share %f %%; %d API messages at %d/s; sender rate %d",
			&n, &p50, &p99, &maxMs, &alone, &loaded, &window, &drop, &share, &nTx, &rate, &sender); err == nil {
			found = true
			break
		}
	}
	if !found {
		return fmt.Errorf("transactional benchmark printed no summary:\n%s", out)
	}
	speed := "at full speed (no throttle)"
	if sender > 0 {
		speed = fmt.Sprintf("at its sender's rate, %d msg/s", sender)
	}
	b.add(row{Scenario: fmt.Sprintf("transactional p50/p99 during a %dk broadcast %s (%d API messages)", n/1000, speed, nTx),
		Measured: fmt.Sprintf("p50 %.0f ms, p99 %.0f ms, max %.0f ms", p50, p99, maxMs),
		Baseline: "–", Ratio: "–", Target: "p99 < 250 ms", Pass: pass(p99 < 250), Value: p99,
		Notes: fmt.Sprintf("API call to the simulator receiving the message, %d messages at %d/s while the broadcast sends %s", nTx, rate, speed)})
	b.add(row{Scenario: fmt.Sprintf("broadcast rate during the transactional load (%dk broadcast %s, %d API messages)", n/1000, speed, nTx),
		Measured: fmt.Sprintf("%.0f msg/s, drop %.1f%%", loaded, drop),
		Baseline: fmt.Sprintf("%.0f msg/s alone just before and after", alone),
		Ratio:    fmt.Sprintf("%.2f", loaded/alone),
		Target:   fmt.Sprintf("drop ≤ transactional share (%.1f%%) + 0.5 pp", share), Pass: pass(drop <= share+dropResolution), Value: loaded, Base: alone,
		Notes: fmt.Sprintf("load window %.2f s (first API call to last transactional receipt); rates counted from the simulator's receipts; "+
			"share = transactional ÷ all messages received in the window; 0.5 pp is about what the windows' edges can move the drop by "+
			"(a throttled broadcast leaves in chunks of up to 16 messages, one at each edge of a ~5 s window)", window)})
	return nil
}

// arrivalRate is the least-squares slope of message index over arrival
// time, in messages per second.
func arrivalRate(got []simulator.Received) float64 {
	times := make([]float64, len(got))
	t0 := got[0].At
	for _, r := range got {
		if r.At.Before(t0) {
			t0 = r.At
		}
	}
	for i, r := range got {
		times[i] = r.At.Sub(t0).Seconds()
	}
	slices.Sort(times)
	var mt, mi float64
	for i, t := range times {
		mt += t
		mi += float64(i)
	}
	n := float64(len(times))
	mt, mi = mt/n, mi/n
	var cov, vart float64
	for i, t := range times {
		cov += (t - mt) * (float64(i) - mi)
		vart += (t - mt) * (t - mt)
	}
	return cov / vart
}
