package simulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/whatsapp"
)

// addTemplateLocked stores def with the given status and returns its ID.
func (s *Server) addTemplateLocked(def whatsapp.TemplateDefinition, status string) *whatsapp.Template {
	format := "POSITIONAL"
	if strings.EqualFold(def.ParameterFormat, whatsapp.ParameterFormatNamed) {
		format = "NAMED"
	}
	if def.Category == whatsapp.CategoryAuthentication {
		def.Components = authenticationText(def.Components)
	}
	t := &whatsapp.Template{
		ID: strconv.FormatInt(s.nextTemplateID, 10), Name: def.Name, Language: def.Language,
		Status: status, Category: def.Category, ParameterFormat: format,
		Components:   append([]whatsapp.TemplateComponent(nil), def.Components...),
		QualityScore: &whatsapp.QualityScore{Score: "UNKNOWN"},
	}
	s.nextTemplateID++
	s.templates = append(s.templates, t)
	return t
}

// authenticationText fills in the body and footer texts Meta fixes for
// authentication templates, so sends are checked against {{1}} as in production.
func authenticationText(comps []whatsapp.TemplateComponent) []whatsapp.TemplateComponent {
	out := append([]whatsapp.TemplateComponent(nil), comps...)
	for i, c := range out {
		switch strings.ToUpper(c.Type) {
		case whatsapp.TemplateBody:
			if c.Text == "" {
				out[i].Text = "*{{1}}* is your verification code."
				if c.AddSecurityRecommendation {
					out[i].Text += " For your security, do not share this code."
				}
			}
		case whatsapp.TemplateFooter:
			if c.Text == "" && c.CodeExpirationMinutes > 0 {
				out[i].Text = fmt.Sprintf("This code expires in %d minutes.", c.CodeExpirationMinutes)
			}
		}
	}
	return out
}

func (s *Server) findTemplateLocked(name, language string) *whatsapp.Template {
	for _, t := range s.templates {
		if t.Name == name && t.Language == language {
			return t
		}
	}
	return nil
}

func (s *Server) templateByIDLocked(id string) *whatsapp.Template {
	for _, t := range s.templates {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// AddTemplate stores a template directly with the given status (no review,
// no webhook) and returns its ID; for seeding tests and demos.
func (s *Server) AddTemplate(def whatsapp.TemplateDefinition, status string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTemplateLocked(def, status).ID
}

// Templates returns a copy of every template.
func (s *Server) Templates() []whatsapp.Template {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]whatsapp.Template, 0, len(s.templates))
	for _, t := range s.templates {
		out = append(out, *t)
	}
	return out
}

// SetTemplateStatus changes a template's status (e.g. PAUSED, DISABLED,
// APPROVED) and sends the message_template_status_update webhook, as Meta
// does when quality drops or a pause ends.
func (s *Server) SetTemplateStatus(id, status, reason string) error {
	s.mu.Lock()
	t := s.templateByIDLocked(id)
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("simulator: set template status: no template %s", id)
	}
	t.Status = status
	ev := s.templateStatusEventLocked(t, reason, "")
	s.mu.Unlock()
	s.queue.push(ev)
	return nil
}

func (s *Server) templateStatusEventLocked(t *whatsapp.Template, reason, description string) *event {
	if reason == "" {
		reason = "NONE"
	}
	id, _ := strconv.ParseInt(t.ID, 10, 64)
	value := map[string]any{
		"event":                     t.Status,
		"message_template_id":       id, // a number in Meta's payloads
		"message_template_name":     t.Name,
		"message_template_language": t.Language,
		"reason":                    reason,
	}
	if description != "" {
		value["other_info"] = map[string]string{"title": "Template rejected", "description": description}
	}
	return &event{due: time.Now(), kind: evChange, field: whatsapp.FieldMessageTemplateStatusUpdate, value: value}
}

// review decides a PENDING template with Meta's creation rules.
func (s *Server) review(id string) {
	s.mu.Lock()
	t := s.templateByIDLocked(id)
	if t == nil || t.Status != whatsapp.StatusPending {
		s.mu.Unlock()
		return
	}
	def := whatsapp.TemplateDefinition{Name: t.Name, Language: t.Language, Category: t.Category,
		ParameterFormat: strings.ToLower(t.ParameterFormat), Components: t.Components}
	issues := whatsapp.ValidateTemplate(def)
	reason, desc := "", ""
	if len(issues) == 0 {
		t.Status = whatsapp.StatusApproved
	} else {
		t.Status = whatsapp.StatusRejected
		reason = "INVALID_FORMAT"
		t.RejectedReason = reason
		parts := make([]string, len(issues))
		for i, is := range issues {
			parts[i] = is.String()
		}
		desc = strings.Join(parts, "; ")
	}
	ev := s.templateStatusEventLocked(t, reason, desc)
	s.mu.Unlock()
	s.queue.push(ev)
}

func (s *Server) handleCreateTemplate(w http.ResponseWriter, r *http.Request) {
	var def whatsapp.TemplateDefinition
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSendBody))
	if err == nil {
		err = json.Unmarshal(body, &def)
	}
	if err != nil {
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", "request body is not a valid template: "+err.Error())
		return
	}
	// Meta refuses missing basics at once; everything else is decided in review.
	switch {
	case def.Name == "":
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", "The parameter name is required.")
		return
	case def.Language == "":
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", "The parameter language is required.")
		return
	case def.Category != whatsapp.CategoryMarketing && def.Category != whatsapp.CategoryUtility && def.Category != whatsapp.CategoryAuthentication:
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", "category must be one of MARKETING, UTILITY, AUTHENTICATION")
		return
	}
	s.mu.Lock()
	if s.findTemplateLocked(def.Name, def.Language) != nil {
		s.mu.Unlock()
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter",
			fmt.Sprintf("Content in this language already exists: %s (%s)", def.Name, def.Language))
		return
	}
	t := s.addTemplateLocked(def, whatsapp.StatusPending)
	res := whatsapp.CreateTemplateResult{ID: t.ID, Status: t.Status, Category: t.Category}
	s.mu.Unlock()
	s.queue.push(&event{due: time.Now().Add(s.cfg.ApprovalDelay), kind: evTemplateReview, templateID: res.ID})
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleListTemplates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 25
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 {
		limit = min(l, 1000)
	}
	start := 0
	if a := q.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", "invalid after cursor")
			return
		}
		start = n
	}
	s.mu.Lock()
	var matched []whatsapp.Template
	for _, t := range s.templates {
		if (q.Get("status") == "" || strings.EqualFold(q.Get("status"), t.Status)) &&
			(q.Get("name") == "" || strings.Contains(t.Name, q.Get("name"))) &&
			(q.Get("category") == "" || strings.EqualFold(q.Get("category"), t.Category)) {
			matched = append(matched, *t)
		}
	}
	s.mu.Unlock()
	start = min(start, len(matched))
	end := min(start+limit, len(matched))
	page := matched[start:end]
	if page == nil {
		page = []whatsapp.Template{}
	}
	cursor := func(n int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(n))) }
	paging := map[string]any{"cursors": map[string]string{"before": cursor(start), "after": cursor(end)}}
	if end < len(matched) {
		next := *r.URL
		nq := next.Query()
		nq.Set("after", cursor(end))
		next.RawQuery = nq.Encode()
		paging["next"] = "http://" + r.Host + next.RequestURI()
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": page, "paging": paging})
}

func (s *Server) handleDeleteTemplate(w http.ResponseWriter, r *http.Request) {
	name, hsmID := r.URL.Query().Get("name"), r.URL.Query().Get("hsm_id")
	if name == "" {
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", "The parameter name is required.")
		return
	}
	s.mu.Lock()
	kept := s.templates[:0:0]
	deleted := 0
	for _, t := range s.templates {
		if t.Name == name && (hsmID == "" || t.ID == hsmID) {
			deleted++
			continue
		}
		kept = append(kept, t)
	}
	s.templates = kept
	s.mu.Unlock()
	if deleted == 0 {
		writeMetaError(w, http.StatusBadRequest, 100, "Invalid parameter", fmt.Sprintf("Message template %q not found", name))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (s *Server) handleGetTemplate(w http.ResponseWriter, id string) {
	s.mu.Lock()
	t := s.templateByIDLocked(id)
	var out whatsapp.Template
	if t != nil {
		out = *t
	}
	s.mu.Unlock()
	if t == nil {
		writeMetaError(w, http.StatusBadRequest, 100,
			fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", id), "")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handlePhoneNumber answers GET /{phone-number-id}?fields=… with only the
// requested fields, as the Graph API does.
func (s *Server) handlePhoneNumber(w http.ResponseWriter, r *http.Request) {
	all := map[string]any{
		"display_phone_number": s.cfg.DisplayPhone,
		"verified_name":        s.cfg.VerifiedName,
		"quality_rating":       s.cfg.QualityRating,
		"throughput":           map[string]string{"level": s.cfg.ThroughputLevel},
		"whatsapp_business_manager_messaging_limit": s.cfg.MessagingLimitTier,
		"messaging_limit_tier":                      s.cfg.MessagingLimitTier,
	}
	out := map[string]any{"id": s.cfg.PhoneNumberID}
	fields := topLevelFields(r.URL.Query().Get("fields"))
	if len(fields) == 0 {
		fields = []string{"display_phone_number", "verified_name", "quality_rating"}
	}
	for _, f := range fields {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// topLevelFields splits "a,b{c,d},e" into [a b e].
func topLevelFields(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s + "," {
		switch c {
		case '{':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = -1
			}
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				if start >= 0 && strings.TrimSpace(s[start:i]) != "" {
					out = append(out, strings.TrimSpace(s[start:i]))
				}
				start = i + 1
			}
		}
	}
	return out
}

// SetTemplateQuality changes a template's quality score (GREEN, YELLOW, RED)
// and sends the message_template_quality_update webhook. A RED score also
// pauses the template, as Meta does, with its status webhook.
func (s *Server) SetTemplateQuality(id, score string) error {
	s.mu.Lock()
	t := s.templateByIDLocked(id)
	if t == nil {
		s.mu.Unlock()
		return fmt.Errorf("simulator: set template quality: no template %s", id)
	}
	previous := t.Quality()
	t.QualityScore = &whatsapp.QualityScore{Score: score, Date: time.Now().Unix()}
	tid, _ := strconv.ParseInt(t.ID, 10, 64)
	evs := []*event{{due: time.Now(), kind: evChange, field: whatsapp.FieldMessageTemplateQualityUpdate, value: map[string]any{
		"previous_quality_score":    previous,
		"new_quality_score":         score,
		"message_template_id":       tid,
		"message_template_name":     t.Name,
		"message_template_language": t.Language,
	}}}
	if score == "RED" && t.Status == whatsapp.StatusApproved {
		t.Status = whatsapp.StatusPaused
		evs = append(evs, s.templateStatusEventLocked(t, "", ""))
	}
	s.mu.Unlock()
	for _, ev := range evs {
		s.queue.push(ev)
	}
	return nil
}
