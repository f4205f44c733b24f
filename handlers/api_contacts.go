package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/csvimport"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/phone"
)

// apiErrorsLimit caps the rejected rows in GET /contacts/imports/{id}; the
// UI's CSV download has them all.
const apiErrorsLimit = 1000

func (h *Handlers) apiContactsRoutes(r routes) {
	r.apiRoute(http.MethodGet, "/contacts", h.apiContactsList, models.RoleViewer)
	r.apiRoute(http.MethodPost, "/contacts", h.apiContactCreate, models.RoleMarketer)
	r.apiRoute(http.MethodPost, "/contacts/imports", h.apiImportCreate, models.RoleMarketer)
	r.apiRoute(http.MethodGet, "/contacts/imports/:id", h.apiImportGet, models.RoleViewer)
	r.apiRoute(http.MethodGet, "/contacts/:id", h.apiContactGet, models.RoleViewer)
	r.apiRoute(http.MethodPatch, "/contacts/:id", h.apiContactPatch, models.RoleMarketer)
	r.apiRoute(http.MethodDelete, "/contacts/:id", h.apiContactDelete, models.RoleMarketer)
}

// apiContactsList answers GET /contacts?phone=&q=&tag=&status=&segment_id=&page=&per_page=
// with {"contacts": [...], "page", "per_page", "has_more", "total", "total_exact"}.
func (h *Handlers) apiContactsList(c echo.Context) error {
	ctx := c.Request().Context()
	f := models.ContactFilter{Q: c.QueryParam("q"), Tag: c.QueryParam("tag"),
		Reachability: models.Reachability(c.QueryParam("status")), LifecycleStage: c.QueryParam("lifecycle_stage"),
		Country: c.QueryParam("country")}
	fields := map[string]string{}
	if raw := c.QueryParam("phone"); raw != "" {
		n, err := phone.Parse(raw, "")
		if err != nil {
			fields["phone"] = strings.TrimPrefix(err.Error(), "phone: ")
		}
		f.Phone = n.E164
	}
	if raw := c.QueryParam("segment_id"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			fields["segment_id"] = "must be a segment id"
		} else {
			// Dynamic segments are evaluated now, static lists by membership:
			// SegmentMembershipSQL handles both.
			where, args, err := h.store.SegmentMembershipSQL(c.Request().Context(), id)
			switch {
			case errors.Is(err, models.ErrNotFound):
				fields["segment_id"] = "no such segment"
			case err != nil:
				return err
			default:
				f.SegmentSQL, f.SegmentArgs = where, args
			}
		}
	}
	page, perPage := 1, contactsPerPage
	if raw := c.QueryParam("page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			fields["page"] = "must be a whole number from 1"
		}
		page = n
	}
	if raw := c.QueryParam("per_page"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 500 {
			fields["per_page"] = "must be a whole number from 1 to 500"
		}
		perPage = n
	}
	if len(fields) > 0 {
		return apiFieldsErr(fields)
	}
	res, err := h.store.SearchContacts(ctx, f, (page-1)*perPage, perPage+1, countCap)
	if err != nil {
		return err
	}
	rows, total, exact := res.Rows, res.Total, res.Exact
	hasMore := len(rows) > perPage
	rows = rows[:min(len(rows), perPage)]
	return c.JSON(http.StatusOK, map[string]any{"contacts": rows, "page": page, "per_page": perPage,
		"has_more": hasMore, "total": total, "total_exact": exact})
}

// contactPatch is the JSON body of POST and PATCH /contacts: absent fields
// are left alone.
type contactPatch struct {
	Phone              *string         `json:"phone"`
	ExternalID         *string         `json:"external_id"`
	FirstName          *string         `json:"first_name"`
	LastName           *string         `json:"last_name"`
	Email              *string         `json:"email"`
	Country            *string         `json:"country"`
	Timezone           *string         `json:"timezone"`
	Language           *string         `json:"language"`
	Tags               *[]string       `json:"tags"`
	LifecycleStage     *string         `json:"lifecycle_stage"`
	MarketingOptIn     *bool           `json:"marketing_opt_in"`
	TransactionalOptIn *bool           `json:"transactional_opt_in"`
	Reachability       *string         `json:"reachability"`
	ReachabilityReason *string         `json:"reachability_reason"`
	LastActiveAt       *time.Time      `json:"last_active_at"`
	TotalOrders        *int            `json:"total_orders"`
	TotalSpent         *float64        `json:"total_spent"`
	Attributes         *map[string]any `json:"attributes"`
}

// apply validates the patch onto c through the UI form's rules, so both
// paths accept the same values; it returns field errors.
func (p contactPatch) apply(ct *models.Contact) map[string]string {
	f := contactForm{Phone: ct.Phone, FirstName: ct.FirstName, LastName: ct.LastName, Email: ct.Email,
		Country: ct.Country, Timezone: ct.Timezone, Language: ct.Language, Tags: strings.Join(ct.Tags, ","),
		Lifecycle: ct.LifecycleStage, Reachability: string(ct.Reachability), ReachabilityReason: ct.ReachabilityReason,
		MarketingOptIn: ct.MarketingOptIn, TransactionalOptIn: ct.TransactionalOptIn}
	if ct.ExternalID != nil {
		f.ExternalID = *ct.ExternalID
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.Phone, p.Phone)
	set(&f.ExternalID, p.ExternalID)
	set(&f.FirstName, p.FirstName)
	set(&f.LastName, p.LastName)
	set(&f.Email, p.Email)
	set(&f.Country, p.Country)
	set(&f.Timezone, p.Timezone)
	set(&f.Language, p.Language)
	set(&f.Lifecycle, p.LifecycleStage)
	set(&f.Reachability, p.Reachability)
	set(&f.ReachabilityReason, p.ReachabilityReason)
	if p.Tags != nil {
		f.Tags = strings.Join(*p.Tags, ",")
	}
	if p.MarketingOptIn != nil {
		f.MarketingOptIn = *p.MarketingOptIn
	}
	if p.TransactionalOptIn != nil {
		f.TransactionalOptIn = *p.TransactionalOptIn
	}
	errs := f.Validate()
	if p.TotalOrders != nil && *p.TotalOrders < 0 {
		errs["total_orders"] = "must not be negative"
	}
	if len(errs) > 0 {
		return errs
	}
	attrs := ct.Attributes
	f.apply(ct)
	ct.Attributes = attrs
	if p.Attributes != nil {
		ct.Attributes = *p.Attributes
	}
	if p.LastActiveAt != nil {
		t := p.LastActiveAt.UTC()
		ct.LastActiveAt = &t
	}
	if p.TotalOrders != nil {
		ct.TotalOrders = *p.TotalOrders
	}
	if p.TotalSpent != nil {
		ct.TotalSpent = *p.TotalSpent
	}
	return nil
}

func apiSource(c echo.Context) string {
	if k := currentAPIKey(c); k != nil {
		return "API key " + k.Name
	}
	return "API"
}

func (h *Handlers) apiContactCreate(c echo.Context) error {
	var p contactPatch
	if err := json.NewDecoder(c.Request().Body).Decode(&p); err != nil {
		return apiErr(http.StatusBadRequest, "bad_json", "The body must be a JSON object: "+err.Error())
	}
	if p.Phone == nil {
		return apiFieldsErr(map[string]string{"phone": "is required"})
	}
	ct := &models.Contact{TransactionalOptIn: true, Reachability: models.ReachabilityReachable}
	if errs := p.apply(ct); len(errs) > 0 {
		return apiFieldsErr(errs)
	}
	if err := h.store.CreateContact(c.Request().Context(), ct, apiSource(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, ct)
}

func (h *Handlers) apiContactGet(c echo.Context) error {
	id, err := contactID(c)
	if err != nil {
		return err
	}
	ct, err := h.store.Contact(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}

func (h *Handlers) apiContactPatch(c echo.Context) error {
	id, err := contactID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ct, err := h.store.Contact(ctx, id)
	if err != nil {
		return err
	}
	var p contactPatch
	if err := json.NewDecoder(c.Request().Body).Decode(&p); err != nil {
		return apiErr(http.StatusBadRequest, "bad_json", "The body must be a JSON object: "+err.Error())
	}
	if errs := p.apply(ct); len(errs) > 0 {
		return apiFieldsErr(errs)
	}
	if err := h.store.UpdateContact(ctx, ct, apiSource(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ct)
}

func (h *Handlers) apiContactDelete(c echo.Context) error {
	id, err := contactID(c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteContact(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// apiImportCreate takes the CONTRACT's multipart upload and queues it.
func (h *Handlers) apiImportCreate(c echo.Context) error {
	im, _, err := h.receiveUpload(c)
	switch {
	case errors.Is(err, errFileTooLarge):
		return apiErr(http.StatusRequestEntityTooLarge, "file_too_large",
			"The file is larger than the limit of "+humanBytes(h.cfg.MaxImportBytes)+" (HERALD_MAX_IMPORT_BYTES).")
	case err != nil && strings.HasPrefix(err.Error(), "read upload"):
		return apiFieldsErr(map[string]string{"file": "send the CSV as the multipart field \"file\""})
	case err != nil:
		return err
	}
	keep := false
	defer func() {
		if !keep {
			_ = os.Remove(im.FilePath)
		}
	}()
	opts := models.ImportOptions{Mode: c.FormValue("mode"), Overwrite: models.ImportOverwritable,
		DefaultCountry: strings.ToUpper(strings.TrimSpace(c.FormValue("default_country"))), Tags: splitTags(c.FormValue("tags"))}
	fields := map[string]string{}
	if opts.Mode == "" {
		opts.Mode = models.ImportUpsert
	}
	if !slices.Contains([]string{models.ImportUpsert, models.ImportCreate, models.ImportUpdate}, opts.Mode) {
		fields["mode"] = "must be upsert, create or update"
	}
	if opts.DefaultCountry != "" && len(opts.DefaultCountry) != 2 {
		fields["default_country"] = "must be a two-letter ISO country code"
	}
	switch strings.ToLower(c.FormValue("opt_in")) {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		opts.Consent = models.ConsentGranted
	default:
		fields["opt_in"] = "must be true or false"
	}
	var mapping csvimport.Mapping
	if raw := strings.TrimSpace(c.FormValue("mapping")); raw != "" {
		if err := json.Unmarshal([]byte(raw), &mapping); err != nil {
			fields["mapping"] = "must be a JSON object of column header to field: " + err.Error()
		}
	}
	if _, ok := fields["mapping"]; !ok {
		if msg := checkCSV(im.FilePath, mapping); msg != "" {
			key := "file"
			if mapping != nil && strings.HasPrefix(msg, "The column mapping") {
				key = "mapping"
			}
			fields[key] = msg
		}
	}
	if len(fields) > 0 {
		return apiFieldsErr(fields)
	}
	opts.Mapping = mapping
	if err := h.store.CreateImport(c.Request().Context(), im, opts, true); err != nil {
		return err
	}
	keep = true
	h.runner.Wake(jobs.ImportsWorker)
	return c.JSON(http.StatusAccepted, map[string]any{"id": im.ID, "status": im.Status})
}

// apiImportGet answers with the CONTRACT's shape plus a few extra fields.
func (h *Handlers) apiImportGet(c echo.Context) error {
	id, err := importID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	im, err := h.store.Import(ctx, id)
	if err != nil {
		return err
	}
	errs, err := h.store.ImportErrors(ctx, id, 0, apiErrorsLimit+1)
	if err != nil {
		return err
	}
	type rowError struct {
		Line    int    `json:"line"`
		Message string `json:"message"`
	}
	out := make([]rowError, 0, len(errs))
	for _, e := range errs[:min(len(errs), apiErrorsLimit)] {
		out = append(out, rowError{Line: e.Line, Message: e.Message})
	}
	status := im.Status
	if status == models.ImportDraft {
		// A UI upload waiting for its mapping has not been confirmed yet.
		status = models.ImportQueued
	}
	return c.JSON(http.StatusOK, map[string]any{
		"id": im.ID, "status": status, "status_reason": im.StatusReason, "file_name": im.FileName,
		"rows_total": im.RowsTotal, "rows_imported": im.RowsImported, "rows_updated": im.RowsUpdated,
		"rows_unchanged": im.RowsUnchanged, "rows_skipped": im.RowsSkipped, "rows_rejected": im.RowsRejected,
		"progress": im.Fraction(), "errors": out, "errors_truncated": len(errs) > apiErrorsLimit,
		"created_at": im.CreatedAt, "started_at": im.StartedAt, "finished_at": im.FinishedAt,
	})
}
