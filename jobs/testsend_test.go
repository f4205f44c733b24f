package jobs_test

import (
	"context"
	"testing"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

func TestSendTestFillsTheTemplateForTheNumber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := testdb.SQLite(t).Store
	sc := simulator.DefaultConfig()
	sc.TimeScale = 0
	sim := simulator.New(sc)
	url, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.AddTemplate(whatsapp.TemplateDefinition{Name: "welcome_back", Language: "en_US", Category: "UTILITY",
		Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: "Hi {{1}}, your code is {{2}}.",
			Example: &whatsapp.TemplateExample{BodyText: [][]string{{"Ana", "X1"}}}}}}, "APPROVED")
	row := &models.Template{WABAID: sc.WABAID, Name: "welcome_back", Language: "en_US", Category: "UTILITY", Status: "APPROVED",
		Body:      "Hi {{1}}, your code is {{2}}.",
		Variables: `{"body":[{"field":"first_name","fallback":"there"},{"campaign":"code","example":"WELCOME10"}]}`}
	if err := store.CreateTemplate(ctx, row); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateContact(ctx, &models.Contact{Phone: "+5511987650000", FirstName: "Bia"}, "test"); err != nil {
		t.Fatal(err)
	}
	gw := jobs.TemplateGateway{Client: whatsapp.NewClient(whatsapp.Config{BaseURL: url, APIVersion: "v24.0", Token: sc.Token,
		PhoneNumberID: sc.PhoneNumberID, WABAID: sc.WABAID}), Store: store}
	if err := gw.SendTest(ctx, row.ID, "+5511987650000"); err != nil {
		t.Fatal(err)
	}
	got := sim.Received()
	if len(got) != 1 || got[0].Text != "Hi Bia, your code is WELCOME10." {
		t.Fatalf("simulator received %+v", got)
	}
}
