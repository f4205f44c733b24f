package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// txOptions shape a transactional test server.
type txOptions struct {
	apiRate  float64
	apiBurst int
	// engine starts the send workers and the priority lane against the
	// simulator; without it messages stay queued.
	engine bool
	// senderRate throttles the sender (messages per second); 0 = none.
	senderRate float64
}

// txEnv is a Herald server with a simulated Cloud API behind it.
type txEnv struct {
	*env
	tb     testing.TB
	sim    *simulator.Server
	engine *jobs.Engine
	runner *jobs.Runner
	cfg    config.Config
}

func setupTx(t testing.TB, db testdb.DB, o txOptions) *txEnv {
	t.Helper()
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secret = "test-secret-test-secret-test-secret"
	if o.apiRate > 0 {
		cfg.APIRate, cfg.APIBurst = o.apiRate, o.apiBurst
	} else {
		cfg.APIRate, cfg.APIBurst = 10_000, 10_000
	}
	if err := db.Store.UseCredentialKey(cfg.Key("credentials")); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sim := simulator.New(simulator.Config{Seed: 7, TimeScale: 0, MPS: 0, Logger: log})
	simURL, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sc := sim.Config()
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: simURL, Token: sc.Token, PhoneNumberID: sc.PhoneNumberID, WABAID: sc.WABAID,
		Timeout: 5 * time.Second, HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}})
	runner := jobs.New(db.Store, log)
	engine := jobs.NewEngine(db.Store, jobs.StaticSenders{Client: client, Limits: jobs.SenderLimits{Rate: o.senderRate}}, runner.InstanceID(),
		jobs.EngineConfig{Log: log, Concurrency: 32})
	if o.engine {
		if err := engine.Register(runner, 2); err != nil {
			t.Fatal(err)
		}
		if err := engine.RegisterPriorityLane(runner, 2); err != nil {
			t.Fatal(err)
		}
	}
	e := echo.New()
	handlers.New(handlers.Deps{Config: cfg, Store: db.Store, Runner: runner, Log: log}).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	if o.engine {
		// As `herald serve` does before its workers start.
		if _, err := db.Store.WarmPool(context.Background(), runner.InstanceID(), 15*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := runner.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = runner.Stop(ctx)
		})
	}
	tt, _ := t.(*testing.T) // nil in benchmarks, which use no env helper
	return &txEnv{env: &env{t: tt, srv: srv, echo: e, store: db.Store, db: db}, tb: t, sim: sim, engine: engine, runner: runner, cfg: cfg}
}

// approvedTemplate stores tmpl as APPROVED in Herald and in the simulator.
func (e *txEnv) approvedTemplate(tmpl templating.Template) int64 {
	e.tb.Helper()
	return e.storeTemplate(tmpl, models.TemplateApproved)
}

func (e *txEnv) storeTemplate(tmpl templating.Template, status string) int64 {
	e.tb.Helper()
	tmpl.Normalize()
	if status == models.TemplateApproved {
		e.sim.AddTemplate(templating.Definition(tmpl, templating.DefinitionOptions{}), whatsapp.StatusApproved)
	}
	vars, _ := json.Marshal(tmpl.Variables)
	buttons, _ := json.Marshal(tmpl.Buttons)
	row := &models.Template{WABAID: e.sim.Config().WABAID, Name: tmpl.Name, Language: tmpl.Language, Category: tmpl.Category,
		ParameterFormat: tmpl.ParameterFormat, Body: tmpl.Body, Status: status, Variables: string(vars), Buttons: string(buttons)}
	if tmpl.Header != nil {
		h, _ := json.Marshal(tmpl.Header)
		hs := string(h)
		row.Header = &hs
	}
	if err := e.store.CreateTemplate(context.Background(), row); err != nil {
		e.tb.Fatal(err)
	}
	return row.ID
}

// orderTemplate is a UTILITY template with two positional body parameters.
func orderTemplate(name string) templating.Template {
	return templating.Template{Name: name, Language: "en_US", Category: templating.CategoryUtility,
		Body:      "Order {{1}} ships on {{2}}.",
		Variables: templating.Variables{Body: []templating.VariableMapping{{Example: "A-1"}, {Example: "Monday"}}}}
}

// otpTemplate is an AUTHENTICATION template with a copy-code OTP button.
func otpTemplate(name string) templating.Template {
	return templating.Template{Name: name, Language: "en_US", Category: templating.CategoryAuthentication,
		Buttons: []templating.Button{{Type: templating.ButtonOTP, Text: "Copy code"}}}
}

// apiKey is an API key's plain token and id.
type apiKey struct {
	token string
	id    int64
}

func (e *txEnv) key(role models.Role) apiKey {
	e.tb.Helper()
	k, plain, err := e.store.CreateAPIKey(context.Background(), fmt.Sprintf("key %s %d", role, time.Now().UnixNano()), role, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	return apiKey{token: plain, id: k.ID}
}

// apiResult is a decoded API answer.
type apiResult struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r apiResult) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r apiResult) fields() map[string]any {
	e, _ := r.body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

func (r apiResult) id() int64 {
	f, _ := r.body["id"].(float64)
	return int64(f)
}

// apiClient keeps connections to the API alive as an integrating backend's
// client would: http.DefaultClient keeps two idle per host, so at a few
// hundred calls a second most calls opened (and closed) a connection of
// their own, and that churn cost the machine more than Herald's handling.
var apiClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}

func (e *txEnv) call(k apiKey, method, path string, body any) apiResult {
	e.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := apiClient.Do(req)
	if err != nil {
		e.tb.Error(err)
		return apiResult{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return apiResult{status: res.StatusCode, header: res.Header, body: out, raw: string(raw)}
}

// waitReceived waits until the simulator accepted a message for id.
func (e *txEnv) waitReceived(id int64, within time.Duration) (simulator.Received, bool) {
	e.tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, r := range e.sim.Received() {
			if models.ParseCallbackData(r.BizOpaque) == id {
				return r, true
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return simulator.Received{}, false
}

// waitStatus waits until message id has the ledger status.
func (e *txEnv) waitStatus(id int64, status string, within time.Duration) bool {
	e.tb.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var got string
		e.store.DB(context.Background()).Raw("SELECT status FROM messages WHERE id = ?", id).Scan(&got)
		if got == status {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// countMessages counts ledger rows matching where.
func (e *txEnv) countMessages(where string, args ...any) int64 {
	e.tb.Helper()
	var n int64
	if err := e.store.DB(context.Background()).Raw("SELECT COUNT(*) FROM messages WHERE "+where, args...).Scan(&n).Error; err != nil {
		e.tb.Fatal(err)
	}
	return n
}

// addContact inserts a contact with a reachability.
func (e *txEnv) addContact(phone, reachability string, marketingOptIn bool) int64 {
	e.tb.Helper()
	c := &models.Contact{Phone: phone, Reachability: models.Reachability(reachability), MarketingOptIn: marketingOptIn}
	if err := e.store.CreateContact(context.Background(), c, "test"); err != nil {
		e.tb.Fatal(err)
	}
	return c.ID
}
