package templating

import (
	"fmt"
	"strings"

	"github.com/heraldhq/herald/whatsapp"
)

// DefinitionOptions adjust the conversion to Meta's creation shape.
type DefinitionOptions struct {
	// TrackingBaseURL is Herald's public URL (HERALD_BASE_URL); tracked URL
	// buttons are created as TrackingBaseURL/r/{{1}}.
	TrackingBaseURL string
}

// Definition converts t to the body of Meta's template creation call.
func Definition(t Template, opts DefinitionOptions) whatsapp.TemplateDefinition {
	def, _ := definition(t, opts)
	return def
}

// definition also returns the Herald field each component index stands for,
// so Meta rule issues can be shown next to the right input.
func definition(t Template, opts DefinitionOptions) (whatsapp.TemplateDefinition, []string) {
	def := whatsapp.TemplateDefinition{Name: t.Name, Language: t.Language, Category: t.Category}
	if t.Named() {
		def.ParameterFormat = whatsapp.ParameterFormatNamed
	} else if t.ParameterFormat != "" && t.ParameterFormat != FormatPositional {
		def.ParameterFormat = strings.ToLower(t.ParameterFormat) // let Meta's rules name the bad value
	}
	var fields []string
	add := func(field string, c whatsapp.TemplateComponent) {
		def.Components = append(def.Components, c)
		fields = append(fields, field)
	}
	sample := SampleContact()
	auth := t.Category == CategoryAuthentication

	if t.Header != nil && !auth {
		field := "header"
		if t.Header.Type != HeaderText {
			field = "header_media"
		}
		add(field, headerComponent(t, sample))
	}
	if auth {
		add("body", whatsapp.TemplateComponent{Type: whatsapp.TemplateBody, AddSecurityRecommendation: true})
	} else {
		add("body", bodyComponent(t, sample))
	}
	if t.Footer != "" && !auth {
		add("footer", whatsapp.TemplateComponent{Type: whatsapp.TemplateFooter, Text: t.Footer})
	}
	if len(t.Buttons) > 0 {
		c := whatsapp.TemplateComponent{Type: whatsapp.TemplateButtons}
		for i, b := range t.Buttons {
			c.Buttons = append(c.Buttons, templateButton(t, i, b, opts, sample))
		}
		add("buttons", c)
	}
	return def, fields
}

// example is the value Meta's reviewers see for one variable.
func example(m VariableMapping, sample Contact) string {
	for _, v := range []string{m.Example, m.Value, sample.Lookup(m.Field), m.Fallback, m.Campaign} {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

func headerComponent(t Template, sample Contact) whatsapp.TemplateComponent {
	h := t.Header
	switch h.Type {
	case HeaderText:
		c := whatsapp.TemplateComponent{Type: whatsapp.TemplateHeader, Format: whatsapp.FormatText, Text: h.Text}
		names := whatsapp.Variables(h.Text)
		if len(names) > 0 && len(t.Variables.Header) > 0 {
			if ex := example(t.Variables.Header[0], sample); ex != "" {
				if t.Named() {
					c.Example = &whatsapp.TemplateExample{HeaderTextNamedParams: []whatsapp.NamedParamExample{{ParamName: names[0], Example: ex}}}
				} else {
					c.Example = &whatsapp.TemplateExample{HeaderText: []string{ex}}
				}
			}
		}
		return c
	default:
		c := whatsapp.TemplateComponent{Type: whatsapp.TemplateHeader, Format: strings.ToUpper(h.Type)}
		// Meta wants an upload handle here; Herald passes the media URL,
		// which the simulator accepts (see the package README for the gap).
		if h.MediaURL != "" {
			c.Example = &whatsapp.TemplateExample{HeaderHandle: []string{h.MediaURL}}
		}
		return c
	}
}

func bodyComponent(t Template, sample Contact) whatsapp.TemplateComponent {
	c := whatsapp.TemplateComponent{Type: whatsapp.TemplateBody, Text: t.Body}
	names := t.BodyVariables()
	if len(names) == 0 {
		return c
	}
	ex := &whatsapp.TemplateExample{}
	var row []string
	for i, name := range names {
		m, ok := t.BodyMapping(name, i)
		v := ""
		if ok {
			v = example(m, sample)
		}
		if t.Named() {
			if v != "" {
				ex.BodyTextNamedParams = append(ex.BodyTextNamedParams, whatsapp.NamedParamExample{ParamName: name, Example: v})
			}
		} else if v != "" {
			row = append(row, v)
		}
	}
	if len(row) > 0 {
		ex.BodyText = [][]string{row}
	}
	if len(row) > 0 || len(ex.BodyTextNamedParams) > 0 {
		c.Example = ex
	}
	return c
}

func templateButton(t Template, i int, b Button, opts DefinitionOptions, sample Contact) whatsapp.TemplateButton {
	out := whatsapp.TemplateButton{Type: strings.ToUpper(b.Type), Text: b.Text}
	buttonExample := func() string {
		if b.Example != "" {
			return b.Example
		}
		if m, ok := t.Variables.Buttons[i]; ok {
			return example(m, sample)
		}
		return ""
	}
	switch b.Type {
	case ButtonURL:
		out.URL = b.URL
		if b.Track && opts.TrackingBaseURL != "" {
			out.URL = TrackingURL(opts.TrackingBaseURL)
			out.Example = []string{strings.Replace(out.URL, "{{1}}", "AbCd1234", 1)}
		} else if b.IsDynamicURL() {
			if ex := buttonExample(); ex != "" {
				out.Example = []string{strings.Replace(b.URL, "{{1}}", ex, 1)}
			}
		}
	case ButtonPhone:
		out.PhoneNumber = b.Phone
	case ButtonCopyCode:
		if ex := buttonExample(); ex != "" {
			out.Example = []string{ex}
		}
	case ButtonOTP:
		out.OTPType = "COPY_CODE"
		if out.Text == "" {
			out.Text = "Copy code"
		}
	}
	return out
}

// Issue is one problem with a template, located by the Herald field it
// concerns ("name", "body", "buttons[1].url", "variables.body[0]"…).
type Issue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Validate returns every reason Meta or Herald would refuse t: Meta's
// creation rules (whatsapp.ValidateTemplate on the converted definition,
// with fields renamed to Herald's) followed by Herald's own checks.
func Validate(t Template, opts DefinitionOptions) []Issue {
	def, fields := definition(t, opts)
	var out []Issue
	for _, is := range whatsapp.ValidateTemplate(def) {
		out = append(out, Issue{Field: heraldField(is.Field, fields), Message: is.Message})
	}
	return append(out, heraldIssues(t, opts)...)
}

// heraldField renames "components[2].buttons[0].url" to "buttons[0].url".
func heraldField(metaField string, fields []string) string {
	rest, ok := strings.CutPrefix(metaField, "components[")
	if !ok {
		return metaField
	}
	idxText, tail, _ := strings.Cut(rest, "]")
	var idx int
	if _, err := fmt.Sscanf(idxText, "%d", &idx); err != nil || idx < 0 || idx >= len(fields) {
		return "template"
	}
	base := fields[idx]
	tail = strings.TrimPrefix(tail, ".")
	switch {
	case base == "header_media" && tail == "example":
		return "header.media_url"
	case base == "header_media":
		return "header.type"
	case tail == "example" && base == "body":
		return "variables.body"
	case tail == "example" && base == "header":
		return "variables.header"
	case tail == "text" && base == "header":
		return "header.text"
	case tail == "format" && base == "header":
		return "header.type"
	case base == "body", base == "footer":
		return base
	case base == "buttons" && tail != "":
		tail = strings.TrimPrefix(tail, "buttons")
		tail = strings.Replace(tail, ".phone_number", ".phone", 1)
		return "buttons" + tail
	}
	return base
}

// heraldIssues are the checks Meta does not make but Herald needs to send:
// every variable mapped to exactly one source, fallbacks for contact fields
// and campaign values, a base URL for tracked links.
func heraldIssues(t Template, opts DefinitionOptions) []Issue {
	var out []Issue
	add := func(field, format string, args ...any) {
		out = append(out, Issue{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	checkMapping := func(field, what string, m VariableMapping, needFallback bool) {
		n := 0
		for _, v := range []string{m.Field, m.Value, m.Campaign} {
			if v != "" {
				n++
			}
		}
		switch {
		case n == 0:
			add(field, "map %s to a contact field, a fixed text or a per-campaign value", what)
		case n > 1:
			add(field, "map %s to only one of a contact field, a fixed text or a per-campaign value", what)
		case m.Field != "" && !IsKnownField(m.Field):
			add(field, "%q is not a contact field (use one of the list or attributes.NAME)", m.Field)
		case needFallback && m.Field != "" && m.Fallback == "" && DefaultFallbacks[m.Field] == "":
			add(field, "set a fallback for %s: contacts without %s would get an empty value", what, m.Field)
		}
	}
	if t.Category == CategoryAuthentication {
		otp := 0
		for _, b := range t.Buttons {
			if b.Type == ButtonOTP {
				otp++
			}
		}
		if otp != 1 {
			add("buttons", "an authentication template needs exactly one OTP button")
		}
	}
	if t.Header != nil && t.Header.Type != HeaderText && t.Category != CategoryAuthentication {
		if t.Header.MediaURL == "" {
			add("header.media_url", "give the public HTTPS URL of the %s", t.Header.Type)
		} else if !strings.HasPrefix(t.Header.MediaURL, "https://") && !strings.HasPrefix(t.Header.MediaURL, "http://") {
			add("header.media_url", "the media URL must start with https://")
		}
	}
	if t.Header != nil && t.Header.Type == HeaderText && t.Category != CategoryAuthentication {
		if names := whatsapp.Variables(t.Header.Text); len(names) > 0 {
			var m VariableMapping
			if len(t.Variables.Header) > 0 {
				m = t.Variables.Header[0]
			}
			checkMapping("variables.header[0]", "the header variable {{"+names[0]+"}}", m, true)
		}
	}
	if t.Category != CategoryAuthentication {
		for i, name := range t.BodyVariables() {
			m, _ := t.BodyMapping(name, i)
			checkMapping(fmt.Sprintf("variables.body[%d]", i), "{{"+name+"}}", m, true)
		}
	}
	for i, b := range t.Buttons {
		field := fmt.Sprintf("buttons[%d]", i)
		if b.NeedsValue() {
			m, ok := t.Variables.Buttons[i]
			switch {
			case b.Type == ButtonOTP && !ok:
				// Falls back to the campaign value "code".
			default:
				checkMapping(fmt.Sprintf("variables.buttons[%d]", i), "the value of button "+fmt.Sprint(i+1), m, true)
			}
		}
		if b.Track {
			switch {
			case b.Type != ButtonURL:
				add(field+".track", "only URL buttons can be tracked")
			case opts.TrackingBaseURL == "":
				add(field+".track", "tracking needs Herald's public URL (HERALD_BASE_URL)")
			}
		}
		if b.Type == ButtonQuickReply && len(b.Payload) > 256 {
			add(field+".payload", "the payload is longer than 256 characters")
		}
	}
	return out
}
