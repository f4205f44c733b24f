package jobs_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/cpumeter"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchContacts fills contacts with n opted-in numbers in one statement.
func benchContacts(b *testing.B, store *models.Store, n int) {
	b.Helper()
	now := time.Now().UTC()
	err := store.DB(context.Background()).Exec(`INSERT INTO contacts (phone, first_name, country, timezone, marketing_opt_in, created_at, updated_at)
		SELECT '+55' || (11900000000 + g)::text, 'Ana', 'BR', 'America/Sao_Paulo', TRUE, ?, ? FROM generate_series(1, ?) g`, now, now, n).Error
	if err != nil {
		b.Fatal(err)
	}
}

// trivialCloudAPI answers every send like Meta, as fast as it can.
func trivialCloudAPI() *httptest.Server {
	var seq atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = r.Body.Read(make([]byte, 4096))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"x"}],"messages":[{"id":"wamid.B%d"}]}`, seq.Add(1))
	}))
}

const benchConcurrency = 32

// BenchmarkSendPostgres sends campaigns of BENCH_RECIPIENTS (default 20,000)
// end to end on Postgres with the throttle off: claim, render, send,
// record. It reports messages per second, and the ratio to a bare loop that
// sends the same messages with the same concurrency and records nothing.
func BenchmarkSendPostgres(b *testing.B) {
	n := envInt("BENCH_RECIPIENTS", 20_000)
	for _, target := range []string{"simulator", "trivial"} {
		b.Run(target, func(b *testing.B) {
			db := testdb.Postgres(b)
			ctx := context.Background()
			f := newFixture(b, db, quietSim())
			tmpl := f.template("bench_"+target, "UTILITY")
			benchContacts(b, f.store, n)
			seg := f.segment("")
			client := f.client
			if target == "trivial" {
				srv := trivialCloudAPI()
				defer srv.Close()
				client = whatsapp.NewClient(whatsapp.Config{BaseURL: srv.URL, Token: "t", PhoneNumberID: "1",
					HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}})
			}
			// Payloads for the bare loop: the same template, one per contact.
			tt, err := f.store.TemplateByID(ctx, tmpl)
			if err != nil {
				b.Fatal(err)
			}
			msgs := make([]whatsapp.Message, n)
			for i := range msgs {
				msgs[i] = whatsapp.Message{To: fmt.Sprintf("+55%d", 11900000001+i), BizOpaqueCallbackData: "m=" + strconv.Itoa(i),
					Template: &whatsapp.TemplateMessage{Name: tt.Name, Language: tt.Language,
						Components: []whatsapp.Component{{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{whatsapp.TextParam("Ana")}}}}}
			}
			bareCPU := cpumeter.SelfCPU()
			bare := bareLoop(b, client, msgs)
			bareCPU = cpumeter.SelfCPU() - bareCPU

			var engineTime time.Duration
			var engineCPU, pgCPU float64
			workers := envInt("BENCH_WORKERS", 2)
			for i := 0; i < b.N; i++ {
				c := f.campaign(tmpl, []int64{seg}, nil)
				if _, err := f.store.LaunchCampaign(ctx, c.ID, time.Now()); err != nil {
					b.Fatal(err)
				}
				e := jobs.NewEngine(f.store, jobs.StaticSenders{Client: client}, "bench", jobs.EngineConfig{Unthrottled: true, Concurrency: envInt("BENCH_CONCURRENCY", 128)})
				start := time.Now()
				meter := cpumeter.Start(f.store, db.URL)
				var wg sync.WaitGroup
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := e.WaitIdle(ctx); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				engineTime += time.Since(start)
				self, pg := meter.Stop()
				engineCPU, pgCPU = engineCPU+self, pgCPU+pg
				st, _ := f.store.CampaignStats(ctx, c.ID)
				if st.Sent != int64(n) {
					b.Fatalf("sent %d of %d", st.Sent, n)
				}
			}
			rate := float64(n*b.N) / engineTime.Seconds()
			b.ReportMetric(rate, "msg/s")
			b.ReportMetric(bare, "bare_msg/s")
			b.ReportMetric(rate/bare, "ratio_to_bare")
			// CPU per message holds when other work shares the machine.
			per := func(sec float64, msgs int) float64 { return sec * 1e6 / float64(msgs) }
			b.ReportMetric(per(engineCPU, n*b.N), "engine_cpu_us/msg")
			b.ReportMetric(per(pgCPU, n*b.N), "pg_cpu_us/msg")
			b.ReportMetric(per(bareCPU, n), "bare_cpu_us/msg")
		})
	}
}

// bareLoop sends msgs with benchConcurrency goroutines and returns msg/s.
func bareLoop(b *testing.B, client *whatsapp.Client, msgs []whatsapp.Message) float64 {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(msgs)) {
					return
				}
				if _, err := client.Send(context.Background(), msgs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(len(msgs)) / time.Since(start).Seconds()
}

// BenchmarkLaunchSnapshot times the launch of a campaign over BENCH_CONTACTS
// (default 1,000,000) contacts on Postgres: the set-based snapshot into the
// ledger, with suppression, holdout and variant assignment.
func BenchmarkLaunchSnapshot(b *testing.B) {
	n := envInt("BENCH_CONTACTS", 1_000_000)
	db := testdb.Postgres(b)
	ctx := context.Background()
	f := newFixture(b, db, quietSim())
	tmpl := f.template("bench_launch", "MARKETING")
	benchContacts(b, f.store, n)
	seg := f.segment("")
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		c := f.campaign(tmpl, []int64{seg}, func(c *models.Campaign) { c.HoldoutPercent = 5; c.RespectQuietHours = true })
		start := time.Now()
		res, err := f.store.LaunchCampaign(ctx, c.ID, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		if res.Targeted != int64(n) {
			b.Fatalf("targeted %d of %d", res.Targeted, n)
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/launch")
}
