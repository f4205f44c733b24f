package handlers

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/views/components"
	"github.com/heraldhq/herald/views/transactional"
)

// transactionalPerPage is the list's page size.
const transactionalPerPage = 50

// transactionalStatuses are the list's status filter choices.
var transactionalStatuses = []string{"queued", models.MessageSent, models.MessageDelivered, models.MessageRead,
	models.MessageFailed, models.MessageExpired, models.MessageUnknown}

// transactionalRoutes registers the transactional pages and API endpoints.
func (h *Handlers) transactionalRoutes(r routes) {
	r.apiRoute(http.MethodPost, "/messages", h.apiMessageCreate, models.RoleMarketer)
	r.apiRoute(http.MethodGet, "/messages/:id", h.apiMessageGet, models.RoleViewer)
	r.view("/transactional", h.transactionalList)
	r.view("/transactional/:id", h.transactionalDetail)
	r.view("/docs/api", h.apiDocs)
	// The API description is not secret: integrators' tools fetch it.
	r.e.GET("/api/openapi.yaml", h.openAPIFile)
}

// CallbackSecret is the key that signs status callbacks: the hex form of a
// key derived from HERALD_SECRET, shown to admins on the Transactional page.
// Integrators compute HMAC-SHA256 over the raw body with this text as key.
func CallbackSecret(cfg config.Config) []byte {
	return []byte(hex.EncodeToString(cfg.Key("callbacks")))
}

// transactionalList shows recent API messages with filters.
func (h *Handlers) transactionalList(c echo.Context) error {
	ctx := c.Request().Context()
	f := models.TransactionalFilter{Status: c.QueryParam("status"), Template: c.QueryParam("template"), Phone: c.QueryParam("phone")}
	if f.Status != "" && !slices.Contains(transactionalStatuses, f.Status) {
		f.Status = ""
	}
	page, _ := strconv.Atoi(c.QueryParam("page"))
	page = max(page, 1)
	rows, err := h.store.ListTransactional(ctx, f, (page-1)*transactionalPerPage, transactionalPerPage)
	if err != nil {
		return err
	}
	total, err := h.store.CountTransactional(ctx, f)
	if err != nil {
		return err
	}
	templates, err := h.store.TransactionalTemplates(ctx)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "template": f.Template, "phone": f.Phone} {
		if v != "" {
			q.Set(k, v)
		}
	}
	vm := transactional.ListView{Filters: transactional.Filters{Status: f.Status, Template: f.Template, Phone: f.Phone},
		Statuses: transactionalStatuses, Templates: templates,
		Pager: components.Pager{Page: page, PerPage: transactionalPerPage, Total: total, BaseURL: "/transactional", Query: q}}
	for _, m := range rows {
		vm.Rows = append(vm.Rows, transactional.Row{ID: m.ID, To: m.ToPhone, Template: m.TemplateName, Lang: m.TemplateLanguage,
			Status: models.PublicStatus(m.Status), Reason: m.StatusReason, APIKey: m.APIKeyName, CreatedAt: m.CreatedAt.Time})
	}
	if u := currentUser(c); u != nil && u.Role == models.RoleAdmin {
		vm.CallbackSecret = string(CallbackSecret(h.cfg))
	}
	return render(c, http.StatusOK, transactional.List(h.page(c, "Transactional", "transactional"), vm), nil)
}

// transactionalDetail shows one API message, its history and callbacks.
// One-time passwords are stored masked, so nothing here can show one.
func (h *Handlers) transactionalDetail(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	m, err := h.store.TransactionalByID(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "No such API message.")
	}
	if err != nil {
		return err
	}
	hist, err := h.store.TransactionalHistory(ctx, m)
	if err != nil {
		return err
	}
	cbs, err := h.store.MessageCallbacks(ctx, m.ID)
	if err != nil {
		return err
	}
	vm := transactional.DetailView{ID: m.ID, To: m.ToPhone, Template: m.TemplateName, Lang: m.TemplateLanguage, Category: m.Category,
		Status: models.PublicStatus(m.Status), Reason: m.StatusReason, APIKey: m.APIKeyName, CallbackURL: m.CallbackURL,
		CreatedAt: m.CreatedAt.Time, Params: displayParams(m.Params)}
	if m.IdempotencyKey != nil {
		vm.IdempotencyKey = *m.IdempotencyKey
	}
	if m.WAMID != nil {
		vm.WAMID = *m.WAMID
	}
	if m.ExpiresAt.Valid {
		t := m.ExpiresAt.Time
		vm.ExpiresAt = &t
	}
	for _, s := range hist {
		vm.History = append(vm.History, transactional.Step{Status: s.Status, At: s.At, Detail: s.Detail})
	}
	for _, d := range cbs {
		state := "pending"
		switch {
		case d.DeliveredAt.Valid:
			state = "delivered"
		case d.FailedAt.Valid:
			state = "gave up"
		case d.Attempts > 0:
			state = "retrying"
		}
		vm.Callbacks = append(vm.Callbacks, transactional.Callback{Event: d.Event, State: state, Attempts: d.Attempts,
			LastStatus: d.LastStatus, LastError: d.LastError})
	}
	return render(c, http.StatusOK, transactional.Detail(h.page(c, "Message "+strconv.FormatInt(m.ID, 10), "transactional"), vm), nil)
}

// displayParams lists a message's stored values for the detail page; an
// authentication message's code is masked whatever is stored.
func displayParams(raw string) []transactional.Param {
	var p templating.SendParams
	if json.Unmarshal([]byte(raw), &p) != nil {
		return nil
	}
	var out []transactional.Param
	if p.OTP {
		return []transactional.Param{{Name: "code", Value: templating.Masked}}
	}
	if p.Header != "" {
		out = append(out, transactional.Param{Name: "header", Value: p.Header})
	}
	for i, v := range p.Body {
		out = append(out, transactional.Param{Name: "{{" + strconv.Itoa(i+1) + "}}", Value: v})
	}
	names := make([]string, 0, len(p.Named))
	for n := range p.Named {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, transactional.Param{Name: "{{" + n + "}}", Value: p.Named[n]})
	}
	idx := make([]int, 0, len(p.Buttons))
	for i := range p.Buttons {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		out = append(out, transactional.Param{Name: "button " + strconv.Itoa(i+1), Value: p.Buttons[i]})
	}
	return out
}
