package reliability

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp"
)

// statusBody is a Cloud API status notification for some messages.
func statusBody(statuses ...string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":` +
		`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1000000001"},"statuses":[` +
		strings.Join(statuses, ",") + `]}}]}]}`)
}

func status(wamid, st string, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"5511900000001"}`, wamid, st, at.Unix())
}

// TestHostileWebhooks proves: replayed, reordered and duplicated status
// webhooks leave each message in its furthest state with counters equal
// to a recount; forged, oversized and malformed bodies are refused or
// dropped without a panic and change nothing.
func TestHostileWebhooks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 6)
	ctx := context.Background()
	w.launch()
	cfg := w.sim.Config()
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: w.simURL, Token: cfg.Token, PhoneNumberID: cfg.PhoneNumberID, WABAID: cfg.WABAID})
	engine := jobs.NewEngine(w.store, jobs.StaticSenders{Client: client}, "test", jobs.EngineConfig{Unthrottled: true})
	if err := engine.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var msgs []struct {
		ID    int64
		WAMID string `gorm:"column:wamid"`
	}
	w.store.DB(ctx).Raw("SELECT id, wamid FROM messages WHERE campaign_id = ? ORDER BY id", w.campaign.ID).Scan(&msgs)
	if len(msgs) != 6 {
		t.Fatalf("%d messages sent", len(msgs))
	}
	site := newWeb(t, w.store, "")
	secret := site.cfg.WhatsApp.AppSecret
	post := func(body []byte, signature string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, site.srv.URL+"/webhooks/whatsapp", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if signature != "" {
			req.Header.Set("X-Hub-Signature-256", signature)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	signed := func(body []byte) int { return post(body, whatsapp.Sign(body, secret)) }
	t0 := time.Now().Add(-time.Minute)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	cases := []struct {
		name string
		send func() []int
		want []int // HTTP statuses
	}{
		{"reordered: read arrives before delivered and sent", func() []int {
			return []int{signed(statusBody(status(msgs[0].WAMID, "read", at(3)))),
				signed(statusBody(status(msgs[0].WAMID, "delivered", at(2)), status(msgs[0].WAMID, "sent", at(1))))}
		}, []int{200, 200}},
		{"duplicated: the same delivered twice in one body and once more", func() []int {
			b := statusBody(status(msgs[1].WAMID, "delivered", at(2)), status(msgs[1].WAMID, "delivered", at(2)))
			return []int{signed(b), signed(b)}
		}, []int{200, 200}},
		{"replayed: an old delivered after read", func() []int {
			return []int{signed(statusBody(status(msgs[2].WAMID, "read", at(5)))), signed(statusBody(status(msgs[2].WAMID, "delivered", at(2))))}
		}, []int{200, 200}},
		{"failed after read is ignored", func() []int {
			return []int{signed(statusBody(status(msgs[3].WAMID, "read", at(5)))),
				signed(statusBody(fmt.Sprintf(`{"id":%q,"status":"failed","timestamp":"%d","recipient_id":"1","errors":[{"code":131000,"title":"x"}]}`,
					msgs[3].WAMID, at(9).Unix())))}
		}, []int{200, 200}},
		{"forged: wrong secret, no signature, signature of another body", func() []int {
			b := statusBody(status(msgs[4].WAMID, "read", at(9)))
			return []int{post(b, whatsapp.Sign(b, "not-the-secret")), post(b, ""), post(b, whatsapp.Sign([]byte("{}"), secret))}
		}, []int{401, 401, 401}},
		{"oversized: 5 MB signed body", func() []int {
			big := bytes.Repeat([]byte(" "), 5<<20)
			return []int{signed(big)}
		}, []int{413}},
		{"malformed: signed junk, truncated JSON, wrong types, unknown wamid", func() []int {
			return []int{signed([]byte("not json")), signed(statusBody(status(msgs[5].WAMID, "read", at(1)))[:60]),
				signed([]byte(`{"entry":[{"changes":[{"value":{"statuses":[{"id":5,"status":["x"]}]}}]}]}`)),
				signed(statusBody(status("wamid.unknown", "read", at(1))))}
		}, []int{200, 200, 200, 200}},
	}
	for _, c := range cases {
		got := c.send()
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: HTTP %v, want %v", c.name, got, c.want)
		}
	}
	applier := jobs.NewWebhookApplier(w.store, slog.New(slog.DiscardHandler))
	for range 20 {
		more, err := applier.Round(ctx)
		if err != nil {
			t.Logf("applier round: %v", err) // a bad body may fail; it must not panic or block the rest
		}
		if !more {
			break
		}
	}
	want := []string{models.MessageRead, models.MessageDelivered, models.MessageRead, models.MessageRead, models.MessageSent, models.MessageSent}
	for i, m := range msgs {
		var st string
		w.store.DB(ctx).Raw("SELECT status FROM messages WHERE id = ?", m.ID).Scan(&st)
		if st != want[i] {
			t.Errorf("message %d: %s, want %s", i, st, want[i])
		}
	}
	kept, _ := w.store.CampaignStats(ctx, w.campaign.ID)
	recount, _ := w.store.RecountCampaignStats(ctx, w.campaign.ID)
	kept.Revenue, kept.Cost = 0, 0
	if kept != recount {
		t.Errorf("counters drifted:\nkept    %+v\nrecount %+v", kept, recount)
	}
	if kept.Delivered != 4 || kept.Read != 3 {
		t.Errorf("funnel delivered %d read %d, want 4 and 3", kept.Delivered, kept.Read)
	}
}

// FuzzWebhookParse: no body makes the webhook parser panic. The seed
// corpus runs with `go test`; `make test-reliability` fuzzes it for a
// fixed time.
func FuzzWebhookParse(f *testing.F) {
	f.Add(statusBody(status("wamid.A", "delivered", time.Unix(1700000000, 0))))
	f.Add([]byte(`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","type":"button","button":{"payload":"x"}}]}}]}]}`))
	f.Add([]byte(`{"entry":[{"changes":[{"field":"message_template_status_update","value":{"event":"APPROVED"}}]}]}`))
	f.Add([]byte(`{"entry":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = whatsapp.ParseWebhook(body)
	})
}
