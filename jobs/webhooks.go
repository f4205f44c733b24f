package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp"
)

// WebhooksWorker is the name of the worker that applies stored webhooks;
// the webhook handler wakes it after storing a body.
const WebhooksWorker = "webhooks"

// DefaultOptOutKeywords end marketing for a contact who sends one of them
// as a whole message (case- and accent-insensitive), in the languages of
// Herald's first markets. Settings can replace them.
var DefaultOptOutKeywords = []string{
	"STOP", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPT OUT", "OPTOUT",
	"PARAR", "SAIR", "CANCELAR", "DESCADASTRAR", "BAJA", "ALTO", "DARSE DE BAJA",
	"ARRET", "ARRÊT", "DESINSCRIRE", "STOPP", "ABMELDEN",
}

// WebhookApplier applies stored webhook bodies: delivery statuses to the
// ledger, taps and replies to messages and contacts, opt-outs to consent,
// template verdicts to templates and number health to senders. Applying a
// body twice changes nothing the second time, so retries are safe.
type WebhookApplier struct {
	store *models.Store
	log   *slog.Logger
	batch int
	// wake starts the priority lane after an opt-out confirmation is
	// queued; nil in tests that drive the applier alone.
	wake func()
}

// NewWebhookApplier builds the applier.
func NewWebhookApplier(store *models.Store, log *slog.Logger) *WebhookApplier {
	return &WebhookApplier{store: store, log: log, batch: 50}
}

// Register adds the applier as a worker; it polls every few seconds and is
// woken by the webhook handler.
func (a *WebhookApplier) Register(r *Runner) error {
	a.wake = func() { r.Wake(PriorityWorker) }
	return r.Worker(WebhooksWorker, 2, 3*time.Second, a.Round)
}

// Round applies up to one batch of stored bodies.
func (a *WebhookApplier) Round(ctx context.Context) (bool, error) {
	deliveries, err := a.store.ClaimWebhooks(ctx, a.batch)
	if err != nil || len(deliveries) == 0 {
		return false, err
	}
	for _, d := range deliveries {
		applyErr := a.Apply(ctx, d.Body)
		if applyErr != nil {
			a.log.Warn("webhook not applied", "id", d.ID, "attempt", d.Attempts+1, "err", applyErr)
		}
		if err := a.store.FinishWebhook(ctx, d.ID, applyErr); err != nil {
			return false, err
		}
	}
	return len(deliveries) == a.batch, nil
}

// Apply applies one webhook body.
func (a *WebhookApplier) Apply(ctx context.Context, body []byte) error {
	n, err := whatsapp.ParseWebhook(body)
	if err != nil {
		return err
	}
	var errs []error
	errs = append(errs, a.applyStatuses(ctx, n.Statuses()))
	errs = append(errs, a.applyMessages(ctx, n.Messages()))
	errs = append(errs, a.applyPreferences(ctx, n.UserPreferences()))
	errs = append(errs, a.applyTemplateEvents(ctx, n.TemplateEvents()))
	errs = append(errs, a.applyPhoneQuality(ctx, n.PhoneQualityEvents()))
	for _, e := range n.SystemErrors() {
		a.log.Warn("WhatsApp reported a system error", "waba", e.WABAID, "code", int(e.Code), "title", e.Title,
			"details", e.ErrorData.Details)
	}
	return errors.Join(errs...)
}

func (a *WebhookApplier) applyStatuses(ctx context.Context, events []whatsapp.StatusEvent) error {
	if len(events) == 0 {
		return nil
	}
	updates := make([]models.StatusUpdate, 0, len(events))
	for _, e := range events {
		u := models.StatusUpdate{
			WAMID:     e.ID,
			MessageID: models.ParseCallbackData(e.BizOpaqueCallbackData),
			Status:    e.Status.Status,
			ErrorCode: e.ErrorCode(),
			Timestamp: e.Time(),
		}
		if len(e.Errors) > 0 {
			u.ErrorTitle = e.Errors[0].Title
			if d := e.Errors[0].ErrorData.Details; d != "" {
				u.ErrorTitle += ": " + d
			}
		}
		if e.Pricing != nil {
			u.PricingCategory = e.Pricing.Category
			u.Billable = e.Pricing.Type == "regular" || (e.Pricing.Billable != nil && *e.Pricing.Billable)
		}
		updates = append(updates, u)
	}
	if _, err := a.store.ApplyStatusUpdates(ctx, updates); err != nil {
		return fmt.Errorf("jobs: apply %d statuses: %w", len(updates), err)
	}
	return nil
}

// normalizeKeyword makes "Stop!", " stop " and "Arrêt" comparable.
func normalizeKeyword(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.Trim(s, ".!¡?¿ ")
	return strings.Join(strings.Fields(s), " ")
}

// optOutSettings reads the keyword list (built-in unless replaced) and the
// confirmation template.
func (a *WebhookApplier) optOutSettings(ctx context.Context) (map[string]bool, int64) {
	words := DefaultOptOutKeywords
	var st models.OptOutSettings
	if ok, err := a.store.GetSetting(ctx, models.OptOutSettingsKey, &st); err == nil && ok && len(st.Keywords) > 0 {
		words = st.Keywords
	}
	set := make(map[string]bool, len(words))
	for _, w := range words {
		set[normalizeKeyword(w)] = true
	}
	return set, st.ConfirmationTemplateID
}

func (a *WebhookApplier) applyMessages(ctx context.Context, events []whatsapp.MessageEvent) error {
	if len(events) == 0 {
		return nil
	}
	keywords, confirmation := a.optOutSettings(ctx)
	var waIDs []string
	for _, m := range events {
		waIDs = append(waIDs, m.From)
	}
	contacts, err := a.store.ContactIDsByWAID(ctx, waIDs)
	if err != nil {
		return err
	}
	active := map[int64]time.Time{}
	var optOuts []int64
	var errs []error
	for _, m := range events {
		id, known := contacts[m.From]
		if known {
			active[id] = m.Time()
		}
		optOut := false
		switch m.Type {
		case "button":
			if m.Button != nil {
				optOut = isOptOut(keywords, m.Button.Text) || isOptOutPayload(keywords, m.Button.Payload)
			}
			errs = append(errs, a.tap(ctx, m))
		case "interactive":
			if m.Interactive != nil && m.Interactive.ButtonReply != nil {
				optOut = isOptOut(keywords, m.Interactive.ButtonReply.Title)
			}
			errs = append(errs, a.tap(ctx, m))
		case "text":
			if m.Text != nil {
				optOut = isOptOut(keywords, m.Text.Body)
			}
		}
		if known && optOut {
			optOuts = append(optOuts, id)
			a.log.Info("contact opted out by message", "contact", id, "type", m.Type)
		}
	}
	if len(optOuts) > 0 {
		errs = append(errs, a.store.WithdrawMarketingConsent(ctx, optOuts, "WhatsApp reply (opt-out keyword)"))
		if confirmation != 0 {
			errs = append(errs, a.store.QueueOptOutConfirmations(ctx, optOuts, confirmation))
			if a.wake != nil {
				a.wake()
			}
		}
	}
	errs = append(errs, a.store.TouchContactsActive(ctx, active))
	return errors.Join(errs...)
}

// isOptOut tells whether a whole message is an opt-out keyword. A sentence
// that merely starts with "stop" is a conversation, not an opt-out.
func isOptOut(keywords map[string]bool, text string) bool {
	return text != "" && keywords[normalizeKeyword(text)]
}

// isOptOutPayload reads quick-reply payloads such as "STOP_PROMO|camp=42",
// which carry the keyword first.
func isOptOutPayload(keywords map[string]bool, payload string) bool {
	head, _, _ := strings.Cut(normalizeKeyword(payload), "|")
	head = strings.ReplaceAll(head, "_", " ")
	return keywords[head] || strings.HasPrefix(head, "STOP ")
}

// tap records a quick-reply or interactive reply as a tap on the message it
// answers.
func (a *WebhookApplier) tap(ctx context.Context, m whatsapp.MessageEvent) error {
	wamid := m.ReplyToID()
	if wamid == "" {
		return nil
	}
	if _, err := a.store.MarkTapped(ctx, 0, wamid, m.Time()); err != nil {
		return fmt.Errorf("jobs: record tap on %s: %w", wamid, err)
	}
	return nil
}

func (a *WebhookApplier) applyPreferences(ctx context.Context, events []whatsapp.UserPreferenceEvent) error {
	if len(events) == 0 {
		return nil
	}
	var waIDs []string
	for _, e := range events {
		waIDs = append(waIDs, e.WAID)
	}
	contacts, err := a.store.ContactIDsByWAID(ctx, waIDs)
	if err != nil {
		return err
	}
	var stops []int64
	for _, e := range events {
		id, ok := contacts[e.WAID]
		if !ok || e.Category != "marketing_messages" {
			continue
		}
		switch e.Value {
		case "stop":
			stops = append(stops, id)
		case "resume":
			// Resuming in WhatsApp lifts Meta's block; it is not consent to
			// Herald, so the contact stays opted out until they opt in again.
			a.log.Info("contact resumed marketing in WhatsApp", "contact", id)
		}
	}
	return a.store.WithdrawMarketingConsent(ctx, stops, "WhatsApp: stopped marketing messages")
}

func (a *WebhookApplier) applyTemplateEvents(ctx context.Context, events []whatsapp.TemplateEvent) error {
	var errs []error
	for _, e := range events {
		ref := models.TemplateRef{MetaID: string(e.MessageTemplateID), Name: e.MessageTemplateName,
			Language: e.MessageTemplateLanguage}
		var err error
		switch e.Field {
		case "message_template_status_update":
			err = a.store.SetTemplateStatus(ctx, e.WABAID, ref, e.Event, e.Reason)
		case "message_template_quality_update":
			err = a.store.SetTemplateQuality(ctx, e.WABAID, ref, e.NewQualityScore)
		case "template_category_update":
			err = a.store.SetTemplateCategory(ctx, e.WABAID, ref, e.NewCategory)
		}
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *WebhookApplier) applyPhoneQuality(ctx context.Context, events []whatsapp.PhoneQualityEvent) error {
	var errs []error
	for _, e := range events {
		h := models.SenderHealth{MessagingLimitTier: e.CurrentLimit}
		if h.MessagingLimitTier == "" {
			h.MessagingLimitTier = string(e.MaxDailyConversationsPerBusiness)
		}
		switch e.Event {
		case "THROUGHPUT_UPGRADE":
			h.ThroughputMPS = 1000
		case "FLAGGED":
			h.QualityRating = "RED"
		case "UNFLAGGED":
			h.QualityRating = "GREEN"
		}
		if e.DisplayPhoneNumber == "" {
			continue
		}
		senders, err := a.store.Senders(ctx)
		if err != nil {
			return err
		}
		for _, s := range senders {
			if s.DisplayPhone == e.DisplayPhoneNumber {
				errs = append(errs, a.store.UpdateSenderHealth(ctx, s.PhoneNumberID, h))
			}
		}
	}
	return errors.Join(errs...)
}
