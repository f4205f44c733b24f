package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/errorpage"
)

// errorHandler is Echo's HTTPErrorHandler: it maps an error to a status,
// logs server errors once, and answers in the caller's format (JSON for the
// API, a fragment for htmx, a page otherwise).
func (h *Handlers) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, message := classify(err)
	var fields map[string]string
	var apiE *APIError
	if errors.As(err, &apiE) {
		status, code, message, fields = apiE.Status, apiE.Code, apiE.Message, apiE.Fields
	}
	if status >= 500 {
		h.log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
		message = "Something went wrong on our side. It has been logged; try again in a moment."
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if isAPI(c) {
		_ = c.JSON(status, map[string]any{"error": APIError{Code: code, Message: message, Fields: fields}})
		return
	}
	vm := errorpage.ErrorView{Status: status, Title: http.StatusText(status), Message: message}
	var rerr error
	if isHTMX(c) {
		rerr = render(c, status, errorpage.Fragment(vm), nil)
	} else {
		rerr = render(c, status, errorpage.Page(h.page(c, http.StatusText(status), ""), vm), nil)
	}
	if rerr != nil {
		h.log.Error("render error page", "err", rerr)
	}
}

func isAPI(c echo.Context) bool {
	return strings.HasPrefix(c.Request().URL.Path, "/api/")
}

// classify maps errors from Echo and the store to HTTP terms.
func classify(err error) (status int, code, message string) {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		msg, _ := he.Message.(string)
		if msg == "" {
			msg = http.StatusText(he.Code)
		}
		return he.Code, strings.ReplaceAll(strings.ToLower(http.StatusText(he.Code)), " ", "_"), msg
	case errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound, "not_found", "That does not exist (any more)."
	case errors.Is(err, models.ErrConflict):
		return http.StatusConflict, "conflict", conflictMessage(err)
	case errors.Is(err, models.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid", conflictMessage(err)
	case errors.Is(err, context.Canceled):
		return 499, "cancelled", "The request was cancelled."
	}
	return http.StatusInternalServerError, "internal", "internal error"
}

// conflictMessage turns "models: user x is the last admin: conflict" into
// "user x is the last admin" for people.
func conflictMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "models: ")
	for _, suffix := range []string{": " + models.ErrConflict.Error(), ": " + models.ErrInvalid.Error()} {
		msg = strings.TrimSuffix(msg, suffix)
	}
	return msg
}
