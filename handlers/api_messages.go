package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/phone"
	"github.com/heraldhq/herald/templating"
)

// defaultOTPExpiry is how long an authentication message may wait to be
// sent when the call sets no expiry: a code that arrives later is useless.
const defaultOTPExpiry = 10 * time.Minute

// maxExpiry bounds expires_in_seconds.
const maxExpiry = 24 * time.Hour

// sendMessageRequest is the body of POST /api/v1/messages.
type sendMessageRequest struct {
	To                   string          `json:"to"`
	Template             string          `json:"template"`
	Language             string          `json:"language"`
	Params               json.RawMessage `json:"params"`
	Header               json.RawMessage `json:"header"`
	Buttons              json.RawMessage `json:"buttons"`
	IdempotencyKey       string          `json:"idempotency_key"`
	CallbackURL          string          `json:"callback_url"`
	TransactionalConsent *bool           `json:"transactional_consent"`
	ExpiresInSeconds     *int            `json:"expires_in_seconds"`
	ExpiresAt            *time.Time      `json:"expires_at"`
}

// validate checks the fields that need no database and returns the
// normalised number.
func (r *sendMessageRequest) validate(now time.Time) (phone.Number, map[string]string) {
	fields := map[string]string{}
	var num phone.Number
	if strings.TrimSpace(r.To) == "" {
		fields["to"] = "is required"
	} else if n, err := phone.Parse(r.To, ""); err != nil {
		fields["to"] = strings.TrimPrefix(err.Error(), "phone: ")
	} else {
		num = n
	}
	r.Template, r.Language = strings.TrimSpace(r.Template), strings.TrimSpace(r.Language)
	if r.Template == "" {
		fields["template"] = "is required"
	}
	if r.Language == "" {
		fields["language"] = "is required (e.g. en_US)"
	}
	r.IdempotencyKey = strings.TrimSpace(r.IdempotencyKey)
	if len(r.IdempotencyKey) > 255 {
		fields["idempotency_key"] = "may have at most 255 characters"
	}
	if r.CallbackURL != "" {
		u, err := url.Parse(r.CallbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(r.CallbackURL) > 2000 {
			fields["callback_url"] = "must be an absolute http(s) URL"
		}
	}
	if r.ExpiresInSeconds != nil && (*r.ExpiresInSeconds < 1 || time.Duration(*r.ExpiresInSeconds)*time.Second > maxExpiry) {
		fields["expires_in_seconds"] = fmt.Sprintf("must be from 1 to %d", int(maxExpiry.Seconds()))
	}
	if r.ExpiresInSeconds != nil && r.ExpiresAt != nil {
		fields["expires_at"] = "give expires_at or expires_in_seconds, not both"
	}
	return num, fields
}

// expiry is when an unsent message stops being worth sending; nil for never.
func (r *sendMessageRequest) expiry(category string, now time.Time) *time.Time {
	var at time.Time
	switch {
	case r.ExpiresAt != nil:
		at = *r.ExpiresAt
	case r.ExpiresInSeconds != nil:
		at = now.Add(time.Duration(*r.ExpiresInSeconds) * time.Second)
	case category == templating.CategoryAuthentication:
		at = now.Add(defaultOTPExpiry)
	default:
		return nil
	}
	return &at
}

// messageResponse is the answer of POST /api/v1/messages.
type messageResponse struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// apiMessageCreate sends one transactional message: every check runs
// before anything is queued; the message then goes to the priority lane,
// which is woken at once. A repeated idempotency_key answers 200 with the
// first message and queues nothing.
func (h *Handlers) apiMessageCreate(c echo.Context) error {
	ctx := c.Request().Context()
	key := currentAPIKey(c)
	now := time.Now().UTC()
	var req sendMessageRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiErr(http.StatusBadRequest, "invalid_json", "The body must be a JSON object of the documented fields: "+err.Error())
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = c.Request().Header.Get("Idempotency-Key")
	}
	num, fields := req.validate(now)
	if len(fields) > 0 {
		return apiFieldsErr(fields)
	}
	if req.IdempotencyKey != "" {
		prev, err := h.store.IdempotentMessage(ctx, key.ID, req.IdempotencyKey, now.Add(-models.IdempotencyWindow))
		if err == nil {
			return replayed(c, prev)
		}
		if !errors.Is(err, models.ErrNotFound) {
			return err
		}
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(now) {
		return &APIError{Status: http.StatusUnprocessableEntity, Code: "expired",
			Message: "expires_at has passed: the message would never be sent.", Fields: map[string]string{"expires_at": "is in the past"}}
	}

	// The sender, the template and the recipient's reachability come in
	// one round trip: every call pays for these lookups.
	look, err := h.store.LookupSend(ctx, req.Template, req.Language, num.E164)
	if err != nil {
		return err
	}
	sender, row := look.Sender, look.Template
	var senderID *int64
	if sender != nil {
		senderID = &sender.ID
	}
	if row == nil {
		return &APIError{Status: http.StatusNotFound, Code: "template_not_found",
			Message: fmt.Sprintf("No template %q in language %q.", req.Template, req.Language),
			Fields:  map[string]string{"template": "unknown template or language"}}
	}
	if row.Status != models.TemplateApproved {
		return &APIError{Status: http.StatusConflict, Code: "template_not_approved",
			Message: fmt.Sprintf("Template %s (%s) is %s; only APPROVED templates can be sent.", row.Name, row.Language, row.Status),
			Fields:  map[string]string{"template": "status " + row.Status}}
	}
	tmpl, err := jobs.TemplateFromModel(row)
	if err != nil {
		return err
	}
	params, code, perrs := templating.BindParams(tmpl, req.Params, req.Header, req.Buttons)
	if len(perrs) > 0 {
		return &APIError{Status: http.StatusUnprocessableEntity, Code: "wrong_parameters",
			Message: "The parameters do not fit template " + row.Name + ".", Fields: perrs}
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if look.Reachability != "" && look.Reachability != string(models.ReachabilityReachable) {
		return contactSuppressedErr(num.E164, look.Reachability)
	}
	if sender != nil && sender.Status == models.SenderStopped {
		return &APIError{Status: http.StatusServiceUnavailable, Code: "sender_stopped",
			Message: "The sending number is stopped: " + sender.StatusReason + ". An admin must start it again in Settings → Senders."}
	}

	// With the priority lane running in this process, the message is queued
	// already claimed for it and handed over in memory.
	inbox := h.runner.PriorityInbox()
	msg, created, err := h.store.CreateTransactional(ctx, models.NewTransactional{
		APIKeyID: key.ID, IdempotencyKey: req.IdempotencyKey,
		Phone: num.E164, Country: num.Country, Timezone: num.Timezone,
		TransactionalConsent: req.TransactionalConsent,
		TemplateID:           row.ID, Category: row.Category, SenderID: senderID,
		Params: string(paramsJSON), Secret: code, CallbackURL: req.CallbackURL,
		ExpiresAt: req.expiry(row.Category, now), ClaimFor: inbox.ClaimFor(),
	}, now)
	if errors.Is(err, models.ErrContactSuppressed) {
		return contactSuppressedErr(num.E164, "suppressed")
	}
	if err != nil {
		return err
	}
	if !created {
		return replayed(c, msg)
	}
	if msg.Claimed != nil {
		if err := inbox.Give(context.WithoutCancel(ctx), h.store, *msg.Claimed); err != nil {
			h.log.Error("hand a transactional message back to the ledger", "id", msg.ID, "err", err)
		}
		h.runner.WakeOne(jobs.PriorityWorker)
	} else if h.runner != nil {
		h.runner.Wake(jobs.PriorityWorker) // the lane claims it from the ledger
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/messages/"+strconv.FormatInt(msg.ID, 10))
	return c.JSON(http.StatusAccepted, messageResponse{ID: msg.ID, Status: models.PublicStatus(msg.Status)})
}

func contactSuppressedErr(phone, reachability string) *APIError {
	return &APIError{Status: http.StatusConflict, Code: "contact_unreachable",
		Message: fmt.Sprintf("%s cannot be messaged: the contact is %s.", phone, reachability),
		Fields:  map[string]string{"to": reachability}}
}

// replayed answers a repeated idempotency key with the first message.
func replayed(c echo.Context, m *models.TransactionalMessage) error {
	c.Response().Header().Set("Idempotent-Replayed", "true")
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/messages/"+strconv.FormatInt(m.ID, 10))
	return c.JSON(http.StatusOK, messageResponse{ID: m.ID, Status: models.PublicStatus(m.Status)})
}

// messageDetail is the answer of GET /api/v1/messages/{id}.
type messageDetail struct {
	ID             int64            `json:"id"`
	Status         string           `json:"status"`
	To             string           `json:"to"`
	Template       string           `json:"template"`
	Language       string           `json:"language"`
	Category       string           `json:"category"`
	IdempotencyKey *string          `json:"idempotency_key,omitempty"`
	WAMID          *string          `json:"wamid,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
	ExpiresAt      *time.Time       `json:"expires_at,omitempty"`
	History        []historyEntry   `json:"history"`
	Error          *messageErrorOut `json:"error,omitempty"`
}

type historyEntry struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Detail string    `json:"detail,omitempty"`
}

type messageErrorOut struct {
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason"`
}

// apiMessageGet shows a message and its history. A key sees the messages
// it created; an admin key sees every API message of the install.
func (h *Handlers) apiMessageGet(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apiErr(http.StatusNotFound, "not_found", "No such message.")
	}
	m, err := h.store.TransactionalByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return apiErr(http.StatusNotFound, "not_found", "No such message.")
	}
	if err != nil {
		return err
	}
	key := currentAPIKey(c)
	if key.Role != models.RoleAdmin && (m.APIKeyID == nil || *m.APIKeyID != key.ID) {
		return apiErr(http.StatusNotFound, "not_found", "No such message.")
	}
	out, err := h.messageDetail(c, m)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (h *Handlers) messageDetail(c echo.Context, m *models.TransactionalMessage) (messageDetail, error) {
	hist, err := h.store.TransactionalHistory(c.Request().Context(), m)
	if err != nil {
		return messageDetail{}, err
	}
	out := messageDetail{ID: m.ID, Status: models.PublicStatus(m.Status), To: m.ToPhone, Template: m.TemplateName,
		Language: m.TemplateLanguage, Category: m.Category, IdempotencyKey: m.IdempotencyKey, WAMID: m.WAMID,
		CreatedAt: m.CreatedAt.Time.UTC(), History: make([]historyEntry, 0, len(hist))}
	if m.ExpiresAt.Valid {
		t := m.ExpiresAt.Time.UTC()
		out.ExpiresAt = &t
	}
	for _, e := range hist {
		out.History = append(out.History, historyEntry{Status: e.Status, At: e.At.UTC(), Detail: e.Detail})
	}
	switch m.Status {
	case models.MessageFailed, models.MessageExpired, models.MessageSkipped, models.MessageCancelled, models.MessageUnknown:
		out.Error = &messageErrorOut{Code: m.ErrorCode, Reason: m.StatusReason}
	}
	return out, nil
}
