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
// speed (no throttle) to the simulator, first alone, then again while
// BENCH_TX (default 1,000) transactional messages are fired through the
// HTTP API at BENCH_TX_RATE per second (default 200). It reports the
// transactional latency from API call to the simulator receiving the
// message (p50, p99, max) and the broadcast rate with and without the load.
func BenchmarkTransactionalUnderBroadcast(b *testing.B) {
	n := benchEnv("BENCH_RECIPIENTS", 100_000)
	txN := benchEnv("BENCH_TX", 1000)
	txRate := benchEnv("BENCH_TX_RATE", 200)
	for i := 0; i < b.N; i++ {
		db := testdb.Postgres(b)
		e := setupTxBench(b, db)
		ctx := context.Background()
		tmpl := templating.Template{Name: "weekly_news", Language: "en_US", Category: templating.CategoryUtility, Body: "Hi {{1}}, news.",
			Variables: templating.Variables{Body: []templating.VariableMapping{{Field: "first_name", Fallback: "there"}}}}
		tmplID := e.approvedTemplate(tmpl)
		e.approvedTemplate(orderTemplate("order_shipped"))
		now := time.Now().UTC()
		for _, tag := range []string{"a", "b"} {
			if err := e.store.DB(ctx).Exec(`INSERT INTO contacts (phone, wa_id, first_name, country, timezone, marketing_opt_in, tags, created_at, updated_at)
				SELECT '+55' || (?::bigint + g)::text, '55' || (?::bigint + g)::text, 'Ana', 'BR', 'America/Sao_Paulo', TRUE, ?::jsonb, ?, ? FROM generate_series(1, ?) g`,
				map[string]int64{"a": 11900000000, "b": 21900000000}[tag], map[string]int64{"a": 11900000000, "b": 21900000000}[tag],
				`["`+tag+`"]`, now, now, n).Error; err != nil {
				b.Fatal(err)
			}
		}
		run := func(tag string, load bool) (rate float64, lat []time.Duration) {
			seg, err := e.store.CreateSegment(ctx, models.SegmentInput{Name: "bench " + tag,
				Rules: []byte(`{"all":[{"field":"tags","op":"contains","value":"` + tag + `"}]}`)})
			if err != nil {
				b.Fatal(err)
			}
			c := &models.Campaign{Name: "bench " + tag, TemplateID: &tmplID, SegmentIDs: []int64{seg.ID}, Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30}
			if err := e.store.CreateCampaign(ctx, c); err != nil {
				b.Fatal(err)
			}
			e.sim.Reset()
			if _, err := e.store.LaunchCampaign(ctx, c.ID, time.Now()); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			e.runner.Wake(jobs.SendWorker)
			starts := map[int64]time.Time{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			if load {
				k := e.key(models.RoleMarketer)
				time.Sleep(500 * time.Millisecond) // the broadcast is at full speed
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
						starts[res.id()] = s
						mu.Unlock()
					}()
				}
				tick.Stop()
				wg.Wait()
			}
			for {
				var open int64
				e.store.DB(ctx).Raw("SELECT COUNT(*) FROM messages WHERE status IN ('pending', 'claimed', 'sending')").Scan(&open)
				if open == 0 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			var last time.Time
			count := 0
			for _, r := range e.sim.Received() {
				if r.Template == "weekly_news" {
					count++
					if r.At.After(last) {
						last = r.At
					}
					continue
				}
				if s, ok := starts[models.ParseCallbackData(r.BizOpaque)]; ok {
					lat = append(lat, r.At.Sub(s))
				}
			}
			if count != n {
				b.Fatalf("broadcast %s: simulator received %d of %d", tag, count, n)
			}
			return float64(n) / last.Sub(start).Seconds(), lat
		}
		alone, _ := run("a", false)
		loaded, lat := run("b", true)
		if len(lat) != txN {
			b.Fatalf("%d of %d transactional messages reached the simulator", len(lat), txN)
		}
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.50), "tx_p50_ms")
		b.ReportMetric(pct(0.99), "tx_p99_ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "tx_max_ms")
		b.ReportMetric(alone, "broadcast_msg/s")
		b.ReportMetric(loaded, "broadcast_loaded_msg/s")
		fmt.Fprintf(os.Stderr, "transactional under a %d broadcast: p50 %.1f ms, p99 %.1f ms, max %.1f ms; broadcast %.0f msg/s alone, %.0f msg/s with %d API messages at %d/s\n",
			n, pct(0.5), pct(0.99), float64(lat[len(lat)-1].Microseconds())/1000, alone, loaded, txN, txRate)
	}
}

// setupTxBench is setupTx for a benchmark: full-speed sender, engine on.
func setupTxBench(b *testing.B, db testdb.DB) *txEnv {
	b.Helper()
	return setupTx(b, db, txOptions{engine: true})
}
