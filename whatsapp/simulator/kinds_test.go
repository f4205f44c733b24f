package simulator_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// seedKinds adds one approved template per header and button kind.
func seedKinds(sim *simulator.Server) {
	body := func(text string, ex ...string) whatsapp.TemplateComponent {
		c := whatsapp.TemplateComponent{Type: whatsapp.TemplateBody, Text: text}
		if len(ex) > 0 {
			c.Example = &whatsapp.TemplateExample{BodyText: [][]string{ex}}
		}
		return c
	}
	media := func(format string) whatsapp.TemplateComponent {
		return whatsapp.TemplateComponent{Type: whatsapp.TemplateHeader, Format: format, Example: &whatsapp.TemplateExample{HeaderHandle: []string{"h"}}}
	}
	defs := []whatsapp.TemplateDefinition{
		{Name: "text_header", Language: "en_US", Category: whatsapp.CategoryUtility, Components: []whatsapp.TemplateComponent{
			{Type: whatsapp.TemplateHeader, Format: whatsapp.FormatText, Text: "Order {{1}}", Example: &whatsapp.TemplateExample{HeaderText: []string{"A-1"}}},
			body("Total {{1}} due on {{2}} please.", "$5", "Monday")}},
		{Name: "image_header", Language: "en_US", Category: whatsapp.CategoryMarketing, Components: []whatsapp.TemplateComponent{media(whatsapp.FormatImage), body("Look.")}},
		{Name: "video_header", Language: "en_US", Category: whatsapp.CategoryMarketing, Components: []whatsapp.TemplateComponent{media(whatsapp.FormatVideo), body("Watch.")}},
		{Name: "document_header", Language: "en_US", Category: whatsapp.CategoryUtility, Components: []whatsapp.TemplateComponent{media(whatsapp.FormatDocument), body("Your invoice.")}},
		{Name: "named_body", Language: "pt_BR", Category: whatsapp.CategoryUtility, ParameterFormat: "named", Components: []whatsapp.TemplateComponent{
			{Type: whatsapp.TemplateBody, Text: "Oi {{first_name}}, pedido {{order_id}} pronto.", Example: &whatsapp.TemplateExample{
				BodyTextNamedParams: []whatsapp.NamedParamExample{{ParamName: "first_name", Example: "Ana"}, {ParamName: "order_id", Example: "1"}}}}}},
		{Name: "coupon", Language: "en_US", Category: whatsapp.CategoryMarketing, Components: []whatsapp.TemplateComponent{body("Use your code."),
			{Type: whatsapp.TemplateButtons, Buttons: []whatsapp.TemplateButton{{Type: whatsapp.TemplateButtonCopyCode, Text: "Copy", Example: []string{"SAVE"}}}}}},
		{Name: "login_code", Language: "en_US", Category: whatsapp.CategoryAuthentication, Components: []whatsapp.TemplateComponent{
			{Type: whatsapp.TemplateBody, AddSecurityRecommendation: true},
			{Type: whatsapp.TemplateButtons, Buttons: []whatsapp.TemplateButton{{Type: whatsapp.TemplateButtonOTP, OTPType: "COPY_CODE"}}}}},
	}
	for _, d := range defs {
		sim.AddTemplate(d, whatsapp.StatusApproved)
	}
}

func TestEveryMessageKindIsAccepted(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	seedKinds(f.sim)
	if _, err := f.sim.InjectInbound("15551234567", "hi"); err != nil { // opens the service window
		t.Fatal(err)
	}
	f.idle(t)
	tm := func(name, lang string, comps ...whatsapp.Component) *whatsapp.TemplateMessage {
		return &whatsapp.TemplateMessage{Name: name, Language: lang, Components: comps}
	}
	header := func(p whatsapp.Parameter) whatsapp.Component {
		return whatsapp.Component{Type: whatsapp.ComponentHeader, Parameters: []whatsapp.Parameter{p}}
	}
	tests := []struct {
		name string
		msg  whatsapp.Message
		want func(r simulator.Received) bool
	}{
		{"text header, currency and date_time", whatsapp.Message{Template: tm("text_header", "en_US",
			header(whatsapp.TextParam("A-7")),
			whatsapp.Component{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{
				{Type: whatsapp.ParamCurrency, Currency: &whatsapp.Currency{FallbackValue: "$12.00", Code: "USD", Amount1000: 12000}},
				{Type: whatsapp.ParamDateTime, DateTime: &whatsapp.DateTime{FallbackValue: "Friday"}}}})},
			func(r simulator.Received) bool {
				return r.HeaderParams[0] == "A-7" && r.Text == "Total $12.00 due on Friday please."
			}},
		{"image header", whatsapp.Message{Template: tm("image_header", "en_US", header(whatsapp.Parameter{Type: whatsapp.ParamImage, Image: &whatsapp.Media{Link: "https://cdn.example.com/a.jpg"}}))},
			func(r simulator.Received) bool {
				return r.HeaderParams[0] == "https://cdn.example.com/a.jpg" && r.Category == "MARKETING"
			}},
		{"video header", whatsapp.Message{Template: tm("video_header", "en_US", header(whatsapp.Parameter{Type: whatsapp.ParamVideo, Video: &whatsapp.Media{ID: "vid-1"}}))},
			func(r simulator.Received) bool { return r.HeaderParams[0] == "vid-1" }},
		{"document header", whatsapp.Message{Template: tm("document_header", "en_US", header(whatsapp.Parameter{Type: whatsapp.ParamDocument, Document: &whatsapp.Media{Link: "https://cdn.example.com/i.pdf", Filename: "i.pdf"}}))},
			func(r simulator.Received) bool { return r.HeaderParams[0] == "https://cdn.example.com/i.pdf" }},
		{"named body", whatsapp.Message{Template: tm("named_body", "pt_BR", whatsapp.Component{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{
			whatsapp.NamedTextParam("order_id", "77"), whatsapp.NamedTextParam("first_name", "Ana")}})},
			func(r simulator.Received) bool {
				return r.Text == "Oi Ana, pedido 77 pronto." && strings.Join(r.BodyParamNames, ",") == "order_id,first_name"
			}},
		{"copy code", whatsapp.Message{Template: tm("coupon", "en_US", whatsapp.CopyCodeButton(0, "SAVE25"))},
			func(r simulator.Received) bool {
				return r.Buttons[0].SubType == "copy_code" && r.Buttons[0].Value == "SAVE25"
			}},
		{"authentication OTP", whatsapp.Message{Template: tm("login_code", "en_US", whatsapp.OTPComponents("482913")...)},
			func(r simulator.Received) bool {
				return r.BodyParams[0] == "482913" && r.Buttons[0].Value == "482913" && r.Category == "AUTHENTICATION"
			}},
		{"text", whatsapp.Message{Text: &whatsapp.TextMessage{Body: "Hello"}},
			func(r simulator.Received) bool { return r.Type == "text" && r.Text == "Hello" }},
		{"interactive buttons", whatsapp.Message{Interactive: &whatsapp.Interactive{Type: "button", Body: whatsapp.InteractiveText{Text: "When?"},
			Action: whatsapp.InteractiveAction{Buttons: []whatsapp.ReplyButton{{ID: "am", Title: "Morning"}}}}},
			func(r simulator.Received) bool { return r.Type == "interactive" }},
		{"interactive list", whatsapp.Message{Interactive: &whatsapp.Interactive{Type: "list", Body: whatsapp.InteractiveText{Text: "Pick"},
			Action: whatsapp.InteractiveAction{Button: "Options", Sections: []whatsapp.Section{{Title: "Fast", Rows: []whatsapp.Row{{ID: "exp", Title: "Express"}}}}}}},
			func(r simulator.Received) bool { return r.Type == "interactive" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.msg.To = "15551234567"
			tt.msg.BizOpaqueCallbackData = tt.name
			res, err := f.client.Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			for _, r := range f.sim.Received() {
				if r.WAMID == res.MessageID {
					if !tt.want(r) {
						t.Errorf("recorded %+v", r)
					}
					return
				}
			}
			t.Errorf("message %s not recorded", res.MessageID)
		})
	}
	f.idle(t)
	for _, s := range f.recv.statuses() {
		if s.Status.Status == whatsapp.StatusFailed {
			t.Errorf("message failed: %+v", s)
		}
	}
	if err := f.client.MarkRead(context.Background(), "wamid.IN1"); err != nil {
		t.Errorf("MarkRead: %v", err)
	}
}

func TestMessageKindRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	seedKinds(f.sim)
	tests := []struct {
		name string
		msg  whatsapp.Message
		code int
	}{
		{"image where video expected", whatsapp.Message{Template: &whatsapp.TemplateMessage{Name: "video_header", Language: "en_US", Components: []whatsapp.Component{
			{Type: whatsapp.ComponentHeader, Parameters: []whatsapp.Parameter{{Type: whatsapp.ParamImage, Image: &whatsapp.Media{Link: "https://x/a.jpg"}}}}}}}, 132012},
		{"media header missing", whatsapp.Message{Template: &whatsapp.TemplateMessage{Name: "image_header", Language: "en_US"}}, 131008},
		{"named param unknown", whatsapp.Message{Template: &whatsapp.TemplateMessage{Name: "named_body", Language: "pt_BR", Components: []whatsapp.Component{
			{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{whatsapp.NamedTextParam("nome", "Ana"), whatsapp.NamedTextParam("order_id", "1")}}}}}, 131009},
		{"named param without name", whatsapp.Message{Template: &whatsapp.TemplateMessage{Name: "named_body", Language: "pt_BR", Components: []whatsapp.Component{
			{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{whatsapp.TextParam("Ana"), whatsapp.TextParam("1")}}}}}, 131008},
		{"coupon too long", whatsapp.Message{Template: &whatsapp.TemplateMessage{Name: "coupon", Language: "en_US", Components: []whatsapp.Component{
			whatsapp.CopyCodeButton(0, "THIS-IS-TOO-LONG-CODE")}}}, 131009},
		{"four reply buttons", whatsapp.Message{Interactive: &whatsapp.Interactive{Type: "button", Body: whatsapp.InteractiveText{Text: "?"},
			Action: whatsapp.InteractiveAction{Buttons: []whatsapp.ReplyButton{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}, {ID: "c", Title: "C"}, {ID: "d", Title: "D"}}}}}, 131009},
		{"list without rows", whatsapp.Message{Interactive: &whatsapp.Interactive{Type: "list", Body: whatsapp.InteractiveText{Text: "?"},
			Action: whatsapp.InteractiveAction{Button: "Options"}}}, 131009},
		{"text too long", whatsapp.Message{Text: &whatsapp.TextMessage{Body: strings.Repeat("x", 4097)}}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.msg.To = "15551234567"
			_, err := f.client.Send(context.Background(), tt.msg)
			var me *whatsapp.Error
			if !errors.As(err, &me) || me.Code != tt.code {
				t.Errorf("err = %v, want code %d", err, tt.code)
			}
		})
	}
}

func TestURLTapsStayOnAllowedHosts(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *simulator.Config) { c.Outcomes = simulator.Outcomes{Read: 1, TapURL: 1} })
	def := promoDef("https://shop.example.com")
	def.Name = "external"
	f.sim.AddTemplate(def, whatsapp.StatusApproved)
	m := promoMessage("15551234567", "e1")
	m.Template.Name = "external"
	if _, err := f.client.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	taps := f.sim.URLTaps()
	if len(taps) != 1 || taps[0].Fetched || taps[0].URL != "https://shop.example.com/r/code-e1" {
		t.Errorf("taps = %+v", taps)
	}
}

func TestTimeScaleSpreadsStatuses(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *simulator.Config) { c.TimeScale = 0.02; c.Outcomes.Read = 1 })
	start := time.Now()
	res, err := f.client.Send(context.Background(), helloWorld("15551234567", "slow"))
	if err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	// sent ≥ 0.5 s, delivered ≥ +1 s, read ≥ +2 s, scaled by 0.02: at least 70 ms.
	if el := time.Since(start); el < 70*time.Millisecond {
		t.Errorf("all statuses arrived after %v; TimeScale ignored", el)
	}
	if got := f.recv.statusesOf(res.MessageID); strings.Join(got, ",") != "sent,delivered,read" {
		t.Errorf("statuses = %v", got)
	}
}

func TestCreatedAuthenticationTemplateTakesTheCode(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	ctx := context.Background()
	res, err := f.client.CreateTemplate(ctx, whatsapp.TemplateDefinition{Name: "otp", Language: "en_US", Category: whatsapp.CategoryAuthentication,
		Components: []whatsapp.TemplateComponent{
			{Type: whatsapp.TemplateBody, AddSecurityRecommendation: true},
			{Type: whatsapp.TemplateFooter, CodeExpirationMinutes: 5},
			{Type: whatsapp.TemplateButtons, Buttons: []whatsapp.TemplateButton{{Type: whatsapp.TemplateButtonOTP, OTPType: "COPY_CODE"}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.idle(t)
	got, err := f.client.GetTemplate(ctx, res.ID)
	if err != nil || got.Status != whatsapp.StatusApproved || !strings.Contains(got.Component(whatsapp.TemplateBody).Text, "{{1}}") {
		t.Fatalf("template = %+v, %v", got, err)
	}
	m := whatsapp.Message{To: "15551234567", Template: &whatsapp.TemplateMessage{Name: "otp", Language: "en_US", Components: whatsapp.OTPComponents("123456")}}
	if _, err := f.client.Send(ctx, m); err != nil {
		t.Errorf("send OTP: %v", err)
	}
	m.Template.Components = m.Template.Components[:1] // code missing from the button
	var me *whatsapp.Error
	if _, err := f.client.Send(ctx, m); !errors.As(err, &me) || me.Code != 131008 {
		t.Errorf("OTP without button code: %v", err)
	}
}
