package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

func TestSenderFormShowsErrorsNextToFields(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin := e.user(models.RoleAdmin)
	res := admin.postForm("/settings/senders", url.Values{"phone_number_id": {"+1 555 000"}, "waba_id": {"123"},
		"api_url": {"graph.facebook.com"}, "token": {"t"}, "app_secret": {""}, "verify_token": {"v"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.StatusCode)
	}
	doc := admin.doc(res)
	for _, f := range []string{"phone_number_id", "api_url", "app_secret"} {
		if doc.Find("#e-"+f).Length() != 1 {
			t.Errorf("no error next to %s", f)
		}
	}
	for _, f := range []string{"waba_id", "token"} {
		if doc.Find("#e-"+f).Length() != 0 {
			t.Errorf("valid %s shows an error", f)
		}
	}
}

func TestSenderSavedSealedAndTested(t *testing.T) {
	t.Parallel()
	e := setup(t)
	sc := simulator.DefaultConfig()
	sc.TimeScale = 0
	sim := simulator.New(sc)
	simURL, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	admin := e.user(models.RoleAdmin)
	res := admin.postForm("/settings/senders", url.Values{"name": {"Store"}, "phone_number_id": {sc.PhoneNumberID},
		"waba_id": {sc.WABAID}, "api_url": {simURL}, "api_version": {"v24.0"}, "token": {sc.Token},
		"app_secret": {"app-secret-value"}, "verify_token": {"verify-value"}})
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/settings/senders" {
		t.Fatalf("save: %d at %s", res.StatusCode, res.Request.URL)
	}
	ctx := context.Background()
	snd, err := e.store.SenderByPhoneNumberID(ctx, sc.PhoneNumberID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(snd.TokenEnc), sc.Token) || strings.Contains(string(snd.AppSecretEnc), "app-secret-value") {
		t.Fatal("credentials are stored in the clear")
	}
	page := admin.doc(admin.get("/settings/senders")).Text()
	if strings.Contains(page, "app-secret-value") || strings.Contains(page, sc.Token) {
		t.Fatal("the senders page shows a secret")
	}

	res = admin.postForm("/settings/senders/"+itoa(snd.ID)+"/test", url.Values{})
	msg := admin.doc(res).Find(".flash-success").Text()
	if !strings.Contains(msg, "connected") || !strings.Contains(msg, "GREEN") {
		t.Fatalf("test connection said %q", msg)
	}
	snd, _ = e.store.SenderByPhoneNumberID(ctx, sc.PhoneNumberID)
	if snd.QualityRating != "GREEN" || snd.LastCheckedAt == nil {
		t.Fatalf("health not recorded: %+v", snd)
	}

	// A wrong token is reported with Meta's reason.
	if _, err := e.store.SaveSender(ctx, models.SenderInput{PhoneNumberID: sc.PhoneNumberID, WABAID: sc.WABAID,
		APIURL: simURL, APIVersion: "v24.0", Credentials: models.SenderCredentials{Token: "expired"}}); err != nil {
		t.Fatal(err)
	}
	res = admin.postForm("/settings/senders/"+itoa(snd.ID)+"/test", url.Values{})
	if msg := admin.doc(res).Find(".flash-error").Text(); !strings.Contains(msg, "190") {
		t.Fatalf("a bad token said %q, want Meta's 190", msg)
	}
}

func TestSetupChecklist(t *testing.T) {
	t.Parallel()
	e := setup(t)
	viewer := e.user(models.RoleViewer)
	doc := viewer.doc(viewer.get("/settings/setup"))
	if got := doc.Find(".checklist li").Length(); got != 6 {
		t.Fatalf("%d checklist items, want 6", got)
	}
	if doc.Find(".checklist li.done").Length() != 0 {
		t.Fatal("an empty Herald shows items as done")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
