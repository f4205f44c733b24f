// Package templating is Herald's side of WhatsApp message templates: the
// template as a marketer composes it (the CONTRACT JSON shape), how each
// variable is filled for one contact, the phone preview, and the conversion
// to what Meta wants — a whatsapp.TemplateDefinition to create it and
// whatsapp.Components to send it.
//
// Meta's creation rules live in whatsapp.ValidateTemplate; Validate here
// runs them on the converted definition and adds only what Herald itself
// needs (every variable mapped, fallbacks, tracked-link set-up).
//
// The package imports whatsapp but never models: the store keeps templates
// as JSON columns and the callers convert.
package templating

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Categories, as Meta names them.
const (
	CategoryMarketing      = "MARKETING"
	CategoryUtility        = "UTILITY"
	CategoryAuthentication = "AUTHENTICATION"
)

// Parameter formats, as stored by Herald (Meta reads them lowercase at
// creation and returns them uppercase).
const (
	FormatPositional = "POSITIONAL"
	FormatNamed      = "NAMED"
)

// Header types.
const (
	HeaderText     = "text"
	HeaderImage    = "image"
	HeaderVideo    = "video"
	HeaderDocument = "document"
)

// Button types.
const (
	ButtonQuickReply = "quick_reply"
	ButtonURL        = "url"
	ButtonPhone      = "phone_number"
	ButtonCopyCode   = "copy_code"
	ButtonOTP        = "otp"
)

// Template is a message template as Herald stores it and the REST API
// accepts it (CONTRACT "Template and campaign shapes").
type Template struct {
	Name            string    `json:"name"`
	Language        string    `json:"language"`
	Category        string    `json:"category"`
	ParameterFormat string    `json:"parameter_format,omitempty"` // POSITIONAL (default) or NAMED
	Header          *Header   `json:"header,omitempty"`
	Body            string    `json:"body"`
	Footer          string    `json:"footer,omitempty"`
	Buttons         []Button  `json:"buttons,omitempty"`
	Variables       Variables `json:"variables"`
}

// Header is the optional header: a text with at most one variable, or a
// media file by public URL.
type Header struct {
	Type     string `json:"type"` // text, image, video, document
	Text     string `json:"text,omitempty"`
	MediaURL string `json:"media_url,omitempty"`
}

// Button is one template button.
type Button struct {
	Type  string `json:"type"` // quick_reply, url, phone_number, copy_code, otp
	Text  string `json:"text,omitempty"`
	URL   string `json:"url,omitempty"`   // url: may end with {{1}}, the dynamic suffix
	Phone string `json:"phone,omitempty"` // phone_number
	// Example is the example value Meta's reviewers see: the dynamic URL
	// suffix of a url button, the code of a copy_code button. When empty it
	// is derived from the button's variable mapping.
	Example string `json:"example,omitempty"`
	// Track routes the tap through Herald's /r/{code} redirect, so taps on
	// links are counted like quick replies.
	Track bool `json:"track,omitempty"`
	// Payload is sent with a quick_reply and comes back in the reply webhook.
	Payload string `json:"payload,omitempty"`
}

// Variables maps each template variable to where its value comes from.
type Variables struct {
	// Header holds the mapping of the header's single text variable, or of
	// a media header's per-send URL (optional; MediaURL is used otherwise).
	Header []VariableMapping `json:"header,omitempty"`
	// Body holds one mapping per body variable: for positional templates
	// Body[i] fills {{i+1}}; for named ones the mapping with a matching Name,
	// or else the i-th distinct name in order of appearance.
	Body []VariableMapping `json:"body,omitempty"`
	// Buttons maps a button's zero-based index to the value of its dynamic
	// URL suffix, coupon code or one-time password.
	Buttons map[int]VariableMapping `json:"buttons,omitempty"`
}

// VariableMapping says where one variable's value comes from: exactly one
// of Field, Value and Campaign.
type VariableMapping struct {
	Name     string `json:"name,omitempty"`     // named templates: the variable's name
	Field    string `json:"field,omitempty"`    // contact field: first_name, country, attributes.plan…
	Value    string `json:"value,omitempty"`    // fixed text
	Campaign string `json:"campaign,omitempty"` // name of a value each campaign provides
	Fallback string `json:"fallback,omitempty"` // used when the field or campaign value is empty
	Example  string `json:"example,omitempty"`  // shown to Meta's reviewers; derived when empty
}

// Source names which of Field, Value and Campaign the mapping uses, or ""
// when none is set.
func (m VariableMapping) Source() string {
	switch {
	case m.Field != "":
		return "field"
	case m.Campaign != "":
		return "campaign"
	case m.Value != "":
		return "value"
	}
	return ""
}

// ParseJSON decodes a template in the CONTRACT shape, refusing unknown
// fields so a typo in an API call is reported instead of ignored.
func ParseJSON(data []byte) (Template, error) {
	var t Template
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Template{}, fmt.Errorf("templating: parse template: %w", err)
	}
	t.Normalize()
	return t, nil
}

// Normalize fills defaults and tidies case, so that stored templates compare
// equal however they were typed.
func (t *Template) Normalize() {
	t.Name = strings.TrimSpace(t.Name)
	t.Language = strings.TrimSpace(t.Language)
	t.Category = strings.ToUpper(strings.TrimSpace(t.Category))
	t.ParameterFormat = strings.ToUpper(strings.TrimSpace(t.ParameterFormat))
	if t.ParameterFormat == "" {
		t.ParameterFormat = FormatPositional
	}
	if t.Header != nil {
		t.Header.Type = strings.ToLower(strings.TrimSpace(t.Header.Type))
		if t.Header.Type == "" || t.Header.Type == "none" {
			t.Header = nil
		}
	}
	for i := range t.Buttons {
		t.Buttons[i].Type = strings.ToLower(strings.TrimSpace(t.Buttons[i].Type))
	}
}

// Named reports whether the template uses named variables.
func (t Template) Named() bool { return strings.EqualFold(t.ParameterFormat, FormatNamed) }

// IsDynamicURL reports whether a url button has a {{1}} suffix to fill.
func (b Button) IsDynamicURL() bool {
	return b.Type == ButtonURL && strings.Contains(b.URL, "{{")
}

// NeedsValue reports whether the button takes a per-send value from
// Variables.Buttons: a dynamic URL suffix (of the destination, when
// tracked), a coupon code or a one-time password.
func (b Button) NeedsValue() bool {
	switch b.Type {
	case ButtonURL:
		return b.IsDynamicURL()
	case ButtonCopyCode, ButtonOTP:
		return true
	}
	return false
}
