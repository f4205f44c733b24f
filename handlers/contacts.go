package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/csvimport"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/phone"
	"github.com/heraldhq/herald/views/components"
	"github.com/heraldhq/herald/views/contacts"
)

// contactsPerPage is the list's page size.
const contactsPerPage = 50

// countCap bounds the exact count under a filter (see SearchContacts):
// "more than 1,000" tells a person as much as an exact figure, and counting
// further through a million contacts would cost more than the page.
const countCap = 1_000

// contactsRoutes registers the contacts pages and API endpoints.
func (h *Handlers) contactsRoutes(r routes) {
	r.view("/contacts", h.contactsList)
	r.view("/contacts/new", h.contactNew)
	r.edit(http.MethodPost, "/contacts", h.contactCreate)
	r.edit(http.MethodPost, "/contacts/bulk", h.contactsBulk)
	r.edit(http.MethodGet, "/contacts/suppression", h.suppressionPage)
	r.edit(http.MethodPost, "/contacts/suppression", h.suppressionUpload)
	r.view("/contacts/:id", h.contactShow)
	r.edit(http.MethodPost, "/contacts/:id", h.contactUpdate)
	r.edit(http.MethodPost, "/contacts/:id/delete", h.contactDelete)
	h.importsRoutes(r)
	h.apiContactsRoutes(r)
}

// contactFilter reads the list filters from the query string, or from the
// bulk form's copies of them (prefix "f_").
func contactFilter(get func(string) string, prefix string) (contacts.Filter, models.ContactFilter) {
	vf := contacts.Filter{
		Q: strings.TrimSpace(get(prefix + "q")), Tag: strings.TrimSpace(get(prefix + "tag")),
		Status: get(prefix + "status"), Lifecycle: get(prefix + "lifecycle"), Country: get(prefix + "country"),
	}
	return vf, models.ContactFilter{Q: vf.Q, Tag: vf.Tag, Reachability: models.Reachability(vf.Status),
		LifecycleStage: vf.Lifecycle, Country: vf.Country}
}

func (h *Handlers) contactsList(c echo.Context) error {
	vf, f := contactFilter(c.QueryParam, "")
	page, _ := strconv.Atoi(c.QueryParam("page"))
	page = max(page, 1)
	vm := contacts.ListView{Filter: vf, Page: page, PerPage: contactsPerPage, CanEdit: currentUser(c).Role.Allows(models.RoleMarketer)}
	for _, r := range models.Reachabilities {
		vm.Statuses = append(vm.Statuses, string(r))
	}
	return h.renderContactsList(c, vm, f)
}

// renderContactsList fills the page of vm and renders it, or only the
// results when the search box asked.
func (h *Handlers) renderContactsList(c echo.Context, vm contacts.ListView, f models.ContactFilter) error {
	ctx := c.Request().Context()
	// One row more than a page tells whether a next page exists without
	// an exact count.
	res, err := h.store.SearchContacts(ctx, f, (vm.Page-1)*contactsPerPage, contactsPerPage+1, countCap)
	if err != nil {
		return err
	}
	rows := res.Rows
	vm.HasNext = len(rows) > contactsPerPage
	rows = rows[:min(len(rows), contactsPerPage)]
	for _, r := range rows {
		vm.Rows = append(vm.Rows, contacts.Row{ID: r.ID, Name: r.Name(), Phone: r.Phone, Email: r.Email, Country: r.Country,
			Lifecycle: r.LifecycleStage, Reachability: string(r.Reachability), Tags: r.Tags, OptIn: r.MarketingOptIn})
	}
	vm.Total, vm.TotalExact = res.Total, res.Exact
	vm.Empty = vm.Total == 0 && !vm.Filter.Active()
	facets, err := h.store.ContactFacets(ctx)
	if err != nil {
		return err
	}
	vm.Countries = facets.Countries
	vm.Lifecycles = mergeStages(facets.Lifecycle)
	p := h.page(c, "Contacts", "contacts")
	return render(c, http.StatusOK, contacts.List(p, vm), contacts.Results(p, vm))
}

// mergeStages offers the standard stages plus any others in use.
func mergeStages(used []string) []string {
	out := slices.Clone(models.LifecycleStages)
	for _, s := range used {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// contactForm is the add-or-edit contact form.
type contactForm struct {
	Phone              string `form:"phone"`
	ExternalID         string `form:"external_id"`
	FirstName          string `form:"first_name"`
	LastName           string `form:"last_name"`
	Email              string `form:"email"`
	Country            string `form:"country"`
	Timezone           string `form:"timezone"`
	Language           string `form:"language"`
	Tags               string `form:"tags"`
	Lifecycle          string `form:"lifecycle_stage"`
	Reachability       string `form:"reachability"`
	ReachabilityReason string `form:"reachability_reason"`
	Attributes         string `form:"attributes"`
	MarketingOptIn     bool   `form:"marketing_opt_in"`
	TransactionalOptIn bool   `form:"transactional_opt_in"`

	number phone.Number
	attrs  map[string]any
}

// Validate returns what is wrong, per field, and normalises the phone.
func (f *contactForm) Validate() components.FieldErrors {
	errs := components.FieldErrors{}
	f.Country = strings.ToUpper(strings.TrimSpace(f.Country))
	n, err := phone.Parse(f.Phone, f.Country)
	if err != nil {
		errs["phone"] = "The number " + strings.TrimPrefix(strings.TrimPrefix(err.Error(), "phone: "), strconv.Quote(f.Phone)+" ") + "."
	}
	f.number = n
	if f.Email = strings.ToLower(strings.TrimSpace(f.Email)); f.Email != "" {
		if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email {
			errs["email"] = "Enter an e-mail address, or leave it empty."
		}
	}
	if f.Country != "" && len(f.Country) != 2 {
		errs["country"] = "Use the two-letter ISO code, e.g. BR."
	}
	if f.Timezone = strings.TrimSpace(f.Timezone); f.Timezone != "" {
		if _, err := time.LoadLocation(f.Timezone); err != nil || !strings.Contains(f.Timezone, "/") && f.Timezone != "UTC" {
			errs["timezone"] = "Use an IANA zone such as America/Sao_Paulo."
		}
	}
	if f.Reachability == "" {
		f.Reachability = string(models.ReachabilityReachable)
	}
	if !slices.Contains(models.Reachabilities, models.Reachability(f.Reachability)) {
		errs["reachability"] = "Choose reachable, unreachable, blocked or opted out."
	}
	f.attrs = map[string]any{}
	for i, line := range strings.Split(f.Attributes, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			errs["attributes"] = fmt.Sprintf("Line %d: write name = value.", i+1)
			continue
		}
		f.attrs[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return errs
}

// apply copies the form onto a contact.
func (f *contactForm) apply(c *models.Contact) {
	c.Phone, c.WaID = f.number.E164, f.number.Digits
	ext := strings.TrimSpace(f.ExternalID)
	c.ExternalID = nil
	if ext != "" {
		c.ExternalID = &ext
	}
	c.FirstName, c.LastName, c.Email = strings.TrimSpace(f.FirstName), strings.TrimSpace(f.LastName), f.Email
	c.Country, c.Timezone, c.Language = f.Country, f.Timezone, strings.TrimSpace(f.Language)
	if c.Country == "" {
		c.Country = f.number.Country
	}
	if c.Timezone == "" {
		c.Timezone = f.number.Timezone
	}
	c.Tags = splitTags(f.Tags)
	c.LifecycleStage = f.Lifecycle
	c.Reachability, c.ReachabilityReason = models.Reachability(f.Reachability), strings.TrimSpace(f.ReachabilityReason)
	c.Attributes = f.attrs
	c.MarketingOptIn, c.TransactionalOptIn = f.MarketingOptIn, f.TransactionalOptIn
}

func splitTags(s string) []string {
	out := []string{}
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func formFromContact(c *models.Contact) contacts.ContactForm {
	f := contacts.ContactForm{Phone: c.Phone, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email,
		Country: c.Country, Timezone: c.Timezone, Language: c.Language, Tags: strings.Join(c.Tags, ", "),
		Lifecycle: c.LifecycleStage, Reachability: string(c.Reachability), ReachabilityReason: c.ReachabilityReason,
		MarketingOptIn: c.MarketingOptIn, TransactionalOptIn: c.TransactionalOptIn}
	if c.ExternalID != nil {
		f.ExternalID = *c.ExternalID
	}
	var lines []string
	for _, k := range sortedKeys(c.Attributes) {
		lines = append(lines, k+" = "+fmt.Sprint(c.Attributes[k]))
	}
	f.Attributes = strings.Join(lines, "\n")
	return f
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func formView(f contactForm) contacts.ContactForm {
	return contacts.ContactForm{Phone: f.Phone, FirstName: f.FirstName, LastName: f.LastName, Email: f.Email,
		ExternalID: f.ExternalID, Country: f.Country, Timezone: f.Timezone, Language: f.Language, Tags: f.Tags,
		Lifecycle: f.Lifecycle, Reachability: f.Reachability, ReachabilityReason: f.ReachabilityReason,
		Attributes: f.Attributes, MarketingOptIn: f.MarketingOptIn, TransactionalOptIn: f.TransactionalOptIn}
}

// contactView builds a contact's page.
func (h *Handlers) contactView(c echo.Context, ct *models.Contact) (contacts.ContactView, error) {
	ctx := c.Request().Context()
	vm := contacts.ContactView{ID: ct.ID, Title: displayName(ct), Phone: ct.Phone, Reachability: string(ct.Reachability),
		ReachReason: ct.ReachabilityReason, ReachAt: ct.ReachabilityAt, OptIn: ct.MarketingOptIn,
		OptInSource: ct.MarketingOptInSource, OptInAt: ct.MarketingOptInAt, Form: formFromContact(ct),
		CanEdit: currentUser(c).Role.Allows(models.RoleMarketer), Lifecycles: models.LifecycleStages}
	for _, r := range models.Reachabilities {
		vm.Reachabilities = append(vm.Reachabilities, string(r))
	}
	ext := ""
	if ct.ExternalID != nil {
		ext = *ct.ExternalID
	}
	lastActive := "–"
	if ct.LastActiveAt != nil {
		lastActive = ct.LastActiveAt.UTC().Format("2006-01-02 15:04")
	}
	for _, kv := range [][2]string{{"Phone", ct.Phone}, {"E-mail", ct.Email}, {"External ID", ext}, {"Country", ct.Country},
		{"Time zone", ct.Timezone}, {"Language", ct.Language}, {"Tags", strings.Join(ct.Tags, ", ")},
		{"Lifecycle stage", ct.LifecycleStage}, {"Last active", lastActive}, {"Total orders", strconv.Itoa(ct.TotalOrders)},
		{"Total spent", strconv.FormatFloat(ct.TotalSpent, 'f', 2, 64)}, {"Created", ct.CreatedAt.UTC().Format("2006-01-02 15:04")}} {
		if kv[1] != "" {
			vm.Facts = append(vm.Facts, contacts.Attribute{Key: kv[0], Value: kv[1]})
		}
	}
	for _, k := range sortedKeys(ct.Attributes) {
		vm.Attributes = append(vm.Attributes, contacts.Attribute{Key: k, Value: fmt.Sprint(ct.Attributes[k])})
	}
	if ct.ID == 0 {
		return vm, nil
	}
	consent, err := h.store.ConsentHistory(ctx, ct.ID)
	if err != nil {
		return vm, err
	}
	for _, e := range consent {
		vm.Consent = append(vm.Consent, contacts.ConsentRow{Kind: e.Kind, Source: e.Source, Granted: e.Granted, At: e.CreatedAt})
	}
	msgs, err := h.store.ContactMessages(ctx, ct.ID, 200)
	if err != nil {
		return vm, err
	}
	for _, m := range msgs {
		name := m.CampaignName
		if m.CampaignID == nil {
			name = "(transactional)"
		}
		vm.Messages = append(vm.Messages, contacts.MessageRow{Campaign: name, Category: m.Category, Status: m.Status,
			Reason: m.StatusReason, CreatedAt: m.CreatedAt, SentAt: m.SentAt, DeliveredAt: m.DeliveredAt, ReadAt: m.ReadAt})
	}
	return vm, nil
}

func displayName(c *models.Contact) string {
	if n := c.Name(); n != "" {
		return n
	}
	return c.Phone
}

func contactID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	return id, nil
}

func (h *Handlers) contactShow(c echo.Context) error {
	id, err := contactID(c)
	if err != nil {
		return err
	}
	ct, err := h.store.Contact(c.Request().Context(), id)
	if err != nil {
		return err
	}
	vm, err := h.contactView(c, ct)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, contacts.Show(h.page(c, vm.Title, "contacts"), vm), nil)
}

func (h *Handlers) contactNew(c echo.Context) error {
	vm, err := h.contactView(c, &models.Contact{TransactionalOptIn: true, Reachability: models.ReachabilityReachable})
	if err != nil {
		return err
	}
	vm.Title = "New contact"
	return render(c, http.StatusOK, contacts.Show(h.page(c, vm.Title, "contacts"), vm), nil)
}

// userSource names who changed consent, for the consent history.
func userSource(c echo.Context) string {
	if u := currentUser(c); u != nil {
		return "edited by " + u.Email
	}
	return "edited in Herald"
}

func (h *Handlers) contactCreate(c echo.Context) error {
	var f contactForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	ct := &models.Contact{}
	errs := f.Validate()
	if len(errs) == 0 {
		f.apply(ct)
		err := h.store.CreateContact(c.Request().Context(), ct, userSource(c))
		if errors.Is(err, models.ErrConflict) {
			errs["phone"] = "A contact with this phone or external ID exists already."
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		vm, err := h.contactView(c, &models.Contact{})
		if err != nil {
			return err
		}
		vm.Title, vm.Form, vm.Errors = "New contact", formView(f), errs
		return render(c, http.StatusUnprocessableEntity, contacts.Show(h.page(c, vm.Title, "contacts"), vm), nil)
	}
	h.flash(c, "success", "Contact "+ct.Phone+" added.")
	return redirect(c, fmt.Sprintf("/contacts/%d", ct.ID))
}

func (h *Handlers) contactUpdate(c echo.Context) error {
	id, err := contactID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ct, err := h.store.Contact(ctx, id)
	if err != nil {
		return err
	}
	var f contactForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	errs := f.Validate()
	if len(errs) == 0 {
		f.apply(ct)
		err := h.store.UpdateContact(ctx, ct, userSource(c))
		if errors.Is(err, models.ErrConflict) {
			errs["phone"] = "Another contact has this phone or external ID."
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		fresh, err := h.store.Contact(ctx, id)
		if err != nil {
			return err
		}
		vm, err := h.contactView(c, fresh)
		if err != nil {
			return err
		}
		vm.Form, vm.Errors = formView(f), errs
		return render(c, http.StatusUnprocessableEntity, contacts.Show(h.page(c, vm.Title, "contacts"), vm), nil)
	}
	h.flash(c, "success", "Contact saved.")
	return redirect(c, fmt.Sprintf("/contacts/%d", id))
}

func (h *Handlers) contactDelete(c echo.Context) error {
	id, err := contactID(c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteContact(c.Request().Context(), id); err != nil {
		return err
	}
	h.flash(c, "success", "Contact erased.")
	return redirect(c, "/contacts")
}

// contactsBulk applies a bulk action to the ticked contacts or to every
// contact matching the list's filters.
func (h *Handlers) contactsBulk(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	vf, f := contactFilter(form.Get, "f_")
	sel := models.ContactSelection{All: form.Get("scope") == "all", Filter: f}
	if !sel.All {
		for _, v := range form["ids"] {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil {
				sel.IDs = append(sel.IDs, id)
			}
		}
		if len(sel.IDs) == 0 {
			h.flash(c, "error", "Tick the contacts first, or choose \"All matching\".")
			return redirect(c, "/contacts?"+vf.Query().Encode())
		}
	}
	tag := strings.TrimSpace(form.Get("bulk_tag"))
	var action models.BulkAction
	var done string
	switch form.Get("action") {
	case "tag", "untag":
		if tag == "" {
			h.flash(c, "error", "Enter the tag to add or remove.")
			return redirect(c, "/contacts?"+vf.Query().Encode())
		}
		action, done = models.BulkTag{Tag: tag}, "Tagged %s contacts with "+tag+"."
		if form.Get("action") == "untag" {
			action, done = models.BulkUntag{Tag: tag}, "Removed "+tag+" from %s contacts."
		}
	case "opt_out":
		action, done = models.BulkSuppress{Reachability: models.ReachabilityOptedOut, Reason: "bulk opt-out by " + currentUser(c).Email}, "Opted out %s contacts."
	case "delete":
		action, done = models.BulkDelete{}, "Erased %s contacts."
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "Choose a bulk action.")
	}
	n, err := h.store.BulkContacts(c.Request().Context(), sel, action)
	if err != nil {
		return err
	}
	h.flash(c, "success", fmt.Sprintf(done, components.Thousands(n)))
	return redirect(c, "/contacts?"+vf.Query().Encode())
}

func (h *Handlers) suppressionPage(c echo.Context) error {
	return render(c, http.StatusOK, contacts.Suppression(h.page(c, "Suppression list", "contacts"), contacts.SuppressionView{}), nil)
}

// suppressionUpload reads phone numbers from the first phone-like column
// (or the only column) of an uploaded CSV and suppresses them.
func (h *Handlers) suppressionUpload(c echo.Context) error {
	vm := contacts.SuppressionView{Status: c.FormValue("status"), Reason: strings.TrimSpace(c.FormValue("reason")), Errors: components.FieldErrors{}}
	status := models.Reachability(vm.Status)
	if status != models.ReachabilityOptedOut && status != models.ReachabilityBlocked {
		vm.Errors["status"] = "Choose opted out or blocked."
	}
	p := h.page(c, "Suppression list", "contacts")
	fh, err := c.FormFile("file")
	if err != nil {
		vm.Errors["file"] = "Choose a CSV file."
	} else if fh.Size > h.cfg.MaxImportBytes {
		vm.Errors["file"] = "The file is larger than the limit of " + humanBytes(h.cfg.MaxImportBytes) + "."
	}
	if len(vm.Errors) > 0 {
		return render(c, http.StatusUnprocessableEntity, contacts.Suppression(p, vm), nil)
	}
	file, err := fh.Open()
	if err != nil {
		return fmt.Errorf("handlers: open suppression upload: %w", err)
	}
	defer file.Close()
	phones, rejected, err := readPhoneColumn(file)
	if err != nil {
		vm.Errors["file"] = err.Error()
		return render(c, http.StatusUnprocessableEntity, contacts.Suppression(p, vm), nil)
	}
	reason := vm.Reason
	if reason == "" {
		reason = "suppression list " + fh.Filename
	}
	updated, added, err := h.store.SuppressPhones(c.Request().Context(), phones, status, reason)
	if err != nil {
		return err
	}
	vm.Result = fmt.Sprintf("%s numbers marked %s: %s known contacts, %s added.", components.Thousands(updated+added),
		strings.ReplaceAll(string(status), "_", " "), components.Thousands(updated), components.Thousands(added))
	vm.Rejected = rejected[:min(len(rejected), 100)]
	return render(c, http.StatusOK, contacts.Suppression(p, vm), nil)
}

// readPhoneColumn streams a suppression file. A file whose first line is
// itself a number has no header; otherwise the guessed phone column is used.
func readPhoneColumn(r io.Reader) (phones, rejected []string, err error) {
	rd, err := csvimport.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("The file could not be read: %w", err)
	}
	header := rd.Header()
	col := -1
	for i, hname := range header {
		if csvimport.GuessMapping(header)[hname] == csvimport.FieldPhone {
			col = i
		}
	}
	add := func(raw string) {
		if n, err := phone.Parse(raw, ""); err == nil {
			phones = append(phones, n.E164)
		} else if strings.TrimSpace(raw) != "" {
			rejected = append(rejected, raw+": "+strings.TrimPrefix(err.Error(), "phone: "))
		}
	}
	if col == -1 {
		if len(header) != 1 {
			return nil, nil, errors.New("No column looks like a phone number; name it \"phone\"")
		}
		col = 0
		add(header[0])
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return phones, rejected, nil
		}
		var rowErr *csvimport.RowError
		if errors.As(err, &rowErr) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("The file could not be read: %w", err)
		}
		if col < len(row.Fields) {
			add(row.Fields[col])
		}
	}
}
