package templating

import (
	"context"
	"testing"

	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// TestSimulatorAcceptsEveryKind creates each kind of template at the Cloud
// API simulator (which applies Meta's rules) and sends it rendered for a
// contact: the simulator checks the send components against the template.
func TestSimulatorAcceptsEveryKind(t *testing.T) {
	t.Parallel()
	cfg := simulator.DefaultConfig()
	cfg.TimeScale = 0
	sim := simulator.New(cfg)
	base, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	client := whatsapp.NewClient(whatsapp.Config{BaseURL: base, Token: cfg.Token, WABAID: cfg.WABAID, PhoneNumberID: cfg.PhoneNumberID})
	opts := DefinitionOptions{TrackingBaseURL: "https://herald.example.com"}
	contact := Contact{FirstName: "Ana", Attributes: map[string]any{"order": "A-1009", "coupon": "SAVE10"}}

	tests := []Template{
		{Name: "kind_text_header", Language: "en_US", Category: CategoryUtility,
			Header: &Header{Type: HeaderText, Text: "Order {{1}}"}, Body: "Hi {{1}}, order {{2}} has shipped.", Footer: "Thanks",
			Buttons: []Button{{Type: ButtonQuickReply, Text: "Stop", Payload: "STOP"}, {Type: ButtonURL, Text: "Track", URL: "https://shop.example.com/o/{{1}}"}},
			Variables: Variables{Header: []VariableMapping{{Field: "attributes.order", Fallback: "-"}},
				Body:    []VariableMapping{{Field: "first_name"}, {Field: "attributes.order", Fallback: "your order"}},
				Buttons: map[int]VariableMapping{1: {Field: "attributes.order", Fallback: "latest"}}}},
		{Name: "kind_named", Language: "en", Category: CategoryMarketing, ParameterFormat: FormatNamed,
			Header: &Header{Type: HeaderText, Text: "Hello {{first_name}}"}, Body: "Order {{order_id}} for {{first_name}} is ready.",
			Variables: Variables{Header: []VariableMapping{{Field: "first_name"}},
				Body: []VariableMapping{{Name: "order_id", Field: "attributes.order", Fallback: "?"}, {Name: "first_name", Field: "first_name"}}}},
		{Name: "kind_image", Language: "en", Category: CategoryMarketing, Header: &Header{Type: HeaderImage, MediaURL: "https://cdn.example.com/a.jpg"}, Body: "New arrivals."},
		{Name: "kind_video", Language: "en", Category: CategoryMarketing, Header: &Header{Type: HeaderVideo, MediaURL: "https://cdn.example.com/a.mp4"}, Body: "Watch this."},
		{Name: "kind_document", Language: "en", Category: CategoryUtility, Header: &Header{Type: HeaderDocument, MediaURL: "https://cdn.example.com/inv.pdf"}, Body: "Your invoice."},
		{Name: "kind_coupon", Language: "en", Category: CategoryMarketing, Body: "A gift for you.",
			Buttons:   []Button{{Type: ButtonCopyCode, Text: "Copy", Example: "SAVE10"}, {Type: ButtonPhone, Text: "Call", Phone: "+15550001111"}},
			Variables: Variables{Buttons: map[int]VariableMapping{0: {Field: "attributes.coupon", Fallback: "WELCOME"}}}},
		{Name: "kind_otp", Language: "en", Category: CategoryAuthentication, Buttons: []Button{{Type: ButtonOTP, Text: "Copy code"}},
			Variables: Variables{Buttons: map[int]VariableMapping{0: {Campaign: "code"}}}},
		{Name: "kind_tracked", Language: "en", Category: CategoryMarketing, Body: "Sale today.",
			Buttons: []Button{{Type: ButtonQuickReply, Text: "Show me"}, {Type: ButtonQuickReply, Text: "Later"}, {Type: ButtonURL, Text: "Shop", URL: "https://shop.example.com/sale", Track: true}}},
	}
	for _, tmpl := range tests {
		t.Run(tmpl.Name, func(t *testing.T) {
			tmpl.Normalize()
			if issues := Validate(tmpl, opts); len(issues) != 0 {
				t.Fatalf("issues: %v", issues)
			}
			sim.AddTemplate(Definition(tmpl, opts), whatsapp.StatusApproved)
			_, comps, err := Render(tmpl, contact, map[string]string{"code": "482913"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.Send(context.Background(), whatsapp.Message{To: "5511987654321",
				Template: &whatsapp.TemplateMessage{Name: tmpl.Name, Language: tmpl.Language, Components: comps}})
			if err != nil {
				t.Errorf("send refused: %v", err)
			}
			// The simulator does check: the same send without its header or body
			// parameters is refused. (It does not insist on button parameters.)
			if len(comps) > 0 && comps[0].Type != whatsapp.ComponentButton {
				_, err = client.Send(context.Background(), whatsapp.Message{To: "5511987654321",
					Template: &whatsapp.TemplateMessage{Name: tmpl.Name, Language: tmpl.Language}})
				if err == nil {
					t.Error("send without parameters accepted; the check above proves nothing")
				}
			}
		})
	}
}
