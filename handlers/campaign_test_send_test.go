package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

func TestCampaignSendTestToMe(t *testing.T) {
	t.Parallel()
	sc := simulator.DefaultConfig()
	sc.TimeScale = 0
	sim := simulator.New(sc)
	simURL, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: simURL, APIVersion: "v24.0", Token: sc.Token,
		PhoneNumberID: sc.PhoneNumberID, WABAID: sc.WABAID})
	var e *env
	gw := &lateGateway{}
	e = setupWithGateway(t, gw)
	gw.TemplateGateway = jobs.TemplateGateway{Client: client, Store: e.store}

	ctx := context.Background()
	tmpl := &models.Template{WABAID: sc.WABAID, Name: "hello_world", Language: "en_US", Category: "UTILITY",
		Body: "Welcome and congratulations!!", Status: "APPROVED"}
	if err := e.store.CreateTemplate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	seg, err := e.store.CreateSegment(ctx, models.SegmentInput{Name: "everyone"})
	if err != nil {
		t.Fatal(err)
	}
	camp := &models.Campaign{Name: "Hello", TemplateID: &tmpl.ID, SegmentIDs: []int64{seg.ID}, Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30}
	if err := e.store.CreateCampaign(ctx, camp); err != nil {
		t.Fatal(err)
	}
	c := e.user(models.RoleMarketer)
	confirm := c.doc(c.get("/campaigns/" + strconv.FormatInt(camp.ID, 10) + "/confirm"))
	if confirm.Find(`input[name="phone"]`).Length() != 1 {
		t.Fatalf("the confirmation page offers no test send: %s", confirm.Find("main").Text())
	}
	tests := []struct {
		phone, want string
	}{
		{"not a number", "international format"},
		{"+55 11 98765-0001", "Sent to +5511987650001"},
	}
	for _, tt := range tests {
		res := c.postForm("/campaigns/"+strconv.FormatInt(camp.ID, 10)+"/test", url.Values{"phone": {tt.phone}})
		if body := c.doc(res).Text(); !strings.Contains(body, tt.want) {
			t.Errorf("%q: answer %q, want %q", tt.phone, body, tt.want)
		}
	}
	got := sim.Received()
	if len(got) != 1 || got[0].WAID != "5511987650001" || got[0].Template != "hello_world" {
		t.Fatalf("simulator received %+v", got)
	}
	if res := e.user(models.RoleViewer).postForm("/campaigns/"+strconv.FormatInt(camp.ID, 10)+"/test", url.Values{"phone": {"+5511987650002"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer sent a test: %d", res.StatusCode)
	}
}

// lateGateway lets the test build the gateway after the store exists.
type lateGateway struct{ jobs.TemplateGateway }
