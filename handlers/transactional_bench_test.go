package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
)

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkTransactionalUnderBroadcast measures the priority lane on
// Postgres: a broadcast of BENCH_RECIPIENTS (default 100,000) sends at full
// speed (no throttle) to the simulator; once it has run alone for as long as
// the API load will last, BENCH_TX (default 1,000) transactional messages
// are fired through the HTTP API at BENCH_TX_RATE per second (default 200).
// It reports the transactional latency from API call to the simulator
// receiving the message (p50, p99, max), and the broadcast's rate during
// the load window (first API call to last transactional receipt) against
// its rate alone in windows of the same length just before and just after,
// all counted from the simulator's receipts. The criterion: the
// broadcast's rate drops by no more than the transactional share of what
// the simulator received in the load window.
//
// BENCH_SENDER_RATE (messages per second; default 0, none) throttles the
// sender as Meta does a real number: the broadcast then sends at the
// sender's full rate rather than the machine's, and the lane's messages
// should take their share of that rate and nothing more. Unthrottled, the
// two cores are the limit and the drop measures what an API message costs
// the machine instead.
func BenchmarkTransactionalUnderBroadcast(b *testing.B) {
	n := benchEnv("BENCH_RECIPIENTS", 100_000)
	txN := benchEnv("BENCH_TX", 1000)
	txRate := benchEnv("BENCH_TX_RATE", 200)
	senderRate := benchEnv("BENCH_SENDER_RATE", 0)
	loadFor := time.Duration(txN) * time.Second / time.Duration(txRate)
	const warmUp = 500 * time.Millisecond // the broadcast reaches full speed
	for i := 0; i < b.N; i++ {
		db := testdb.Postgres(b)
		e := setupTx(b, db, txOptions{engine: true, senderRate: float64(senderRate)})
		ctx := context.Background()
		tmpl := templating.Template{Name: "weekly_news", Language: "en_US", Category: templating.CategoryUtility, Body: "Hi {{1}}, news.",
			Variables: templating.Variables{Body: []templating.VariableMapping{{Field: "first_name", Fallback: "there"}}}}
		tmplID := e.approvedTemplate(tmpl)
		e.approvedTemplate(orderTemplate("order_shipped"))
		now := time.Now().UTC()
		if err := e.store.DB(ctx).Exec(`INSERT INTO contacts (phone, wa_id, first_name, country, timezone, marketing_opt_in, tags, created_at, updated_at)
			SELECT '+55' || (11900000000 + g)::text, '55' || (11900000000 + g)::text, 'Ana', 'BR', 'America/Sao_Paulo', TRUE, '["a"]'::jsonb, ?, ?
			FROM generate_series(1, ?) g`, now, now, n).Error; err != nil {
			b.Fatal(err)
		}
		seg, err := e.store.CreateSegment(ctx, models.SegmentInput{Name: "bench",
			Rules: []byte(`{"all":[{"field":"tags","op":"contains","value":"a"}]}`)})
		if err != nil {
			b.Fatal(err)
		}
		c := &models.Campaign{Name: "bench", TemplateID: &tmplID, SegmentIDs: []int64{seg.ID}, Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30}
		if err := e.store.CreateCampaign(ctx, c); err != nil {
			b.Fatal(err)
		}
		k := e.key(models.RoleMarketer)
		e.sim.Reset()
		if _, err := e.store.LaunchCampaign(ctx, c.ID, time.Now()); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		e.runner.Wake(jobs.SendWorker)
		// The broadcast runs alone for as long as the load will, so the
		// window before the load is as long as the load's.
		time.Sleep(warmUp + loadFor)

		type call struct{ start, answered time.Time }
		calls := map[int64]call{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		t0 := time.Now()
		tick := time.NewTicker(time.Second / time.Duration(txRate))
		for j := range txN {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := time.Now()
				res := e.call(k, http.MethodPost, "/api/v1/messages", map[string]any{"to": fmt.Sprintf("+55319%08d", 80000000+j),
					"template": "order_shipped", "language": "en_US", "params": []any{fmt.Sprint("P-", j), "today"}})
				if res.status != http.StatusAccepted {
					b.Errorf("send: %d %s", res.status, res.raw)
					return
				}
				mu.Lock()
				calls[res.id()] = call{start: s, answered: time.Now()}
				mu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
		// Wait for the simulator's count, not the ledger's: the window after
		// the load is being measured, and a COUNT over the ledger every
		// 100 ms would take CPU from the broadcast in it.
		for e.sim.ReceivedCount() < n+txN {
			time.Sleep(100 * time.Millisecond)
		}
		for {
			var open int64
			e.store.DB(ctx).Raw("SELECT COUNT(*) FROM messages WHERE status IN ('pending', 'claimed', 'sending')").Scan(&open)
			if open == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}

		var broadcast []time.Time
		var lat, answer, after []time.Duration
		t1 := t0
		for _, r := range e.sim.Received() {
			if r.Template == "weekly_news" {
				broadcast = append(broadcast, r.At)
				continue
			}
			if cl, ok := calls[models.ParseCallbackData(r.BizOpaque)]; ok {
				lat = append(lat, r.At.Sub(cl.start))
				answer = append(answer, cl.answered.Sub(cl.start))
				after = append(after, r.At.Sub(cl.answered))
				if r.At.After(t1) {
					t1 = r.At
				}
			}
		}
		if len(broadcast) != n {
			b.Fatalf("broadcast: simulator received %d of %d", len(broadcast), n)
		}
		if len(lat) != txN {
			b.Fatalf("%d of %d transactional messages reached the simulator", len(lat), txN)
		}
		slices.SortFunc(broadcast, func(x, y time.Time) int { return x.Compare(y) })
		end := broadcast[len(broadcast)-1]
		if !end.After(t1) {
			b.Fatalf("the broadcast ended (%s) before the API load did (%s): raise BENCH_RECIPIENTS", end.Sub(start), t1.Sub(start))
		}
		// count is the broadcast messages received in [from, to).
		count := func(from, to time.Time) int {
			lo, _ := slices.BinarySearchFunc(broadcast, from, func(x, t time.Time) int { return x.Compare(t) })
			hi, _ := slices.BinarySearchFunc(broadcast, to, func(x, t time.Time) int { return x.Compare(t) })
			return hi - lo
		}
		window := t1.Sub(t0)
		inLoad := count(t0, t1)
		beforeFrom := t0.Add(-window)
		if ramp := start.Add(warmUp); beforeFrom.Before(ramp) {
			beforeFrom = ramp
		}
		afterTo := t1.Add(window)
		if afterTo.After(end) {
			afterTo = end // the broadcast's tail is not full speed
		}
		aloneN := count(beforeFrom, t0) + count(t1, afterTo)
		aloneDur := t0.Sub(beforeFrom) + afterTo.Sub(t1)
		alone := float64(aloneN) / aloneDur.Seconds()
		loaded := float64(inLoad) / window.Seconds()
		drop := 100 * (1 - loaded/alone)
		share := 100 * float64(txN) / float64(txN+inLoad)

		if os.Getenv("BENCH_TIMELINE") != "" {
			// Broadcast receipts per 250 ms, with the load window marked.
			for at := start; at.Before(end); at = at.Add(250 * time.Millisecond) {
				mark := ""
				if !at.Before(t0) && at.Before(t1) {
					mark = " load"
				}
				fmt.Fprintf(os.Stderr, "%6.2fs %5d%s\n", at.Sub(start).Seconds(), count(at, at.Add(250*time.Millisecond)), mark)
			}
		}
		pct := func(d []time.Duration, p float64) float64 {
			slices.Sort(d)
			return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(lat, 0.50), "tx_p50_ms")
		b.ReportMetric(pct(lat, 0.99), "tx_p99_ms")
		b.ReportMetric(pct(lat, 1), "tx_max_ms")
		b.ReportMetric(alone, "broadcast_msg/s")
		b.ReportMetric(loaded, "broadcast_loaded_msg/s")
		b.ReportMetric(drop, "broadcast_drop_%")
		b.ReportMetric(share, "tx_share_%")
		fmt.Fprintf(os.Stderr, "transactional stages: API answer p50 %.1f ms, p99 %.1f ms; answer to simulator p50 %.1f ms, p99 %.1f ms\n",
			pct(answer, 0.5), pct(answer, 0.99), pct(after, 0.5), pct(after, 0.99))
		fmt.Fprintf(os.Stderr, "transactional under a %d broadcast: p50 %.1f ms, p99 %.1f ms, max %.1f ms; "+
			"broadcast %.0f msg/s alone, %.0f msg/s in the %.2f s load window, drop %.1f %%, transactional share %.1f %%; %d API messages at %d/s; sender rate %d\n",
			n, pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1), alone, loaded, window.Seconds(), drop, share, txN, txRate, senderRate)
	}
}
