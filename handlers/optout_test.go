package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/heraldhq/herald/models"
)

func TestOptOutSettings(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	marketing := &models.Template{Name: "promo", Language: "en_US", Category: "MARKETING", Body: "Sale!", Status: "APPROVED"}
	utility := &models.Template{Name: "opt_out_done", Language: "en_US", Category: "UTILITY", Body: "Done, no more offers.", Status: "APPROVED"}
	for _, tm := range []*models.Template{marketing, utility} {
		if err := e.store.CreateTemplate(ctx, tm); err != nil {
			t.Fatal(err)
		}
	}
	admin := e.user(models.RoleAdmin)
	tests := []struct {
		templateID int64
		wantStatus int
	}{
		{marketing.ID, http.StatusUnprocessableEntity},
		{999, http.StatusUnprocessableEntity},
		{utility.ID, http.StatusOK},
	}
	for _, tt := range tests {
		res := admin.postForm("/settings/opt-out", url.Values{"keywords": {"STOP\n  basta \n"},
			"confirmation_template_id": {strconv.FormatInt(tt.templateID, 10)}})
		if res.StatusCode != tt.wantStatus {
			t.Errorf("template %d: status %d, want %d", tt.templateID, res.StatusCode, tt.wantStatus)
		}
		if tt.wantStatus == http.StatusUnprocessableEntity && admin.doc(res).Find("#e-confirmation_template_id").Length() != 1 {
			t.Errorf("template %d: no error next to the field", tt.templateID)
		}
	}
	var st models.OptOutSettings
	if _, err := e.store.GetSetting(ctx, models.OptOutSettingsKey, &st); err != nil {
		t.Fatal(err)
	}
	if st.ConfirmationTemplateID != utility.ID || len(st.Keywords) != 2 || st.Keywords[1] != "basta" {
		t.Fatalf("saved %+v", st)
	}
	if res := e.user(models.RoleMarketer).get("/settings/opt-out"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a marketer opened the opt-out settings: %d", res.StatusCode)
	}
}
