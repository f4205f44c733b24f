package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/components"
	"github.com/heraldhq/herald/views/settings"
)

func (h *Handlers) optOutView(ctx context.Context, st models.OptOutSettings) (settings.OptOutView, error) {
	vm := settings.OptOutView{Keywords: st.Keywords, DefaultKeywords: jobs.DefaultOptOutKeywords, Errors: components.FieldErrors{}}
	tmpls, err := h.store.ListTemplates(ctx, models.TemplateFilter{Status: models.TemplateApproved})
	if err != nil {
		return vm, err
	}
	vm.Templates = []components.Option{{Value: "0", Label: "Send nothing", Selected: st.ConfirmationTemplateID == 0}}
	for _, t := range tmpls {
		if t.Category != "UTILITY" {
			continue
		}
		vm.Templates = append(vm.Templates, components.Option{Value: strconv.FormatInt(t.ID, 10),
			Label: t.Name + " (" + t.Language + ")", Selected: t.ID == st.ConfirmationTemplateID})
	}
	return vm, nil
}

func (h *Handlers) optOutPage(c echo.Context) error {
	ctx := c.Request().Context()
	var st models.OptOutSettings
	if _, err := h.store.GetSetting(ctx, models.OptOutSettingsKey, &st); err != nil {
		return err
	}
	vm, err := h.optOutView(ctx, st)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, settings.OptOut(h.page(c, "Opt-out", "settings"), vm), nil)
}

func (h *Handlers) optOutSave(c echo.Context) error {
	ctx := c.Request().Context()
	var st models.OptOutSettings
	for _, line := range strings.Split(c.FormValue("keywords"), "\n") {
		if w := strings.TrimSpace(line); w != "" {
			st.Keywords = append(st.Keywords, w)
		}
	}
	errs := components.FieldErrors{}
	id, err := strconv.ParseInt(c.FormValue("confirmation_template_id"), 10, 64)
	if err != nil || id < 0 {
		errs["confirmation_template_id"] = "Choose a template or “Send nothing”."
	}
	if id > 0 {
		t, err := h.store.TemplateByID(ctx, id)
		switch {
		case err != nil:
			errs["confirmation_template_id"] = "That template does not exist."
		case t.Status != models.TemplateApproved || t.Category != "UTILITY":
			errs["confirmation_template_id"] = "Use an approved UTILITY template: an opt-out confirmation is not marketing."
		}
	}
	st.ConfirmationTemplateID = id
	if len(errs) > 0 {
		vm, err := h.optOutView(ctx, st)
		if err != nil {
			return err
		}
		vm.Errors = errs
		return render(c, http.StatusUnprocessableEntity, settings.OptOut(h.page(c, "Opt-out", "settings"), vm), nil)
	}
	if err := h.store.PutSetting(ctx, models.OptOutSettingsKey, st); err != nil {
		return err
	}
	vm, err := h.optOutView(ctx, st)
	if err != nil {
		return err
	}
	vm.Saved = true
	return render(c, http.StatusOK, settings.OptOut(h.page(c, "Opt-out", "settings"), vm), nil)
}
