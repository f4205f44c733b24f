package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
)

// broadcast launches a campaign of n fresh contacts with a template that
// needs no API values.
func (e *txEnv) broadcast(n int) int64 {
	e.t.Helper()
	ctx := context.Background()
	tmpl := templating.Template{Name: "weekly_news", Language: "en_US", Category: templating.CategoryUtility, Body: "Hi {{1}}, news.",
		Variables: templating.Variables{Body: []templating.VariableMapping{{Field: "first_name", Fallback: "there"}}}}
	tmplID := e.approvedTemplate(tmpl)
	now := time.Now().UTC()
	for start := 0; start < n; start += 500 {
		var vals []string
		var args []any
		for i := start; i < min(start+500, n); i++ {
			vals = append(vals, "(?, ?, 'Ana', 'BR', 'America/Sao_Paulo', TRUE, ?, ?)")
			args = append(args, fmt.Sprintf("+5521%09d", i), fmt.Sprintf("5521%09d", i), now, now)
		}
		if err := e.store.DB(ctx).Exec(`INSERT INTO contacts (phone, wa_id, first_name, country, timezone, marketing_opt_in, created_at, updated_at) VALUES `+
			strings.Join(vals, ", "), args...).Error; err != nil {
			e.t.Fatal(err)
		}
	}
	seg, err := e.store.CreateSegment(ctx, models.SegmentInput{Name: "everyone"})
	if err != nil {
		e.t.Fatal(err)
	}
	c := &models.Campaign{Name: "big news", TemplateID: &tmplID, SegmentIDs: []int64{seg.ID}, Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30}
	if err := e.store.CreateCampaign(ctx, c); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.LaunchCampaign(ctx, c.ID, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	e.runner.Wake(jobs.SendWorker)
	return c.ID
}

func TestTransactionalOvertakesRunningBroadcast(t *testing.T) {
	t.Parallel()
	// Postgres only: SQLite has one writer, so there every ledger write of
	// the lane queues behind the broadcast's, whatever the claim order.
	for _, db := range []testdb.DB{testdb.Postgres(t)} {
		t.Run(db.Name, func(t *testing.T) {
			const recipients, rate = 1500, 500.0
			e := setupTx(t, db, txOptions{engine: true, senderRate: rate})
			e.approvedTemplate(orderTemplate("order_shipped"))
			campaignID := e.broadcast(recipients)
			// Wait until the broadcast is well under way.
			deadline := time.Now().Add(20 * time.Second)
			for len(e.sim.Received()) < 200 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			k := e.key(models.RoleMarketer)
			const n = 20
			latency := make([]time.Duration, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					res := e.call(k, http.MethodPost, "/api/v1/messages", map[string]any{"to": fmt.Sprintf("+55319%08d", 80000000+i),
						"template": "order_shipped", "language": "en_US", "params": []any{fmt.Sprint("P-", i), "today"}})
					if res.status != http.StatusAccepted {
						t.Errorf("send %d: %d %s", i, res.status, res.raw)
						return
					}
					rec, ok := e.waitReceived(res.id(), 10*time.Second)
					if !ok {
						t.Errorf("message %d never reached the simulator", res.id())
						return
					}
					latency[i] = rec.At.Sub(start)
				}()
			}
			wg.Wait()
			var pending int64
			e.store.DB(context.Background()).Raw("SELECT COUNT(*) FROM messages WHERE campaign_id = ? AND status IN ('pending', 'claimed', 'sending')", campaignID).Scan(&pending)
			if pending == 0 {
				t.Fatal("the broadcast finished before the transactional messages arrived: nothing was overtaken")
			}
			worst := time.Duration(0)
			for _, l := range latency {
				worst = max(worst, l)
			}
			// The proof of priority is above: the broadcast still had a backlog
			// when every transactional message had arrived. Latency figures
			// belong to the benchmark (make bench); this bound only catches a
			// lane that stalls outright on a loaded CI machine.
			if worst > 5*time.Second {
				t.Fatalf("slowest transactional message took %v (all: %v)", worst, latency)
			}
			t.Logf("worst latency %v with %d broadcast messages still queued", worst, pending)
		})
	}
}
