package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/views/dashboard"
)

func (h *Handlers) dashboard(c echo.Context) error {
	counts, err := h.store.Totals(c.Request().Context())
	if err != nil {
		return err
	}
	setup, err := h.checklist(c.Request().Context())
	if err != nil {
		return err
	}
	vm := dashboard.View{Contacts: counts.Contacts, Segments: counts.Segments, Templates: counts.Templates,
		Campaigns: counts.Campaigns, Setup: setup}
	return render(c, http.StatusOK, dashboard.Page(h.page(c, "Dashboard", "dashboard"), vm), nil)
}
