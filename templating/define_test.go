package templating

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/heraldhq/herald/whatsapp"
)

// validTemplate returns a template that passes every check; each test case
// breaks one thing.
func validTemplate() Template {
	return Template{Name: "flash_sale", Language: "en_US", Category: CategoryMarketing, ParameterFormat: FormatPositional,
		Header: &Header{Type: HeaderText, Text: "Sale for {{1}}"},
		Body:   "Hi {{1}}, {{2}} off everything until midnight.",
		Footer: "Reply STOP to opt out",
		Buttons: []Button{{Type: ButtonQuickReply, Text: "Show me"}, {Type: ButtonQuickReply, Text: "Stop"},
			{Type: ButtonURL, Text: "Shop now", URL: "https://shop.example.com/sale/{{1}}", Track: true}},
		Variables: Variables{
			Header:  []VariableMapping{{Field: "first_name"}},
			Body:    []VariableMapping{{Field: "first_name", Fallback: "there"}, {Value: "30%"}},
			Buttons: map[int]VariableMapping{2: {Campaign: "slug", Fallback: "all"}},
		}}
}

var opts = DefinitionOptions{TrackingBaseURL: "https://herald.example.com"}

func fieldsOf(issues []Issue) map[string]string {
	out := map[string]string{}
	for _, is := range issues {
		out[is.Field] += is.Message + "; "
	}
	return out
}

func TestValidateAcceptsValidTemplates(t *testing.T) {
	t.Parallel()
	auth := Template{Name: "login_code", Language: "en", Category: CategoryAuthentication,
		Buttons: []Button{{Type: ButtonOTP, Text: "Copy code"}}}
	for _, tmpl := range []Template{validTemplate(), auth} {
		if issues := Validate(tmpl, opts); len(issues) != 0 {
			t.Errorf("%s: unexpected issues %v", tmpl.Name, issues)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Template)
		opts   DefinitionOptions
		field  string // the field the issue must be reported on
		msg    string // part of its message
	}{
		// Meta's rules, surfaced through whatsapp.ValidateTemplate.
		{"uppercase name", func(t *Template) { t.Name = "Flash Sale" }, opts, "name", "lowercase"},
		{"body starts with variable", func(t *Template) { t.Body = "{{1}}, {{2}} off everything." }, opts, "body", "start with a variable"},
		{"body ends with variable", func(t *Template) { t.Body = "Hi {{1}}, take {{2}}" }, opts, "body", "end with a variable"},
		{"adjacent variables", func(t *Template) { t.Body = "Hi {{1}} {{2}} off everything." }, opts, "body", "next to each other"},
		{"body too long", func(t *Template) { t.Body = "Hi {{1}}, {{2}} " + strings.Repeat("x", 1100) }, opts, "body", "limit is 1024"},
		{"header too long", func(t *Template) { t.Header.Text = strings.Repeat("x", 61) }, opts, "header.text", "limit is 60"},
		{"two header variables", func(t *Template) { t.Header.Text = "{{1}} and {{2}}" }, opts, "header.text", "at most one variable"},
		{"footer with variable", func(t *Template) { t.Footer = "Bye {{1}}" }, opts, "footer", "cannot contain variables"},
		{"button label too long", func(t *Template) { t.Buttons[0].Text = strings.Repeat("x", 26) }, opts, "buttons[0].text", "limit is 25"},
		{"three URL buttons", func(t *Template) {
			t.Buttons = append(t.Buttons, Button{Type: ButtonURL, Text: "a", URL: "https://a.example.com"}, Button{Type: ButtonURL, Text: "b", URL: "https://b.example.com"})
		}, opts, "buttons", "URL buttons"},
		{"quick replies split", func(t *Template) {
			t.Buttons = append(t.Buttons, Button{Type: ButtonQuickReply, Text: "Later"})
		}, opts, "buttons", "contiguous"},
		{"URL variable not at end", func(t *Template) { t.Buttons[2].Track = false; t.Buttons[2].URL = "https://s.example.com/{{1}}/x" }, opts, "buttons[2].url", "at the end"},
		{"OTP in marketing", func(t *Template) { t.Buttons = []Button{{Type: ButtonOTP}} }, opts, "buttons[0].type", "AUTHENTICATION"},
		{"named variable in positional template", func(t *Template) { t.Body = "Hi {{name}}, {{2}} off today." }, opts, "body", "parameter_format named"},
		{"missing example (unmapped variable)", func(t *Template) { t.Variables.Body = t.Variables.Body[:1] }, opts, "variables.body", "example"},
		{"media header without handle", func(t *Template) { t.Header = &Header{Type: HeaderImage} }, opts, "header.media_url", "header_handle"},
		// Herald's own checks.
		{"unmapped body variable", func(t *Template) { t.Variables.Body = t.Variables.Body[:1] }, opts, "variables.body[1]", "map {{2}}"},
		{"field without fallback", func(t *Template) { t.Variables.Body[1] = VariableMapping{Field: "attributes.plan"} }, opts, "variables.body[1]", "fallback"},
		{"unknown field", func(t *Template) { t.Variables.Body[1] = VariableMapping{Field: "shoe_size", Fallback: "x"} }, opts, "variables.body[1]", "not a contact field"},
		{"two sources", func(t *Template) { t.Variables.Body[1] = VariableMapping{Value: "a", Campaign: "b"} }, opts, "variables.body[1]", "only one"},
		{"unmapped header variable", func(t *Template) { t.Variables.Header = nil }, opts, "variables.header[0]", "header variable"},
		{"unmapped URL suffix", func(t *Template) { t.Variables.Buttons = nil }, opts, "variables.buttons[2]", "button 3"},
		{"tracking without base URL", func(t *Template) {}, DefinitionOptions{}, "buttons[2].track", "HERALD_BASE_URL"},
		{"tracking a quick reply", func(t *Template) { t.Buttons[0].Track = true }, opts, "buttons[0].track", "only URL buttons"},
		{"media header without URL", func(t *Template) { t.Header = &Header{Type: HeaderVideo} }, opts, "header.media_url", "public HTTPS URL"},
		{"authentication without OTP", func(t *Template) { t.Category = CategoryAuthentication; t.Buttons = nil }, opts, "buttons", "exactly one OTP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl := validTemplate()
			tc.change(&tmpl)
			got := fieldsOf(Validate(tmpl, tc.opts))
			if !strings.Contains(got[tc.field], tc.msg) {
				t.Errorf("want an issue on %q containing %q; got %v", tc.field, tc.msg, got)
			}
		})
	}
}

func TestDefinition(t *testing.T) {
	t.Parallel()
	def := Definition(validTemplate(), opts)
	raw, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"flash_sale","language":"en_US","category":"MARKETING","components":[
		{"type":"HEADER","format":"TEXT","text":"Sale for {{1}}","example":{"header_text":["Ana"]}},
		{"type":"BODY","text":"Hi {{1}}, {{2}} off everything until midnight.","example":{"body_text":[["Ana","30%"]]}},
		{"type":"FOOTER","text":"Reply STOP to opt out"},
		{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Show me"},{"type":"QUICK_REPLY","text":"Stop"},
			{"type":"URL","text":"Shop now","url":"https://herald.example.com/r/{{1}}","example":["https://herald.example.com/r/AbCd1234"]}]}]}`
	if got := canonical(t, string(raw)); got != canonical(t, want) {
		t.Errorf("definition\n got %s\nwant %s", got, canonical(t, want))
	}

	named := Template{Name: "order_ready", Language: "en", Category: CategoryUtility, ParameterFormat: FormatNamed,
		Body:      "Order {{order_id}} is ready, {{first_name}}.",
		Buttons:   []Button{{Type: ButtonURL, Text: "See", URL: "https://s.example.com/o/{{1}}"}, {Type: ButtonCopyCode, Text: "Copy"}},
		Variables: Variables{Body: []VariableMapping{{Name: "order_id", Campaign: "order", Example: "A-1"}, {Name: "first_name", Field: "first_name"}}, Buttons: map[int]VariableMapping{0: {Campaign: "order", Example: "A-1"}, 1: {Value: "SAVE10"}}}}
	def = Definition(named, opts)
	if def.ParameterFormat != whatsapp.ParameterFormatNamed {
		t.Errorf("parameter_format = %q", def.ParameterFormat)
	}
	body := def.Components[0]
	if ex := body.Example.BodyTextNamedParams; len(ex) != 2 || ex[0] != (whatsapp.NamedParamExample{ParamName: "order_id", Example: "A-1"}) || ex[1].Example != "Ana" {
		t.Errorf("named examples = %+v", ex)
	}
	btns := def.Components[1].Buttons
	if btns[0].Example[0] != "https://s.example.com/o/A-1" || btns[1].Example[0] != "SAVE10" {
		t.Errorf("button examples = %+v", btns)
	}
	if issues := Validate(named, opts); len(issues) != 0 {
		t.Errorf("named template issues: %v", issues)
	}
}

func TestFromMeta(t *testing.T) {
	t.Parallel()
	mt := whatsapp.Template{ID: "9", Name: "order_shipped", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY", ParameterFormat: "POSITIONAL",
		Components: []whatsapp.TemplateComponent{
			{Type: "HEADER", Format: "IMAGE", Example: &whatsapp.TemplateExample{HeaderHandle: []string{"https://cdn.example.com/box.jpg"}}},
			{Type: "BODY", Text: "Oi {{1}}, seu pedido saiu."},
			{Type: "FOOTER", Text: "Loja"},
			{Type: "BUTTONS", Buttons: []whatsapp.TemplateButton{{Type: "URL", Text: "Rastrear", URL: "https://s.example.com/{{1}}"}, {Type: "PHONE_NUMBER", Text: "Ligar", PhoneNumber: "+5511"}}},
		}}
	got := FromMeta(mt)
	if got.Header == nil || got.Header.Type != HeaderImage || got.Header.MediaURL != "https://cdn.example.com/box.jpg" ||
		got.Body != "Oi {{1}}, seu pedido saiu." || got.Footer != "Loja" || len(got.Buttons) != 2 ||
		got.Buttons[0].Type != ButtonURL || got.Buttons[1].Phone != "+5511" || got.Category != CategoryUtility {
		t.Errorf("FromMeta = %+v", got)
	}
}

func TestColumnsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tmpl := range []Template{validTemplate(), {Name: "plain", Language: "en", Category: CategoryUtility, ParameterFormat: FormatPositional, Body: "Hello."}} {
		cols, err := tmpl.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if (tmpl.Header == nil) != (cols.Header == nil) || cols.Buttons == "" || cols.Variables == "" {
			t.Errorf("%s: columns %+v", tmpl.Name, cols)
		}
		back, err := FromColumns(cols)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(tmpl)
		b, _ := json.Marshal(back)
		if string(a) != string(b) {
			t.Errorf("round trip changed\n%s\n%s", a, b)
		}
	}
}
