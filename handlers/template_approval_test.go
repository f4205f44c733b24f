package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// TestTemplateApprovalRoundTrip submits a template from the UI to the
// simulator, which reviews it and calls Herald's webhook; the webhook
// applier then marks it APPROVED. (A template Meta would reject cannot be
// submitted from Herald at all; the applier's REJECTED handling is tested
// in jobs.)
func TestTemplateApprovalRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantStatus string
	}{
		{"approved", "Hi {{1}}, your order shipped today.", models.TemplateApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gw := &lateGateway{}
			e := setupWithGateway(t, gw)
			sc := simulator.DefaultConfig()
			sc.TimeScale = 0
			sc.ApprovalDelay = 50 * time.Millisecond
			sc.AppSecret = config.SimAppSecret // what the handlers verify webhooks with
			sc.WebhookURL = e.srv.URL + "/webhooks/whatsapp"
			sim := simulator.New(sc)
			simURL, err := sim.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sim.Close() })
			gw.TemplateGateway = jobs.TemplateGateway{Store: e.store, Client: whatsapp.NewClient(whatsapp.Config{BaseURL: simURL,
				APIVersion: "v24.0", Token: sc.Token, PhoneNumberID: sc.PhoneNumberID, WABAID: sc.WABAID})}

			ctx := context.Background()
			row := &models.Template{WABAID: sc.WABAID, Name: "order_update", Language: "en_US", Category: "UTILITY", Body: tt.body,
				Variables: `{"body":[{"field":"first_name","fallback":"there","example":"Ana"}]}`}
			if err := e.store.CreateTemplate(ctx, row); err != nil {
				t.Fatal(err)
			}
			c := e.user(models.RoleMarketer)
			c.postForm("/templates/"+strconv.FormatInt(row.ID, 10)+"/submit", url.Values{})
			got, err := e.store.TemplateByID(ctx, row.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != models.TemplatePending || got.MetaID == "" {
				t.Fatalf("after submit: status %s meta id %q, want PENDING with an id", got.Status, got.MetaID)
			}
			applier := jobs.NewWebhookApplier(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
			deadline := time.Now().Add(10 * time.Second)
			for got.Status == models.TemplatePending && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				if _, err := applier.Round(ctx); err != nil {
					t.Fatal(err)
				}
				if got, err = e.store.TemplateByID(ctx, row.ID); err != nil {
					t.Fatal(err)
				}
			}
			if got.Status != tt.wantStatus {
				t.Fatalf("status %s (%q), want %s", got.Status, got.StatusReason, tt.wantStatus)
			}
		})
	}
}
