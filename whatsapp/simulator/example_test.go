package simulator_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// Running the simulator on loopback and sending through the real client.
func Example() {
	cfg := simulator.DefaultConfig()
	cfg.TimeScale = 0 // statuses at once, for tests
	cfg.Logger = slog.New(slog.DiscardHandler)
	// cfg.WebhookURL = "http://127.0.0.1:8080/webhooks/whatsapp" // Herald's endpoint
	sim := simulator.New(cfg)
	baseURL, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	client := whatsapp.NewClient(whatsapp.Config{BaseURL: baseURL, Token: cfg.Token,
		PhoneNumberID: cfg.PhoneNumberID, WABAID: cfg.WABAID})
	res, err := client.Send(context.Background(), whatsapp.Message{To: "+15551234567", BizOpaqueCallbackData: "msg=1",
		Template: &whatsapp.TemplateMessage{Name: "hello_world", Language: "en_US"}})
	if err != nil {
		panic(err)
	}
	got := sim.Received()
	fmt.Println(res.WAID, res.Status, len(got), got[0].Template, got[0].BizOpaque)
	// Output: 15551234567 accepted 1 hello_world msg=1
}
