package handlers

import (
	"encoding/hex"
	"net/http"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/models"
)

// transactionalRoutes registers the transactional pages and API endpoints.
func (h *Handlers) transactionalRoutes(r routes) {
	r.apiRoute(http.MethodPost, "/messages", h.apiMessageCreate, models.RoleMarketer)
	r.apiRoute(http.MethodGet, "/messages/:id", h.apiMessageGet, models.RoleViewer)
}

// CallbackSecret is the key that signs status callbacks: the hex form of a
// key derived from HERALD_SECRET, shown to admins on the Transactional page.
// Integrators compute HMAC-SHA256 over the raw body with this text as key.
func CallbackSecret(cfg config.Config) []byte {
	return []byte(hex.EncodeToString(cfg.Key("callbacks")))
}
