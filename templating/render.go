package templating

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/whatsapp"
)

// ErrMissingValue means a variable has no value for a contact and no
// fallback: Meta refuses empty parameters, so the message cannot be sent.
var ErrMissingValue = errors.New("templating: variable has no value and no fallback")

// authBodySuffix is the text Meta shows after the code in authentication
// templates with the security recommendation, which Herald always adds.
const authBodySuffix = " is your verification code. For your security, do not share this code."

var placeholderRe = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// RenderedMessage is a template filled in for one contact: what the phone
// shows, and the tracked links the sender must store before sending.
type RenderedMessage struct {
	HeaderType     string // "", text, image, video, document
	HeaderText     string
	HeaderMediaURL string
	Body           string
	Footer         string
	Buttons        []RenderedButton
	// Links are the tracked URL buttons' codes and destinations; the caller
	// stores each (models.Store.CreateLink) with the message id before sending.
	Links []TrackedLink
}

// RenderedButton is one button as the recipient sees it.
type RenderedButton struct {
	Type    string
	Text    string
	URL     string // url buttons: the final destination (before tracking and UTM)
	Phone   string
	Code    string // copy_code coupon or OTP
	Payload string // quick_reply
	Tracked bool
}

// TrackedLink is the short code a tracked URL button carries and where a
// tap on it must lead.
type TrackedLink struct {
	ButtonIndex int
	Code        string
	Destination string
}

// Options adjust rendering.
type Options struct {
	// NewLinkCode makes a tracked link's code; NewLinkCode (the function) by
	// default. Tests pass a deterministic one.
	NewLinkCode func() (string, error)
	// Preview renders for the composer: a variable without a value shows as
	// its placeholder instead of failing, and no link codes are made.
	Preview bool
}

// Render fills t for contact c with the per-campaign values and returns
// the message as shown and the send components for whatsapp.TemplateMessage.
func Render(t Template, c Contact, values map[string]string) (RenderedMessage, []whatsapp.Component, error) {
	return RenderWith(t, c, values, Options{})
}

// Preview renders t for the composer's phone preview; it never fails.
func Preview(t Template, c Contact, values map[string]string) RenderedMessage {
	msg, _, _ := RenderWith(t, c, values, Options{Preview: true})
	return msg
}

// RenderWith is Render with options.
func RenderWith(t Template, c Contact, values map[string]string, opts Options) (RenderedMessage, []whatsapp.Component, error) {
	if opts.NewLinkCode == nil {
		opts.NewLinkCode = NewLinkCode
	}
	r := renderer{t: t, c: c, values: values, opts: opts}
	msg := RenderedMessage{Footer: t.Footer}
	var comps []whatsapp.Component

	if t.Category == CategoryAuthentication {
		code, err := r.otpCode()
		if err != nil {
			return RenderedMessage{}, nil, err
		}
		msg.Body = code + authBodySuffix
		comps = append(comps, whatsapp.Component{Type: whatsapp.ComponentBody, Parameters: []whatsapp.Parameter{whatsapp.TextParam(code)}})
	} else {
		if h := t.Header; h != nil {
			comp, err := r.header(h, &msg)
			if err != nil {
				return RenderedMessage{}, nil, err
			}
			if comp != nil {
				comps = append(comps, *comp)
			}
		}
		body, comp, err := r.body()
		if err != nil {
			return RenderedMessage{}, nil, err
		}
		msg.Body = body
		if comp != nil {
			comps = append(comps, *comp)
		}
	}

	for i, b := range t.Buttons {
		rb, comp, link, err := r.button(i, b)
		if err != nil {
			return RenderedMessage{}, nil, err
		}
		msg.Buttons = append(msg.Buttons, rb)
		if comp != nil {
			comps = append(comps, *comp)
		}
		if link != nil {
			msg.Links = append(msg.Links, *link)
		}
	}
	return msg, comps, nil
}

type renderer struct {
	t      Template
	c      Contact
	values map[string]string
	opts   Options
}

// resolve returns the value of one mapping for the contact. what names the
// variable in errors ("body {{2}}").
func (r renderer) resolve(m VariableMapping, what string) (string, error) {
	v := ""
	switch m.Source() {
	case "value":
		v = m.Value
	case "field":
		v = strings.TrimSpace(r.c.Lookup(m.Field))
	case "campaign":
		v = strings.TrimSpace(r.values[m.Campaign])
	default:
		if r.opts.Preview {
			return "", nil
		}
		return "", fmt.Errorf("templating: %s is not mapped: %w", what, ErrMissingValue)
	}
	if v == "" {
		v = m.Fallback
	}
	if v == "" && m.Field != "" {
		v = DefaultFallbacks[m.Field]
	}
	if v == "" && !r.opts.Preview {
		return "", fmt.Errorf("templating: %s (%s) is empty: %w", what, describe(m), ErrMissingValue)
	}
	return v, nil
}

func describe(m VariableMapping) string {
	switch m.Source() {
	case "field":
		return "field " + m.Field
	case "campaign":
		return "campaign value " + m.Campaign
	}
	return "fixed text"
}

// fill replaces each placeholder of text with its value; in preview an
// unresolved placeholder stays visible.
func fill(text string, values map[string]string) string {
	return placeholderRe.ReplaceAllStringFunc(text, func(ph string) string {
		name := placeholderRe.FindStringSubmatch(ph)[1]
		if v := values[name]; v != "" {
			return v
		}
		return ph
	})
}

func (r renderer) header(h *Header, msg *RenderedMessage) (*whatsapp.Component, error) {
	msg.HeaderType = h.Type
	if h.Type == HeaderText {
		names := whatsapp.Variables(h.Text)
		if len(names) == 0 {
			msg.HeaderText = h.Text
			return nil, nil
		}
		var m VariableMapping
		if len(r.t.Variables.Header) > 0 {
			m = r.t.Variables.Header[0]
		}
		v, err := r.resolve(m, "header {{"+names[0]+"}}")
		if err != nil {
			return nil, err
		}
		msg.HeaderText = fill(h.Text, map[string]string{names[0]: v})
		p := whatsapp.TextParam(v)
		if r.t.Named() {
			p.ParameterName = names[0]
		}
		return &whatsapp.Component{Type: whatsapp.ComponentHeader, Parameters: []whatsapp.Parameter{p}}, nil
	}
	link := h.MediaURL
	if len(r.t.Variables.Header) > 0 && r.t.Variables.Header[0].Source() != "" {
		v, err := r.resolve(r.t.Variables.Header[0], "header media URL")
		if err != nil {
			return nil, err
		}
		if v != "" {
			link = v
		}
	}
	msg.HeaderMediaURL = link
	if link == "" && r.opts.Preview {
		return nil, nil
	}
	media := &whatsapp.Media{Link: link}
	p := whatsapp.Parameter{Type: h.Type}
	switch h.Type {
	case HeaderImage:
		p.Image = media
	case HeaderVideo:
		p.Video = media
	case HeaderDocument:
		if u, err := url.Parse(link); err == nil {
			if name := path.Base(u.Path); name != "." && name != "/" {
				media.Filename = name
			}
		}
		p.Document = media
	default:
		return nil, fmt.Errorf("templating: unknown header type %q", h.Type)
	}
	return &whatsapp.Component{Type: whatsapp.ComponentHeader, Parameters: []whatsapp.Parameter{p}}, nil
}

// BodyVariables returns the body's variable names in the order Meta wants
// their parameters: 1..n for positional templates (numeric order), order of
// first appearance for named ones.
func (t Template) BodyVariables() []string {
	names := whatsapp.Variables(t.Body)
	if !t.Named() {
		sort.SliceStable(names, func(i, j int) bool {
			a, errA := strconv.Atoi(names[i])
			b, errB := strconv.Atoi(names[j])
			if errA != nil || errB != nil {
				return errA == nil
			}
			return a < b
		})
	}
	return names
}

// BodyMapping returns the mapping of body variable name, the i-th of
// BodyVariables.
func (t Template) BodyMapping(name string, i int) (VariableMapping, bool) {
	if t.Named() {
		for _, m := range t.Variables.Body {
			if m.Name == name {
				return m, true
			}
		}
	} else if k, err := strconv.Atoi(name); err == nil {
		i = k - 1
	}
	if i >= 0 && i < len(t.Variables.Body) {
		return t.Variables.Body[i], true
	}
	return VariableMapping{}, false
}

func (r renderer) body() (string, *whatsapp.Component, error) {
	names := r.t.BodyVariables()
	if len(names) == 0 {
		return r.t.Body, nil, nil
	}
	filled := map[string]string{}
	comp := &whatsapp.Component{Type: whatsapp.ComponentBody}
	for i, name := range names {
		m, _ := r.t.BodyMapping(name, i)
		v, err := r.resolve(m, "body {{"+name+"}}")
		if err != nil {
			return "", nil, err
		}
		filled[name] = v
		p := whatsapp.TextParam(v)
		if r.t.Named() {
			p.ParameterName = name
		}
		comp.Parameters = append(comp.Parameters, p)
	}
	return fill(r.t.Body, filled), comp, nil
}

// buttonValue resolves the per-send value of button i.
func (r renderer) buttonValue(i int) (string, error) {
	return r.resolve(r.t.Variables.Buttons[i], fmt.Sprintf("button %d", i+1))
}

// otpCode is the one-time password of an authentication template: the
// value mapped to its OTP button, or the campaign value "code".
func (r renderer) otpCode() (string, error) {
	for i, b := range r.t.Buttons {
		if b.Type == ButtonOTP {
			if _, ok := r.t.Variables.Buttons[i]; ok {
				v, err := r.buttonValue(i)
				if v == "" && r.opts.Preview {
					v = "123456"
				}
				return v, err
			}
		}
	}
	v, err := r.resolve(VariableMapping{Campaign: "code"}, "one-time password")
	if v == "" && r.opts.Preview {
		v = "123456"
	}
	return v, err
}

func (r renderer) button(i int, b Button) (RenderedButton, *whatsapp.Component, *TrackedLink, error) {
	rb := RenderedButton{Type: b.Type, Text: b.Text, Payload: b.Payload, Tracked: b.Track && b.Type == ButtonURL}
	switch b.Type {
	case ButtonQuickReply:
		if b.Payload == "" {
			return rb, nil, nil, nil
		}
		c := whatsapp.QuickReplyButton(i, b.Payload)
		return rb, &c, nil, nil
	case ButtonPhone:
		rb.Phone = b.Phone
		return rb, nil, nil, nil
	case ButtonCopyCode:
		v, err := r.buttonValue(i)
		if err != nil {
			return rb, nil, nil, err
		}
		if v == "" {
			v = b.Example
		}
		rb.Code = v
		c := whatsapp.CopyCodeButton(i, v)
		return rb, &c, nil, nil
	case ButtonOTP:
		code, err := r.otpCode()
		if err != nil {
			return rb, nil, nil, err
		}
		rb.Code = code
		if rb.Text == "" {
			rb.Text = "Copy code"
		}
		c := whatsapp.URLButton(i, code)
		return rb, &c, nil, nil
	case ButtonURL:
		dest := b.URL
		suffix := ""
		if b.IsDynamicURL() {
			v, err := r.buttonValue(i)
			if err != nil {
				return rb, nil, nil, err
			}
			suffix = v
			dest = fill(b.URL, map[string]string{"1": v})
		}
		rb.URL = dest
		if !b.Track {
			if !b.IsDynamicURL() {
				return rb, nil, nil, nil
			}
			c := whatsapp.URLButton(i, suffix)
			return rb, &c, nil, nil
		}
		if r.opts.Preview {
			return rb, nil, nil, nil
		}
		code, err := r.opts.NewLinkCode()
		if err != nil {
			return rb, nil, nil, fmt.Errorf("templating: tracked link for button %d: %w", i+1, err)
		}
		c := whatsapp.URLButton(i, code)
		return rb, &c, &TrackedLink{ButtonIndex: i, Code: code, Destination: dest}, nil
	}
	return rb, nil, nil, fmt.Errorf("templating: unknown button type %q", b.Type)
}
