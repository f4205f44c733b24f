package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/components"
	"github.com/heraldhq/herald/views/settings"
)

func (h *Handlers) settingsIndex(c echo.Context) error {
	return render(c, http.StatusOK, settings.Index(h.page(c, "Settings", "settings")), nil)
}

// userForm is the add-or-update user form.
type userForm struct {
	Email    string `form:"email"`
	Password string `form:"password"`
	Role     string `form:"role"`
}

// Validate returns what is wrong, per field.
func (f userForm) Validate() components.FieldErrors {
	errs := components.FieldErrors{}
	if !strings.Contains(f.Email, "@") || len(f.Email) < 3 {
		errs["email"] = "Enter an e-mail address."
	}
	if len(f.Password) < models.MinPasswordLength {
		errs["password"] = "Use at least " + strconv.Itoa(models.MinPasswordLength) + " characters."
	}
	if _, err := models.ParseRole(f.Role); err != nil {
		errs["role"] = "Choose admin, marketer or viewer."
	}
	return errs
}

func (h *Handlers) usersView(ctx context.Context, c echo.Context) (settings.UsersView, error) {
	users, err := h.store.ListUsers(ctx)
	if err != nil {
		return settings.UsersView{}, err
	}
	me := currentUser(c)
	vm := settings.UsersView{Form: settings.UserForm{Role: string(models.RoleMarketer)}}
	for _, u := range users {
		vm.Users = append(vm.Users, settings.UserRow{ID: u.ID, Email: u.Email, Role: string(u.Role),
			LastLoginAt: u.LastLoginAt, IsSelf: me != nil && me.ID == u.ID})
	}
	return vm, nil
}

func (h *Handlers) usersPage(c echo.Context) error {
	vm, err := h.usersView(c.Request().Context(), c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, settings.Users(h.page(c, "Users", "settings"), vm), nil)
}

func (h *Handlers) usersSave(c echo.Context) error {
	var f userForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	f.Email = strings.TrimSpace(f.Email)
	ctx := c.Request().Context()
	if errs := f.Validate(); len(errs) > 0 {
		vm, err := h.usersView(ctx, c)
		if err != nil {
			return err
		}
		vm.Form = settings.UserForm{Email: f.Email, Role: f.Role}
		vm.Errors = errs
		p := h.page(c, "Users", "settings")
		return render(c, http.StatusUnprocessableEntity, settings.Users(p, vm), settings.UserEditor(p, vm))
	}
	if _, err := h.store.UpsertUser(ctx, f.Email, f.Password, models.Role(f.Role)); err != nil {
		return err
	}
	h.flash(c, "success", "Saved "+models.NormalizeEmail(f.Email)+" as "+f.Role+".")
	return redirect(c, "/settings/users")
}

func (h *Handlers) userDelete(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if me := currentUser(c); me != nil && me.ID == id {
		return echo.NewHTTPError(http.StatusConflict, "You cannot remove yourself.")
	}
	if err := h.store.DeleteUser(c.Request().Context(), id); err != nil {
		return err
	}
	h.flash(c, "success", "User removed.")
	return redirect(c, "/settings/users")
}

// keyForm is the new-API-key form.
type keyForm struct {
	Name string `form:"name"`
	Role string `form:"role"`
}

// Validate returns what is wrong, per field.
func (f keyForm) Validate() components.FieldErrors {
	errs := components.FieldErrors{}
	if strings.TrimSpace(f.Name) == "" {
		errs["name"] = "Name the key after the system that will use it."
	}
	if _, err := models.ParseRole(f.Role); err != nil {
		errs["role"] = "Choose admin, marketer or viewer."
	}
	return errs
}

func (h *Handlers) keysView(ctx context.Context) (settings.KeysView, error) {
	keys, err := h.store.ListAPIKeys(ctx)
	if err != nil {
		return settings.KeysView{}, err
	}
	vm := settings.KeysView{Form: settings.KeyForm{Role: string(models.RoleMarketer)}}
	for _, k := range keys {
		vm.Keys = append(vm.Keys, settings.KeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Role: string(k.Role),
			CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt})
	}
	return vm, nil
}

func (h *Handlers) apiKeysPage(c echo.Context) error {
	vm, err := h.keysView(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, settings.APIKeys(h.page(c, "API keys", "settings"), vm), nil)
}

func (h *Handlers) apiKeyCreate(c echo.Context) error {
	var f keyForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	ctx := c.Request().Context()
	errs := f.Validate()
	var plain string
	if len(errs) == 0 {
		me := currentUser(c)
		var err error
		_, plain, err = h.store.CreateAPIKey(ctx, f.Name, models.Role(f.Role), &me.ID)
		if err != nil {
			return err
		}
	}
	vm, err := h.keysView(ctx)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(errs) > 0 {
		vm.Form, vm.Errors, status = settings.KeyForm{Name: f.Name, Role: f.Role}, errs, http.StatusUnprocessableEntity
	} else {
		// The key is rendered in this response only, never stored or redirected with.
		vm.NewKey = plain
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	return render(c, status, settings.APIKeys(h.page(c, "API keys", "settings"), vm), nil)
}

func (h *Handlers) apiKeyRevoke(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := h.store.RevokeAPIKey(c.Request().Context(), id); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "That key does not exist or is already revoked.")
		}
		return err
	}
	h.flash(c, "success", "Key revoked.")
	return redirect(c, "/settings/api-keys")
}
