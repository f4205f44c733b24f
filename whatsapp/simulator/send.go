package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/whatsapp"
)

// Received is one message the simulated Meta accepted.
type Received struct {
	WAMID    string `json:"wamid"`
	To       string `json:"to"`    // as sent
	WAID     string `json:"wa_id"` // digits only
	Type     string `json:"type"`  // template, text, interactive
	Template string `json:"template,omitempty"`
	Language string `json:"language,omitempty"`
	Category string `json:"category,omitempty"`
	// HeaderParams holds header text values, or the link/ID of header media.
	HeaderParams   []string      `json:"header_params,omitempty"`
	BodyParams     []string      `json:"body_params,omitempty"`
	BodyParamNames []string      `json:"body_param_names,omitempty"` // named templates
	Buttons        []ButtonParam `json:"buttons,omitempty"`
	Text           string        `json:"text,omitempty"` // text messages, or the hydrated template body
	BizOpaque      string        `json:"biz_opaque_callback_data,omitempty"`
	At             time.Time     `json:"at"`
	// Count is how many accepted requests so far carried the same recipient
	// and biz_opaque_callback_data (1 = first). Above 1 means the sender
	// sent the same message twice.
	Count int `json:"count"`
	// Fault is "drop" or "slow" when the answer to this accepted request
	// was withheld or delayed on purpose.
	Fault string          `json:"fault,omitempty"`
	Body  json.RawMessage `json:"body"`
}

// ButtonParam is one button parameter of a template send.
type ButtonParam struct {
	SubType string `json:"sub_type"`
	Index   int    `json:"index"`
	Value   string `json:"value"` // payload, URL suffix or coupon code
}

// wire shapes of the send request, decoded leniently where Meta is lenient
// (index as string or number, component types in any case).
type sendRequest struct {
	MessagingProduct string          `json:"messaging_product"`
	RecipientType    string          `json:"recipient_type"`
	To               string          `json:"to"`
	Type             string          `json:"type"`
	Status           string          `json:"status"`
	MessageID        string          `json:"message_id"`
	BizOpaque        string          `json:"biz_opaque_callback_data"`
	Template         *reqTemplate    `json:"template"`
	Text             *reqText        `json:"text"`
	Interactive      *reqInteractive `json:"interactive"`
}

type reqTemplate struct {
	Name     string `json:"name"`
	Language *struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	} `json:"language"`
	Components []reqComponent `json:"components"`
}

type reqComponent struct {
	Type       string              `json:"type"`
	SubType    string              `json:"sub_type"`
	Index      whatsapp.FlexString `json:"index"`
	Parameters []reqParam          `json:"parameters"`
}

type reqMedia struct {
	ID   string `json:"id"`
	Link string `json:"link"`
}

type reqParam struct {
	Type          string    `json:"type"`
	ParameterName string    `json:"parameter_name"`
	Text          *string   `json:"text"`
	Payload       *string   `json:"payload"`
	CouponCode    *string   `json:"coupon_code"`
	Image         *reqMedia `json:"image"`
	Video         *reqMedia `json:"video"`
	Document      *reqMedia `json:"document"`
	Location      *struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
	} `json:"location"`
	Currency *struct {
		FallbackValue string `json:"fallback_value"`
		Code          string `json:"code"`
		Amount1000    *int64 `json:"amount_1000"`
	} `json:"currency"`
	DateTime *struct {
		FallbackValue string `json:"fallback_value"`
	} `json:"date_time"`
	Action json.RawMessage `json:"action"`
}

type reqText struct {
	Body       *string `json:"body"`
	PreviewURL bool    `json:"preview_url"`
}

type reqInteractive struct {
	Type string `json:"type"`
	Body *struct {
		Text string `json:"text"`
	} `json:"body"`
	Action *struct {
		Button  string `json:"button"`
		Buttons []struct {
			Reply struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"reply"`
		} `json:"buttons"`
		Sections []struct {
			Rows []struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"rows"`
		} `json:"sections"`
	} `json:"action"`
}

// sendError is a synchronous refusal in Meta's shape.
type sendError struct {
	status  int
	code    int
	message string
	details string
}

func refuse(status, code int, message, details string) *sendError {
	return &sendError{status, code, message, details}
}

var phoneCleanRe = regexp.MustCompile(`[\s\-().+]`)
var digitsRe = regexp.MustCompile(`^[0-9]{7,15}$`)

// waID turns the `to` value into digits the way Meta normalizes numbers.
func waID(to string) (string, bool) {
	d := phoneCleanRe.ReplaceAllString(to, "")
	return d, digitsRe.MatchString(d)
}

const maxSendBody = 1 << 20

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxSendBody))
	if err != nil {
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", "could not read request body")
		return
	}
	if !s.takeThroughput() {
		writeMetaError(w, http.StatusTooManyRequests, 130429, "Rate limit hit",
			"Message failed to send because there were too many messages sent from this phone number in a short period of time")
		return
	}
	var req sendRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&req); err != nil {
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", "request body is not valid JSON for this endpoint: "+err.Error())
		return
	}
	if req.MessagingProduct != "whatsapp" {
		writeMetaError(w, http.StatusBadRequest, 100, "The parameter messaging_product is required.", "messaging_product must be \"whatsapp\"")
		return
	}
	if req.Status == "read" {
		if req.MessageID == "" {
			writeMetaError(w, http.StatusBadRequest, 131008, "Required parameter is missing", "message_id is required")
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
		return
	}

	s.mu.Lock()
	rec, tmpl, serr := s.checkSendLocked(&req)
	s.mu.Unlock()
	if serr != nil {
		writeMetaError(w, serr.status, serr.code, serr.message, serr.details)
		return
	}
	rec.Body = raw

	fault := s.rollFault()
	if fault == "5xx" {
		// Refused: Meta did not take the message, nothing is recorded.
		writeMetaError(w, http.StatusInternalServerError, 131000, "Something went wrong", "Message failed to send because of an unknown error. Please try again later.")
		return
	}
	rec.Fault = fault

	s.mu.Lock()
	rec = s.acceptLocked(rec, tmpl)
	slowDelay := s.faults.SlowDelay
	s.mu.Unlock()

	switch fault {
	case "drop":
		dropConnection(w)
		return
	case "slow":
		select {
		case <-time.After(slowDelay):
		case <-r.Context().Done():
			return
		}
	}
	resp := map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []any{map[string]string{"input": rec.To, "wa_id": rec.WAID}},
	}
	msg := map[string]string{"id": rec.WAMID}
	if rec.Type == "template" {
		msg["message_status"] = "accepted"
	}
	resp["messages"] = []any{msg}
	writeJSON(w, http.StatusOK, resp)
}

// dropConnection closes the TCP connection without an answer, like a
// gateway dying after the request reached Meta.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Not hijackable (e.g. HTTP/2 or a recorder): abort the handler,
		// which net/http turns into a reset stream or closed connection.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// takeThroughput applies the messages-per-second cap with a one-second
// sliding window; refused requests do not count.
func (s *Server) takeThroughput() bool {
	if s.cfg.MPS <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	cut := 0
	for cut < len(s.sendTimes) && now.Sub(s.sendTimes[cut]) >= time.Second {
		cut++
	}
	s.sendTimes = s.sendTimes[cut:]
	if len(s.sendTimes) >= s.cfg.MPS {
		return false
	}
	s.sendTimes = append(s.sendTimes, now)
	return true
}

// rollFault decides the injected fault for one accepted-looking request.
func (s *Server) rollFault() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	if f.Error5xxShare <= 0 && f.DropShare <= 0 && f.SlowShare <= 0 {
		return ""
	}
	u := s.rng.Float64()
	switch {
	case u < f.Error5xxShare:
		return "5xx"
	case u < f.Error5xxShare+f.DropShare:
		return "drop"
	case u < f.Error5xxShare+f.DropShare+f.SlowShare:
		return "slow"
	}
	return ""
}

// checkSendLocked validates the request like Meta does synchronously and
// returns the record to keep if it is accepted.
func (s *Server) checkSendLocked(req *sendRequest) (Received, *whatsapp.Template, *sendError) {
	rec := Received{To: req.To, Type: req.Type, BizOpaque: req.BizOpaque}
	if req.To == "" {
		return rec, nil, refuse(400, 131008, "Required parameter is missing", "The parameter 'to' is required.")
	}
	id, ok := waID(req.To)
	if !ok {
		return rec, nil, refuse(400, 131009, "Parameter value is not valid", "The parameter 'to' is not a valid phone number.")
	}
	rec.WAID = id
	if utf8.RuneCountInString(req.BizOpaque) > whatsapp.MaxBizOpaqueLen {
		return rec, nil, refuse(400, 131009, "Parameter value is not valid", "biz_opaque_callback_data is longer than 512 characters")
	}
	switch req.Type {
	case "template":
		t, err := s.checkTemplateLocked(req.Template, &rec)
		return rec, t, err
	case "text":
		if req.Text == nil || req.Text.Body == nil {
			return rec, nil, refuse(400, 131008, "Required parameter is missing", "text.body is required")
		}
		if utf8.RuneCountInString(*req.Text.Body) > 4096 {
			return rec, nil, refuse(400, 100, "Invalid parameter", "Param text['body'] must be at most 4096 characters long.")
		}
		rec.Text = *req.Text.Body
		return rec, nil, nil
	case "interactive":
		return rec, nil, checkInteractive(req.Interactive)
	case "":
		return rec, nil, refuse(400, 131008, "Required parameter is missing", "The parameter 'type' is required.")
	default:
		return rec, nil, refuse(400, 100, "Invalid parameter", fmt.Sprintf("Param type %q is not a supported message type here", req.Type))
	}
}

func checkInteractive(in *reqInteractive) *sendError {
	if in == nil || in.Body == nil || in.Body.Text == "" || in.Action == nil {
		return refuse(400, 131008, "Required parameter is missing", "interactive.body.text and interactive.action are required")
	}
	switch in.Type {
	case "button":
		n := len(in.Action.Buttons)
		if n == 0 || n > 3 {
			return refuse(400, 131009, "Parameter value is not valid", "interactive.action.buttons must have 1 to 3 buttons")
		}
		for _, b := range in.Action.Buttons {
			if b.Reply.ID == "" || b.Reply.Title == "" || utf8.RuneCountInString(b.Reply.Title) > 20 {
				return refuse(400, 131009, "Parameter value is not valid", "reply buttons need an id and a title of at most 20 characters")
			}
		}
	case "list":
		rows := 0
		for _, sec := range in.Action.Sections {
			rows += len(sec.Rows)
		}
		if in.Action.Button == "" || rows == 0 || rows > 10 || len(in.Action.Sections) > 10 {
			return refuse(400, 131009, "Parameter value is not valid", "a list needs action.button and 1 to 10 rows in at most 10 sections")
		}
	default:
		return refuse(400, 100, "Invalid parameter", fmt.Sprintf("interactive type %q is not supported", in.Type))
	}
	return nil
}

func (s *Server) checkTemplateLocked(rt *reqTemplate, rec *Received) (*whatsapp.Template, *sendError) {
	if rt == nil || rt.Name == "" {
		return nil, refuse(400, 131008, "Required parameter is missing", "template.name is required")
	}
	if rt.Language == nil || rt.Language.Code == "" {
		return nil, refuse(400, 131008, "Required parameter is missing", "template.language.code is required")
	}
	rec.Template, rec.Language = rt.Name, rt.Language.Code
	t := s.findTemplateLocked(rt.Name, rt.Language.Code)
	if t == nil {
		return nil, refuse(404, 132001, "Template name does not exist in the translation",
			fmt.Sprintf("template name (%s) does not exist in %s", rt.Name, rt.Language.Code))
	}
	switch t.Status {
	case whatsapp.StatusApproved:
	case whatsapp.StatusPaused:
		return nil, refuse(400, 132015, "Template is paused", fmt.Sprintf("template %s is paused due to low quality", t.Name))
	case whatsapp.StatusDisabled:
		return nil, refuse(400, 132016, "Template is disabled", fmt.Sprintf("template %s has been disabled", t.Name))
	default:
		return nil, refuse(404, 132001, "Template name does not exist in the translation",
			fmt.Sprintf("template name (%s) is %s in %s, not APPROVED", t.Name, t.Status, t.Language))
	}
	rec.Category = t.Category
	named := strings.EqualFold(t.ParameterFormat, whatsapp.ParameterFormatNamed)

	var header, body *reqComponent
	buttons := map[int]*reqComponent{}
	for i := range rt.Components {
		c := &rt.Components[i]
		switch strings.ToLower(c.Type) {
		case "header":
			header = c
		case "body":
			body = c
		case "button":
			idx, err := strconv.Atoi(c.Index.String())
			if err != nil || idx < 0 {
				return nil, refuse(400, 131009, "Parameter value is not valid", fmt.Sprintf("button index %q is not a number", c.Index))
			}
			buttons[idx] = c
		default:
			return nil, refuse(400, 131009, "Parameter value is not valid", fmt.Sprintf("component type %q is not valid", c.Type))
		}
	}
	if err := checkHeader(t.Component(whatsapp.TemplateHeader), header, rec); err != nil {
		return nil, err
	}
	if err := checkBody(t.Component(whatsapp.TemplateBody), body, named, rec); err != nil {
		return nil, err
	}
	if err := checkButtons(t.Component(whatsapp.TemplateButtons), buttons, rec); err != nil {
		return nil, err
	}
	return t, nil
}

// paramValue returns the display value of a text-like parameter.
func paramValue(p reqParam) (string, *sendError) {
	switch p.Type {
	case "text":
		if p.Text == nil {
			return "", refuse(400, 131008, "Required parameter is missing", "text parameter without 'text'")
		}
		return *p.Text, nil
	case "currency":
		if p.Currency == nil || p.Currency.FallbackValue == "" || p.Currency.Code == "" || p.Currency.Amount1000 == nil {
			return "", refuse(400, 131008, "Required parameter is missing", "currency needs fallback_value, code and amount_1000")
		}
		return p.Currency.FallbackValue, nil
	case "date_time":
		if p.DateTime == nil || p.DateTime.FallbackValue == "" {
			return "", refuse(400, 131008, "Required parameter is missing", "date_time needs fallback_value")
		}
		return p.DateTime.FallbackValue, nil
	case "":
		return "", refuse(400, 131008, "Required parameter is missing", "parameter type is required")
	}
	return "", refuse(400, 132012, "Parameter format does not match format in the created template", fmt.Sprintf("parameter type %q is not allowed here", p.Type))
}

func countMismatch(where string, got, want int) *sendError {
	return refuse(400, 132000, "Number of parameters does not match the expected number of params",
		fmt.Sprintf("%s: number of localizable_params (%d) does not match the expected number of params (%d)", where, got, want))
}

func checkHeader(tc *whatsapp.TemplateComponent, rc *reqComponent, rec *Received) *sendError {
	var params []reqParam
	if rc != nil {
		params = rc.Parameters
	}
	if tc == nil {
		if len(params) > 0 {
			return countMismatch("header", len(params), 0)
		}
		return nil
	}
	switch strings.ToUpper(tc.Format) {
	case whatsapp.FormatText:
		vars := whatsapp.Variables(tc.Text)
		if len(params) != len(vars) {
			return countMismatch("header", len(params), len(vars))
		}
		values := map[string]string{}
		for i, p := range params {
			v, err := paramValue(p)
			if err != nil {
				return err
			}
			rec.HeaderParams = append(rec.HeaderParams, v)
			values[vars[i]] = v
			if p.ParameterName != "" {
				values[p.ParameterName] = v
			}
		}
		if n := utf8.RuneCountInString(hydrate(tc.Text, values)); n > whatsapp.MaxHeaderTextLen {
			return refuse(400, 132005, "Translated text too long", fmt.Sprintf("header is %d characters after substitution", n))
		}
	case whatsapp.FormatImage, whatsapp.FormatVideo, whatsapp.FormatDocument:
		want := strings.ToLower(tc.Format)
		if len(params) != 1 {
			return refuse(400, 131008, "Required parameter is missing", fmt.Sprintf("header needs one %s parameter", want))
		}
		p := params[0]
		var m *reqMedia
		switch p.Type {
		case "image":
			m = p.Image
		case "video":
			m = p.Video
		case "document":
			m = p.Document
		}
		if p.Type != want {
			return refuse(400, 132012, "Parameter format does not match format in the created template", fmt.Sprintf("header expects %s, got %q", want, p.Type))
		}
		if m == nil || (m.Link == "" && m.ID == "") {
			return refuse(400, 131008, "Required parameter is missing", fmt.Sprintf("%s needs a link or an id", want))
		}
		if m.Link != "" && !strings.HasPrefix(m.Link, "https://") && !strings.HasPrefix(m.Link, "http://") {
			return refuse(400, 131053, "Media upload error", "media link must be an http(s) URL")
		}
		rec.HeaderParams = append(rec.HeaderParams, m.Link+m.ID)
	case whatsapp.FormatLocation:
		if len(params) != 1 || params[0].Type != "location" || params[0].Location == nil ||
			params[0].Location.Latitude == nil || params[0].Location.Longitude == nil {
			return refuse(400, 131008, "Required parameter is missing", "header needs one location parameter with latitude and longitude")
		}
	}
	return nil
}

func checkBody(tc *whatsapp.TemplateComponent, rc *reqComponent, named bool, rec *Received) *sendError {
	var params []reqParam
	if rc != nil {
		params = rc.Parameters
	}
	text := ""
	if tc != nil {
		text = tc.Text
	}
	vars := whatsapp.Variables(text)
	if len(params) != len(vars) {
		return countMismatch("body", len(params), len(vars))
	}
	values := map[string]string{}
	known := map[string]bool{}
	for _, v := range vars {
		known[v] = true
	}
	for i, p := range params {
		v, err := paramValue(p)
		if err != nil {
			return err
		}
		key := vars[i]
		if named {
			if p.ParameterName == "" {
				return refuse(400, 131008, "Required parameter is missing", "parameter_name is required for named templates")
			}
			if !known[p.ParameterName] {
				return refuse(400, 131009, "Parameter value is not valid", fmt.Sprintf("parameter_name %q is not a variable of the template", p.ParameterName))
			}
			key = p.ParameterName
			rec.BodyParamNames = append(rec.BodyParamNames, p.ParameterName)
		}
		values[key] = v
		rec.BodyParams = append(rec.BodyParams, v)
	}
	rec.Text = hydrate(text, values)
	if n := utf8.RuneCountInString(rec.Text); n > whatsapp.MaxBodyLen {
		return refuse(400, 132005, "Translated text too long", fmt.Sprintf("body is %d characters after substitution", n))
	}
	return nil
}

func checkButtons(tc *whatsapp.TemplateComponent, given map[int]*reqComponent, rec *Received) *sendError {
	var tbs []whatsapp.TemplateButton
	if tc != nil {
		tbs = tc.Buttons
	}
	for idx, c := range given {
		if idx >= len(tbs) {
			return refuse(400, 131009, "Parameter value is not valid", fmt.Sprintf("button at index %d does not exist in the template", idx))
		}
		tb := tbs[idx]
		want := map[string]string{
			whatsapp.TemplateButtonQuickReply: whatsapp.ButtonQuickReply,
			whatsapp.TemplateButtonURL:        whatsapp.ButtonURL,
			whatsapp.TemplateButtonOTP:        whatsapp.ButtonURL,
			whatsapp.TemplateButtonCopyCode:   whatsapp.ButtonCopyCode,
			whatsapp.TemplateButtonFlow:       whatsapp.ButtonFlow,
		}[strings.ToUpper(tb.Type)]
		if !strings.EqualFold(c.SubType, want) {
			return refuse(400, 131009, "Parameter value is not valid", fmt.Sprintf("button at index %d is %s, not %q", idx, tb.Type, c.SubType))
		}
		if len(c.Parameters) != 1 {
			return countMismatch(fmt.Sprintf("button %d", idx), len(c.Parameters), 1)
		}
		p := c.Parameters[0]
		var value string
		switch want {
		case whatsapp.ButtonQuickReply:
			if p.Type != "payload" || p.Payload == nil {
				return refuse(400, 131009, "Parameter value is not valid", "quick_reply buttons take one payload parameter")
			}
			value = *p.Payload
		case whatsapp.ButtonURL:
			if p.Type != "text" || p.Text == nil {
				return refuse(400, 131009, "Parameter value is not valid", "url buttons take one text parameter")
			}
			value = *p.Text
		case whatsapp.ButtonCopyCode:
			if p.Type != "coupon_code" || p.CouponCode == nil || *p.CouponCode == "" || utf8.RuneCountInString(*p.CouponCode) > whatsapp.MaxCopyCodeLen {
				return refuse(400, 131009, "Parameter value is not valid", "copy_code buttons take one coupon_code of at most 15 characters")
			}
			value = *p.CouponCode
		case whatsapp.ButtonFlow:
			if p.Type != "action" {
				return refuse(400, 131009, "Parameter value is not valid", "flow buttons take one action parameter")
			}
		}
		rec.Buttons = append(rec.Buttons, ButtonParam{SubType: want, Index: idx, Value: value})
	}
	// A dynamic URL (or OTP) button cannot be sent without its suffix.
	for i, tb := range tbs {
		typ := strings.ToUpper(tb.Type)
		dynamic := (typ == whatsapp.TemplateButtonURL && len(whatsapp.Variables(tb.URL)) > 0) || typ == whatsapp.TemplateButtonOTP
		if dynamic && given[i] == nil {
			return refuse(400, 131008, "Required parameter is missing", fmt.Sprintf("button at index %d of type Url requires a parameter", i))
		}
	}
	sortButtons(rec.Buttons)
	return nil
}

func sortButtons(b []ButtonParam) {
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && b[j].Index < b[j-1].Index; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
}

var hydrateRe = regexp.MustCompile(`\{\{([^{}]*)\}\}`)

// hydrate substitutes variables with their values.
func hydrate(text string, values map[string]string) string {
	return hydrateRe.ReplaceAllStringFunc(text, func(m string) string {
		if v, ok := values[strings.TrimSpace(m[2:len(m)-2])]; ok {
			return v
		}
		return m
	})
}

// acceptLocked records an accepted message and schedules its statuses.
func (s *Server) acceptLocked(rec Received, tmpl *whatsapp.Template) Received {
	rec.WAMID = s.newIDLocked("HBgL")
	rec.At = time.Now()
	key := rec.WAID + "\x00" + rec.BizOpaque
	if rec.BizOpaque == "" {
		key = rec.WAMID
	}
	s.sameKey[key]++
	rec.Count = s.sameKey[key]
	s.received = append(s.received, rec)
	s.scheduleLocked(rec, tmpl)
	return rec
}
