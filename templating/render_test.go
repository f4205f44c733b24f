package templating

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/heraldhq/herald/whatsapp"
)

// contractExample is the template of CONTRACT.md, "Template and campaign shapes".
const contractExample = `{"name": "flash_sale_oct", "language": "en_US", "category": "MARKETING",
 "header": {"type": "text", "text": "Flash sale"},
 "body": "Hi {{1}}, {{2}} off everything until midnight.",
 "footer": "Reply STOP to opt out",
 "buttons": [{"type": "quick_reply", "text": "Show me"},
             {"type": "url", "text": "Shop now", "url": "https://shop.example.com/sale/{{1}}", "track": true}],
 "variables": {"body": [{"field": "first_name", "fallback": "there"}, {"value": "30%"}]}}`

// componentsJSON renders components exactly as the send request carries
// them, by marshalling a whole message and picking template.components.
func componentsJSON(t *testing.T, comps []whatsapp.Component) string {
	t.Helper()
	raw, err := json.Marshal(whatsapp.Message{To: "5511987654321",
		Template: &whatsapp.TemplateMessage{Name: "x", Language: "en_US", Components: comps}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Template struct {
			Components json.RawMessage `json:"components"`
		} `json:"template"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	return canonical(t, string(body.Template.Components))
}

func canonical(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func fixedCode() (string, error) { return "Ab12Cd34", nil }

func TestRenderComponentsMatchReferenceShapes(t *testing.T) {
	t.Parallel()
	ana := Contact{FirstName: "Ana", Attributes: map[string]any{"order": "A-1009", "coupon": "SAVE10"}}
	tests := []struct {
		name     string
		tmpl     Template
		want     string // the components array of section 1.1
		wantBody string
	}{
		{
			name: "positional text header, body, quick reply payload, dynamic URL",
			tmpl: Template{Category: CategoryUtility, ParameterFormat: FormatPositional,
				Header: &Header{Type: HeaderText, Text: "Order {{1}}"},
				Body:   "Hi {{1}}, order {{2}} has shipped.",
				Buttons: []Button{{Type: ButtonQuickReply, Text: "Stop", Payload: "STOP_PROMO|camp=42"},
					{Type: ButtonURL, Text: "Track", URL: "https://shop.example.com/o/{{1}}"}},
				Variables: Variables{
					Header:  []VariableMapping{{Field: "attributes.order", Fallback: "-"}},
					Body:    []VariableMapping{{Field: "first_name"}, {Field: "attributes.order", Fallback: "your order"}},
					Buttons: map[int]VariableMapping{1: {Field: "attributes.order", Fallback: "latest"}},
				}},
			want: `[{"type":"header","parameters":[{"type":"text","text":"A-1009"}]},
				{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"A-1009"}]},
				{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"STOP_PROMO|camp=42"}]},
				{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"A-1009"}]}]`,
			wantBody: "Hi Ana, order A-1009 has shipped.",
		},
		{
			name: "positional variables out of order are sent 1..n",
			tmpl: Template{Category: CategoryMarketing, Body: "Your code {{2}} is ready, {{1}}!",
				Variables: Variables{Body: []VariableMapping{{Field: "first_name"}, {Value: "X9"}}}},
			want:     `[{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"X9"}]}]`,
			wantBody: "Your code X9 is ready, Ana!",
		},
		{
			name: "named header and body carry parameter_name",
			tmpl: Template{Category: CategoryMarketing, ParameterFormat: FormatNamed,
				Header: &Header{Type: HeaderText, Text: "Hello {{first_name}}"},
				Body:   "Order {{order_id}} for {{first_name}} is ready.",
				Variables: Variables{
					Header: []VariableMapping{{Field: "first_name"}},
					Body:   []VariableMapping{{Name: "first_name", Field: "first_name"}, {Name: "order_id", Field: "attributes.order", Fallback: "?"}},
				}},
			want: `[{"type":"header","parameters":[{"type":"text","parameter_name":"first_name","text":"Ana"}]},
				{"type":"body","parameters":[{"type":"text","parameter_name":"order_id","text":"A-1009"},{"type":"text","parameter_name":"first_name","text":"Ana"}]}]`,
			wantBody: "Order A-1009 for Ana is ready.",
		},
		{
			name: "image header by link",
			tmpl: Template{Category: CategoryMarketing, Header: &Header{Type: HeaderImage, MediaURL: "https://cdn.example.com/box.jpg"}, Body: "New arrivals."},
			want: `[{"type":"header","parameters":[{"type":"image","image":{"link":"https://cdn.example.com/box.jpg"}}]}]`, wantBody: "New arrivals.",
		},
		{
			name: "video header by link",
			tmpl: Template{Category: CategoryMarketing, Header: &Header{Type: HeaderVideo, MediaURL: "https://cdn.example.com/a.mp4"}, Body: "Watch."},
			want: `[{"type":"header","parameters":[{"type":"video","video":{"link":"https://cdn.example.com/a.mp4"}}]}]`, wantBody: "Watch.",
		},
		{
			name: "document header with filename, media URL per campaign",
			tmpl: Template{Category: CategoryUtility, Header: &Header{Type: HeaderDocument, MediaURL: "https://cdn.example.com/default.pdf"}, Body: "Your invoice.",
				Variables: Variables{Header: []VariableMapping{{Campaign: "invoice_url"}}}},
			want: `[{"type":"header","parameters":[{"type":"document","document":{"link":"https://cdn.example.com/inv-7.pdf","filename":"inv-7.pdf"}}]}]`, wantBody: "Your invoice.",
		},
		{
			name: "copy code coupon; static URL and phone need nothing",
			tmpl: Template{Category: CategoryMarketing, Body: "A gift for you.",
				Buttons:   []Button{{Type: ButtonCopyCode, Text: "Copy", Example: "SAVE10"}, {Type: ButtonURL, Text: "Shop", URL: "https://shop.example.com"}, {Type: ButtonPhone, Text: "Call", Phone: "+15550001111"}},
				Variables: Variables{Buttons: map[int]VariableMapping{0: {Field: "attributes.coupon", Fallback: "WELCOME"}}}},
			want:     `[{"type":"button","sub_type":"copy_code","index":"0","parameters":[{"type":"coupon_code","coupon_code":"SAVE10"}]}]`,
			wantBody: "A gift for you.",
		},
		{
			name: "authentication OTP: code in body and URL button",
			tmpl: Template{Category: CategoryAuthentication, Buttons: []Button{{Type: ButtonOTP, Text: "Copy code"}},
				Variables: Variables{Buttons: map[int]VariableMapping{0: {Campaign: "code"}}}},
			want: `[{"type":"body","parameters":[{"type":"text","text":"482913"}]},
				{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"482913"}]}]`,
			wantBody: "482913" + authBodySuffix,
		},
		{
			name: "tracked URL button carries the link code",
			tmpl: Template{Category: CategoryMarketing, Body: "Sale today.",
				Buttons:   []Button{{Type: ButtonQuickReply, Text: "Show me"}, {Type: ButtonURL, Text: "Shop", URL: "https://shop.example.com/sale/{{1}}", Track: true}},
				Variables: Variables{Buttons: map[int]VariableMapping{1: {Value: "oct"}}}},
			want:     `[{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"Ab12Cd34"}]}]`,
			wantBody: "Sale today.",
		},
	}
	values := map[string]string{"code": "482913", "invoice_url": "https://cdn.example.com/inv-7.pdf"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg, comps, err := RenderWith(tc.tmpl, ana, values, Options{NewLinkCode: fixedCode})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := componentsJSON(t, comps), canonical(t, tc.want); got != want {
				t.Errorf("components\n got %s\nwant %s", got, want)
			}
			if msg.Body != tc.wantBody {
				t.Errorf("body = %q, want %q", msg.Body, tc.wantBody)
			}
		})
	}
}

func TestRenderTrackedLink(t *testing.T) {
	t.Parallel()
	tmpl := Template{Category: CategoryMarketing, Body: "Sale.",
		Buttons:   []Button{{Type: ButtonURL, Text: "Shop", URL: "https://shop.example.com/sale/{{1}}", Track: true}},
		Variables: Variables{Buttons: map[int]VariableMapping{0: {Field: "attributes.slug", Fallback: "all"}}}}
	msg, _, err := Render(tmpl, Contact{Attributes: map[string]any{"slug": "shoes"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Links) != 1 || !ValidLinkCode(msg.Links[0].Code) || msg.Links[0].Destination != "https://shop.example.com/sale/shoes" {
		t.Fatalf("links = %+v", msg.Links)
	}
	if b := msg.Buttons[0]; !b.Tracked || b.URL != "https://shop.example.com/sale/shoes" {
		t.Errorf("button = %+v", b)
	}
	again, _, _ := Render(tmpl, Contact{}, nil)
	if again.Links[0].Code == msg.Links[0].Code || again.Links[0].Destination != "https://shop.example.com/sale/all" {
		t.Errorf("second render: %+v (first code %s)", again.Links, msg.Links[0].Code)
	}
}

func TestRenderFallbacks(t *testing.T) {
	t.Parallel()
	tmpl := Template{Category: CategoryMarketing, Body: "Hi {{1}}, your {{2}} plan renews {{3}}. Thanks!",
		Variables: Variables{Body: []VariableMapping{
			{Field: "first_name"},
			{Field: "attributes.plan", Fallback: "current"},
			{Campaign: "renewal_date", Fallback: "soon"},
		}}}
	tests := []struct {
		name    string
		contact Contact
		values  map[string]string
		want    string
	}{
		{"all values present", Contact{FirstName: "Ana", Attributes: map[string]any{"plan": "pro"}}, map[string]string{"renewal_date": "on 1 Nov"}, "Hi Ana, your pro plan renews on 1 Nov. Thanks!"},
		{"missing first name gets there", Contact{Attributes: map[string]any{"plan": "pro"}}, map[string]string{"renewal_date": "on 1 Nov"}, "Hi there, your pro plan renews on 1 Nov. Thanks!"},
		{"blank first name gets there", Contact{FirstName: "  "}, nil, "Hi there, your current plan renews soon. Thanks!"},
		{"explicit fallbacks", Contact{FirstName: "Bo"}, map[string]string{}, "Hi Bo, your current plan renews soon. Thanks!"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg, comps, err := Render(tmpl, tc.contact, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Body != tc.want {
				t.Errorf("body = %q, want %q", msg.Body, tc.want)
			}
			if len(comps) != 1 || len(comps[0].Parameters) != 3 {
				t.Fatalf("components = %+v", comps)
			}
		})
	}

	noFallback := Template{Category: CategoryMarketing, Body: "Your plan: {{1}}.",
		Variables: Variables{Body: []VariableMapping{{Field: "attributes.plan"}}}}
	if _, _, err := Render(noFallback, Contact{}, nil); !errors.Is(err, ErrMissingValue) {
		t.Errorf("missing value without fallback: err = %v, want ErrMissingValue", err)
	}
	unmapped := Template{Category: CategoryMarketing, Body: "Hi {{1}}!"}
	if _, _, err := Render(unmapped, Contact{FirstName: "Ana"}, nil); !errors.Is(err, ErrMissingValue) {
		t.Errorf("unmapped variable: err = %v, want ErrMissingValue", err)
	}
}

func TestPreviewShowsUnmappedPlaceholders(t *testing.T) {
	t.Parallel()
	tmpl := Template{Category: CategoryMarketing, Header: &Header{Type: HeaderText, Text: "Hey {{1}}"},
		Body: "Hi {{1}}, {{2}} off", Footer: "Reply STOP",
		Buttons:   []Button{{Type: ButtonQuickReply, Text: "Show me"}, {Type: ButtonURL, Text: "Shop", URL: "https://s.example.com/{{1}}", Track: true}},
		Variables: Variables{Body: []VariableMapping{{Field: "first_name"}}}}
	msg := Preview(tmpl, SampleContact(), nil)
	if msg.Body != "Hi Ana, {{2}} off" || msg.HeaderText != "Hey {{1}}" || msg.Footer != "Reply STOP" {
		t.Errorf("preview = %+v", msg)
	}
	if len(msg.Buttons) != 2 || msg.Buttons[1].URL != "https://s.example.com/{{1}}" || len(msg.Links) != 0 {
		t.Errorf("buttons = %+v links = %+v", msg.Buttons, msg.Links)
	}
}

func TestParseContractExample(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseJSON([]byte(contractExample))
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name != "flash_sale_oct" || tmpl.Header.Text != "Flash sale" || len(tmpl.Buttons) != 2 ||
		!tmpl.Buttons[1].Track || tmpl.Variables.Body[0].Fallback != "there" || tmpl.Variables.Body[1].Value != "30%" ||
		tmpl.ParameterFormat != FormatPositional {
		t.Errorf("parsed = %+v", tmpl)
	}
	if _, err := ParseJSON([]byte(`{"name":"x","bodyy":"typo"}`)); err == nil {
		t.Error("unknown field accepted")
	}
	// Round trip through JSON keeps the shape.
	raw, _ := json.Marshal(tmpl)
	back, err := ParseJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	raw2, _ := json.Marshal(back)
	if string(raw) != string(raw2) {
		t.Errorf("round trip changed\n%s\n%s", raw, raw2)
	}
}

func TestLinkCodesAndUTM(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		c, err := NewLinkCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != LinkCodeLength || !ValidLinkCode(c) || seen[c] {
			t.Fatalf("code %q bad or repeated", c)
		}
		seen[c] = true
	}
	for _, bad := range []string{"", "a/b", "abc", strings.Repeat("a", 40), "ab cd"} {
		if ValidLinkCode(bad) {
			t.Errorf("ValidLinkCode(%q) = true", bad)
		}
	}
	tests := []struct{ dest, campaign, want string }{
		{"https://shop.example.com/sale", "October sale", "https://shop.example.com/sale?utm_campaign=October+sale&utm_medium=message&utm_source=whatsapp"},
		{"https://shop.example.com/?a=1&utm_source=newsletter", "7", "https://shop.example.com/?a=1&utm_campaign=7&utm_medium=message&utm_source=newsletter"},
		{"https://shop.example.com/x#top", "", "https://shop.example.com/x?utm_medium=message&utm_source=whatsapp#top"},
	}
	for _, tc := range tests {
		got, err := WithUTM(tc.dest, tc.campaign)
		if err != nil || got != tc.want {
			t.Errorf("WithUTM(%q, %q) = %q, %v; want %q", tc.dest, tc.campaign, got, err, tc.want)
		}
	}
}
