package templating

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Masked stands in for a one-time password wherever it is stored or shown.
const Masked = "••••••"

// maxOTPLength is the longest code Meta accepts in an authentication template.
const maxOTPLength = 15

// SendParams are the values one API call gives a template: body parameters
// by position or name, the header's variable or media link, and the
// per-send values of buttons. It is stored with the message (as JSON, the
// one-time password masked) and turned back into a Template by WithParams.
type SendParams struct {
	Body    []string          `json:"body,omitempty"`  // positional: {{1}}, {{2}}…
	Named   map[string]string `json:"named,omitempty"` // named templates
	Header  string            `json:"header,omitempty"`
	Buttons map[int]string    `json:"buttons,omitempty"` // by button index
	// OTP says the template is an authentication one; the code itself is
	// kept apart (sealed) and passed to WithParams.
	OTP bool `json:"otp,omitempty"`
}

// ParamErrors maps a request field ("params", "params.name", "header",
// "buttons.1") to what is wrong with it.
type ParamErrors map[string]string

// BindParams checks an API call's raw params, header and buttons against t
// and returns them as SendParams, plus the one-time password of an
// authentication template (masked in the returned params). params is a JSON
// array (positional) or object (named); header a string or an object with
// "text", "link" or "media_url"; buttons an array indexed like the
// template's buttons (null for buttons without a value) or an object keyed
// by index.
func BindParams(t Template, params, header, buttons json.RawMessage) (SendParams, string, ParamErrors) {
	errs := ParamErrors{}
	var p SendParams
	btnValues := bindButtons(t, buttons, errs)
	if t.Category == CategoryAuthentication {
		code := bindOTP(t, params, btnValues, errs)
		p.OTP = true
		if len(errs) > 0 {
			return SendParams{}, "", errs
		}
		p.Body = []string{Masked}
		return p, code, nil
	}
	bindBody(t, params, &p, errs)
	bindHeader(t, header, &p, errs)
	if len(btnValues) > 0 {
		p.Buttons = btnValues
	}
	if len(errs) > 0 {
		return SendParams{}, "", errs
	}
	return p, "", nil
}

// paramValue reads one parameter value: a non-empty string, or a number or
// boolean written as text. ok is false for anything else.
func paramValue(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		s = strings.TrimSpace(s)
		return s, s != ""
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return strconv.FormatBool(b), true
	}
	return "", false
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func bindBody(t Template, raw json.RawMessage, p *SendParams, errs ParamErrors) {
	names := t.BodyVariables()
	var list []json.RawMessage
	var obj map[string]json.RawMessage
	switch {
	case isNull(raw):
	case json.Unmarshal(raw, &list) == nil:
	case json.Unmarshal(raw, &obj) == nil:
	default:
		errs["params"] = "must be an array of values in order, or an object of named values"
		return
	}
	got := len(list) + len(obj)
	if got != len(names) {
		errs["params"] = fmt.Sprintf("template %s takes %d body parameter(s), got %d", t.Name, len(names), got)
		return
	}
	values := make(map[string]string, len(names))
	if obj != nil {
		for name, v := range obj {
			if !containsString(names, name) {
				errs["params."+name] = "the template has no parameter of this name (it has " + strings.Join(names, ", ") + ")"
				continue
			}
			s, ok := paramValue(v)
			if !ok {
				errs["params."+name] = "must be a non-empty text"
				continue
			}
			values[name] = s
		}
	} else {
		for i, v := range list {
			s, ok := paramValue(v)
			if !ok {
				errs["params."+strconv.Itoa(i)] = "must be a non-empty text"
				continue
			}
			values[names[i]] = s
		}
	}
	if t.Named() {
		p.Named = values
		return
	}
	for _, name := range names {
		p.Body = append(p.Body, values[name])
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func bindHeader(t Template, raw json.RawMessage, p *SendParams, errs ParamErrors) {
	var value string
	if !isNull(raw) {
		var obj struct{ Text, Link, MediaURL string }
		var ok bool
		if value, ok = paramValue(raw); !ok {
			if err := json.Unmarshal(raw, &obj); err != nil {
				errs["header"] = `must be a text or an object with "text" or "link"`
				return
			}
			value = strings.TrimSpace(obj.Text + obj.Link + obj.MediaURL)
		}
	}
	h := t.Header
	switch {
	case h == nil:
		if value != "" {
			errs["header"] = "the template has no header"
		}
	case h.Type == HeaderText:
		if len(varsOf(h.Text)) == 0 {
			if value != "" {
				errs["header"] = "the template's header takes no parameter"
			}
			return
		}
		if value == "" {
			errs["header"] = "the template's header takes one text parameter"
			return
		}
		p.Header = value
	default: // media: a per-send link, or the template's own
		if value == "" {
			if h.MediaURL == "" {
				errs["header"] = "the template's " + h.Type + " header needs a link"
			}
			return
		}
		if !strings.HasPrefix(value, "https://") && !strings.HasPrefix(value, "http://") {
			errs["header"] = "must be an http(s) link to the " + h.Type
			return
		}
		p.Header = value
	}
}

func varsOf(text string) []string {
	var out []string
	for _, m := range placeholderRe.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// bindButtons reads per-button values and checks each button that needs
// one has one (an OTP button's value is the code, checked by bindOTP).
func bindButtons(t Template, raw json.RawMessage, errs ParamErrors) map[int]string {
	given := map[int]json.RawMessage{}
	if !isNull(raw) {
		var list []json.RawMessage
		var obj map[string]json.RawMessage
		switch {
		case json.Unmarshal(raw, &list) == nil:
			for i, v := range list {
				if !isNull(v) {
					given[i] = v
				}
			}
		case json.Unmarshal(raw, &obj) == nil:
			for k, v := range obj {
				i, err := strconv.Atoi(k)
				if err != nil || i < 0 {
					errs["buttons."+k] = "must be keyed by the button's index (0, 1…)"
					continue
				}
				given[i] = v
			}
		default:
			errs["buttons"] = "must be an array with one value per button (null where none), or an object keyed by button index"
			return nil
		}
	}
	out := map[int]string{}
	keys := make([]int, 0, len(given))
	for i := range given {
		keys = append(keys, i)
	}
	sort.Ints(keys)
	for _, i := range keys {
		field := "buttons." + strconv.Itoa(i)
		if i >= len(t.Buttons) {
			errs[field] = fmt.Sprintf("the template has %d button(s)", len(t.Buttons))
			continue
		}
		if !t.Buttons[i].NeedsValue() {
			errs[field] = "this " + t.Buttons[i].Type + " button takes no value"
			continue
		}
		s, ok := paramValue(given[i])
		if !ok {
			errs[field] = "must be a non-empty text"
			continue
		}
		out[i] = s
	}
	for i, b := range t.Buttons {
		if b.NeedsValue() && b.Type != ButtonOTP {
			if _, ok := out[i]; !ok {
				if _, bad := errs["buttons."+strconv.Itoa(i)]; !bad {
					errs["buttons."+strconv.Itoa(i)] = "this " + b.Type + " button needs a value"
				}
			}
		}
	}
	return out
}

// bindOTP finds the one-time password of an authentication template: the
// one body parameter (["123456"] or {"code": "123456"}), or the OTP
// button's value.
func bindOTP(t Template, raw json.RawMessage, buttons map[int]string, errs ParamErrors) string {
	var code string
	var list []json.RawMessage
	var obj map[string]json.RawMessage
	switch {
	case isNull(raw):
	case json.Unmarshal(raw, &list) == nil:
		if len(list) != 1 {
			errs["params"] = fmt.Sprintf("authentication template %s takes 1 parameter (the code), got %d", t.Name, len(list))
			return ""
		}
		code, _ = paramValue(list[0])
	case json.Unmarshal(raw, &obj) == nil:
		if len(obj) != 1 {
			errs["params"] = fmt.Sprintf("authentication template %s takes 1 parameter (the code), got %d", t.Name, len(obj))
			return ""
		}
		for _, v := range obj {
			code, _ = paramValue(v)
		}
	default:
		errs["params"] = "must be an array with the code, or an object {\"code\": …}"
		return ""
	}
	for i, b := range t.Buttons {
		if b.Type == ButtonOTP {
			if v := buttons[i]; v != "" {
				if code != "" && v != code {
					errs["buttons."+strconv.Itoa(i)] = "differs from the code in params"
					return ""
				}
				code = v
			}
		}
	}
	switch {
	case code == "":
		errs["params"] = fmt.Sprintf("authentication template %s takes 1 parameter (the code), got 0", t.Name)
	case len(code) > maxOTPLength:
		errs["params"] = fmt.Sprintf("the code may have at most %d characters", maxOTPLength)
	}
	return code
}

// WithParams returns t with every variable mapped to the fixed value the
// API call gave, so Render fills it without contact data. code is the
// one-time password of an authentication template ("" otherwise). The
// second result holds campaign-style values Render reads (the code, for an
// authentication template without an OTP button mapping).
func (t Template) WithParams(p SendParams, code string) (Template, map[string]string) {
	out := t
	out.Variables = Variables{Header: t.Variables.Header, Body: t.Variables.Body, Buttons: map[int]VariableMapping{}}
	for i, m := range t.Variables.Buttons {
		out.Variables.Buttons[i] = m
	}
	values := map[string]string{}
	if p.OTP {
		values["code"] = code
		for i, b := range t.Buttons {
			if b.Type == ButtonOTP {
				out.Variables.Buttons[i] = VariableMapping{Value: code}
			}
		}
	}
	if p.Header != "" {
		out.Variables.Header = []VariableMapping{{Value: p.Header}}
	}
	if p.Body != nil && !p.OTP {
		names := t.BodyVariables()
		body := make([]VariableMapping, 0, len(names))
		for i := range names {
			if i < len(p.Body) {
				body = append(body, VariableMapping{Value: p.Body[i]})
			}
		}
		out.Variables.Body = body
	}
	if p.Named != nil {
		body := make([]VariableMapping, 0, len(p.Named))
		for _, name := range t.BodyVariables() {
			body = append(body, VariableMapping{Name: name, Value: p.Named[name]})
		}
		out.Variables.Body = body
	}
	for i, v := range p.Buttons {
		out.Variables.Buttons[i] = VariableMapping{Value: v}
	}
	return out, values
}
