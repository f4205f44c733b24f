package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/models"
)

// APIError is the REST API's error body:
// {"error": {"code": "…", "message": "…", "fields": {…}}}.
type APIError struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// apiErr builds an APIError for a handler to return.
func apiErr(status int, code, message string) *APIError {
	return &APIError{Status: status, Code: code, Message: message}
}

// apiFieldsErr is a 422 naming each wrong field.
func apiFieldsErr(fields map[string]string) *APIError {
	return &APIError{Status: http.StatusUnprocessableEntity, Code: "validation_failed",
		Message: "Some fields are invalid.", Fields: fields}
}

func currentAPIKey(c echo.Context) *models.APIKey {
	k, _ := c.Get(ctxAPIKey).(*models.APIKey)
	return k
}

// requireAPIKey authenticates `Authorization: Bearer <key>`.
func (h *Handlers) requireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		auth := c.Request().Header.Get(echo.HeaderAuthorization)
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			return apiErr(http.StatusUnauthorized, "unauthorized", "Send an API key as `Authorization: Bearer <key>`.")
		}
		k, err := h.store.APIKeyByToken(c.Request().Context(), strings.TrimSpace(token))
		if errors.Is(err, models.ErrNotFound) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="herald", error="invalid_token"`)
			return apiErr(http.StatusUnauthorized, "invalid_api_key", "The API key is unknown or revoked.")
		}
		if err != nil {
			return err
		}
		c.Set(ctxAPIKey, k)
		return next(c)
	}
}
