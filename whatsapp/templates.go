package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Template categories.
const (
	CategoryMarketing      = "MARKETING"
	CategoryUtility        = "UTILITY"
	CategoryAuthentication = "AUTHENTICATION"
)

// Template statuses (the main ones; Meta has more, kept as plain strings).
const (
	StatusPending  = "PENDING"
	StatusApproved = "APPROVED"
	StatusRejected = "REJECTED"
	StatusPaused   = "PAUSED"
	StatusDisabled = "DISABLED"
)

// Creation-time component types (uppercase) and formats.
const (
	TemplateHeader  = "HEADER"
	TemplateBody    = "BODY"
	TemplateFooter  = "FOOTER"
	TemplateButtons = "BUTTONS"

	FormatText     = "TEXT"
	FormatImage    = "IMAGE"
	FormatVideo    = "VIDEO"
	FormatDocument = "DOCUMENT"
	FormatLocation = "LOCATION"
)

// Creation-time button types.
const (
	TemplateButtonQuickReply  = "QUICK_REPLY"
	TemplateButtonURL         = "URL"
	TemplateButtonPhoneNumber = "PHONE_NUMBER"
	TemplateButtonCopyCode    = "COPY_CODE"
	TemplateButtonOTP         = "OTP"
	TemplateButtonFlow        = "FLOW"
)

// Parameter formats.
const (
	ParameterFormatPositional = "positional"
	ParameterFormatNamed      = "named"
)

// TemplateDefinition is the body of POST /{waba-id}/message_templates.
type TemplateDefinition struct {
	Name            string              `json:"name"`
	Language        string              `json:"language"`
	Category        string              `json:"category"`
	ParameterFormat string              `json:"parameter_format,omitempty"` // "named" or "positional" (default)
	Components      []TemplateComponent `json:"components"`
}

// TemplateComponent is a creation-time (and read-time) component.
type TemplateComponent struct {
	Type    string           `json:"type"`             // HEADER, BODY, FOOTER, BUTTONS
	Format  string           `json:"format,omitempty"` // HEADER: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
	Text    string           `json:"text,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
	Example *TemplateExample `json:"example,omitempty"`
	// Authentication templates only.
	AddSecurityRecommendation bool `json:"add_security_recommendation,omitempty"`
	CodeExpirationMinutes     int  `json:"code_expiration_minutes,omitempty"`
}

// TemplateButton is one button of a BUTTONS component.
type TemplateButton struct {
	Type        string // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW
	Text        string // label
	URL         string // URL buttons; may end with one variable {{1}}
	PhoneNumber string // PHONE_NUMBER buttons
	// Example: for URL buttons the full example URL(s); for COPY_CODE the
	// example code (sent by Meta as a plain string).
	Example []string
	OTPType string // OTP buttons: COPY_CODE, ONE_TAP, ZERO_TAP
}

type wireTemplateButton struct {
	Type        string          `json:"type"`
	Text        string          `json:"text,omitempty"`
	URL         string          `json:"url,omitempty"`
	PhoneNumber string          `json:"phone_number,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
	OTPType     string          `json:"otp_type,omitempty"`
}

// MarshalJSON writes COPY_CODE examples as a string and others as a list,
// as Meta expects.
func (b TemplateButton) MarshalJSON() ([]byte, error) {
	w := wireTemplateButton{Type: b.Type, Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber, OTPType: b.OTPType}
	if len(b.Example) > 0 {
		var err error
		if b.Type == TemplateButtonCopyCode {
			w.Example, err = json.Marshal(b.Example[0])
		} else {
			w.Example, err = json.Marshal(b.Example)
		}
		if err != nil {
			return nil, err
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON accepts the example as a string or a list of strings.
func (b *TemplateButton) UnmarshalJSON(data []byte) error {
	var w wireTemplateButton
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = TemplateButton{Type: w.Type, Text: w.Text, URL: w.URL, PhoneNumber: w.PhoneNumber, OTPType: w.OTPType}
	if len(w.Example) > 0 {
		var one string
		if json.Unmarshal(w.Example, &one) == nil {
			b.Example = []string{one}
		} else if err := json.Unmarshal(w.Example, &b.Example); err != nil {
			return fmt.Errorf("button example: %w", err)
		}
	}
	return nil
}

// TemplateExample holds example values Meta's reviewers need.
type TemplateExample struct {
	HeaderText            []string            `json:"header_text,omitempty"`
	HeaderHandle          []string            `json:"header_handle,omitempty"`
	BodyText              [][]string          `json:"body_text,omitempty"`
	HeaderTextNamedParams []NamedParamExample `json:"header_text_named_params,omitempty"`
	BodyTextNamedParams   []NamedParamExample `json:"body_text_named_params,omitempty"`
}

// NamedParamExample is the example of one named variable.
type NamedParamExample struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

// Template is a template as read from the Graph API.
type Template struct {
	ID              string              `json:"id"`
	Name            string              `json:"name"`
	Language        string              `json:"language"`
	Status          string              `json:"status"`
	Category        string              `json:"category"`
	ParameterFormat string              `json:"parameter_format,omitempty"` // NAMED or POSITIONAL
	Components      []TemplateComponent `json:"components,omitempty"`
	QualityScore    *QualityScore       `json:"quality_score,omitempty"`
	RejectedReason  string              `json:"rejected_reason,omitempty"`
}

// QualityScore is a template's quality: GREEN, YELLOW, RED or UNKNOWN.
type QualityScore struct {
	Score string `json:"score"`
	Date  int64  `json:"date,omitempty"`
}

// Quality returns the quality score or "UNKNOWN".
func (t Template) Quality() string {
	if t.QualityScore == nil || t.QualityScore.Score == "" {
		return "UNKNOWN"
	}
	return t.QualityScore.Score
}

// Component returns the first component of the given creation type
// (e.g. TemplateBody), or nil.
func (t Template) Component(typ string) *TemplateComponent {
	for i := range t.Components {
		if strings.EqualFold(t.Components[i].Type, typ) {
			return &t.Components[i]
		}
	}
	return nil
}

// CreateTemplateResult is Meta's answer to a template creation.
type CreateTemplateResult struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Category string `json:"category"`
}

const templateFields = "id,name,status,category,language,components,parameter_format,quality_score,rejected_reason"

// maxTemplatePages stops a paging loop that a misbehaving server keeps alive.
const maxTemplatePages = 1000

// ListTemplates reads every template of the WABA, following cursor paging.
func (c *Client) ListTemplates(ctx context.Context) ([]Template, error) {
	var all []Template
	after := ""
	for page := 0; page < maxTemplatePages; page++ {
		q := url.Values{"fields": {templateFields}, "limit": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		var resp struct {
			Data   []Template `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.do(ctx, "GET", c.endpoint(c.cfg.WABAID+"/message_templates", q), nil, &resp); err != nil {
			return nil, fmt.Errorf("whatsapp: list templates: %w", err)
		}
		all = append(all, resp.Data...)
		if resp.Paging.Next == "" || resp.Paging.Cursors.After == "" || len(resp.Data) == 0 {
			return all, nil
		}
		after = resp.Paging.Cursors.After
	}
	return nil, fmt.Errorf("whatsapp: list templates: more than %d pages", maxTemplatePages)
}

// CreateTemplate submits def for review. The template starts PENDING; the
// verdict arrives as a message_template_status_update webhook.
func (c *Client) CreateTemplate(ctx context.Context, def TemplateDefinition) (CreateTemplateResult, error) {
	var res CreateTemplateResult
	if err := c.do(ctx, "POST", c.endpoint(c.cfg.WABAID+"/message_templates", nil), def, &res); err != nil {
		return CreateTemplateResult{}, fmt.Errorf("whatsapp: create template %s/%s: %w", def.Name, def.Language, err)
	}
	return res, nil
}

// GetTemplate reads one template by its ID (status, quality, components).
func (c *Client) GetTemplate(ctx context.Context, id string) (Template, error) {
	var t Template
	q := url.Values{"fields": {templateFields}}
	if err := c.do(ctx, "GET", c.endpoint(url.PathEscape(id), q), nil, &t); err != nil {
		return Template{}, fmt.Errorf("whatsapp: get template %s: %w", id, err)
	}
	return t, nil
}

// DeleteTemplate deletes a template: every language of name when id is
// empty, or only the translation with that ID (hsm_id).
func (c *Client) DeleteTemplate(ctx context.Context, name, id string) error {
	q := url.Values{"name": {name}}
	if id != "" {
		q.Set("hsm_id", id)
	}
	var resp struct {
		Success bool `json:"success"`
	}
	if err := c.do(ctx, "DELETE", c.endpoint(c.cfg.WABAID+"/message_templates", q), nil, &resp); err != nil {
		return fmt.Errorf("whatsapp: delete template %s: %w", name, err)
	}
	if !resp.Success {
		return fmt.Errorf("whatsapp: delete template %s: Meta answered success=false", name)
	}
	return nil
}
