package handlers

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/whatsapp"
)

// maxWebhookBody caps a webhook POST; Meta's bodies reach about 3 MB.
const maxWebhookBody = 4 << 20

// WebhookWorker is the jobs worker that applies stored webhooks.
const WebhookWorker = jobs.WebhooksWorker

// webhookSecrets caches the app secrets and verify tokens of every sender,
// so a burst of webhooks does not decrypt credentials on each request.
type webhookSecrets struct {
	mu           sync.Mutex
	loadedAt     time.Time
	appSecrets   []string
	verifyTokens []string
}

const webhookSecretsTTL = 30 * time.Second

func (h *Handlers) secrets(c echo.Context) (appSecrets, verifyTokens []string, err error) {
	h.hooks.mu.Lock()
	defer h.hooks.mu.Unlock()
	if time.Since(h.hooks.loadedAt) < webhookSecretsTTL {
		return h.hooks.appSecrets, h.hooks.verifyTokens, nil
	}
	apps, verifies, err := h.store.WebhookSecrets(c.Request().Context())
	if err != nil {
		return nil, nil, err
	}
	if s := h.cfg.WhatsApp.AppSecret; s != "" {
		apps = append(apps, s)
	}
	if v := h.cfg.WhatsApp.VerifyToken; v != "" {
		verifies = append(verifies, v)
	}
	h.hooks.appSecrets, h.hooks.verifyTokens, h.hooks.loadedAt = apps, verifies, time.Now()
	return apps, verifies, nil
}

func (h *Handlers) webhooksRoutes(r routes) {
	// Public: Meta calls these; the POST is authenticated by its signature.
	r.e.GET("/webhooks/whatsapp", h.webhookVerify)
	r.e.POST("/webhooks/whatsapp", h.webhookReceive)
}

// webhookVerify answers Meta's subscription handshake.
func (h *Handlers) webhookVerify(c echo.Context) error {
	_, tokens, err := h.secrets(c)
	if err != nil {
		return err
	}
	for _, token := range tokens {
		if challenge, ok := whatsapp.VerifyChallenge(c.QueryParam("hub.mode"), c.QueryParam("hub.verify_token"),
			c.QueryParam("hub.challenge"), token); ok {
			return c.String(http.StatusOK, challenge)
		}
	}
	return c.String(http.StatusForbidden, "verification failed")
}

// webhookReceive checks the signature over the raw body, stores the body and
// answers at once; the webhooks worker applies it. A forged or unsigned
// body is refused and nothing is stored.
func (h *Handlers) webhookReceive(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxWebhookBody+1))
	if err != nil {
		return c.String(http.StatusBadRequest, "unreadable body")
	}
	if len(body) > maxWebhookBody {
		return c.String(http.StatusRequestEntityTooLarge, "body too large")
	}
	apps, _, err := h.secrets(c)
	if err != nil {
		return err
	}
	signature := c.Request().Header.Get("X-Hub-Signature-256")
	valid := false
	for _, secret := range apps {
		if whatsapp.VerifySignature(body, signature, secret) {
			valid = true
			break
		}
	}
	if !valid {
		h.log.Warn("refused a webhook with a bad signature", "ip", c.RealIP(), "bytes", len(body))
		return c.String(http.StatusUnauthorized, "invalid signature")
	}
	if _, err := h.store.StoreWebhook(c.Request().Context(), "whatsapp", body); err != nil {
		// A non-200 makes Meta retry later; the body is not lost.
		return errors.Join(err, echo.NewHTTPError(http.StatusServiceUnavailable))
	}
	if h.runner != nil {
		h.runner.Wake(WebhookWorker)
	}
	return c.NoContent(http.StatusOK)
}
