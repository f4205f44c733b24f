package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/whatsapp"
)

const statusBody = `{"object":"whatsapp_business_account","entry":[{"id":"2000000001","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"1000000001"},"statuses":[{"id":"wamid.X","status":"delivered","timestamp":"1767225600","recipient_id":"5511987654321"}]}}]}]}`

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		signature  string
		body       string
		wantStatus int
		wantStored int
	}{
		{"signed with the app secret", whatsapp.Sign([]byte(statusBody), config.SimAppSecret), statusBody, http.StatusOK, 1},
		{"no signature", "", statusBody, http.StatusUnauthorized, 0},
		{"signed with another secret", whatsapp.Sign([]byte(statusBody), "someone-else"), statusBody, http.StatusUnauthorized, 0},
		{"signature of another body", whatsapp.Sign([]byte(statusBody+" "), config.SimAppSecret), statusBody, http.StatusUnauthorized, 0},
		{"oversized", whatsapp.Sign([]byte(strings.Repeat("x", 5<<20)), config.SimAppSecret), strings.Repeat("x", 5<<20), http.StatusRequestEntityTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/webhooks/whatsapp", bytes.NewBufferString(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.signature != "" {
				req.Header.Set("X-Hub-Signature-256", tt.signature)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			stored, err := e.store.ClaimWebhooks(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != tt.wantStored {
				t.Fatalf("stored %d bodies, want %d", len(stored), tt.wantStored)
			}
			if tt.wantStored == 1 && string(stored[0].Body) != tt.body {
				t.Fatalf("stored body differs from the raw body")
			}
		})
	}
}

func TestWebhookVerificationHandshake(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		token      string
		wantStatus int
		wantBody   string
	}{
		{config.SimVerifyToken, http.StatusOK, "challenge-123"},
		{"wrong", http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {tt.token}, "hub.challenge": {"challenge-123"}}
		res, err := http.Get(e.srv.URL + "/webhooks/whatsapp?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.wantStatus || (tt.wantBody != "" && string(body) != tt.wantBody) {
			t.Errorf("token %q: %d %q, want %d %q", tt.token, res.StatusCode, body, tt.wantStatus, tt.wantBody)
		}
	}
}
