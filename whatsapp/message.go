package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Component types used when sending a template (lowercase at send time).
const (
	ComponentHeader = "header"
	ComponentBody   = "body"
	ComponentButton = "button"
)

// Button sub-types used when sending a template.
const (
	ButtonQuickReply = "quick_reply"
	ButtonURL        = "url"
	ButtonCopyCode   = "copy_code"
	ButtonFlow       = "flow"
)

// Parameter types used when sending a template.
const (
	ParamText       = "text"
	ParamCurrency   = "currency"
	ParamDateTime   = "date_time"
	ParamImage      = "image"
	ParamVideo      = "video"
	ParamDocument   = "document"
	ParamLocation   = "location"
	ParamPayload    = "payload"
	ParamCouponCode = "coupon_code"
	ParamAction     = "action"
)

// MaxBizOpaqueLen is the documented limit of biz_opaque_callback_data.
const MaxBizOpaqueLen = 512

// Message is one outbound message. Exactly one of Template, Text and
// Interactive must be set.
type Message struct {
	To string // recipient, international format (E.164 digits are safest)
	// BizOpaqueCallbackData is echoed in every status webhook for this
	// message; Herald puts its own message id here.
	BizOpaqueCallbackData string
	// ReplyTo quotes an earlier message (context.message_id), optional.
	ReplyTo     string
	Template    *TemplateMessage
	Text        *TextMessage
	Interactive *Interactive
}

// TemplateMessage sends an approved template.
type TemplateMessage struct {
	Name       string
	Language   string // exact code of the approved translation, e.g. en_US
	Components []Component
}

// Component carries the parameters of one template component at send time.
type Component struct {
	Type       string // ComponentHeader, ComponentBody or ComponentButton
	SubType    string // for buttons: ButtonQuickReply, ButtonURL, ButtonCopyCode, ButtonFlow
	Index      int    // for buttons: zero-based position of the button in the template
	Parameters []Parameter
}

// Parameter is one template parameter; Type selects which other field is sent.
type Parameter struct {
	Type          string
	ParameterName string // named templates only
	Text          string // ParamText
	Payload       string // ParamPayload (quick reply)
	CouponCode    string // ParamCouponCode (copy code)
	Image         *Media
	Video         *Media
	Document      *Media
	Location      *Location
	Currency      *Currency
	DateTime      *DateTime
	Action        map[string]any // ParamAction (flow, catalog)
}

// Media references media by uploaded ID or public HTTPS link.
type Media struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Filename string `json:"filename,omitempty"` // documents only
	Caption  string `json:"caption,omitempty"`
}

// Location is a location header parameter.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Currency is a currency parameter; Amount1000 is the amount times 1000.
type Currency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

// DateTime is a date_time parameter; the Cloud API always shows FallbackValue.
type DateTime struct {
	FallbackValue string `json:"fallback_value"`
}

// TextMessage is a free-form text (only inside a customer service window).
type TextMessage struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

// Interactive is a reply-button or list message (inside a service window).
type Interactive struct {
	Type   string             `json:"type"` // "button" or "list"
	Header *InteractiveHeader `json:"header,omitempty"`
	Body   InteractiveText    `json:"body"`
	Footer *InteractiveText   `json:"footer,omitempty"`
	Action InteractiveAction  `json:"action"`
}

// InteractiveHeader is the optional header of an interactive message.
type InteractiveHeader struct {
	Type     string `json:"type"` // text, image, video, document
	Text     string `json:"text,omitempty"`
	Image    *Media `json:"image,omitempty"`
	Video    *Media `json:"video,omitempty"`
	Document *Media `json:"document,omitempty"`
}

// InteractiveText is a body or footer.
type InteractiveText struct {
	Text string `json:"text"`
}

// InteractiveAction holds reply buttons (Type "button") or the list button
// and sections (Type "list").
type InteractiveAction struct {
	Button   string        `json:"button,omitempty"`
	Buttons  []ReplyButton `json:"buttons,omitempty"`
	Sections []Section     `json:"sections,omitempty"`
}

// ReplyButton is one reply button; it is sent as {"type":"reply","reply":{id,title}}.
type ReplyButton struct {
	ID    string
	Title string
}

// MarshalJSON writes the Cloud API shape.
func (b ReplyButton) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"type": "reply", "reply": map[string]string{"id": b.ID, "title": b.Title}})
}

// UnmarshalJSON reads the Cloud API shape.
func (b *ReplyButton) UnmarshalJSON(data []byte) error {
	var w struct {
		Reply struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"reply"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	b.ID, b.Title = w.Reply.ID, w.Reply.Title
	return nil
}

// Section is one section of a list message.
type Section struct {
	Title string `json:"title,omitempty"`
	Rows  []Row  `json:"rows"`
}

// Row is one row of a list section.
type Row struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// SendResult is Meta's answer to an accepted message. Accepted is not
// delivered: the outcome arrives in status webhooks.
type SendResult struct {
	MessageID string // wamid
	WAID      string // canonical WhatsApp ID of the recipient; store it
	Input     string // the `to` value as sent
	Status    string // message_status: "accepted", "held_for_quality_assessment" or empty
}

// --- wire shapes ---

type wireSend struct {
	MessagingProduct string        `json:"messaging_product"`
	RecipientType    string        `json:"recipient_type"`
	To               string        `json:"to"`
	Type             string        `json:"type"`
	BizOpaque        string        `json:"biz_opaque_callback_data,omitempty"`
	Context          *wireContext  `json:"context,omitempty"`
	Template         *wireTemplate `json:"template,omitempty"`
	Text             *TextMessage  `json:"text,omitempty"`
	Interactive      *Interactive  `json:"interactive,omitempty"`
}

type wireContext struct {
	MessageID string `json:"message_id"`
}

type wireTemplate struct {
	Name       string          `json:"name"`
	Language   wireLanguage    `json:"language"`
	Components []wireComponent `json:"components,omitempty"`
}

type wireLanguage struct {
	Code   string `json:"code"`
	Policy string `json:"policy"`
}

type wireComponent struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      *string     `json:"index,omitempty"`
	Parameters []Parameter `json:"parameters"`
}

// MarshalJSON writes only the field that belongs to the parameter's type, so
// an empty text is still sent as "text":"" rather than silently dropped.
func (p Parameter) MarshalJSON() ([]byte, error) {
	m := map[string]any{"type": p.Type}
	if p.ParameterName != "" {
		m["parameter_name"] = p.ParameterName
	}
	switch p.Type {
	case ParamText:
		m["text"] = p.Text
	case ParamPayload:
		m["payload"] = p.Payload
	case ParamCouponCode:
		m["coupon_code"] = p.CouponCode
	case ParamImage:
		m["image"] = p.Image
	case ParamVideo:
		m["video"] = p.Video
	case ParamDocument:
		m["document"] = p.Document
	case ParamLocation:
		m["location"] = p.Location
	case ParamCurrency:
		m["currency"] = p.Currency
	case ParamDateTime:
		m["date_time"] = p.DateTime
	case ParamAction:
		m["action"] = p.Action
	default:
		return nil, fmt.Errorf("whatsapp: unknown parameter type %q", p.Type)
	}
	return json.Marshal(m)
}

// wire converts m into the request body, checking what Meta would refuse
// anyway so such messages never cost a request.
func (m Message) wire() (*wireSend, error) {
	if m.To == "" {
		return nil, fmt.Errorf("%w: recipient is empty", ErrInvalidMessage)
	}
	if utf8.RuneCountInString(m.BizOpaqueCallbackData) > MaxBizOpaqueLen {
		return nil, fmt.Errorf("%w: biz_opaque_callback_data longer than %d", ErrInvalidMessage, MaxBizOpaqueLen)
	}
	w := &wireSend{MessagingProduct: "whatsapp", RecipientType: "individual", To: m.To, BizOpaque: m.BizOpaqueCallbackData}
	if m.ReplyTo != "" {
		w.Context = &wireContext{MessageID: m.ReplyTo}
	}
	kinds := 0
	if m.Template != nil {
		kinds++
		if m.Template.Name == "" || m.Template.Language == "" {
			return nil, fmt.Errorf("%w: template name and language are required", ErrInvalidMessage)
		}
		w.Type = "template"
		t := &wireTemplate{Name: m.Template.Name, Language: wireLanguage{Code: m.Template.Language, Policy: "deterministic"}}
		for _, c := range m.Template.Components {
			wc := wireComponent{Type: c.Type, SubType: c.SubType, Parameters: c.Parameters}
			if c.Type == ComponentButton {
				idx := strconv.Itoa(c.Index)
				wc.Index = &idx
			}
			if wc.Parameters == nil {
				wc.Parameters = []Parameter{}
			}
			t.Components = append(t.Components, wc)
		}
		w.Template = t
	}
	if m.Text != nil {
		kinds++
		w.Type = "text"
		w.Text = m.Text
	}
	if m.Interactive != nil {
		kinds++
		w.Type = "interactive"
		w.Interactive = m.Interactive
	}
	if kinds != 1 {
		return nil, fmt.Errorf("%w: exactly one of Template, Text, Interactive must be set (got %d)", ErrInvalidMessage, kinds)
	}
	return w, nil
}

// MarshalJSON renders the exact Cloud API request body for m.
func (m Message) MarshalJSON() ([]byte, error) {
	w, err := m.wire()
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

type wireSendResponse struct {
	Contacts []struct {
		Input string `json:"input"`
		WAID  string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status"`
	} `json:"messages"`
}

// Send posts m to /{phone-number-id}/messages. On success the wamid is in
// SendResult.MessageID. Errors: *Error (classify with ClassifyError),
// ErrOutcomeUnknown (do not resend), ErrNotSent (safe to retry),
// ErrInvalidMessage (never sent).
func (c *Client) Send(ctx context.Context, m Message) (SendResult, error) {
	w, err := m.wire()
	if err != nil {
		return SendResult{}, fmt.Errorf("whatsapp: send to %s: %w", m.To, err)
	}
	var resp wireSendResponse
	if err := c.do(ctx, "POST", c.endpoint(c.cfg.PhoneNumberID+"/messages", nil), w, &resp); err != nil {
		return SendResult{}, fmt.Errorf("whatsapp: send to %s: %w", m.To, err)
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		// 200 without a wamid: Meta may have accepted it; never resend.
		return SendResult{}, fmt.Errorf("whatsapp: send to %s: %w: answer has no message id", m.To, ErrOutcomeUnknown)
	}
	res := SendResult{MessageID: resp.Messages[0].ID, Status: resp.Messages[0].MessageStatus, Input: m.To}
	if len(resp.Contacts) > 0 {
		res.WAID = resp.Contacts[0].WAID
		if resp.Contacts[0].Input != "" {
			res.Input = resp.Contacts[0].Input
		}
	}
	return res, nil
}

// MarkRead marks an inbound message as read (blue ticks for the user).
func (c *Client) MarkRead(ctx context.Context, wamid string) error {
	body := map[string]string{"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
	if err := c.do(ctx, "POST", c.endpoint(c.cfg.PhoneNumberID+"/messages", nil), body, nil); err != nil {
		return fmt.Errorf("whatsapp: mark %s read: %w", wamid, err)
	}
	return nil
}

// Convenience constructors for the common parameter kinds.

// TextParam is a positional text parameter.
func TextParam(s string) Parameter { return Parameter{Type: ParamText, Text: s} }

// NamedTextParam is a text parameter of a named template.
func NamedTextParam(name, s string) Parameter {
	return Parameter{Type: ParamText, ParameterName: name, Text: s}
}

// QuickReplyButton is the component for quick-reply button index with payload.
func QuickReplyButton(index int, payload string) Component {
	return Component{Type: ComponentButton, SubType: ButtonQuickReply, Index: index,
		Parameters: []Parameter{{Type: ParamPayload, Payload: payload}}}
}

// URLButton is the component for URL button index with the dynamic suffix.
func URLButton(index int, suffix string) Component {
	return Component{Type: ComponentButton, SubType: ButtonURL, Index: index,
		Parameters: []Parameter{TextParam(suffix)}}
}

// CopyCodeButton is the component for a coupon copy-code button.
func CopyCodeButton(index int, code string) Component {
	return Component{Type: ComponentButton, SubType: ButtonCopyCode, Index: index,
		Parameters: []Parameter{{Type: ParamCouponCode, CouponCode: code}}}
}

// OTPComponents returns the components of an authentication template send:
// the code once as the body parameter and once for the OTP button (which
// Meta stores as a URL button at index 0).
func OTPComponents(code string) []Component {
	return []Component{
		{Type: ComponentBody, Parameters: []Parameter{TextParam(code)}},
		URLButton(0, code),
	}
}
