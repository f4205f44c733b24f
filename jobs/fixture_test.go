package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// fixture is a database, a simulator on loopback and a client to it.
type fixture struct {
	t      testing.TB
	db     testdb.DB
	store  *models.Store
	sim    *simulator.Server
	client *whatsapp.Client
	// offset moves the engines' clock forward, so retries with long
	// backoffs come due without waiting.
	offset atomic.Int64
}

func newFixture(t testing.TB, db testdb.DB, simCfg simulator.Config) *fixture {
	t.Helper()
	simCfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	sim := simulator.New(simCfg)
	url, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cfg := sim.Config()
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: url, Token: cfg.Token, PhoneNumberID: cfg.PhoneNumberID, WABAID: cfg.WABAID,
		Timeout: 2 * time.Second, HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}})
	return &fixture{t: t, db: db, store: db.Store, sim: sim, client: client}
}

// quietSim is a simulator with no faults, no throughput cap and no
// simulated user behaviour beyond delivery: the tests decide outcomes.
func quietSim() simulator.Config {
	return simulator.Config{Seed: 7, TimeScale: 0, MPS: 0}
}

func (f *fixture) now() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }

func (f *fixture) engine(instance string, cfg jobs.EngineConfig) *jobs.Engine {
	cfg.Now = f.now
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return jobs.NewEngine(f.store, jobs.StaticSenders{Client: f.client}, instance, cfg)
}

// template stores an approved template in Herald and in the simulator.
func (f *fixture) template(name, category string) int64 {
	f.t.Helper()
	tmpl := templating.Template{Name: name, Language: "en_US", Category: category, Body: "Hi {{1}}, news for you.",
		Variables: templating.Variables{Body: []templating.VariableMapping{{Field: "first_name", Fallback: "there"}}}}
	tmpl.Normalize()
	f.sim.AddTemplate(templating.Definition(tmpl, templating.DefinitionOptions{}), whatsapp.StatusApproved)
	return f.storeTemplate(tmpl, models.TemplateApproved)
}

func (f *fixture) storeTemplate(tmpl templating.Template, status string) int64 {
	f.t.Helper()
	vars, _ := json.Marshal(tmpl.Variables)
	row := &models.Template{WABAID: f.sim.Config().WABAID, Name: tmpl.Name, Language: tmpl.Language, Category: tmpl.Category,
		Body: tmpl.Body, Status: status, Variables: string(vars)}
	if err := f.store.CreateTemplate(context.Background(), row); err != nil {
		f.t.Fatal(err)
	}
	return row.ID
}

// contact is one contact row to insert.
type contact struct {
	phone, country, timezone, reachability string
	optIn                                  bool
	tag                                    string
}

// contacts inserts rows and returns their ids in order.
func (f *fixture) contacts(list []contact) []int64 {
	f.t.Helper()
	ids := make([]int64, 0, len(list))
	now := time.Now().UTC()
	for _, c := range list {
		if c.reachability == "" {
			c.reachability = "reachable"
		}
		tags := "[]"
		if c.tag != "" {
			tags = `["` + c.tag + `"]`
		}
		var id int64
		err := f.store.DB(context.Background()).Raw(`INSERT INTO contacts (phone, wa_id, first_name, country, timezone, reachability,
			marketing_opt_in, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.phone, strings.TrimPrefix(c.phone, "+"), "Ana", c.country, c.timezone, c.reachability, c.optIn, tags, now, now).Scan(&id).Error
		if err != nil {
			f.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// manyContacts inserts n reachable Brazilian contacts in one Postgres
// statement, phones +<prefix> and nine digits from 1, with marketing
// consent optIn: for tests that need a large audience.
func (f *fixture) manyContacts(prefix string, n int, optIn bool) {
	f.t.Helper()
	err := f.store.DB(context.Background()).Exec(`INSERT INTO contacts (phone, wa_id, country, timezone, reachability,
		marketing_opt_in, tags, created_at, updated_at)
		SELECT '+' || ? || lpad(g::text, 9, '0'), ? || lpad(g::text, 9, '0'), 'BR', 'America/Sao_Paulo', 'reachable', ?, '[]', now(), now()
		FROM generate_series(1, ?) g`, prefix, prefix, optIn, n).Error
	if err != nil {
		f.t.Fatal(err)
	}
}

// eligible makes n reachable, opted-in Brazilian contacts.
func eligible(n, from int) []contact {
	out := make([]contact, n)
	for i := range out {
		out[i] = contact{phone: fmt.Sprintf("+5511%09d", from+i), country: "BR", timezone: "America/Sao_Paulo", optIn: true}
	}
	return out
}

func (f *fixture) segment(rules string) int64 {
	f.t.Helper()
	var raw json.RawMessage
	if rules != "" {
		raw = json.RawMessage(rules)
	}
	seg, err := f.store.CreateSegment(context.Background(), models.SegmentInput{Name: fmt.Sprintf("seg %d", time.Now().UnixNano()), Rules: raw})
	if err != nil {
		f.t.Fatal(err)
	}
	return seg.ID
}

// campaign creates a draft sending templateID to segmentIDs now, with quiet
// hours and caps off unless edit turns them on.
func (f *fixture) campaign(templateID int64, segmentIDs []int64, edit func(*models.Campaign)) *models.Campaign {
	f.t.Helper()
	c := &models.Campaign{Name: "test campaign", TemplateID: &templateID, SegmentIDs: segmentIDs,
		Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30}
	if edit != nil {
		edit(c)
	}
	if errs := models.ValidateCampaign(c); len(errs) > 0 {
		f.t.Fatalf("invalid campaign: %v", errs)
	}
	if err := f.store.CreateCampaign(context.Background(), c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// ledger is every message row of a campaign.
type ledgerRow struct {
	ID           int64
	ContactID    int64
	ToPhone      string
	Status       string
	StatusReason string
	WAMID        *string `gorm:"column:wamid"`
	Variant      int
	SendAfter    models.NullTime
}

func (f *fixture) ledger(campaignID int64) []ledgerRow {
	f.t.Helper()
	var rows []ledgerRow
	err := f.store.DB(context.Background()).Raw(`SELECT id, contact_id, to_phone, status, status_reason, wamid, variant, send_after
		FROM messages WHERE campaign_id = ? ORDER BY id`, campaignID).Scan(&rows).Error
	if err != nil {
		f.t.Fatal(err)
	}
	return rows
}

// checkCounters fails unless the kept counters equal a recount.
func (f *fixture) checkCounters(campaignID int64) models.CampaignStats {
	f.t.Helper()
	ctx := context.Background()
	kept, err := f.store.CampaignStats(ctx, campaignID)
	if err != nil {
		f.t.Fatal(err)
	}
	recount, err := f.store.RecountCampaignStats(ctx, campaignID)
	if err != nil {
		f.t.Fatal(err)
	}
	kept.Revenue, kept.Cost = 0, 0
	if kept != recount {
		f.t.Fatalf("counters drifted from the ledger:\nkept    %+v\nrecount %+v", kept, recount)
	}
	return kept
}

// receivedByOpaque counts the simulator's accepted requests per message id.
func (f *fixture) receivedByOpaque() map[int64]int {
	out := map[int64]int{}
	for _, r := range f.sim.Received() {
		out[models.ParseCallbackData(r.BizOpaque)]++
	}
	return out
}

// drain runs rounds until nothing is due, moving the clock an hour at a
// time (up to limit hours) so backed-off retries come due.
func (f *fixture) drain(ctx context.Context, e *jobs.Engine, hours int) {
	f.t.Helper()
	for range hours + 1 {
		if err := e.WaitIdle(ctx); err != nil {
			f.t.Fatal(err)
		}
		var pending int64
		f.store.DB(ctx).Raw("SELECT COUNT(*) FROM messages WHERE status IN ('pending', 'claimed', 'sending')").Scan(&pending)
		if pending == 0 {
			return
		}
		f.offset.Add(int64(time.Hour))
		// Let the simulator's one-second throughput window pass too.
		time.Sleep(1100 * time.Millisecond)
	}
}

// waitIdleAll runs WaitIdle on each engine in its own goroutine (an engine
// may be listed more than once: several workers of one instance) and
// waits for all of them.
func waitIdleAll(t testing.TB, ctx context.Context, engines ...*jobs.Engine) {
	t.Helper()
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.WaitIdle(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
