package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// TestMediaHeaderExampleIsUploaded submits a template whose image header
// example is a URL: the gateway fetches it, uploads it through the
// Resumable Upload API and submits the handle, as Meta requires.
func TestMediaHeaderExampleIsUploaded(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\n fake image bytes")
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	}))
	t.Cleanup(media.Close)
	sc := simulator.DefaultConfig()
	sc.TimeScale = 0
	sim := simulator.New(sc)
	url, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	gw := jobs.TemplateGateway{Client: whatsapp.NewClient(whatsapp.Config{BaseURL: url, APIVersion: "v24.0", Token: sc.Token,
		PhoneNumberID: sc.PhoneNumberID, WABAID: sc.WABAID}), Store: testdb.SQLite(t).Store, AppID: "3000000001"}
	def := whatsapp.TemplateDefinition{Name: "new_arrivals", Language: "en_US", Category: "MARKETING", Components: []whatsapp.TemplateComponent{
		{Type: whatsapp.TemplateHeader, Format: "IMAGE", Example: &whatsapp.TemplateExample{HeaderHandle: []string{media.URL + "/shoes.png"}}},
		{Type: "BODY", Text: "New shoes are in, {{1}}. Come and see.", Example: &whatsapp.TemplateExample{BodyText: [][]string{{"Ana"}}}},
	}}
	res, err := gw.CreateTemplate(context.Background(), def)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == "" {
		t.Fatal("no template id")
	}
	handles := sim.UploadedHandles()
	if len(handles) != 1 || !strings.HasPrefix(handles[0], "4::") {
		t.Fatalf("uploaded handles %v, want one", handles)
	}
	if got := def.Components[0].Example.HeaderHandle[0]; got != media.URL+"/shoes.png" {
		t.Fatalf("the caller's definition changed to %q", got)
	}
	var submitted string
	for _, tm := range sim.Templates() {
		if tm.Name == "new_arrivals" {
			for _, c := range tm.Components {
				if c.Type == whatsapp.TemplateHeader && c.Example != nil && len(c.Example.HeaderHandle) > 0 {
					submitted = c.Example.HeaderHandle[0]
				}
			}
		}
	}
	if submitted != handles[0] {
		t.Fatalf("submitted header example %q, want the upload handle %q", submitted, handles[0])
	}
	// Without an app id the upload cannot start, and nothing is submitted.
	gw.AppID = ""
	def.Name = "new_arrivals_two"
	if _, err := gw.CreateTemplate(context.Background(), def); err == nil || !strings.Contains(err.Error(), "WHATSAPP_APP_ID") {
		t.Fatalf("without an app id: %v", err)
	}
}
