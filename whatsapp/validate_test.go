package whatsapp

import (
	"strings"
	"testing"
)

// validMarketing is a template that breaks no rule; each case below breaks one.
func validMarketing() TemplateDefinition {
	return TemplateDefinition{
		Name: "flash_sale_oct", Language: "en_US", Category: CategoryMarketing,
		Components: []TemplateComponent{
			{Type: TemplateHeader, Format: FormatText, Text: "Sale for {{1}}", Example: &TemplateExample{HeaderText: []string{"Ana"}}},
			{Type: TemplateBody, Text: "Hi {{1}}, {{2}} off everything until midnight.", Example: &TemplateExample{BodyText: [][]string{{"Ana", "30%"}}}},
			{Type: TemplateFooter, Text: "Reply STOP to opt out"},
			{Type: TemplateButtons, Buttons: []TemplateButton{
				{Type: TemplateButtonQuickReply, Text: "Stop promotions"},
				{Type: TemplateButtonQuickReply, Text: "Show me"},
				{Type: TemplateButtonURL, Text: "Shop now", URL: "https://shop.example.com/sale/{{1}}", Example: []string{"https://shop.example.com/sale/abc"}},
				{Type: TemplateButtonPhoneNumber, Text: "Call us", PhoneNumber: "+15550001111"},
				{Type: TemplateButtonCopyCode, Text: "Copy code", Example: []string{"SAVE30"}},
			}},
		},
	}
}

func validNamed() TemplateDefinition {
	return TemplateDefinition{
		Name: "order_ready", Language: "pt_BR", Category: CategoryUtility, ParameterFormat: "named",
		Components: []TemplateComponent{
			{Type: TemplateBody, Text: "Oi {{first_name}}, o pedido {{order_id}} está pronto.",
				Example: &TemplateExample{BodyTextNamedParams: []NamedParamExample{{"first_name", "Ana"}, {"order_id", "A-1"}}}},
		},
	}
}

func validAuth() TemplateDefinition {
	return TemplateDefinition{
		Name: "login_code", Language: "en", Category: CategoryAuthentication,
		Components: []TemplateComponent{
			{Type: TemplateBody, AddSecurityRecommendation: true},
			{Type: TemplateFooter, CodeExpirationMinutes: 10},
			{Type: TemplateButtons, Buttons: []TemplateButton{{Type: TemplateButtonOTP, OTPType: "COPY_CODE", Text: "Copy code"}}},
		},
	}
}

func TestValidateTemplateAcceptsValid(t *testing.T) {
	t.Parallel()
	for name, def := range map[string]TemplateDefinition{"marketing": validMarketing(), "named": validNamed(), "auth": validAuth()} {
		if issues := ValidateTemplate(def); len(issues) != 0 {
			t.Errorf("%s: unexpected issues %v", name, issues)
		}
	}
}

func TestValidateTemplateRules(t *testing.T) {
	t.Parallel()
	body := func(d *TemplateDefinition) *TemplateComponent { return &d.Components[1] }
	buttons := func(d *TemplateDefinition) *TemplateComponent { return &d.Components[3] }
	tests := []struct {
		name      string
		base      func() TemplateDefinition
		mutate    func(d *TemplateDefinition)
		wantField string
		wantMsg   string
	}{
		{"name required", validMarketing, func(d *TemplateDefinition) { d.Name = "" }, "name", "required"},
		{"name charset", validMarketing, func(d *TemplateDefinition) { d.Name = "Flash-Sale" }, "name", "lowercase"},
		{"name length", validMarketing, func(d *TemplateDefinition) { d.Name = strings.Repeat("a", 513) }, "name", "512"},
		{"language required", validMarketing, func(d *TemplateDefinition) { d.Language = "" }, "language", "required"},
		{"language format", validMarketing, func(d *TemplateDefinition) { d.Language = "english" }, "language", "language code"},
		{"category", validMarketing, func(d *TemplateDefinition) { d.Category = "PROMO" }, "category", "unknown category"},
		{"parameter format", validMarketing, func(d *TemplateDefinition) { d.ParameterFormat = "mixed" }, "parameter_format", "unknown"},
		{"body required", validMarketing, func(d *TemplateDefinition) { d.Components = d.Components[:1] }, "components", "BODY"},
		{"duplicate component", validMarketing, func(d *TemplateDefinition) { d.Components = append(d.Components, d.Components[2]) }, "components[4].type", "only one FOOTER"},
		{"unknown component", validMarketing, func(d *TemplateDefinition) { d.Components[2].Type = "SIDEBAR" }, "components[2].type", "unknown component"},
		{"header too long", validMarketing, func(d *TemplateDefinition) { d.Components[0].Text = strings.Repeat("x", 61) }, "components[0].text", "limit is 60"},
		{"header two variables", validMarketing, func(d *TemplateDefinition) {
			d.Components[0].Text = "Sale {{1}} and {{2}}"
		}, "components[0].text", "at most one variable"},
		{"header variable without example", validMarketing, func(d *TemplateDefinition) { d.Components[0].Example = nil }, "components[0].example", "header_text"},
		{"header format", validMarketing, func(d *TemplateDefinition) { d.Components[0].Format = "GIF" }, "components[0].format", "unknown header format"},
		{"media header without example", validMarketing, func(d *TemplateDefinition) {
			d.Components[0] = TemplateComponent{Type: TemplateHeader, Format: FormatImage}
		}, "components[0].example", "header_handle"},
		{"body too long", validMarketing, func(d *TemplateDefinition) {
			body(d).Text = "Hi {{1}}, {{2}} off " + strings.Repeat("x", 1020)
		}, "components[1].text", "limit is 1024"},
		{"body starts with variable", validMarketing, func(d *TemplateDefinition) {
			body(d).Text = "{{1}}, {{2}} off everything."
		}, "components[1].text", "cannot start"},
		{"body ends with variable", validMarketing, func(d *TemplateDefinition) {
			body(d).Text = "Hi {{1}}, get {{2}}"
		}, "components[1].text", "cannot end"},
		{"adjacent variables", validMarketing, func(d *TemplateDefinition) {
			body(d).Text = "Hi {{1}} {{2}} off everything."
		}, "components[1].text", "next to each other"},
		{"gap in numbering", validMarketing, func(d *TemplateDefinition) {
			body(d).Text = "Hi {{1}}, {{3}} off everything."
		}, "components[1].text", "{{2}} is missing"},
		{"named variable in positional template", validMarketing, func(d *TemplateDefinition) {
			body(d).Text = "Hi {{first_name}}, {{2}} off everything."
		}, "components[1].text", "parameter_format named"},
		{"malformed variable", validMarketing, func(d *TemplateDefinition) {
			body(d).Text = "Hi {{1}}, {{2}} off {{ x-y }} everything."
		}, "components[1].text", "must be a number"},
		{"positional variable in named template", validNamed, func(d *TemplateDefinition) {
			d.Components[0].Text = "Oi {{1}}, o pedido {{order_id}} está pronto."
		}, "components[0].text", "lowercase letters and underscores"},
		{"named example missing", validNamed, func(d *TemplateDefinition) {
			d.Components[0].Example.BodyTextNamedParams = d.Components[0].Example.BodyTextNamedParams[:1]
		}, "components[0].example", "{{order_id}}"},
		{"positional examples count", validMarketing, func(d *TemplateDefinition) {
			body(d).Example.BodyText = [][]string{{"Ana"}}
		}, "components[1].example", "exactly 2"},
		{"footer too long", validMarketing, func(d *TemplateDefinition) { d.Components[2].Text = strings.Repeat("f", 61) }, "components[2].text", "limit is 60"},
		{"footer variable", validMarketing, func(d *TemplateDefinition) { d.Components[2].Text = "Bye {{1}}" }, "components[2].text", "cannot contain variables"},
		{"too many buttons", validMarketing, func(d *TemplateDefinition) {
			for i := 0; i < 6; i++ {
				buttons(d).Buttons = append([]TemplateButton{{Type: TemplateButtonQuickReply, Text: "More"}}, buttons(d).Buttons...)
			}
		}, "components[3].buttons", "at most 10 are allowed"},
		{"too many quick replies", validMarketing, func(d *TemplateDefinition) {
			var b []TemplateButton
			for i := 0; i < 11; i++ {
				b = append(b, TemplateButton{Type: TemplateButtonQuickReply, Text: "Q"})
			}
			buttons(d).Buttons = b
		}, "components[3].buttons", "QUICK_REPLY buttons; at most 10"},
		{"three url buttons", validMarketing, func(d *TemplateDefinition) {
			u := TemplateButton{Type: TemplateButtonURL, Text: "Go", URL: "https://example.com"}
			buttons(d).Buttons = []TemplateButton{u, u, u}
		}, "components[3].buttons", "URL buttons; at most 2"},
		{"two phone buttons", validMarketing, func(d *TemplateDefinition) {
			p := TemplateButton{Type: TemplateButtonPhoneNumber, Text: "Call", PhoneNumber: "+1555"}
			buttons(d).Buttons = []TemplateButton{p, p}
		}, "components[3].buttons", "PHONE_NUMBER buttons; at most 1"},
		{"two copy code buttons", validMarketing, func(d *TemplateDefinition) {
			c := TemplateButton{Type: TemplateButtonCopyCode, Text: "Copy", Example: []string{"A"}}
			buttons(d).Buttons = []TemplateButton{c, c}
		}, "components[3].buttons", "COPY_CODE buttons; at most 1"},
		{"label too long", validMarketing, func(d *TemplateDefinition) { buttons(d).Buttons[0].Text = strings.Repeat("l", 26) }, "components[3].buttons[0].text", "limit is 25"},
		{"label missing", validMarketing, func(d *TemplateDefinition) { buttons(d).Buttons[1].Text = " " }, "components[3].buttons[1].text", "required"},
		{"groups not contiguous", validMarketing, func(d *TemplateDefinition) {
			b := buttons(d).Buttons
			b[1], b[2] = b[2], b[1] // QR, URL, QR, …
		}, "components[3].buttons", "contiguous"},
		{"url variable not at end", validMarketing, func(d *TemplateDefinition) {
			buttons(d).Buttons[2].URL = "https://shop.example.com/{{1}}/sale"
		}, "components[3].buttons[2].url", "at the end"},
		{"url two variables", validMarketing, func(d *TemplateDefinition) {
			buttons(d).Buttons[2].URL = "https://shop.example.com/{{1}}/{{2}}"
		}, "components[3].buttons[2].url", "only one variable"},
		{"url not absolute", validMarketing, func(d *TemplateDefinition) {
			buttons(d).Buttons[2].URL = "shop/{{1}}"
		}, "components[3].buttons[2].url", "absolute"},
		{"url too long", validMarketing, func(d *TemplateDefinition) {
			buttons(d).Buttons[2].URL = "https://shop.example.com/" + strings.Repeat("p", 2000)
		}, "components[3].buttons[2].url", "2000"},
		{"dynamic url without example", validMarketing, func(d *TemplateDefinition) { buttons(d).Buttons[2].Example = nil }, "components[3].buttons[2].example", "example URL"},
		{"phone number missing", validMarketing, func(d *TemplateDefinition) { buttons(d).Buttons[3].PhoneNumber = "" }, "components[3].buttons[3].phone_number", "required"},
		{"phone number too long", validMarketing, func(d *TemplateDefinition) {
			buttons(d).Buttons[3].PhoneNumber = "+1555000111122223333444"
		}, "components[3].buttons[3].phone_number", "20"},
		{"copy code example too long", validMarketing, func(d *TemplateDefinition) {
			buttons(d).Buttons[4].Example = []string{"ABCDEFGHIJKLMNOP"}
		}, "components[3].buttons[4].example", "15"},
		{"copy code without example", validMarketing, func(d *TemplateDefinition) { buttons(d).Buttons[4].Example = nil }, "components[3].buttons[4].example", "example code"},
		{"OTP outside authentication", validMarketing, func(d *TemplateDefinition) {
			buttons(d).Buttons[4] = TemplateButton{Type: TemplateButtonOTP, OTPType: "COPY_CODE"}
		}, "components[3].buttons[4].type", "only in AUTHENTICATION"},
		{"authentication with quick reply", validAuth, func(d *TemplateDefinition) {
			d.Components[2].Buttons = append(d.Components[2].Buttons, TemplateButton{Type: TemplateButtonQuickReply, Text: "No"})
		}, "components[2].buttons[1].type", "only OTP"},
		{"authentication expiry", validAuth, func(d *TemplateDefinition) { d.Components[1].CodeExpirationMinutes = 91 }, "components[1].code_expiration_minutes", "1 and 90"},
		{"unknown button type", validMarketing, func(d *TemplateDefinition) { buttons(d).Buttons[3].Type = "TELEPORT" }, "components[3].buttons[3].type", "unknown button"},
		{"empty buttons component", validMarketing, func(d *TemplateDefinition) { buttons(d).Buttons = nil }, "components[3].buttons", "at least one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			def := tt.base()
			tt.mutate(&def)
			issues := ValidateTemplate(def)
			for _, is := range issues {
				if is.Field == tt.wantField && strings.Contains(is.Message, tt.wantMsg) {
					return
				}
			}
			t.Errorf("want issue %s: …%s…, got %v", tt.wantField, tt.wantMsg, issues)
		})
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	got := Variables("Hi {{1}}, {{ 2 }} and {{1}} again, {{name}}")
	want := []string{"1", "2", "name"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Variables = %v, want %v", got, want)
	}
}
