package handlers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
)

func TestOTPIsSentThenScrubbed(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{engine: true})
	e.approvedTemplate(otpTemplate("login_code"))
	k := e.key(models.RoleMarketer)
	const code = "482913"
	res := e.call(k, http.MethodPost, "/api/v1/messages", map[string]any{"to": "+5511955554444", "template": "login_code",
		"language": "en_US", "params": []any{code}, "transactional_consent": true})
	if res.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", res.status, res.raw)
	}
	id := res.id()
	rec, ok := e.waitReceived(id, 10*time.Second)
	if !ok {
		got := e.call(k, http.MethodGet, "/api/v1/messages/"+itoa(id), nil)
		t.Fatalf("OTP not sent: %s", got.raw)
	}
	if len(rec.BodyParams) != 1 || rec.BodyParams[0] != code {
		t.Fatalf("simulator got body %v, want the code", rec.BodyParams)
	}
	if len(rec.Buttons) != 1 || !strings.Contains(fmt.Sprint(rec.Buttons[0]), code) {
		t.Fatalf("simulator got buttons %+v, want the code in the OTP button", rec.Buttons)
	}
	// Once sent, nothing stored or shown holds the code.
	deadline := time.Now().Add(5 * time.Second)
	for e.countMessages("id = ? AND secret_enc IS NOT NULL", id) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := e.countMessages("id = ? AND secret_enc IS NOT NULL", id); n != 0 {
		t.Fatal("the sealed code is still stored after sending")
	}
	var params string
	e.store.DB(context.Background()).Raw("SELECT params FROM messages WHERE id = ?", id).Scan(&params)
	if strings.Contains(params, code) || !strings.Contains(params, templating.Masked) {
		t.Fatalf("stored params %s", params)
	}
	if got := e.call(k, http.MethodGet, "/api/v1/messages/"+itoa(id), nil); strings.Contains(got.raw, code) {
		t.Fatalf("GET shows the code: %s", got.raw)
	}
	ui := e.user(models.RoleAdmin)
	for _, path := range []string{"/transactional", "/transactional/" + itoa(id)} {
		r := ui.get(path)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != http.StatusOK || strings.Contains(string(body), code) {
			t.Fatalf("%s: %d, shows code: %v", path, r.StatusCode, strings.Contains(string(body), code))
		}
	}
	var consent bool
	e.store.DB(context.Background()).Raw("SELECT transactional_opt_in FROM contacts WHERE phone = ?", "+5511955554444").Scan(&consent)
	if !consent {
		t.Fatal("transactional consent not recorded")
	}
}

func TestOTPExpiresUnsent(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{}) // no workers: the message waits
	e.approvedTemplate(otpTemplate("login_code"))
	k := e.key(models.RoleMarketer)
	res := e.call(k, http.MethodPost, "/api/v1/messages", map[string]any{"to": "+5511955553333", "template": "login_code",
		"language": "en_US", "params": map[string]any{"code": "777111"}, "expires_in_seconds": 1})
	if res.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", res.status, res.raw)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := e.engine.PriorityRound(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := e.call(k, http.MethodGet, "/api/v1/messages/"+itoa(res.id()), nil)
	if got.body["status"] != "expired" || got.body["error"] == nil {
		t.Fatalf("GET after expiry: %s", got.raw)
	}
	if len(e.sim.Received()) != 0 {
		t.Fatal("an expired OTP was sent")
	}
	if n := e.countMessages("secret_enc IS NOT NULL"); n != 0 {
		t.Fatal("an expired OTP's code is still stored")
	}
}

func TestTransactionalBypassesQuietHoursAndFrequencyCap(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{})
	ctx := context.Background()
	rules := models.DefaultDeliveryRules()
	rules.QuietStart, rules.QuietEnd = "00:00", "23:59"
	rules.FrequencyCapCount, rules.FrequencyCapDays = 1, 7
	if err := e.store.PutSetting(ctx, models.DeliveryRulesKey, rules); err != nil {
		t.Fatal(err)
	}
	promo := templating.Template{Name: "back_in_stock", Language: "en_US", Category: templating.CategoryMarketing, Body: "It is back: {{1}}.",
		Variables: templating.Variables{Body: []templating.VariableMapping{{Example: "shoes"}}}}
	tmplID := e.approvedTemplate(promo)
	// No marketing consent, and the cap is already used up this week.
	contactID := e.addContact("+5511944443333", "reachable", false)
	now := time.Now().UTC()
	if err := e.store.DB(ctx).Exec(`INSERT INTO messages (contact_id, template_id, to_phone, category, status, send_after, sent_at, created_at, updated_at)
		VALUES (?, ?, ?, 'MARKETING', 'sent', ?, ?, ?, ?)`, contactID, tmplID, "+5511944443333", now.Add(-time.Hour), now.Add(-time.Hour), now, now).Error; err != nil {
		t.Fatal(err)
	}
	// A broadcast-lane message to the same contact is held back by the cap…
	if err := e.store.DB(ctx).Exec(`INSERT INTO messages (contact_id, template_id, to_phone, category, status, send_after, created_at, updated_at)
		VALUES (?, ?, ?, 'MARKETING', 'pending', ?, ?, ?)`, contactID, tmplID, "+5511944443333", now, now, now).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.SendRound(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.countMessages("priority = 0 AND status = 'skipped' AND status_reason = ?", models.SkipFrequencyCapped); n != 1 {
		t.Fatalf("control: the broadcast-lane message was not capped (%d)", n)
	}
	// …the API message is not.
	res := e.call(e.key(models.RoleMarketer), http.MethodPost, "/api/v1/messages", map[string]any{"to": "+5511944443333",
		"template": "back_in_stock", "language": "en_US", "params": []any{"the red shoes"}})
	if res.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", res.status, res.raw)
	}
	if _, err := e.engine.PriorityRound(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.waitStatus(res.id(), models.MessageSent, 5*time.Second) {
		var st, reason string
		e.store.DB(ctx).Raw("SELECT status || ' ' || status_reason FROM messages WHERE id = ?", res.id()).Scan(&st)
		t.Fatalf("transactional message not sent: %s %s", st, reason)
	}
}

func TestSignedCallbacksWithRetries(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{engine: true})
	e.approvedTemplate(orderTemplate("order_shipped"))
	secret := []byte(hex.EncodeToString(e.cfg.Key("callbacks")))
	var mu sync.Mutex
	var got []map[string]any
	calls := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		if r.Header.Get("X-Herald-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("bad signature %q", r.Header.Get("X-Herald-Signature-256"))
		}
		if calls <= 2 { // the receiver is down at first
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		got = append(got, p)
	}))
	t.Cleanup(recv.Close)
	k := e.key(models.RoleMarketer)
	res := e.call(k, http.MethodPost, "/api/v1/messages", map[string]any{"to": "+5511933332222", "template": "order_shipped",
		"language": "en_US", "params": []any{"D-4", "Sunday"}, "callback_url": recv.URL + "/hook", "idempotency_key": "cb-1"})
	if res.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", res.status, res.raw)
	}
	rec, ok := e.waitReceived(res.id(), 10*time.Second)
	if !ok || !e.waitStatus(res.id(), models.MessageSent, 5*time.Second) {
		t.Fatal("not sent")
	}
	if _, err := e.store.ApplyStatusUpdates(context.Background(), []models.StatusUpdate{{WAMID: rec.WAMID, Status: models.MessageDelivered, Timestamp: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	cb := jobs.NewCallbacks(e.store, jobs.CallbackConfig{Secret: handlers.CallbackSecret(e.cfg), BaseDelay: 20 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
	statuses := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, p := range got {
			out = append(out, p["status"].(string))
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(statuses()) < 3 && time.Now().Before(deadline) {
		if _, err := cb.Round(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	want := map[string]bool{"queued": true, "sent": true, "delivered": true}
	if s := statuses(); len(s) != 3 || !want[s[0]] || !want[s[1]] || !want[s[2]] {
		t.Fatalf("callbacks received %v, want queued, sent, delivered once each", s)
	}
	for _, p := range got {
		if int64(p["id"].(float64)) != res.id() || p["idempotency_key"] != "cb-1" {
			t.Fatalf("payload %v", p)
		}
	}
	dels, err := e.store.MessageCallbacks(context.Background(), res.id())
	if err != nil {
		t.Fatal(err)
	}
	retried := 0
	for _, d := range dels {
		if !d.DeliveredAt.Valid {
			t.Fatalf("delivery %d (%s) not marked delivered", d.ID, d.Event)
		}
		retried += d.Attempts - 1
	}
	if retried != 2 {
		t.Fatalf("%d retries recorded, want 2 (the receiver failed twice)", retried)
	}
}

func TestCallbackGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{})
	e.approvedTemplate(orderTemplate("order_shipped"))
	var mu sync.Mutex
	calls := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	t.Cleanup(recv.Close)
	res := e.call(e.key(models.RoleMarketer), http.MethodPost, "/api/v1/messages", map[string]any{"to": "+5511933331111",
		"template": "order_shipped", "language": "en_US", "params": []any{"E-5", "Monday"}, "callback_url": recv.URL})
	if res.status != http.StatusAccepted {
		t.Fatalf("send: %d", res.status)
	}
	cb := jobs.NewCallbacks(e.store, jobs.CallbackConfig{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})
	for range 20 {
		if _, err := cb.Round(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	dels, _ := e.store.MessageCallbacks(context.Background(), res.id())
	if len(dels) != 1 || dels[0].Attempts != 3 || !dels[0].FailedAt.Valid || dels[0].LastStatus != 500 {
		t.Fatalf("deliveries %+v, want one given up after 3 attempts", dels)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 {
		t.Fatalf("receiver called %d times, want 3", calls)
	}
}
