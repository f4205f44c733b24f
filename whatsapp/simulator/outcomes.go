package simulator

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/heraldhq/herald/whatsapp"
)

// Interactions a simulated reader may have with a template message.
const (
	InteractionNone       = ""
	InteractionQuickReply = "tap_quick_reply"
	InteractionURL        = "tap_url"
	InteractionStop       = "reply_stop"
)

// Outcome is what happens to messages sent to one phone number. It depends
// only on (Seed, phone), so the same run gives the same funnel.
type Outcome struct {
	NotOnWhatsApp bool   `json:"not_on_whatsapp"`
	MarketingCap  bool   `json:"marketing_cap"` // MARKETING sends fail with 131049
	Read          bool   `json:"read"`
	Interaction   string `json:"interaction,omitempty"` // only when Read; needs the matching button
}

// unit maps (seed, phone, salt) to a uniform number in [0,1).
func (s *Server) unit(phone, salt string) float64 {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(s.cfg.Seed))
	h := sha256.New()
	h.Write(seed[:])
	h.Write([]byte(phone))
	h.Write([]byte{0})
	h.Write([]byte(salt))
	sum := h.Sum(nil)
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// OutcomeFor returns the fate of messages to phone (any format; only its
// digits count).
func (s *Server) OutcomeFor(phone string) Outcome {
	id, _ := waID(phone)
	o := s.cfg.Outcomes
	var out Outcome
	fate := s.unit(id, "fate")
	switch {
	case fate < o.NotOnWhatsApp:
		out.NotOnWhatsApp = true
		return out
	case fate < o.NotOnWhatsApp+o.MarketingCap:
		out.MarketingCap = true
	}
	out.Read = s.unit(id, "read") < o.Read
	if out.Read {
		act := s.unit(id, "act")
		switch {
		case act < o.TapQuickReply:
			out.Interaction = InteractionQuickReply
		case act < o.TapQuickReply+o.TapURL:
			out.Interaction = InteractionURL
		case act < o.TapQuickReply+o.TapURL+o.ReplyStop:
			out.Interaction = InteractionStop
		}
	}
	return out
}

// delay scales a realistic delay in [lo, hi] (picked by hash) by TimeScale.
func (s *Server) delay(phone, salt string, lo, hi time.Duration) time.Duration {
	if s.cfg.TimeScale <= 0 {
		return 0
	}
	d := lo + time.Duration(s.unit(phone, salt)*float64(hi-lo))
	return time.Duration(float64(d) * s.cfg.TimeScale)
}

// Failure texts of asynchronous failures, as Meta words them.
var asyncFailures = map[int][2]string{
	131026: {"Message undeliverable", "Message Undeliverable."},
	131049: {"This message was not delivered to maintain healthy ecosystem engagement.", "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
	131050: {"Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.", "The user has stopped marketing messages from this business."},
	131047: {"Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
}

func (s *Server) statusObj(rec Received, status string, at time.Time, category string, withPricing bool, failCode int) map[string]any {
	st := map[string]any{
		"id":           rec.WAMID,
		"status":       status,
		"timestamp":    unixString(at),
		"recipient_id": rec.WAID,
	}
	if rec.BizOpaque != "" {
		st["biz_opaque_callback_data"] = rec.BizOpaque
	}
	if withPricing {
		typ := "regular"
		if category == "service" {
			typ = "free_customer_service"
		}
		st["pricing"] = map[string]any{"billable": typ == "regular", "pricing_model": "PMP", "type": typ, "category": category}
	}
	if failCode != 0 {
		f := asyncFailures[failCode]
		st["errors"] = []any{map[string]any{
			"code": failCode, "title": f[0], "message": f[0],
			"error_data": map[string]string{"details": f[1]},
			"href":       "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
		}}
	}
	return st
}

// scheduleLocked queues the consequences of an accepted message: statuses
// and, for readers of templates, a tap or a reply.
func (s *Server) scheduleLocked(rec Received, tmpl *whatsapp.Template) {
	now := rec.At
	out := s.OutcomeFor(rec.WAID)
	category := "service"
	if tmpl != nil {
		category = strings.ToLower(tmpl.Category)
	}
	tSent := now.Add(s.delay(rec.WAID, "d-sent", 500*time.Millisecond, 1500*time.Millisecond))
	failCode := 0
	switch {
	case out.NotOnWhatsApp:
		failCode = 131026
	case tmpl != nil && tmpl.Category == whatsapp.CategoryMarketing && s.marketingOff[rec.WAID]:
		failCode = 131050
	case out.MarketingCap && tmpl != nil && tmpl.Category == whatsapp.CategoryMarketing:
		failCode = 131049
	case tmpl == nil && now.Sub(s.windows[rec.WAID]) > 24*time.Hour:
		// Free-form messages need a customer service window.
		failCode = 131047
	}
	if failCode != 0 {
		s.queue.push(&event{due: tSent, kind: evStatus, status: s.statusObj(rec, whatsapp.StatusFailed, tSent, category, false, failCode)})
		return
	}
	s.queue.push(&event{due: tSent, kind: evStatus, status: s.statusObj(rec, whatsapp.StatusSent, tSent, category, true, 0)})
	tDelivered := tSent.Add(s.delay(rec.WAID, "d-deliv", time.Second, 4*time.Second))
	s.queue.push(&event{due: tDelivered, kind: evStatus, status: s.statusObj(rec, whatsapp.StatusDelivered, tDelivered, category, true, 0)})
	if !out.Read {
		return
	}
	tRead := tDelivered.Add(s.delay(rec.WAID, "d-read", 2*time.Second, 25*time.Second))
	s.queue.push(&event{due: tRead, kind: evStatus, status: s.statusObj(rec, whatsapp.StatusRead, tRead, category, false, 0)})
	if tmpl == nil || out.Interaction == InteractionNone {
		return
	}
	tAct := tRead.Add(s.delay(rec.WAID, "d-act", 3*time.Second, 30*time.Second))
	ctx := map[string]string{"from": s.cfg.DisplayPhone, "id": rec.WAMID}
	switch out.Interaction {
	case InteractionQuickReply:
		idx, label, ok := firstButton(tmpl, whatsapp.TemplateButtonQuickReply)
		if !ok {
			return
		}
		payload := label
		for _, b := range rec.Buttons {
			if b.Index == idx && b.SubType == whatsapp.ButtonQuickReply {
				payload = b.Value
			}
		}
		msg := s.inboundLocked(rec.WAID, tAct, "button", map[string]any{"payload": payload, "text": label}, ctx)
		s.queue.push(msg)
	case InteractionURL:
		idx, _, ok := firstButton(tmpl, whatsapp.TemplateButtonURL)
		if !ok {
			return
		}
		link := tmpl.Component(whatsapp.TemplateButtons).Buttons[idx].URL
		for _, b := range rec.Buttons {
			if b.Index == idx && b.SubType == whatsapp.ButtonURL {
				link = hydrate(link, map[string]string{"1": b.Value})
			}
		}
		s.queue.push(&event{due: tAct, kind: evTap, tap: URLTap{WAMID: rec.WAMID, Phone: rec.WAID, URL: link}})
	case InteractionStop:
		s.queue.push(s.inboundLocked(rec.WAID, tAct, "text", map[string]any{"body": "STOP"}, ctx))
	}
}

func firstButton(t *whatsapp.Template, typ string) (int, string, bool) {
	c := t.Component(whatsapp.TemplateButtons)
	if c == nil {
		return 0, "", false
	}
	for i, b := range c.Buttons {
		if strings.EqualFold(b.Type, typ) {
			return i, b.Text, true
		}
	}
	return 0, "", false
}

// inboundLocked builds the webhook event of a message from a user.
func (s *Server) inboundLocked(from string, at time.Time, typ string, content map[string]any, replyTo map[string]string) *event {
	msg := map[string]any{"from": from, "id": s.newIDLocked("IN"), "timestamp": unixString(at), "type": typ, typ: content}
	if replyTo != nil {
		msg["context"] = replyTo
	}
	value := s.messagesValue()
	value["contacts"] = []any{map[string]any{"profile": map[string]string{"name": "Sim User " + lastDigits(from, 4)}, "wa_id": from}}
	value["messages"] = []any{msg}
	return &event{due: at, kind: evChange, field: whatsapp.FieldMessages, value: value, inboundFor: from}
}

func lastDigits(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// InjectInbound makes phone send a text message to the business number (e.g.
// "STOP"), delivered as a signed webhook; it returns the inbound wamid.
func (s *Server) InjectInbound(from, text string) (string, error) {
	id, ok := waID(from)
	if !ok {
		return "", fmt.Errorf("simulator: inject inbound: %q is not a phone number", from)
	}
	s.mu.Lock()
	ev := s.inboundLocked(id, time.Now(), "text", map[string]any{"body": text}, nil)
	s.mu.Unlock()
	s.queue.push(ev)
	return ev.value["messages"].([]any)[0].(map[string]any)["id"].(string), nil
}

// InjectUserPreference sends a user_preferences webhook: the user stopped
// ("stop") or resumed ("resume") marketing messages inside WhatsApp. While
// stopped, MARKETING sends to the user fail asynchronously with 131050.
func (s *Server) InjectUserPreference(from, value string) error {
	id, ok := waID(from)
	if !ok {
		return fmt.Errorf("simulator: inject user preference: %q is not a phone number", from)
	}
	if value != "stop" && value != "resume" {
		return fmt.Errorf("simulator: inject user preference: value must be stop or resume, got %q", value)
	}
	// From now on marketing sends to this user fail with 131050, until "resume".
	s.mu.Lock()
	s.marketingOff[id] = value == "stop"
	s.mu.Unlock()
	v := s.messagesValue()
	v["contacts"] = []any{map[string]any{"profile": map[string]string{"name": "Sim User " + lastDigits(id, 4)}, "wa_id": id}}
	v["user_preferences"] = []any{map[string]any{
		"wa_id": id, "detail": "User requested to " + value + " marketing messages",
		"category": "marketing_messages", "value": value, "timestamp": time.Now().Unix(),
	}}
	s.queue.push(&event{due: time.Now(), kind: evChange, field: whatsapp.FieldUserPreferences, value: v})
	return nil
}

// URLTap is a simulated user opening a URL button.
type URLTap struct {
	WAMID      string    `json:"wamid"`
	Phone      string    `json:"phone"`
	URL        string    `json:"url"`
	At         time.Time `json:"at"`
	Fetched    bool      `json:"fetched"` // false when the host is not allowed
	StatusCode int       `json:"status_code,omitempty"`
	Err        string    `json:"error,omitempty"`
}

// URLTaps returns every URL-button tap so far.
func (s *Server) URLTaps() []URLTap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]URLTap(nil), s.taps...)
}

// openURL performs a tap: one GET of the final URL, following no redirect.
func (s *Server) openURL(ctx context.Context, tap URLTap) {
	tap.At = time.Now()
	if s.tapAllowed(tap.URL) {
		tap.Fetched = true
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, tap.URL, nil)
		if err == nil {
			req.Header.Set("User-Agent", "WhatsApp/2.24 (Herald simulator)")
			var resp *http.Response
			if resp, err = s.client.Do(req); err == nil {
				tap.StatusCode = resp.StatusCode
				_ = resp.Body.Close()
			}
		}
		if err != nil {
			tap.Err = err.Error()
		}
	}
	s.mu.Lock()
	s.taps = append(s.taps, tap)
	s.mu.Unlock()
}

func (s *Server) tapAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	s.mu.Lock()
	hook := s.webhookURL
	s.mu.Unlock()
	if w, err := url.Parse(hook); err == nil && hook != "" && (w.Host == u.Host || w.Hostname() == host) {
		return true
	}
	for _, h := range s.cfg.URLTapHosts {
		if h == u.Host || h == host {
			return true
		}
	}
	return false
}
