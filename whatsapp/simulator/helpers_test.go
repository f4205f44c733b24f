package simulator_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// receiver is a fake Herald: it checks webhook signatures, records parsed
// notifications, and records GETs of tracked links.
type receiver struct {
	t      testing.TB
	secret string
	srv    *httptest.Server

	mu        sync.Mutex
	raw       [][]byte
	notes     []*whatsapp.Notification
	badSig    int
	failFirst int // answer 500 to this many POSTs first
	gets      []string
}

func newReceiver(t testing.TB, secret string) *receiver {
	t.Helper()
	rc := &receiver{t: t, secret: secret}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			rc.mu.Lock()
			rc.gets = append(rc.gets, r.URL.RequestURI())
			rc.mu.Unlock()
			// Herald's tracked link redirects to the shop; the simulator must not follow.
			http.Redirect(w, r, "https://shop.example.com/never-fetched", http.StatusFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if !whatsapp.VerifySignature(body, r.Header.Get(whatsapp.SignatureHeader), rc.secret) {
			rc.badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if rc.failFirst > 0 {
			rc.failFirst--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		n, err := whatsapp.ParseWebhook(body)
		if err != nil {
			rc.t.Errorf("simulator sent an unparseable webhook: %v\n%s", err, body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.raw = append(rc.raw, body)
		rc.notes = append(rc.notes, n)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) statuses() []whatsapp.StatusEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []whatsapp.StatusEvent
	for _, n := range rc.notes {
		out = append(out, n.Statuses()...)
	}
	return out
}

func (rc *receiver) messages() []whatsapp.MessageEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []whatsapp.MessageEvent
	for _, n := range rc.notes {
		out = append(out, n.Messages()...)
	}
	return out
}

func (rc *receiver) templateEvents() []whatsapp.TemplateEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []whatsapp.TemplateEvent
	for _, n := range rc.notes {
		out = append(out, n.TemplateEvents()...)
	}
	return out
}

// statusesOf returns the status values received for one wamid, in order.
func (rc *receiver) statusesOf(wamid string) []string {
	var out []string
	for _, s := range rc.statuses() {
		if s.ID == wamid {
			out = append(out, s.Status.Status)
		}
	}
	return out
}

type fixture struct {
	sim    *simulator.Server
	url    string
	client *whatsapp.Client
	recv   *receiver
}

// setup starts a simulator on loopback with test timings (TimeScale 0, no
// approval delay, no outcomes or faults unless mutate sets them), a webhook
// receiver and a client.
func setup(t testing.TB, mutate func(*simulator.Config)) *fixture {
	t.Helper()
	cfg := simulator.DefaultConfig()
	cfg.TimeScale = 0
	cfg.ApprovalDelay = 0
	cfg.Outcomes = simulator.Outcomes{}
	cfg.Faults = simulator.Faults{}
	cfg.MPS = 0
	cfg.WebhookRetryBase = 5 * time.Millisecond
	cfg.WebhookRetryMax = 20 * time.Millisecond
	cfg.Logger = slog.New(slog.DiscardHandler)
	if mutate != nil {
		mutate(&cfg)
	}
	recv := newReceiver(t, cfg.AppSecret)
	if cfg.WebhookURL == "" {
		cfg.WebhookURL = recv.srv.URL + "/webhooks/whatsapp"
	}
	sim := simulator.New(cfg)
	url, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	client := whatsapp.NewClient(whatsapp.Config{
		BaseURL: url, APIVersion: "v23.0", Token: cfg.Token,
		PhoneNumberID: cfg.PhoneNumberID, WABAID: cfg.WABAID, Timeout: 2 * time.Second,
	})
	return &fixture{sim: sim, url: url, client: client, recv: recv}
}

func (f *fixture) idle(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.sim.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

// promo is an approved MARKETING template with a quick reply and a tracked URL button.
func promoDef(trackURL string) whatsapp.TemplateDefinition {
	return whatsapp.TemplateDefinition{
		Name: "flash_sale", Language: "en_US", Category: whatsapp.CategoryMarketing,
		Components: []whatsapp.TemplateComponent{
			{Type: whatsapp.TemplateBody, Text: "Hi {{1}}, {{2}} off everything today.", Example: &whatsapp.TemplateExample{BodyText: [][]string{{"Ana", "30%"}}}},
			{Type: whatsapp.TemplateButtons, Buttons: []whatsapp.TemplateButton{
				{Type: whatsapp.TemplateButtonQuickReply, Text: "Stop promotions"},
				{Type: whatsapp.TemplateButtonURL, Text: "Shop now", URL: trackURL + "/r/{{1}}", Example: []string{trackURL + "/r/abc"}},
			}},
		},
	}
}

func promoMessage(to, opaque string) whatsapp.Message {
	return whatsapp.Message{To: to, BizOpaqueCallbackData: opaque, Template: &whatsapp.TemplateMessage{
		Name: "flash_sale", Language: "en_US", Components: []whatsapp.Component{
			{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{whatsapp.TextParam("Ana"), whatsapp.TextParam("30%")}},
			whatsapp.QuickReplyButton(0, "STOP|"+opaque),
			whatsapp.URLButton(1, "code-"+opaque),
		}}}
}

func helloWorld(to, opaque string) whatsapp.Message {
	return whatsapp.Message{To: to, BizOpaqueCallbackData: opaque, Template: &whatsapp.TemplateMessage{Name: "hello_world", Language: "en_US"}}
}

// phoneWith finds a phone number whose deterministic outcome satisfies ok.
func phoneWith(t *testing.T, sim *simulator.Server, ok func(simulator.Outcome) bool) string {
	t.Helper()
	for i := 0; i < 100000; i++ {
		p := fmt.Sprintf("4915%08d", i)
		if ok(sim.OutcomeFor(p)) {
			return p
		}
	}
	t.Fatal("no phone with the wanted outcome")
	return ""
}

// newHTTPTest serves sim with httptest without starting its dispatcher.
func newHTTPTest(t *testing.T, sim *simulator.Server) string {
	t.Helper()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return srv.URL
}
