package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/testdb"
)

func TestAPIMessageValidationQueuesNothing(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{})
	e.approvedTemplate(orderTemplate("order_shipped"))
	e.storeTemplate(orderTemplate("order_pending_review"), models.TemplatePending)
	named := templating.Template{Name: "named_order", Language: "en_US", Category: templating.CategoryUtility, ParameterFormat: "NAMED",
		Body:      "Hi {{name}}, order {{order}} is ready.",
		Variables: templating.Variables{Body: []templating.VariableMapping{{Name: "name", Example: "Ana"}, {Name: "order", Example: "A1"}}}}
	e.approvedTemplate(named)
	track := templating.Template{Name: "track_order", Language: "en_US", Category: templating.CategoryUtility, Body: "Your parcel is on its way.",
		Buttons: []templating.Button{{Type: templating.ButtonURL, Text: "Track", URL: "https://shop.example.com/t/{{1}}", Example: "X1"}}}
	e.approvedTemplate(track)
	e.approvedTemplate(otpTemplate("login_code"))
	e.addContact("+5511999990001", "opted_out", false)
	e.addContact("+5511999990002", "blocked", false)
	e.addContact("+5511999990003", "unreachable", false)
	k := e.key(models.RoleMarketer)
	ok := func(edit func(map[string]any)) map[string]any {
		b := map[string]any{"to": "+5511988887777", "template": "order_shipped", "language": "en_US", "params": []any{"A-1", "Monday"}}
		if edit != nil {
			edit(b)
		}
		return b
	}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"not JSON", "{nope", http.StatusBadRequest, "invalid_json", ""},
		{"unknown field", `{"to": "+5511988887777", "tmpl": "x"}`, http.StatusBadRequest, "invalid_json", ""},
		{"missing everything", map[string]any{}, http.StatusUnprocessableEntity, "validation_failed", "template"},
		{"bad phone", ok(func(b map[string]any) { b["to"] = "5.51199E+12" }), http.StatusUnprocessableEntity, "validation_failed", "to"},
		{"no language", ok(func(b map[string]any) { delete(b, "language") }), http.StatusUnprocessableEntity, "validation_failed", "language"},
		{"bad callback", ok(func(b map[string]any) { b["callback_url"] = "ftp://x" }), http.StatusUnprocessableEntity, "validation_failed", "callback_url"},
		{"bad expiry", ok(func(b map[string]any) { b["expires_in_seconds"] = 0 }), http.StatusUnprocessableEntity, "validation_failed", "expires_in_seconds"},
		{"expired window", ok(func(b map[string]any) { b["expires_at"] = time.Now().Add(-time.Minute).Format(time.RFC3339) }), http.StatusUnprocessableEntity, "expired", "expires_at"},
		{"unknown template", ok(func(b map[string]any) { b["template"] = "nope" }), http.StatusNotFound, "template_not_found", "template"},
		{"unknown language", ok(func(b map[string]any) { b["language"] = "pt_BR" }), http.StatusNotFound, "template_not_found", "template"},
		{"not approved", ok(func(b map[string]any) { b["template"] = "order_pending_review" }), http.StatusConflict, "template_not_approved", "template"},
		{"too few params", ok(func(b map[string]any) { b["params"] = []any{"A-1"} }), http.StatusUnprocessableEntity, "wrong_parameters", "params"},
		{"too many params", ok(func(b map[string]any) { b["params"] = []any{"A-1", "Mon", "x"} }), http.StatusUnprocessableEntity, "wrong_parameters", "params"},
		{"no params", ok(func(b map[string]any) { delete(b, "params") }), http.StatusUnprocessableEntity, "wrong_parameters", "params"},
		{"empty param", ok(func(b map[string]any) { b["params"] = []any{"A-1", " "} }), http.StatusUnprocessableEntity, "wrong_parameters", "params.1"},
		{"unknown named param", ok(func(b map[string]any) {
			b["template"], b["params"] = "named_order", map[string]any{"name": "Ana", "ordr": "A1"}
		}), http.StatusUnprocessableEntity, "wrong_parameters", "params.ordr"},
		{"header on headless template", ok(func(b map[string]any) { b["header"] = "Hi" }), http.StatusUnprocessableEntity, "wrong_parameters", "header"},
		{"button value missing", ok(func(b map[string]any) { b["template"], b["params"] = "track_order", nil }), http.StatusUnprocessableEntity, "wrong_parameters", "buttons.0"},
		{"OTP without code", ok(func(b map[string]any) { b["template"], b["params"] = "login_code", []any{} }), http.StatusUnprocessableEntity, "wrong_parameters", "params"},
		{"OTP code too long", ok(func(b map[string]any) { b["template"], b["params"] = "login_code", []any{"1234567890123456"} }), http.StatusUnprocessableEntity, "wrong_parameters", "params"},
		{"opted out", ok(func(b map[string]any) { b["to"] = "+5511999990001" }), http.StatusConflict, "contact_unreachable", "to"},
		{"blocked", ok(func(b map[string]any) { b["to"] = "+5511999990002" }), http.StatusConflict, "contact_unreachable", "to"},
		{"unreachable", ok(func(b map[string]any) { b["to"] = "+5511999990003" }), http.StatusConflict, "contact_unreachable", "to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.call(k, http.MethodPost, "/api/v1/messages", tt.body)
			if res.status != tt.status || res.errCode() != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", res.status, res.errCode(), tt.status, tt.code, res.raw)
			}
			if tt.field != "" {
				if _, ok := res.fields()[tt.field]; !ok {
					t.Errorf("fields %v lack %q", res.fields(), tt.field)
				}
			}
		})
	}
	if n := e.countMessages("1 = 1"); n != 0 {
		t.Fatalf("refused calls queued %d messages", n)
	}
	// The valid call goes through, and a viewer key may not send.
	if res := e.call(k, http.MethodPost, "/api/v1/messages", ok(nil)); res.status != http.StatusAccepted || res.body["status"] != "queued" {
		t.Fatalf("valid call: %d %s", res.status, res.raw)
	}
	if res := e.call(e.key(models.RoleViewer), http.MethodPost, "/api/v1/messages", ok(nil)); res.status != http.StatusForbidden {
		t.Fatalf("viewer key: %d %s", res.status, res.raw)
	}
}

func TestAPIMessageSenderStopped(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{})
	e.approvedTemplate(orderTemplate("order_shipped"))
	ctx := context.Background()
	snd, err := e.store.SaveSender(ctx, models.SenderInput{Name: "main", PhoneNumberID: e.sim.Config().PhoneNumberID, WABAID: e.sim.Config().WABAID,
		Credentials: models.SenderCredentials{Token: "t"}, IsDefault: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetSenderStatus(ctx, snd.ID, models.SenderStopped, "account restricted"); err != nil {
		t.Fatal(err)
	}
	res := e.call(e.key(models.RoleMarketer), http.MethodPost, "/api/v1/messages",
		map[string]any{"to": "+5511988887777", "template": "order_shipped", "language": "en_US", "params": []any{"A-1", "Monday"}})
	if res.status != http.StatusServiceUnavailable || res.errCode() != "sender_stopped" {
		t.Fatalf("got %d %s", res.status, res.raw)
	}
	if n := e.countMessages("1 = 1"); n != 0 {
		t.Fatalf("queued %d messages through a stopped sender", n)
	}
}

func TestAPIMessageIdempotencySequential(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{})
	e.approvedTemplate(orderTemplate("order_shipped"))
	k, other := e.key(models.RoleMarketer), e.key(models.RoleMarketer)
	body := map[string]any{"to": "+5511988887777", "template": "order_shipped", "language": "en_US", "params": []any{"A-1", "Monday"},
		"idempotency_key": "order-A-1"}
	first := e.call(k, http.MethodPost, "/api/v1/messages", body)
	if first.status != http.StatusAccepted {
		t.Fatalf("first: %d %s", first.status, first.raw)
	}
	again := e.call(k, http.MethodPost, "/api/v1/messages", body)
	if again.status != http.StatusOK || again.id() != first.id() || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d %s, want 200 with id %d", again.status, again.raw, first.id())
	}
	// The key is scoped to the API key: another key's same value is new.
	third := e.call(other, http.MethodPost, "/api/v1/messages", body)
	if third.status != http.StatusAccepted || third.id() == first.id() {
		t.Fatalf("other key: %d %s", third.status, third.raw)
	}
	if n := e.countMessages("idempotency_key = ?", "order-A-1"); n != 2 {
		t.Fatalf("%d ledger rows for the key, want 2 (one per API key)", n)
	}
	// After the 24 h window the key names a new message.
	e.store.DB(context.Background()).Exec("UPDATE messages SET created_at = ? WHERE id = ?", time.Now().UTC().Add(-25*time.Hour), first.id())
	late := e.call(k, http.MethodPost, "/api/v1/messages", body)
	if late.status != http.StatusAccepted || late.id() == first.id() {
		t.Fatalf("after the window: %d %s", late.status, late.raw)
	}
}

func TestAPIMessageConcurrentDuplicatesSendOnce(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			e := setupTx(t, db, txOptions{engine: true})
			e.approvedTemplate(orderTemplate("order_shipped"))
			k := e.key(models.RoleMarketer)
			body := map[string]any{"to": "+5511977776666", "template": "order_shipped", "language": "en_US",
				"params": []any{"B-7", "Friday"}, "idempotency_key": "dup-B-7"}
			const n = 20
			results := make([]apiResult, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i] = e.call(k, http.MethodPost, "/api/v1/messages", body)
				}()
			}
			close(start)
			wg.Wait()
			accepted := 0
			for _, r := range results {
				switch r.status {
				case http.StatusAccepted:
					accepted++
				case http.StatusOK:
				default:
					t.Fatalf("duplicate answered %d: %s", r.status, r.raw)
				}
				if r.id() != results[0].id() {
					t.Fatalf("ids differ: %d vs %d", r.id(), results[0].id())
				}
			}
			if accepted != 1 {
				t.Fatalf("%d calls answered 202, want exactly 1", accepted)
			}
			if c := e.countMessages("idempotency_key = ?", "dup-B-7"); c != 1 {
				t.Fatalf("%d ledger rows, want 1", c)
			}
			if _, ok := e.waitReceived(results[0].id(), 10*time.Second); !ok {
				t.Fatal("the message never reached the simulator")
			}
			time.Sleep(300 * time.Millisecond) // room for a wrong second send
			sends := 0
			for _, r := range e.sim.Received() {
				if r.To == "+5511977776666" || r.WAID == "5511977776666" {
					sends++
				}
			}
			if sends != 1 {
				t.Fatalf("the simulator received %d sends, want 1", sends)
			}
		})
	}
}

func TestAPIMessageHistoryAndVisibility(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{engine: true})
	e.approvedTemplate(orderTemplate("order_shipped"))
	k := e.key(models.RoleMarketer)
	res := e.call(k, http.MethodPost, "/api/v1/messages", map[string]any{"to": "+5511966665555", "template": "order_shipped",
		"language": "en_US", "params": []any{"C-3", "today"}})
	id := res.id()
	rec, ok := e.waitReceived(id, 10*time.Second)
	if !ok {
		t.Fatal("not sent")
	}
	if strings.Join(rec.BodyParams, "|") != "C-3|today" {
		t.Fatalf("simulator got body params %v", rec.BodyParams)
	}
	if !e.waitStatus(id, models.MessageSent, 5*time.Second) {
		t.Fatal("never marked sent")
	}
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := e.store.ApplyStatusUpdates(ctx, []models.StatusUpdate{
		{WAMID: rec.WAMID, Status: models.MessageDelivered, Timestamp: now.Add(time.Second)},
		{WAMID: rec.WAMID, Status: models.MessageRead, Timestamp: now.Add(2 * time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	got := e.call(k, http.MethodGet, "/api/v1/messages/"+itoa(id), nil)
	if got.status != http.StatusOK || got.body["status"] != "read" || got.body["to"] != "+5511966665555" || got.body["template"] != "order_shipped" {
		t.Fatalf("GET: %d %s", got.status, got.raw)
	}
	var steps []string
	for _, h := range got.body["history"].([]any) {
		steps = append(steps, h.(map[string]any)["status"].(string))
	}
	if strings.Join(steps, ",") != "queued,sent,delivered,read" {
		t.Fatalf("history %v", steps)
	}
	if r := e.call(e.key(models.RoleMarketer), http.MethodGet, "/api/v1/messages/"+itoa(id), nil); r.status != http.StatusNotFound {
		t.Fatalf("another marketer key saw the message: %d", r.status)
	}
	if r := e.call(e.key(models.RoleAdmin), http.MethodGet, "/api/v1/messages/"+itoa(id), nil); r.status != http.StatusOK {
		t.Fatalf("admin key: %d", r.status)
	}
}

func TestAPIRateLimit(t *testing.T) {
	t.Parallel()
	e := setupTx(t, testdb.SQLite(t), txOptions{apiRate: 1, apiBurst: 2})
	k, other := e.key(models.RoleViewer), e.key(models.RoleViewer)
	for i := range 2 {
		if r := e.call(k, http.MethodGet, "/api/v1/me", nil); r.status != http.StatusOK {
			t.Fatalf("call %d: %d", i, r.status)
		}
	}
	r := e.call(k, http.MethodGet, "/api/v1/me", nil)
	if r.status != http.StatusTooManyRequests || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("third call: %d %s (Retry-After %q)", r.status, r.raw, r.header.Get("Retry-After"))
	}
	if r := e.call(other, http.MethodGet, "/api/v1/me", nil); r.status != http.StatusOK {
		t.Fatalf("another key was limited too: %d", r.status)
	}
}
