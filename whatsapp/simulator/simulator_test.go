package simulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

func TestSendHelloWorldRoundTrip(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *simulator.Config) { c.Outcomes.Read = 1 })
	res, err := f.client.Send(context.Background(), helloWorld("+1 (555) 123-4567", "msg-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.MessageID, "wamid.") || res.WAID != "15551234567" || res.Status != "accepted" {
		t.Errorf("result = %+v", res)
	}
	f.idle(t)
	got := f.recv.statusesOf(res.MessageID)
	if strings.Join(got, ",") != "sent,delivered,read" {
		t.Errorf("statuses = %v", got)
	}
	for _, s := range f.recv.statuses() {
		if s.BizOpaqueCallbackData != "msg-1" || s.RecipientID != "15551234567" || s.Metadata.PhoneNumberID != "1000000001" || s.WABAID != "2000000001" {
			t.Errorf("status identity = %+v", s)
		}
		hasPricing := s.Pricing != nil
		if hasPricing != (s.Status.Status != whatsapp.StatusRead) {
			t.Errorf("%s pricing present = %v", s.Status.Status, hasPricing)
		}
		if hasPricing && (s.Pricing.Category != "utility" || s.Pricing.PricingModel != "PMP" || s.Pricing.Type != "regular") {
			t.Errorf("pricing = %+v", s.Pricing)
		}
	}
	rec := f.sim.Received()
	if len(rec) != 1 || rec[0].WAMID != res.MessageID || rec[0].Template != "hello_world" || rec[0].Category != "UTILITY" || rec[0].BizOpaque != "msg-1" || rec[0].Count != 1 {
		t.Errorf("received = %+v", rec)
	}
}

func TestSendRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.sim.AddTemplate(promoDef("http://127.0.0.1:1"), whatsapp.StatusApproved)
	f.sim.AddTemplate(whatsapp.TemplateDefinition{Name: "waiting", Language: "en_US", Category: whatsapp.CategoryUtility,
		Components: []whatsapp.TemplateComponent{{Type: whatsapp.TemplateBody, Text: "Soon."}}}, whatsapp.StatusPending)
	pausedID := f.sim.AddTemplate(whatsapp.TemplateDefinition{Name: "tired", Language: "en_US", Category: whatsapp.CategoryMarketing,
		Components: []whatsapp.TemplateComponent{{Type: whatsapp.TemplateBody, Text: "Buy."}}}, whatsapp.StatusPaused)
	_ = pausedID
	tmpl := func(name, lang string, comps ...whatsapp.Component) whatsapp.Message {
		return whatsapp.Message{To: "15551234567", Template: &whatsapp.TemplateMessage{Name: name, Language: lang, Components: comps}}
	}
	body := func(params ...string) whatsapp.Component {
		c := whatsapp.Component{Type: whatsapp.ComponentBody}
		for _, p := range params {
			c.Parameters = append(c.Parameters, whatsapp.TextParam(p))
		}
		return c
	}
	tests := []struct {
		name   string
		msg    whatsapp.Message
		code   int
		action whatsapp.Action
	}{
		{"unknown template", tmpl("nope", "en_US"), 132001, whatsapp.ActionFixTemplate},
		{"wrong language", tmpl("hello_world", "en"), 132001, whatsapp.ActionFixTemplate},
		{"pending template", tmpl("waiting", "en_US"), 132001, whatsapp.ActionFixTemplate},
		{"paused template", tmpl("tired", "en_US"), 132015, whatsapp.ActionPauseTemplate},
		{"too few body params", tmpl("flash_sale", "en_US", body("Ana"), whatsapp.URLButton(1, "x")), 132000, whatsapp.ActionFixTemplate},
		{"too many body params", tmpl("flash_sale", "en_US", body("Ana", "30%", "x"), whatsapp.URLButton(1, "x")), 132000, whatsapp.ActionFixTemplate},
		{"params for a template without variables", tmpl("hello_world", "en_US", body("x")), 132000, whatsapp.ActionFixTemplate},
		{"missing dynamic url suffix", tmpl("flash_sale", "en_US", body("Ana", "30%")), 131008, whatsapp.ActionFixTemplate},
		{"button index out of range", tmpl("flash_sale", "en_US", body("Ana", "30%"), whatsapp.URLButton(1, "x"), whatsapp.QuickReplyButton(7, "p")), 131009, whatsapp.ActionFixTemplate},
		{"button sub_type mismatch", tmpl("flash_sale", "en_US", body("Ana", "30%"), whatsapp.URLButton(0, "x")), 131009, whatsapp.ActionFixTemplate},
		{"hydrated body too long", tmpl("flash_sale", "en_US", body(strings.Repeat("a", 1020), "x"), whatsapp.URLButton(1, "x")), 132005, whatsapp.ActionFixTemplate},
		{"invalid recipient", whatsapp.Message{To: "call me", Text: &whatsapp.TextMessage{Body: "hi"}}, 131009, whatsapp.ActionSuppressContact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.client.Send(context.Background(), tt.msg)
			var me *whatsapp.Error
			if !errors.As(err, &me) || me.Code != tt.code {
				t.Fatalf("err = %v, want Meta code %d", err, tt.code)
			}
			if a := whatsapp.ClassifyError(err).Action; a != tt.action {
				t.Errorf("action = %v, want %v", a, tt.action)
			}
		})
	}
	if n := len(f.sim.Received()); n != 0 {
		t.Errorf("refused messages were recorded: %d", n)
	}
}

func TestBadTokenIs190(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	bad := whatsapp.NewClient(whatsapp.Config{BaseURL: f.url, Token: "wrong", PhoneNumberID: "1000000001", WABAID: "2000000001"})
	_, err := bad.Send(context.Background(), helloWorld("15551234567", "x"))
	var me *whatsapp.Error
	if !errors.As(err, &me) || me.Code != 190 || me.HTTPStatus != http.StatusUnauthorized {
		t.Fatalf("err = %v, want 190", err)
	}
	if whatsapp.ClassifyError(err).Action != whatsapp.ActionStopSender {
		t.Errorf("190 does not stop the sender")
	}
	if _, err := bad.ListTemplates(context.Background()); !errors.As(err, &me) || me.Code != 190 {
		t.Errorf("template list with bad token: %v", err)
	}
}

func TestThroughputCap(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *simulator.Config) { c.MPS = 3 })
	var ok, limited int
	start := time.Now()
	for i := 0; i < 6; i++ {
		_, err := f.client.Send(context.Background(), helloWorld("15551234567", "m"+string(rune('a'+i))))
		var me *whatsapp.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &me) && me.Code == 130429:
			limited++
			c := whatsapp.ClassifyError(err)
			if c.Action != whatsapp.ActionRetry || c.Scope != whatsapp.ScopeSender {
				t.Errorf("130429 classification = %+v", c)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	// On loopback the six sends take far less than a second; on a very busy
	// machine the window may slide, so only then is the split looser.
	if time.Since(start) < time.Second && (ok != 3 || limited != 3) {
		t.Errorf("ok = %d, limited = %d; want 3 and 3", ok, limited)
	}
	if ok < 3 || limited < 1 || ok+limited != 6 {
		t.Errorf("ok = %d, limited = %d", ok, limited)
	}
	if n := len(f.sim.Received()); n != ok {
		t.Errorf("recorded %d messages, want only the %d accepted", n, ok)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := f.client.Send(context.Background(), helloWorld("15551234567", "later")); err != nil {
		t.Errorf("send after the window: %v", err)
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     simulator.Faults
		timeout    time.Duration
		wantAction whatsapp.Action
		recorded   bool
		fault      string
	}{
		{"5xx with Meta body is refused and not recorded", simulator.Faults{Error5xxShare: 1}, 2 * time.Second, whatsapp.ActionRetry, false, ""},
		{"dropped connection is outcome unknown and recorded", simulator.Faults{DropShare: 1}, 2 * time.Second, whatsapp.ActionUnknownOutcome, true, "drop"},
		{"slow answer beyond timeout is outcome unknown and recorded", simulator.Faults{SlowShare: 1, SlowDelay: time.Second}, 200 * time.Millisecond, whatsapp.ActionUnknownOutcome, true, "slow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, func(c *simulator.Config) { c.Faults = tt.faults })
			c := whatsapp.NewClient(whatsapp.Config{BaseURL: f.url, Token: "sim-token", PhoneNumberID: "1000000001", Timeout: tt.timeout})
			_, err := c.Send(context.Background(), helloWorld("15551234567", "once"))
			if got := whatsapp.ClassifyError(err).Action; got != tt.wantAction {
				t.Fatalf("action = %v, want %v (err %v)", got, tt.wantAction, err)
			}
			rec := f.sim.Received()
			if (len(rec) == 1) != tt.recorded {
				t.Fatalf("recorded = %d messages, want recorded=%v", len(rec), tt.recorded)
			}
			if tt.recorded && (rec[0].Fault != tt.fault || rec[0].BizOpaque != "once") {
				t.Errorf("record = %+v", rec[0])
			}
			// Turning faults off at runtime restores normal answers.
			if err := f.sim.SetFaults(simulator.Faults{}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.client.Send(context.Background(), helloWorld("15551234567", "twice")); err != nil {
				t.Errorf("send without faults: %v", err)
			}
		})
	}
}

func TestDuplicateSendsAreCounted(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	for i := 0; i < 2; i++ {
		if _, err := f.client.Send(context.Background(), helloWorld("15551234567", "same")); err != nil {
			t.Fatal(err)
		}
	}
	rec := f.sim.Received()
	if len(rec) != 2 || rec[0].Count != 1 || rec[1].Count != 2 || rec[0].WAMID == rec[1].WAMID {
		t.Errorf("records = %+v", rec)
	}
}

func TestDialErrorIsRetryable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := whatsapp.NewClient(whatsapp.Config{BaseURL: "http://" + addr, Token: "sim-token", PhoneNumberID: "1000000001", Timeout: time.Second})
	_, err = c.Send(context.Background(), helloWorld("15551234567", "x"))
	if !errors.Is(err, whatsapp.ErrNotSent) || whatsapp.ClassifyError(err).Action != whatsapp.ActionRetry {
		t.Fatalf("err = %v, want not-sent retry", err)
	}
}

func TestTemplateLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	ctx := context.Background()
	good := promoDef("https://herald.example.com")
	res, err := f.client.CreateTemplate(ctx, good)
	if err != nil || res.Status != whatsapp.StatusPending || res.Category != whatsapp.CategoryMarketing || res.ID == "" {
		t.Fatalf("create = %+v, %v", res, err)
	}
	bad := promoDef("https://herald.example.com")
	bad.Name = "bad_one"
	bad.Components[0].Text = "{{1}} gets {{2}}"
	badRes, err := f.client.CreateTemplate(ctx, bad)
	if err != nil || badRes.Status != whatsapp.StatusPending {
		t.Fatalf("create bad = %+v, %v", badRes, err)
	}
	f.idle(t)

	events := map[string]whatsapp.TemplateEvent{}
	for _, e := range f.recv.templateEvents() {
		events[e.MessageTemplateID.String()] = e
	}
	if e := events[res.ID]; e.Event != whatsapp.StatusApproved || e.MessageTemplateName != "flash_sale" || e.MessageTemplateLanguage != "en_US" {
		t.Errorf("approval event = %+v", e)
	}
	if e := events[badRes.ID]; e.Event != whatsapp.StatusRejected || e.Reason != "INVALID_FORMAT" || e.OtherInfo == nil || !strings.Contains(e.OtherInfo.Description, "cannot start") || !strings.Contains(e.OtherInfo.Description, "cannot end") {
		t.Errorf("rejection event = %+v", e)
	}
	got, err := f.client.GetTemplate(ctx, badRes.ID)
	if err != nil || got.Status != whatsapp.StatusRejected || got.RejectedReason != "INVALID_FORMAT" {
		t.Errorf("get rejected = %+v, %v", got, err)
	}
	got, err = f.client.GetTemplate(ctx, res.ID)
	if err != nil || got.Status != whatsapp.StatusApproved || got.Quality() != "UNKNOWN" || got.ParameterFormat != "POSITIONAL" || len(got.Components) != 2 {
		t.Errorf("get approved = %+v, %v", got, err)
	}
	if _, err := f.client.CreateTemplate(ctx, good); err == nil {
		t.Errorf("duplicate name and language accepted")
	}
	noName := good
	noName.Name = ""
	var me *whatsapp.Error
	if _, err := f.client.CreateTemplate(ctx, noName); !errors.As(err, &me) || me.Code != 100 {
		t.Errorf("template without name: %v", err)
	}
	// The approved template can now be sent.
	if _, err := f.client.Send(ctx, promoMessage("15551234567", "p1")); err != nil {
		t.Errorf("send approved template: %v", err)
	}
	if err := f.client.DeleteTemplate(ctx, "bad_one", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.client.DeleteTemplate(ctx, "bad_one", ""); !errors.As(err, &me) {
		t.Errorf("deleting a missing template: %v", err)
	}
	list, err := f.client.ListTemplates(ctx)
	if err != nil || len(list) != 2 {
		t.Errorf("list after delete = %d templates, %v", len(list), err)
	}
}

func TestListTemplatesPages(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	for i := 0; i < 130; i++ { // more than the client's page size of 100
		f.sim.AddTemplate(whatsapp.TemplateDefinition{Name: "t_" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)),
			Language: "en_US", Category: whatsapp.CategoryUtility,
			Components: []whatsapp.TemplateComponent{{Type: whatsapp.TemplateBody, Text: "Hello."}}}, whatsapp.StatusApproved)
	}
	list, err := f.client.ListTemplates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tpl := range list {
		seen[tpl.ID] = true
	}
	if len(list) != 131 || len(seen) != 131 {
		t.Errorf("listed %d templates (%d distinct), want 131", len(list), len(seen))
	}
}

func TestPhoneNumberInfo(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *simulator.Config) { c.MessagingLimitTier = "TIER_10K"; c.QualityRating = "YELLOW" })
	info, err := f.client.PhoneNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.DisplayPhoneNumber != "15550001111" || info.QualityRating != "YELLOW" || info.ThroughputLevel != "STANDARD" ||
		info.MessagingLimitTier != "TIER_10K" || info.MessagingLimit() != 10000 || info.VerifiedName == "" {
		t.Errorf("info = %+v", info)
	}
}

func TestDeterministicOutcomes(t *testing.T) {
	t.Parallel()
	cfg := simulator.DefaultConfig()
	cfg.Outcomes = simulator.Outcomes{NotOnWhatsApp: 0.2, MarketingCap: 0.1, Read: 0.5, TapQuickReply: 0.2, TapURL: 0.2, ReplyStop: 0.1}
	a, b := simulator.New(cfg), simulator.New(cfg)
	cfg.Seed = 2
	c := simulator.New(cfg)
	differ, notOn := 0, 0
	const n = 2000
	for i := 0; i < n; i++ {
		p := "5511" + strings.Repeat("9", 3) + string(rune('0'+i%10)) + string(rune('0'+(i/10)%10)) + string(rune('0'+(i/100)%10)) + string(rune('0'+(i/1000)%10))
		if a.OutcomeFor(p) != b.OutcomeFor(p) {
			t.Fatalf("same seed, different outcome for %s", p)
		}
		if a.OutcomeFor(p) != a.OutcomeFor("+"+p) {
			t.Fatalf("outcome depends on formatting for %s", p)
		}
		if a.OutcomeFor(p) != c.OutcomeFor(p) {
			differ++
		}
		if a.OutcomeFor(p).NotOnWhatsApp {
			notOn++
		}
	}
	if differ < n/10 {
		t.Errorf("a different seed changed only %d of %d outcomes", differ, n)
	}
	if share := float64(notOn) / n; share < 0.16 || share > 0.24 {
		t.Errorf("not-on-WhatsApp share = %.3f, want about 0.2", share)
	}
}

func TestRecipientOutcomesEndToEnd(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *simulator.Config) {
		c.Outcomes = simulator.Outcomes{NotOnWhatsApp: 0.2, MarketingCap: 0.2, Read: 0.8, TapQuickReply: 0.3, TapURL: 0.3, ReplyStop: 0.3}
	})
	f.sim.AddTemplate(promoDef(f.recv.srv.URL), whatsapp.StatusApproved)
	ctx := context.Background()
	send := func(m whatsapp.Message) string {
		t.Helper()
		res, err := f.client.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return res.MessageID
	}
	notOn := phoneWith(t, f.sim, func(o simulator.Outcome) bool { return o.NotOnWhatsApp })
	capped := phoneWith(t, f.sim, func(o simulator.Outcome) bool { return o.MarketingCap && !o.Read })
	qr := phoneWith(t, f.sim, func(o simulator.Outcome) bool {
		return !o.MarketingCap && o.Interaction == simulator.InteractionQuickReply
	})
	url := phoneWith(t, f.sim, func(o simulator.Outcome) bool { return !o.MarketingCap && o.Interaction == simulator.InteractionURL })
	stop := phoneWith(t, f.sim, func(o simulator.Outcome) bool { return !o.MarketingCap && o.Interaction == simulator.InteractionStop })
	unread := phoneWith(t, f.sim, func(o simulator.Outcome) bool { return !o.NotOnWhatsApp && !o.MarketingCap && !o.Read })

	wNotOn := send(promoMessage(notOn, "n1"))
	wCapped := send(promoMessage(capped, "c1"))
	wCappedUtility := send(helloWorld(capped, "c2"))
	wQR := send(promoMessage(qr, "q1"))
	wURL := send(promoMessage(url, "u1"))
	wStop := send(promoMessage(stop, "s1"))
	wUnread := send(promoMessage(unread, "r1"))
	f.idle(t)

	byID := map[string]whatsapp.StatusEvent{}
	for _, s := range f.recv.statuses() {
		if s.Status.Status == whatsapp.StatusFailed {
			byID[s.ID] = s
		}
	}
	if got := f.recv.statusesOf(wNotOn); strings.Join(got, ",") != "failed" || byID[wNotOn].ErrorCode() != 131026 {
		t.Errorf("not on WhatsApp: %v %+v", got, byID[wNotOn])
	}
	if got := f.recv.statusesOf(wCapped); strings.Join(got, ",") != "failed" || byID[wCapped].ErrorCode() != 131049 {
		t.Errorf("marketing cap: %v", got)
	}
	if got := f.recv.statusesOf(wCappedUtility); strings.Join(got, ",") != "sent,delivered" {
		t.Errorf("utility to a capped user: %v", got)
	}
	if got := f.recv.statusesOf(wUnread); strings.Join(got, ",") != "sent,delivered" {
		t.Errorf("unread: %v", got)
	}
	for _, w := range []string{wQR, wURL, wStop} {
		if got := f.recv.statusesOf(w); strings.Join(got, ",") != "sent,delivered,read" {
			t.Errorf("reader %s: %v", w, got)
		}
	}
	var sawQR, sawStop bool
	for _, m := range f.recv.messages() {
		switch {
		case m.Type == "button":
			sawQR = true
			if m.From != qr || m.Button.Payload != "STOP|q1" || m.Button.Text != "Stop promotions" || m.ReplyToID() != wQR || m.Context.From != "15550001111" {
				t.Errorf("quick reply = %+v", m)
			}
		case m.Type == "text":
			sawStop = true
			if m.From != stop || m.Text.Body != "STOP" || m.ReplyToID() != wStop {
				t.Errorf("stop reply = %+v", m)
			}
		}
	}
	if !sawQR || !sawStop {
		t.Errorf("quick reply seen %v, stop seen %v", sawQR, sawStop)
	}
	f.recv.mu.Lock()
	gets := append([]string(nil), f.recv.gets...)
	f.recv.mu.Unlock()
	if len(gets) != 1 || gets[0] != "/r/code-u1" {
		t.Errorf("tracked link GETs = %v, want [/r/code-u1]", gets)
	}
	taps := f.sim.URLTaps()
	if len(taps) != 1 || !taps[0].Fetched || taps[0].StatusCode != http.StatusFound || taps[0].WAMID != wURL {
		t.Errorf("taps = %+v", taps)
	}
}

func TestFreeFormNeedsServiceWindow(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	ctx := context.Background()
	text := whatsapp.Message{To: "15551234567", Text: &whatsapp.TextMessage{Body: "hi"}}
	res, err := f.client.Send(ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	if got := f.recv.statusesOf(res.MessageID); strings.Join(got, ",") != "failed" {
		t.Errorf("text outside window: %v", got)
	}
	if _, err := f.sim.InjectInbound("+1 555 123 4567", "Olá 👋 quero saber"); err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	res2, err := f.client.Send(ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	if got := f.recv.statusesOf(res2.MessageID); strings.Join(got, ",") != "sent,delivered" {
		t.Errorf("text inside window: %v", got)
	}
	for _, s := range f.recv.statuses() {
		if s.ID == res2.MessageID && s.Pricing != nil && s.Pricing.Category != "service" {
			t.Errorf("service pricing = %+v", s.Pricing)
		}
	}
	// Inbound text arrived, escaped like Meta (\uXXXX), and parses back intact.
	var found bool
	for _, m := range f.recv.messages() {
		if m.Type == "text" && m.From == "15551234567" {
			found = m.Text.Body == "Olá 👋 quero saber"
		}
	}
	f.recv.mu.Lock()
	escaped := false
	for _, raw := range f.recv.raw {
		if strings.Contains(string(raw), `Ol\u00e1 \ud83d\udc4b`) {
			escaped = true
		}
	}
	f.recv.mu.Unlock()
	if !found || !escaped {
		t.Errorf("inbound text found=%v escaped=%v", found, escaped)
	}
}

func TestWebhookRetriesOnNon200(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.recv.mu.Lock()
	f.recv.failFirst = 2
	f.recv.mu.Unlock()
	res, err := f.client.Send(context.Background(), helloWorld("15551234567", "r"))
	if err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	got := f.recv.statusesOf(res.MessageID)
	if len(got) != 2 {
		t.Errorf("statuses after retries = %v, want sent and delivered", got)
	}
	if st := f.sim.Stats(); st.WebhookFailures != 2 || st.WebhookDropped != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *simulator.Config) { c.WebhookMaxAttempts = 3; c.AppSecret = "other-secret" })
	// The receiver checks against the default secret, so every POST is refused with 401.
	f.recv.mu.Lock()
	f.recv.secret = "sim-app-secret"
	f.recv.mu.Unlock()
	if _, err := f.client.Send(context.Background(), helloWorld("15551234567", "x")); err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	f.recv.mu.Lock()
	bad := f.recv.badSig
	f.recv.mu.Unlock()
	if st := f.sim.Stats(); st.WebhookDropped == 0 || bad != st.WebhookPosts || st.WebhookPosts%3 != 0 {
		t.Errorf("stats = %+v, refused = %d", st, bad)
	}
}

func TestStatusesAreBatched(t *testing.T) {
	t.Parallel()
	cfg := simulator.DefaultConfig()
	cfg.TimeScale, cfg.Outcomes, cfg.MPS = 0, simulator.Outcomes{}, 0
	cfg.WebhookBatchSize = 4
	recv := newReceiver(t, cfg.AppSecret)
	cfg.WebhookURL = recv.srv.URL
	sim := simulator.New(cfg)
	srv := newHTTPTest(t, sim)
	c := whatsapp.NewClient(whatsapp.Config{BaseURL: srv, Token: cfg.Token, PhoneNumberID: cfg.PhoneNumberID})
	for i := 0; i < 5; i++ {
		if _, err := c.Send(context.Background(), helloWorld("1555123456"+string(rune('0'+i)), "b")); err != nil {
			t.Fatal(err)
		}
	}
	// The dispatcher starts after the sends, so all 10 statuses are due together.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim.Start(ctx)
	t.Cleanup(func() { _ = sim.Close() })
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := sim.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	var sizes []int
	total := 0
	for _, n := range recv.notes {
		sizes = append(sizes, len(n.Statuses()))
		total += len(n.Statuses())
	}
	if total != 10 || len(sizes) != 3 || sizes[0] != 4 || sizes[1] != 4 || sizes[2] != 2 {
		t.Errorf("batch sizes = %v (total %d), want [4 4 2]", sizes, total)
	}
}

func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	if _, err := f.client.Send(context.Background(), helloWorld("15551234567", "ctl")); err != nil {
		t.Fatal(err)
	}
	var msgs []simulator.Received
	getJSON(t, f.url+"/_sim/messages", &msgs)
	if len(msgs) != 1 || msgs[0].BizOpaque != "ctl" || len(msgs[0].Body) == 0 {
		t.Errorf("messages = %+v", msgs)
	}
	resp, err := http.Post(f.url+"/_sim/faults", "application/json", strings.NewReader(`{"drop_share":0.5,"slow_share":0.25,"slow_delay":"1500ms"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("set faults: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := f.sim.Faults(); got.DropShare != 0.5 || got.SlowShare != 0.25 || got.SlowDelay != 1500*time.Millisecond {
		t.Errorf("faults = %+v", got)
	}
	resp, err = http.Post(f.url+"/_sim/faults", "application/json", strings.NewReader(`{"drop_share":2}`))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("invalid share accepted: %v", resp.StatusCode)
	}
	resp.Body.Close()
	var tpls []whatsapp.Template
	getJSON(t, f.url+"/_sim/templates", &tpls)
	if len(tpls) != 1 || tpls[0].Name != "hello_world" || tpls[0].Status != whatsapp.StatusApproved || tpls[0].Category != whatsapp.CategoryUtility {
		t.Errorf("templates = %+v", tpls)
	}
	resp, err = http.Post(f.url+"/_sim/inbound", "application/json", strings.NewReader(`{"from":"15557654321","text":"STOP"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("inbound: %v", err)
	}
	resp.Body.Close()
	f.idle(t)
	var stop bool
	for _, m := range f.recv.messages() {
		stop = stop || (m.From == "15557654321" && m.Text != nil && m.Text.Body == "STOP")
	}
	if !stop {
		t.Errorf("injected STOP not delivered")
	}
	resp, err = http.Post(f.url+"/_sim/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	getJSON(t, f.url+"/_sim/messages", &msgs)
	if len(msgs) != 0 {
		t.Errorf("messages after reset = %d", len(msgs))
	}
}

func TestUserPreferenceInjection(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	if err := f.sim.InjectUserPreference("15551234567", "stop"); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.InjectUserPreference("15551234567", "maybe"); err == nil {
		t.Errorf("invalid value accepted")
	}
	f.idle(t)
	f.recv.mu.Lock()
	defer f.recv.mu.Unlock()
	var prefs []whatsapp.UserPreferenceEvent
	for _, n := range f.recv.notes {
		prefs = append(prefs, n.UserPreferences()...)
	}
	if len(prefs) != 1 || prefs[0].Value != "stop" || prefs[0].WAID != "15551234567" {
		t.Errorf("prefs = %+v", prefs)
	}
}

func TestStoppedMarketingFails131050(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.sim.AddTemplate(promoDef("http://127.0.0.1:1"), whatsapp.StatusApproved)
	ctx := context.Background()
	if err := f.sim.InjectUserPreference("15551234567", "stop"); err != nil {
		t.Fatal(err)
	}
	marketing, err := f.client.Send(ctx, promoMessage("15551234567", "m"))
	if err != nil {
		t.Fatal(err)
	}
	utility, err := f.client.Send(ctx, helloWorld("15551234567", "u"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.sim.InjectUserPreference("15551234567", "resume"); err != nil {
		t.Fatal(err)
	}
	resumed, err := f.client.Send(ctx, promoMessage("15551234567", "m2"))
	if err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	var code int
	for _, s := range f.recv.statuses() {
		if s.ID == marketing.MessageID {
			code = s.ErrorCode()
		}
	}
	if code != 131050 || whatsapp.Classify(code).Action != whatsapp.ActionSuppressMarketing {
		t.Errorf("marketing after stop failed with %d", code)
	}
	if got := f.recv.statusesOf(utility.MessageID); strings.Join(got, ",") != "sent,delivered" {
		t.Errorf("utility after stop: %v", got)
	}
	if got := f.recv.statusesOf(resumed.MessageID); strings.Join(got, ",") != "sent,delivered" {
		t.Errorf("marketing after resume: %v", got)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestTemplateQualityDropPausesTemplate(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	id := f.sim.AddTemplate(promoDef("http://127.0.0.1:1"), whatsapp.StatusApproved)
	if err := f.sim.SetTemplateQuality(id, "RED"); err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	var quality, paused bool
	for _, e := range f.recv.templateEvents() {
		quality = quality || (e.Field == whatsapp.FieldMessageTemplateQualityUpdate && e.NewQualityScore == "RED" && e.PreviousQualityScore == "UNKNOWN" && e.MessageTemplateID.String() == id)
		paused = paused || (e.Field == whatsapp.FieldMessageTemplateStatusUpdate && e.Event == whatsapp.StatusPaused)
	}
	if !quality || !paused {
		t.Errorf("quality event %v, paused event %v", quality, paused)
	}
	_, err := f.client.Send(context.Background(), promoMessage("15551234567", "x"))
	if whatsapp.ClassifyError(err).Action != whatsapp.ActionPauseTemplate {
		t.Errorf("send to paused template: %v", err)
	}
	if err := f.sim.SetTemplateStatus(id, whatsapp.StatusApproved, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Send(context.Background(), promoMessage("15551234567", "x")); err != nil {
		t.Errorf("send after the pause ended: %v", err)
	}
}
