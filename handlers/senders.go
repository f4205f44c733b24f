package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/components"
	"github.com/heraldhq/herald/views/settings"
	"github.com/heraldhq/herald/whatsapp"
)

// senderForm is the add-sender form.
type senderForm struct {
	Name          string `form:"name"`
	PhoneNumberID string `form:"phone_number_id"`
	WABAID        string `form:"waba_id"`
	DisplayPhone  string `form:"display_phone"`
	APIURL        string `form:"api_url"`
	APIVersion    string `form:"api_version"`
	ThroughputMPS string `form:"throughput_mps"`
	Token         string `form:"token"`
	AppSecret     string `form:"app_secret"`
	VerifyToken   string `form:"verify_token"`
}

func digitsOnly(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// Validate returns what is wrong, per field.
func (f senderForm) Validate() components.FieldErrors {
	errs := components.FieldErrors{}
	if !digitsOnly(f.PhoneNumberID) {
		errs["phone_number_id"] = "The phone-number ID is the numeric ID from API Setup, not the phone number."
	}
	if !digitsOnly(f.WABAID) {
		errs["waba_id"] = "The WhatsApp Business Account ID is numeric."
	}
	if f.DisplayPhone != "" && !digitsOnly(strings.TrimPrefix(f.DisplayPhone, "+")) {
		errs["display_phone"] = "Digits only, with the country code."
	}
	if f.APIURL != "" {
		if u, err := url.Parse(f.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs["api_url"] = "An http(s) URL such as https://graph.facebook.com."
		}
	}
	if f.APIVersion != "" && !strings.HasPrefix(f.APIVersion, "v") {
		errs["api_version"] = "Like v24.0."
	}
	if f.ThroughputMPS != "" {
		if n, err := strconv.Atoi(f.ThroughputMPS); err != nil || n < 1 || n > 1000 {
			errs["throughput_mps"] = "Between 1 and 1000 (Meta's default is 80)."
		}
	}
	for field, v := range map[string]string{"token": f.Token, "app_secret": f.AppSecret, "verify_token": f.VerifyToken} {
		if strings.TrimSpace(v) == "" {
			errs[field] = "Required."
		}
	}
	return errs
}

func (h *Handlers) sendersView(ctx context.Context) (settings.SendersView, error) {
	senders, err := h.store.Senders(ctx)
	if err != nil {
		return settings.SendersView{}, err
	}
	vm := settings.SendersView{WebhookURL: h.cfg.BaseURL + "/webhooks/whatsapp"}
	for _, s := range senders {
		vm.Senders = append(vm.Senders, settings.SenderRow{ID: s.ID, Name: s.Name, PhoneNumberID: s.PhoneNumberID,
			WABAID: s.WABAID, DisplayPhone: s.DisplayPhone, APIURL: s.APIURL, Quality: s.QualityRating,
			Tier: s.MessagingLimitTier, Status: s.Status, StatusReason: s.StatusReason, ThroughputMPS: s.ThroughputMPS,
			IsDefault: s.IsDefault, HasToken: len(s.TokenEnc) > 0, HasAppSecret: len(s.AppSecretEnc) > 0,
			LastCheckedAt: s.LastCheckedAt})
	}
	return vm, nil
}

func (h *Handlers) sendersPage(c echo.Context) error {
	vm, err := h.sendersView(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, settings.Senders(h.page(c, "Senders", "settings"), vm), nil)
}

func (h *Handlers) senderSave(c echo.Context) error {
	var f senderForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	ctx := c.Request().Context()
	if errs := f.Validate(); len(errs) > 0 {
		vm, err := h.sendersView(ctx)
		if err != nil {
			return err
		}
		vm.Form = settings.SenderForm{Name: f.Name, PhoneNumberID: f.PhoneNumberID, WABAID: f.WABAID,
			DisplayPhone: f.DisplayPhone, APIURL: f.APIURL, APIVersion: f.APIVersion, ThroughputMPS: f.ThroughputMPS}
		vm.Errors = errs
		return render(c, http.StatusUnprocessableEntity, settings.Senders(h.page(c, "Senders", "settings"), vm), nil)
	}
	mps, _ := strconv.Atoi(f.ThroughputMPS)
	apiURL := f.APIURL
	if apiURL == "" {
		apiURL = "https://graph.facebook.com"
	}
	version := f.APIVersion
	if version == "" {
		version = h.cfg.WhatsApp.APIVersion
	}
	snd, err := h.store.SaveSender(ctx, models.SenderInput{Name: f.Name, PhoneNumberID: f.PhoneNumberID, WABAID: f.WABAID,
		DisplayPhone: strings.TrimPrefix(f.DisplayPhone, "+"), APIURL: apiURL, APIVersion: version, ThroughputMPS: mps,
		Credentials: models.SenderCredentials{Token: f.Token, AppSecret: f.AppSecret, VerifyToken: f.VerifyToken}})
	if err != nil {
		return err
	}
	h.hooks.mu.Lock()
	h.hooks.loadedAt = time.Time{} // new secrets take effect at once
	h.hooks.mu.Unlock()
	h.flash(c, "success", "Saved "+snd.Name+". Use “Test connection” to check the token.")
	return redirect(c, "/settings/senders")
}

// senderClient builds a Cloud API client from a stored sender.
func senderClient(store *models.Store, snd *models.Sender) (*whatsapp.Client, error) {
	creds, err := store.Credentials(snd)
	if err != nil {
		return nil, err
	}
	return whatsapp.NewClient(whatsapp.Config{BaseURL: snd.APIURL, APIVersion: snd.APIVersion, Token: creds.Token,
		PhoneNumberID: snd.PhoneNumberID, WABAID: snd.WABAID, Timeout: 15 * time.Second}), nil
}

// CheckSender asks the Cloud API for a sender's number details and records
// them; it is what "Test connection" and the start-up check do.
func CheckSender(ctx context.Context, store *models.Store, snd *models.Sender) (whatsapp.PhoneNumberInfo, error) {
	client, err := senderClient(store, snd)
	if err != nil {
		return whatsapp.PhoneNumberInfo{}, err
	}
	info, err := client.PhoneNumber(ctx)
	if err != nil {
		return info, err
	}
	health := models.SenderHealth{DisplayPhone: info.DisplayPhoneNumber, QualityRating: info.QualityRating,
		MessagingLimitTier: info.MessagingLimitTier, ThroughputMPS: info.MessagesPerSecond()}
	if err := store.UpdateSenderHealth(ctx, snd.PhoneNumberID, health); err != nil {
		return info, err
	}
	if snd.Status != models.SenderActive {
		err = store.SetSenderStatus(ctx, snd.ID, models.SenderActive, "")
	}
	return info, err
}

func (h *Handlers) senderTest(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ctx := c.Request().Context()
	snd, err := h.store.SenderByID(ctx, id)
	if err != nil {
		return err
	}
	result := &settings.TestResult{SenderName: snd.Name}
	info, err := CheckSender(ctx, h.store, snd)
	var metaErr *whatsapp.Error
	switch {
	case err == nil:
		result.OK = true
		result.Message = fmt.Sprintf("connected — %s, quality %s, tier %s, %d msg/s.", info.DisplayPhoneNumber,
			info.QualityRating, info.MessagingLimitTier, info.MessagesPerSecond())
	case errors.As(err, &metaErr):
		result.Message = fmt.Sprintf("Meta refused the request (%d): %s. %s", metaErr.Code, metaErr.Message,
			whatsapp.Classify(metaErr.Code).Reason)
	default:
		result.Message = "could not reach the Cloud API: " + err.Error()
	}
	vm, verr := h.sendersView(ctx)
	if verr != nil {
		return verr
	}
	vm.TestResult = result
	return render(c, http.StatusOK, settings.Senders(h.page(c, "Senders", "settings"), vm), nil)
}

// checklist works out the setup checklist from the database.
func (h *Handlers) checklist(ctx context.Context) (settings.Checklist, error) {
	f, err := h.store.SetupFacts(ctx)
	if err != nil {
		return settings.Checklist{}, err
	}
	var snd *models.Sender
	if len(f.Senders) > 0 {
		snd = &f.Senders[0]
	}
	tokenOK := snd != nil && snd.LastCheckedAt != nil && snd.Status == models.SenderActive
	qualityOK := snd != nil && (snd.QualityRating == "GREEN" || snd.QualityRating == "YELLOW")
	webhookOK := f.LastWebhookAt != nil && time.Since(*f.LastWebhookAt) < 7*24*time.Hour
	items := []settings.CheckItem{
		{Title: "Sender token valid", Done: tokenOK,
			Detail: "Herald reached the Cloud API with the sender's token.",
			Fix:    "Add a sender and press “Test connection”.", FixHref: "/settings/senders"},
		{Title: "App secret set", Done: snd != nil && len(snd.AppSecretEnc) > 0,
			Detail: "Webhooks are verified with the app secret; without it every status is refused.",
			Fix:    "Enter the app secret of your Meta app on the sender.", FixHref: "/settings/senders"},
		{Title: "Webhook verified and receiving", Done: webhookOK,
			Detail: "Delivery, read and reply events arrived in the last 7 days.",
			Fix:    "Paste the webhook URL and verify token into Meta's App Dashboard, then send a test message.", FixHref: "/settings/senders"},
		{Title: "Number quality and tier", Done: qualityOK,
			Detail: "Quality GREEN or YELLOW; the messaging-limit tier sets how many people you can reach a day.",
			Fix:    "Low quality lowers limits: send only to opted-in contacts and honour STOP at once.", FixHref: "/settings/senders"},
		{Title: "An approved template", Done: f.ApprovedTemplates > 0,
			Detail: fmt.Sprintf("%d approved template(s). Business-initiated messages must use one.", f.ApprovedTemplates),
			Fix:    "Compose a template and submit it for approval.", FixHref: "/templates"},
		{Title: "Contacts with consent", Done: f.ContactsWithOptIn > 0,
			Detail: fmt.Sprintf("%d of %d contacts opted in to marketing and are reachable.", f.ContactsWithOptIn, f.ContactsTotal),
			Fix:    "Import contacts with their opt-in (the import can record consent).", FixHref: "/contacts"},
	}
	return settings.Checklist{Items: items}, nil
}

func (h *Handlers) setupPage(c echo.Context) error {
	list, err := h.checklist(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, settings.Setup(h.page(c, "Setup checklist", "settings"), list), nil)
}
