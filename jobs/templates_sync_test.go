package jobs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
)

type listerFunc func(context.Context) ([]whatsapp.Template, error)

func (f listerFunc) ListTemplates(ctx context.Context) ([]whatsapp.Template, error) { return f(ctx) }

func TestSyncTemplates(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			known := &models.Template{Name: "flash_sale", Language: "en_US", Category: "MARKETING", Body: "Hi {{1}}, sale."}
			if err := s.CreateTemplate(ctx, known); err != nil {
				t.Fatal(err)
			}
			if err := s.MarkTemplateSubmitted(ctx, known.ID, "waba1", "m1", models.TemplatePending, ""); err != nil {
				t.Fatal(err)
			}
			meta := []whatsapp.Template{
				{ID: "m1", Name: "flash_sale", Language: "en_US", Status: "REJECTED", Category: "MARKETING", RejectedReason: "PROMOTIONAL"},
				{ID: "m2", Name: "order_shipped", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY", ParameterFormat: "POSITIONAL",
					QualityScore: &whatsapp.QualityScore{Score: "GREEN"},
					Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: "Oi {{1}}, seu pedido saiu."},
						{Type: "BUTTONS", Buttons: []whatsapp.TemplateButton{{Type: "QUICK_REPLY", Text: "Ok"}}}}},
			}
			res, err := jobs.SyncTemplates(ctx, s, listerFunc(func(context.Context) ([]whatsapp.Template, error) { return meta, nil }), "waba1")
			if err != nil || res.Imported != 1 || res.Updated != 1 {
				t.Fatalf("sync = %+v, %v", res, err)
			}
			got, _ := s.TemplateByID(ctx, known.ID)
			if got.Status != "REJECTED" || got.StatusReason != "PROMOTIONAL" {
				t.Errorf("known template: %s %q", got.Status, got.StatusReason)
			}
			imp, err := s.TemplateByNameLanguage(ctx, "waba1", "order_shipped", "pt_BR")
			if err != nil || imp.Status != "APPROVED" || imp.Quality != "GREEN" || imp.Body != "Oi {{1}}, seu pedido saiu." || imp.MetaID != "m2" {
				t.Errorf("imported: %+v, %v", imp, err)
			}
			boom := errors.New("graph down")
			if _, err := jobs.SyncTemplates(ctx, s, listerFunc(func(context.Context) ([]whatsapp.Template, error) { return nil, boom }), "waba1"); !errors.Is(err, boom) {
				t.Errorf("lister error: %v", err)
			}
		})
	}
}
