package whatsapp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header carrying the webhook body's signature.
const SignatureHeader = "X-Hub-Signature-256"

// Sign returns the X-Hub-Signature-256 value for body: "sha256=" + hex HMAC.
func Sign(body []byte, appSecret string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks header (X-Hub-Signature-256) against the HMAC-SHA256
// of the raw body keyed with the app secret, in constant time. An empty
// secret never verifies, so a misconfigured server rejects everything rather
// than accepting forgeries.
func VerifySignature(body []byte, header, appSecret string) bool {
	if appSecret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// VerifyChallenge answers Meta's verification handshake
// (hub.mode, hub.verify_token, hub.challenge): it returns the challenge to
// echo and true when mode is "subscribe" and token equals expectedToken
// (compared in constant time; an empty expected token never matches).
func VerifyChallenge(mode, token, challenge, expectedToken string) (string, bool) {
	if mode != "subscribe" || expectedToken == "" {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(expectedToken)) != 1 {
		return "", false
	}
	return challenge, true
}

// Webhook change fields Herald subscribes to.
const (
	FieldMessages                     = "messages"
	FieldUserPreferences              = "user_preferences"
	FieldMessageTemplateStatusUpdate  = "message_template_status_update"
	FieldMessageTemplateQualityUpdate = "message_template_quality_update"
	FieldPhoneNumberQualityUpdate     = "phone_number_quality_update"
	FieldTemplateCategoryUpdate       = "template_category_update"
)

// Message status values of status webhooks.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusPlayed    = "played"
	StatusFailed    = "failed"
)

// StatusRank orders delivery statuses so state can be kept monotonic
// (sent < delivered < read/played; failed is terminal and ranks highest).
// Unknown statuses rank 0.
func StatusRank(status string) int {
	switch status {
	case StatusSent:
		return 1
	case StatusDelivered:
		return 2
	case StatusRead, StatusPlayed:
		return 3
	case StatusFailed:
		return 4
	}
	return 0
}

// FlexString decodes a JSON string or number into a string; Meta sends some
// IDs and timestamps either way depending on the field and API version.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexString) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		*f = ""
		return nil
	}
	if data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*f = FlexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return fmt.Errorf("want string or number: %w", err)
	}
	*f = FlexString(n.String())
	return nil
}

// String returns the value.
func (f FlexString) String() string { return string(f) }

// Time reads the value as Unix seconds; zero time if it is not a number.
func (f FlexString) Time() time.Time {
	n, err := strconv.ParseInt(string(f), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// FlexInt decodes a JSON number or numeric string into an int.
type FlexInt int

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexInt) UnmarshalJSON(data []byte) error {
	var s FlexString
	if err := s.UnmarshalJSON(data); err != nil {
		return err
	}
	if s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsNaN(n) || n > 1<<53 || n < -(1<<53) {
		return fmt.Errorf("want integer, got %q", string(s))
	}
	*f = FlexInt(n)
	return nil
}

// Notification is one webhook POST body.
type Notification struct {
	Object string  `json:"object"` // "whatsapp_business_account"
	Entry  []Entry `json:"entry"`
}

// Entry groups the changes of one WABA.
type Entry struct {
	ID      string   `json:"id"` // WABA ID
	Time    FlexInt  `json:"time,omitempty"`
	Changes []Change `json:"changes"`
}

// Change is one {field, value} pair; Value holds the fields of every
// subscription, and only those of Field are filled.
type Change struct {
	Field string      `json:"field"`
	Value ChangeValue `json:"value"`
}

// ChangeValue is the union of the value shapes of the fields Herald uses.
type ChangeValue struct {
	// field "messages" (and "user_preferences")
	MessagingProduct string           `json:"messaging_product,omitempty"`
	Metadata         Metadata         `json:"metadata"`
	Contacts         []Contact        `json:"contacts,omitempty"`
	Messages         []InboundMessage `json:"messages,omitempty"`
	Statuses         []Status         `json:"statuses,omitempty"`
	Errors           []WebhookError   `json:"errors,omitempty"`
	UserPreferences  []UserPreference `json:"user_preferences,omitempty"`

	// template fields (status, quality and category updates)
	Event                   string         `json:"event,omitempty"`
	MessageTemplateID       FlexString     `json:"message_template_id,omitempty"`
	MessageTemplateName     string         `json:"message_template_name,omitempty"`
	MessageTemplateLanguage string         `json:"message_template_language,omitempty"`
	Reason                  string         `json:"reason,omitempty"`
	OtherInfo               *TemplateOther `json:"other_info,omitempty"`
	PreviousQualityScore    string         `json:"previous_quality_score,omitempty"`
	NewQualityScore         string         `json:"new_quality_score,omitempty"`
	PreviousCategory        string         `json:"previous_category,omitempty"`
	NewCategory             string         `json:"new_category,omitempty"`
	CorrectCategory         string         `json:"correct_category,omitempty"`

	// phone_number_quality_update
	DisplayPhoneNumber               string     `json:"display_phone_number,omitempty"`
	CurrentLimit                     string     `json:"current_limit,omitempty"`
	OldLimit                         string     `json:"old_limit,omitempty"`
	MaxDailyConversationsPerBusiness FlexString `json:"max_daily_conversations_per_business,omitempty"`
}

// TemplateOther carries the explanation of a template rejection or pause.
type TemplateOther struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// Metadata identifies the business number a messages change is about.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is the sender profile of inbound messages.
type Contact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WAID   string `json:"wa_id"`
	UserID string `json:"user_id,omitempty"` // BSUID (2026 rollout)
}

// Status is one delivery status of an outbound message.
type Status struct {
	ID                     string         `json:"id"` // wamid
	Status                 string         `json:"status"`
	Timestamp              FlexString     `json:"timestamp"`
	RecipientID            string         `json:"recipient_id"`
	RecipientParticipantID string         `json:"recipient_participant_id,omitempty"`
	BizOpaqueCallbackData  string         `json:"biz_opaque_callback_data,omitempty"`
	Pricing                *Pricing       `json:"pricing,omitempty"`
	Conversation           *Conversation  `json:"conversation,omitempty"`
	Errors                 []WebhookError `json:"errors,omitempty"`
}

// Time is the status time.
func (s Status) Time() time.Time { return s.Timestamp.Time() }

// ErrorCode returns the first error code of a failed status, or 0.
func (s Status) ErrorCode() int {
	if len(s.Errors) == 0 {
		return 0
	}
	return int(s.Errors[0].Code)
}

// Pricing is the billing information of a status.
type Pricing struct {
	Billable     *bool  `json:"billable,omitempty"`
	PricingModel string `json:"pricing_model"`
	Type         string `json:"type,omitempty"`
	Category     string `json:"category"`
}

// Conversation is the legacy conversation block of a status.
type Conversation struct {
	ID                  string     `json:"id"`
	ExpirationTimestamp FlexString `json:"expiration_timestamp,omitempty"`
	Origin              struct {
		Type string `json:"type"`
	} `json:"origin"`
}

// WebhookError is an error in a failed status, an inbound message or a
// system-level errors[] array.
type WebhookError struct {
	Code      FlexInt `json:"code"`
	Title     string  `json:"title"`
	Message   string  `json:"message,omitempty"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
	Href string `json:"href,omitempty"`
}

// InboundMessage is a message a user sent to the business number. Types
// other than text, button, interactive and reaction are kept in Raw.
type InboundMessage struct {
	From        string              `json:"from"`
	ID          string              `json:"id"`
	Timestamp   FlexString          `json:"timestamp"`
	Type        string              `json:"type"`
	Context     *MessageContext     `json:"context,omitempty"`
	Text        *InboundText        `json:"text,omitempty"`
	Button      *InboundButton      `json:"button,omitempty"`
	Interactive *InboundInteractive `json:"interactive,omitempty"`
	Reaction    *InboundReaction    `json:"reaction,omitempty"`
	Errors      []WebhookError      `json:"errors,omitempty"`
	// Raw is the message object exactly as received.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the raw bytes alongside the typed fields.
func (m *InboundMessage) UnmarshalJSON(data []byte) error {
	type plain InboundMessage
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*m = InboundMessage(p)
	m.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// Time is the message time.
func (m InboundMessage) Time() time.Time { return m.Timestamp.Time() }

// ReplyToID returns the wamid this message replies to or tapped, or "".
func (m InboundMessage) ReplyToID() string {
	if m.Context == nil {
		return ""
	}
	return m.Context.ID
}

// MessageContext links an inbound message to an earlier message.
type MessageContext struct {
	From      string `json:"from,omitempty"`
	ID        string `json:"id,omitempty"`
	Forwarded bool   `json:"forwarded,omitempty"`
}

// InboundText is the body of a text message.
type InboundText struct {
	Body string `json:"body"`
}

// InboundButton is a template quick-reply tap.
type InboundButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// InboundInteractive is a reply to an interactive message.
type InboundInteractive struct {
	Type        string `json:"type"` // button_reply, list_reply, nfm_reply
	ButtonReply *struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"button_reply,omitempty"`
	ListReply *struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
	} `json:"list_reply,omitempty"`
	NFMReply *struct {
		Name         string `json:"name,omitempty"`
		Body         string `json:"body,omitempty"`
		ResponseJSON string `json:"response_json,omitempty"`
	} `json:"nfm_reply,omitempty"`
}

// InboundReaction is an emoji reaction to a message.
type InboundReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// UserPreference is a user stopping or resuming marketing messages.
type UserPreference struct {
	WAID      string     `json:"wa_id"`
	Detail    string     `json:"detail,omitempty"`
	Category  string     `json:"category"` // marketing_messages
	Value     string     `json:"value"`    // stop or resume
	Timestamp FlexString `json:"timestamp"`
}

// ErrNotWhatsAppWebhook is returned for JSON that is not a WhatsApp Business
// Account notification.
var ErrNotWhatsAppWebhook = errors.New("whatsapp: not a whatsapp_business_account webhook")

// maxWebhookBody bounds what ParseWebhook accepts; Meta's bodies reach ~3 MB.
const maxWebhookBody = 16 << 20

// ParseWebhook decodes a webhook body. It never panics; it returns an error
// for invalid JSON, an unexpected object, or values of the wrong JSON type.
// Verify the signature over the same raw bytes first.
func ParseWebhook(body []byte) (*Notification, error) {
	if len(body) > maxWebhookBody {
		return nil, fmt.Errorf("whatsapp: parse webhook: body of %d bytes is too large", len(body))
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("whatsapp: parse webhook: %w", err)
	}
	if n.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("%w: object %q", ErrNotWhatsAppWebhook, n.Object)
	}
	return &n, nil
}

// StatusEvent is a status with the identity of the sender it belongs to.
type StatusEvent struct {
	WABAID   string
	Metadata Metadata
	Status
}

// MessageEvent is an inbound message with its sender's profile.
type MessageEvent struct {
	WABAID      string
	Metadata    Metadata
	ContactName string
	InboundMessage
}

// UserPreferenceEvent is a user_preferences update.
type UserPreferenceEvent struct {
	WABAID   string
	Metadata Metadata
	UserPreference
}

// TemplateEvent is a message_template_status_update,
// message_template_quality_update or template_category_update.
type TemplateEvent struct {
	WABAID string
	Field  string // which of the three fields
	ChangeValue
}

// PhoneQualityEvent is a phone_number_quality_update.
type PhoneQualityEvent struct {
	WABAID string
	ChangeValue
}

// SystemErrorEvent is an errors[] entry of a messages change not tied to one message.
type SystemErrorEvent struct {
	WABAID   string
	Metadata Metadata
	WebhookError
}

// Statuses flattens every status in the notification.
func (n *Notification) Statuses() []StatusEvent {
	var out []StatusEvent
	n.each(func(waba string, c Change) {
		for _, s := range c.Value.Statuses {
			out = append(out, StatusEvent{WABAID: waba, Metadata: c.Value.Metadata, Status: s})
		}
	})
	return out
}

// Messages flattens every inbound message, with the contact's profile name.
func (n *Notification) Messages() []MessageEvent {
	var out []MessageEvent
	n.each(func(waba string, c Change) {
		for _, m := range c.Value.Messages {
			name := ""
			for _, ct := range c.Value.Contacts {
				if ct.WAID == m.From {
					name = ct.Profile.Name
				}
			}
			out = append(out, MessageEvent{WABAID: waba, Metadata: c.Value.Metadata, ContactName: name, InboundMessage: m})
		}
	})
	return out
}

// UserPreferences flattens every user_preferences update.
func (n *Notification) UserPreferences() []UserPreferenceEvent {
	var out []UserPreferenceEvent
	n.each(func(waba string, c Change) {
		for _, p := range c.Value.UserPreferences {
			out = append(out, UserPreferenceEvent{WABAID: waba, Metadata: c.Value.Metadata, UserPreference: p})
		}
	})
	return out
}

// TemplateEvents returns template status, quality and category updates.
func (n *Notification) TemplateEvents() []TemplateEvent {
	var out []TemplateEvent
	n.each(func(waba string, c Change) {
		switch c.Field {
		case FieldMessageTemplateStatusUpdate, FieldMessageTemplateQualityUpdate, FieldTemplateCategoryUpdate:
			out = append(out, TemplateEvent{WABAID: waba, Field: c.Field, ChangeValue: c.Value})
		}
	})
	return out
}

// PhoneQualityEvents returns phone_number_quality_update changes.
func (n *Notification) PhoneQualityEvents() []PhoneQualityEvent {
	var out []PhoneQualityEvent
	n.each(func(waba string, c Change) {
		if c.Field == FieldPhoneNumberQualityUpdate {
			out = append(out, PhoneQualityEvent{WABAID: waba, ChangeValue: c.Value})
		}
	})
	return out
}

// SystemErrors returns errors[] of messages changes (not tied to one message).
func (n *Notification) SystemErrors() []SystemErrorEvent {
	var out []SystemErrorEvent
	n.each(func(waba string, c Change) {
		for _, e := range c.Value.Errors {
			out = append(out, SystemErrorEvent{WABAID: waba, Metadata: c.Value.Metadata, WebhookError: e})
		}
	})
	return out
}

func (n *Notification) each(fn func(waba string, c Change)) {
	if n == nil {
		return
	}
	for _, e := range n.Entry {
		for _, c := range e.Changes {
			fn(e.ID, c)
		}
	}
}
