package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/views/components"
	tv "github.com/heraldhq/herald/views/templates"
	"github.com/heraldhq/herald/whatsapp"
)

// TemplateGateway is the part of the WhatsApp Cloud API the templates pages
// use; *whatsapp.Client implements it.
type TemplateGateway interface {
	CreateTemplate(ctx context.Context, def whatsapp.TemplateDefinition) (whatsapp.CreateTemplateResult, error)
	ListTemplates(ctx context.Context) ([]whatsapp.Template, error)
}

// TemplateTestSender sends an approved template to one phone, filled with
// sample values. The integrator's gateway may implement it; without it the
// detail page says test sends are unavailable.
type TemplateTestSender interface {
	SendTest(ctx context.Context, templateID int64, phone string) error
}

// maxComposerButtons bounds the button rows read from a form; Meta's limit
// is 10, a few more let the validator say so instead of dropping them.
const maxComposerButtons = 13

var (
	templateNameRe = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	languageCodeRe = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
	testPhoneRe    = regexp.MustCompile(`^\+?[0-9][0-9 ()-]{6,19}$`)
)

// templatesRoutes registers the templates pages and API endpoints.
func (h *Handlers) templatesRoutes(r routes) {
	r.view("/templates", h.templatesList)
	r.view("/templates/new", h.templateNew)
	r.edit(http.MethodPost, "/templates", h.templateCreate)
	r.edit(http.MethodPost, "/templates/preview", h.templatePreview)
	r.edit(http.MethodPost, "/templates/compose", h.templateCompose)
	r.edit(http.MethodPost, "/templates/sync", h.templatesSync)
	r.view("/templates/:id", h.templateDetail)
	r.view("/templates/:id/edit", h.templateEdit)
	r.edit(http.MethodPost, "/templates/:id", h.templateUpdate)
	r.edit(http.MethodPost, "/templates/:id/submit", h.templateSubmit)
	r.edit(http.MethodPost, "/templates/:id/duplicate", h.templateDuplicate)
	r.edit(http.MethodPost, "/templates/:id/languages", h.templateAddLanguage)
	r.edit(http.MethodPost, "/templates/:id/archive", h.templateArchive)
	r.edit(http.MethodPost, "/templates/:id/test", h.templateSendTest)

	r.apiRoute(http.MethodPost, "/templates", h.apiTemplateCreate, models.RoleMarketer)
	r.apiRoute(http.MethodGet, "/templates", h.apiTemplatesList, models.RoleViewer)
	r.apiRoute(http.MethodGet, "/templates/:id", h.apiTemplateGet, models.RoleViewer)

	// Public: the tracked-link redirect behind URL buttons.
	r.e.GET("/r/:code", h.trackedLink)
}

// --- conversions between the store and templating ---

func templateFromRow(row *models.Template) (templating.Template, error) {
	return templating.FromColumns(templating.Columns{Name: row.Name, Language: row.Language, Category: row.Category,
		ParameterFormat: row.ParameterFormat, Header: row.Header, Body: row.Body, Footer: row.Footer,
		Buttons: row.Buttons, Variables: row.Variables})
}

func rowFromTemplate(t templating.Template) (*models.Template, error) {
	c, err := t.Columns()
	if err != nil {
		return nil, err
	}
	return &models.Template{Name: c.Name, Language: c.Language, Category: c.Category, ParameterFormat: c.ParameterFormat,
		Header: c.Header, Body: c.Body, Footer: c.Footer, Buttons: c.Buttons, Variables: c.Variables}, nil
}

func (h *Handlers) definitionOptions() templating.DefinitionOptions {
	return templating.DefinitionOptions{TrackingBaseURL: h.cfg.BaseURL}
}

func (h *Handlers) templateParam(c echo.Context) (*models.Template, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	return h.store.TemplateByID(c.Request().Context(), id)
}

// --- the composer form ---

// composerInput is the composer form, parsed.
type composerInput struct {
	ID      int64
	Tmpl    templating.Template
	Sample  string
	VarsSig string
	Action  string // "submit" or "draft"
}

// parseComposer reads the composer form. base, when given, is a submitted
// template whose content is fixed: only its variable mappings are read.
func parseComposer(form url.Values, base *templating.Template) composerInput {
	in := composerInput{Sample: form.Get("sample"), VarsSig: form.Get("vars_sig"), Action: form.Get("action")}
	in.ID, _ = strconv.ParseInt(form.Get("id"), 10, 64)
	if base != nil {
		in.Tmpl = *base
	} else {
		t := templating.Template{Name: strings.TrimSpace(form.Get("name")), Language: form.Get("language"),
			Category: form.Get("category"), ParameterFormat: form.Get("parameter_format"),
			Body: form.Get("body"), Footer: strings.TrimSpace(form.Get("footer"))}
		if ht := form.Get("header_type"); ht != "" && t.Category != templating.CategoryAuthentication {
			t.Header = &templating.Header{Type: ht, Text: form.Get("header_text"), MediaURL: strings.TrimSpace(form.Get("header_media_url"))}
		}
		if t.Category == templating.CategoryAuthentication {
			t.Body, t.Footer = "", ""
		}
		for i := range maxComposerButtons {
			typ := form.Get(fmt.Sprintf("buttons.%d.type", i))
			if typ == "" {
				break
			}
			get := func(f string) string { return strings.TrimSpace(form.Get(fmt.Sprintf("buttons.%d.%s", i, f))) }
			t.Buttons = append(t.Buttons, templating.Button{Type: typ, Text: get("text"), URL: get("url"), Phone: get("phone"),
				Example: get("example"), Payload: get("payload"), Track: get("track") != ""})
		}
		t.Normalize()
		in.Tmpl = t
	}
	in.Tmpl.Variables = parseVariables(form, in.Tmpl)
	return in
}

// varKeys lists the variables of t as composer rows: key, label and, for
// named body variables, the name.
type varKey struct{ Key, Label, Name string }

func varKeys(t templating.Template) []varKey {
	var out []varKey
	if t.Category == templating.CategoryAuthentication {
		for i, b := range t.Buttons {
			if b.Type == templating.ButtonOTP {
				out = append(out, varKey{Key: fmt.Sprintf("button.%d", i), Label: "One-time password (button " + strconv.Itoa(i+1) + ")"})
			}
		}
		return out
	}
	if t.Header != nil && t.Header.Type == templating.HeaderText {
		if names := whatsapp.Variables(t.Header.Text); len(names) > 0 {
			out = append(out, varKey{Key: "header.0", Label: "{{" + names[0] + "}} in the header"})
		}
	}
	for i, name := range t.BodyVariables() {
		k := varKey{Key: fmt.Sprintf("body.%d", i), Label: "{{" + name + "}} in the body"}
		if t.Named() {
			k.Name = name
		}
		out = append(out, k)
	}
	for i, b := range t.Buttons {
		if b.NeedsValue() {
			label := "URL suffix of button " + strconv.Itoa(i+1)
			if b.Type == templating.ButtonCopyCode {
				label = "Offer code of button " + strconv.Itoa(i+1)
			}
			out = append(out, varKey{Key: fmt.Sprintf("button.%d", i), Label: label})
		}
	}
	return out
}

func varsSignature(keys []varKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.Key + "=" + k.Label
	}
	return strings.Join(parts, "|")
}

func parseVariables(form url.Values, t templating.Template) templating.Variables {
	var vars templating.Variables
	for _, k := range varKeys(t) {
		get := func(f string) string { return strings.TrimSpace(form.Get("var." + k.Key + "." + f)) }
		m := templating.VariableMapping{Name: k.Name, Fallback: get("fallback")}
		switch get("source") {
		case "value":
			m.Value = get("value")
		case "campaign":
			m.Campaign = get("campaign")
		default:
			m.Field = get("field")
		}
		kind, idx, _ := strings.Cut(k.Key, ".")
		n, _ := strconv.Atoi(idx)
		switch kind {
		case "header":
			vars.Header = append(vars.Header, m)
		case "body":
			vars.Body = append(vars.Body, m)
		case "button":
			if vars.Buttons == nil {
				vars.Buttons = map[int]templating.VariableMapping{}
			}
			vars.Buttons[n] = m
		}
	}
	return vars
}

// mappingFor returns the stored mapping of one composer row.
func mappingFor(t templating.Template, key string) templating.VariableMapping {
	kind, idx, _ := strings.Cut(key, ".")
	n, _ := strconv.Atoi(idx)
	switch kind {
	case "header":
		if n < len(t.Variables.Header) {
			return t.Variables.Header[n]
		}
	case "body":
		if n < len(t.Variables.Body) {
			return t.Variables.Body[n]
		}
	case "button":
		return t.Variables.Buttons[n]
	}
	return templating.VariableMapping{}
}

// applyStructural adds or removes a button as the composer asked, keeping
// each remaining button's variable mapping with it.
func applyStructural(form url.Values, t *templating.Template) {
	if typ := form.Get("add_button"); typ != "" && len(t.Buttons) < maxComposerButtons {
		b := templating.Button{Type: typ}
		if typ == templating.ButtonOTP {
			b.Text = "Copy code"
		}
		// Meta wants quick replies in one group: add a quick reply after the last one.
		pos := len(t.Buttons)
		if typ == templating.ButtonQuickReply {
			for i, x := range t.Buttons {
				if x.Type == templating.ButtonQuickReply {
					pos = i + 1
				}
			}
		}
		t.Buttons = slices.Insert(t.Buttons, pos, b)
		t.Variables.Buttons = shiftButtons(t.Variables.Buttons, pos, +1)
	}
	if raw := form.Get("remove_button"); raw != "" {
		if i, err := strconv.Atoi(raw); err == nil && i >= 0 && i < len(t.Buttons) {
			t.Buttons = slices.Delete(t.Buttons, i, i+1)
			delete(t.Variables.Buttons, i)
			t.Variables.Buttons = shiftButtons(t.Variables.Buttons, i+1, -1)
		}
	}
}

// shiftButtons moves the mappings of buttons from index on by delta.
func shiftButtons(m map[int]templating.VariableMapping, from, delta int) map[int]templating.VariableMapping {
	if len(m) == 0 {
		return m
	}
	out := map[int]templating.VariableMapping{}
	for i, v := range m {
		if i >= from {
			i += delta
		}
		out[i] = v
	}
	return out
}

// --- view models ---

// samples loads the sample contacts for the preview and picks the chosen one.
func (h *Handlers) samples(ctx context.Context, chosen string) (templating.Contact, string, []tv.Option, []tv.Option, error) {
	rows, err := h.store.TemplateSampleContacts(ctx, 5)
	if err != nil {
		return templating.Contact{}, "", nil, nil, err
	}
	builtIn := templating.SampleContact()
	opts := []tv.Option{}
	contact, name := builtIn, "Ana (built-in sample)"
	if chosen == "" && len(rows) > 0 {
		chosen = strconv.FormatInt(rows[0].ID, 10)
	}
	attrs := map[string]bool{}
	for _, r := range rows {
		c := templating.Contact{FirstName: r.FirstName, LastName: r.LastName, Phone: r.Phone, Email: r.Email, Country: r.Country,
			Language: r.Language, Timezone: r.Timezone, LifecycleStage: r.LifecycleStage, TotalOrders: r.TotalOrders, TotalSpent: r.TotalSpent}
		_ = json.Unmarshal([]byte(r.Attributes), &c.Attributes)
		for _, f := range c.AttributeFields() {
			attrs[f] = true
		}
		label := strings.TrimSpace(r.FirstName + " " + r.LastName)
		if label == "" {
			label = r.Phone + " (no name)"
		}
		id := strconv.FormatInt(r.ID, 10)
		opts = append(opts, tv.Option{Value: id, Label: label})
		if id == chosen {
			contact, name = c, label
		}
	}
	opts = append(opts, tv.Option{Value: "sample", Label: "Ana (built-in sample)"})
	if len(rows) == 0 {
		for _, f := range builtIn.AttributeFields() {
			attrs[f] = true
		}
	}
	var fields []tv.Option
	for _, f := range templating.ContactFields {
		fields = append(fields, tv.Option{Value: f.Key, Label: f.Label})
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fields = append(fields, tv.Option{Value: k, Label: k})
	}
	return contact, name, opts, fields, nil
}

func issuesView(t templating.Template, issues []templating.Issue) []tv.Issue {
	out := make([]tv.Issue, len(issues))
	for i, is := range issues {
		out[i] = tv.Issue{Field: is.Field, Label: issueLabel(t, is.Field), Message: is.Message}
	}
	return out
}

var indexedFieldRe = regexp.MustCompile(`^(buttons|variables\.body|variables\.buttons|variables\.header)\[(\d+)\]\.?(.*)$`)

// issueLabel names an issue's field the way the composer labels it.
func issueLabel(t templating.Template, field string) string {
	fixed := map[string]string{"name": "Name", "language": "Language", "category": "Category",
		"parameter_format": "Variables", "header.text": "Header text", "header.type": "Header",
		"header.media_url": "Media URL", "body": "Body", "footer": "Footer", "buttons": "Buttons",
		"variables.body": "Body examples", "variables.header": "Header example", "template": "Template"}
	if l, ok := fixed[field]; ok {
		return l
	}
	m := indexedFieldRe.FindStringSubmatch(field)
	if m == nil {
		return field
	}
	n, _ := strconv.Atoi(m[2])
	switch m[1] {
	case "buttons":
		label := "Button " + strconv.Itoa(n+1)
		if m[3] != "" {
			label += " " + strings.ReplaceAll(m[3], "_", " ")
		}
		return label
	case "variables.buttons":
		return "Value of button " + strconv.Itoa(n+1)
	case "variables.header":
		return "Header variable"
	}
	if names := t.BodyVariables(); n < len(names) {
		return "{{" + names[n] + "}} in the body"
	}
	return field
}

// fieldErrors turns issues into the form's per-field errors; the first
// issue of a field is shown next to it.
func fieldErrors(issues []templating.Issue) components.FieldErrors {
	errs := components.FieldErrors{}
	for _, is := range issues {
		if _, ok := errs[is.Field]; !ok {
			errs[is.Field] = is.Message
		}
	}
	return errs
}

func previewView(t templating.Template, contact templating.Contact, sampleName string, issues []templating.Issue) tv.Preview {
	msg := templating.Preview(t, contact, nil)
	pv := tv.Preview{HeaderType: msg.HeaderType, HeaderText: msg.HeaderText, HeaderMediaURL: msg.HeaderMediaURL,
		Body: msg.Body, Footer: msg.Footer, SampleName: sampleName, Issues: issuesView(t, issues)}
	for _, b := range msg.Buttons {
		pv.Buttons = append(pv.Buttons, tv.PreviewButton{Type: b.Type, Text: b.Text, URL: b.URL, Tracked: b.Tracked})
	}
	return pv
}

// composerView builds the composer for t as typed (or stored).
func (h *Handlers) composerView(ctx context.Context, id int64, status string, t templating.Template, sample string, showErrors bool) (tv.ComposerView, error) {
	contact, sampleName, sampleOpts, fieldOpts, err := h.samples(ctx, sample)
	if err != nil {
		return tv.ComposerView{}, err
	}
	if sample == "" && len(sampleOpts) > 0 {
		sample = sampleOpts[0].Value
	}
	issues := templating.Validate(t, h.definitionOptions())
	editable := status == "" || status == models.TemplateDraft
	vm := tv.ComposerView{ID: id, Status: status, Editable: editable, Samples: sampleOpts, Fields: fieldOpts,
		Preview: previewView(t, contact, sampleName, issues)}
	vm.Preview.CanSubmit = h.gateway != nil
	vm.Preview.Editable = editable
	vm.Form = tv.Form{Name: t.Name, Language: t.Language, Category: t.Category, ParameterFormat: t.ParameterFormat,
		Body: t.Body, Footer: t.Footer, Sample: sample}
	if t.Header != nil {
		vm.Form.HeaderType, vm.Form.HeaderText, vm.Form.HeaderMediaURL = t.Header.Type, t.Header.Text, t.Header.MediaURL
	}
	for _, b := range t.Buttons {
		vm.Form.Buttons = append(vm.Form.Buttons, tv.ButtonForm{Type: b.Type, Text: b.Text, URL: b.URL, Phone: b.Phone,
			Example: b.Example, Payload: b.Payload, Track: b.Track})
	}
	errs := fieldErrors(issues)
	keys := varKeys(t)
	vm.VarsSig = varsSignature(keys)
	for _, k := range keys {
		m := mappingFor(t, k.Key)
		row := tv.VarRow{Key: k.Key, Label: k.Label, Source: m.Source(), Field: m.Field, Value: m.Value,
			Campaign: m.Campaign, Fallback: m.Fallback}
		if row.Source == "" {
			row.Source = "field"
		}
		if showErrors {
			kind, idx, _ := strings.Cut(k.Key, ".")
			if kind == "button" {
				kind = "buttons"
			}
			row.Error = errs["variables."+kind+"["+idx+"]"]
		}
		vm.Vars = append(vm.Vars, row)
	}
	if showErrors {
		vm.Errors = errs
	}
	return vm, nil
}

func blankTemplate() templating.Template {
	return templating.Template{Language: "en_US", Category: templating.CategoryMarketing, ParameterFormat: templating.FormatPositional}
}

// --- pages ---

func (h *Handlers) templatesList(c echo.Context) error {
	status := strings.ToUpper(c.QueryParam("status"))
	f := models.TemplateFilter{Query: c.QueryParam("q")}
	if status == "ARCHIVED" {
		f.Archived, status = true, "archived"
	} else if slices.Contains(models.TemplateStatuses, status) {
		f.Status = status
	} else {
		status = ""
	}
	rows, err := h.store.ListTemplates(c.Request().Context(), f)
	if err != nil {
		return err
	}
	vm := tv.ListView{Status: status, Query: f.Query, Statuses: models.TemplateStatuses, CanEdit: currentUser(c).Role.Allows(models.RoleMarketer)}
	for _, r := range rows {
		vm.Rows = append(vm.Rows, tv.Row{ID: r.ID, Name: r.Name, Language: r.Language, Category: r.Category,
			Status: r.Status, Quality: r.Quality, UpdatedAt: r.UpdatedAt})
	}
	return render(c, http.StatusOK, tv.List(h.page(c, "Templates", "templates"), vm), nil)
}

func (h *Handlers) templateNew(c echo.Context) error {
	if !currentUser(c).Role.Allows(models.RoleMarketer) {
		return echo.NewHTTPError(http.StatusForbidden, "Only marketers and admins can create templates.")
	}
	vm, err := h.composerView(c.Request().Context(), 0, "", blankTemplate(), "", false)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, tv.Composer(h.page(c, "New template", "templates"), vm), nil)
}

func (h *Handlers) templateEdit(c echo.Context) error {
	if !currentUser(c).Role.Allows(models.RoleMarketer) {
		return echo.NewHTTPError(http.StatusForbidden, "Only marketers and admins can edit templates.")
	}
	row, err := h.templateParam(c)
	if err != nil {
		return err
	}
	t, err := templateFromRow(row)
	if err != nil {
		return err
	}
	vm, err := h.composerView(c.Request().Context(), row.ID, row.Status, t, "", false)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, tv.Composer(h.page(c, "Edit "+row.Name, "templates"), vm), nil)
}

// composerBase returns the fixed content of a submitted template the form
// refers to, or nil for drafts and new templates.
func (h *Handlers) composerBase(ctx context.Context, id int64) (*models.Template, *templating.Template, error) {
	if id == 0 {
		return nil, nil, nil
	}
	row, err := h.store.TemplateByID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if row.Editable() {
		return row, nil, nil
	}
	t, err := templateFromRow(row)
	if err != nil {
		return nil, nil, err
	}
	return row, &t, nil
}

func (h *Handlers) readComposer(c echo.Context) (composerInput, *models.Template, error) {
	form, err := c.FormParams()
	if err != nil {
		return composerInput{}, nil, echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	id, _ := strconv.ParseInt(form.Get("id"), 10, 64)
	if p := c.Param("id"); p != "" {
		id, _ = strconv.ParseInt(p, 10, 64)
	}
	row, base, err := h.composerBase(c.Request().Context(), id)
	if err != nil {
		return composerInput{}, nil, err
	}
	in := parseComposer(form, base)
	in.ID = id
	return in, row, nil
}

// templatePreview answers the composer's live updates: the preview pane,
// plus the variables section out of band when the set of variables changed.
func (h *Handlers) templatePreview(c echo.Context) error {
	in, row, err := h.readComposer(c)
	if err != nil {
		return err
	}
	status := ""
	if row != nil {
		status = row.Status
	}
	vm, err := h.composerView(c.Request().Context(), in.ID, status, in.Tmpl, in.Sample, false)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	ctx := c.Request().Context()
	if err := tv.PreviewPane(vm.Preview, vm.Form.Sample, vm.Samples).Render(ctx, c.Response()); err != nil {
		return err
	}
	if vm.VarsSig != in.VarsSig {
		return tv.Variables(vm, true).Render(ctx, c.Response())
	}
	return nil
}

// templateCompose re-renders the whole composer after a structural change.
func (h *Handlers) templateCompose(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	in, row, err := h.readComposer(c)
	if err != nil {
		return err
	}
	status := ""
	if row != nil {
		status = row.Status
	}
	if row == nil || row.Editable() {
		applyStructural(form, &in.Tmpl)
	}
	vm, err := h.composerView(c.Request().Context(), in.ID, status, in.Tmpl, in.Sample, false)
	if err != nil {
		return err
	}
	p := h.page(c, "New template", "templates")
	return render(c, http.StatusOK, tv.Composer(p, vm), tv.ComposerBody(p, vm))
}

// composerInvalid re-renders the composer with its errors (422).
func (h *Handlers) composerInvalid(c echo.Context, in composerInput, status string, extra components.FieldErrors) error {
	vm, err := h.composerView(c.Request().Context(), in.ID, status, in.Tmpl, in.Sample, true)
	if err != nil {
		return err
	}
	for k, v := range extra {
		vm.Errors[k] = v
		vm.Preview.Issues = append(vm.Preview.Issues, tv.Issue{Field: k, Label: issueLabel(in.Tmpl, k), Message: v})
	}
	p := h.page(c, "New template", "templates")
	return render(c, http.StatusUnprocessableEntity, tv.Composer(p, vm), tv.ComposerBody(p, vm))
}

func (h *Handlers) templateCreate(c echo.Context) error {
	in, _, err := h.readComposer(c)
	if err != nil {
		return err
	}
	in.ID = 0
	if issues := templating.Validate(in.Tmpl, h.definitionOptions()); len(issues) > 0 {
		return h.composerInvalid(c, in, "", nil)
	}
	row, err := rowFromTemplate(in.Tmpl)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := h.store.CreateTemplate(ctx, row); err != nil {
		if errors.Is(err, models.ErrConflict) {
			return h.composerInvalid(c, in, "", components.FieldErrors{"name": "A template with this name and language exists already; pick another name or language."})
		}
		return err
	}
	return h.afterSave(c, row, in.Action, "Template saved as a draft.")
}

func (h *Handlers) templateUpdate(c echo.Context) error {
	in, row, err := h.readComposer(c)
	if err != nil {
		return err
	}
	if issues := templating.Validate(in.Tmpl, h.definitionOptions()); len(issues) > 0 {
		return h.composerInvalid(c, in, row.Status, nil)
	}
	upd, err := rowFromTemplate(in.Tmpl)
	if err != nil {
		return err
	}
	upd.ID = row.ID
	if err := h.store.UpdateTemplate(c.Request().Context(), upd); err != nil {
		if errors.Is(err, models.ErrConflict) {
			return h.composerInvalid(c, in, row.Status, components.FieldErrors{"name": conflictMessage(err)})
		}
		return err
	}
	updated, err := h.store.TemplateByID(c.Request().Context(), row.ID)
	if err != nil {
		return err
	}
	return h.afterSave(c, updated, in.Action, "Template saved.")
}

// afterSave submits the template when asked, then shows its page.
func (h *Handlers) afterSave(c echo.Context, row *models.Template, action, saved string) error {
	to := "/templates/" + strconv.FormatInt(row.ID, 10)
	if action != "submit" || !row.Editable() {
		h.flash(c, "success", saved)
		return redirect(c, to)
	}
	h.submitAndFlash(c, row)
	return redirect(c, to)
}

// submitAndFlash submits a draft to WhatsApp and tells the user the outcome.
func (h *Handlers) submitAndFlash(c echo.Context, row *models.Template) {
	if err := h.submitTemplate(c.Request().Context(), row); err != nil {
		h.log.Warn("submit template", "template", row.ID, "err", err)
		h.flash(c, "error", "WhatsApp did not accept the template: "+err.Error())
		return
	}
	h.flash(c, "success", "Submitted to WhatsApp for review. The status updates here as soon as Meta decides.")
}

var errNoGateway = errors.New("WhatsApp is not connected to this Herald")

// submitTemplate sends a draft to Meta and records the answer.
func (h *Handlers) submitTemplate(ctx context.Context, row *models.Template) error {
	if h.gateway == nil {
		return errNoGateway
	}
	if !row.Editable() {
		return fmt.Errorf("template is %s, not a draft: %w", row.Status, models.ErrConflict)
	}
	t, err := templateFromRow(row)
	if err != nil {
		return err
	}
	if issues := templating.Validate(t, h.definitionOptions()); len(issues) > 0 {
		return fmt.Errorf("%s: %s: %w", issues[0].Field, issues[0].Message, models.ErrInvalid)
	}
	res, err := h.gateway.CreateTemplate(ctx, templating.Definition(t, h.definitionOptions()))
	if err != nil {
		var me *whatsapp.Error
		if errors.As(err, &me) {
			return fmt.Errorf("%s", me.Error())
		}
		return err
	}
	status := strings.ToUpper(res.Status)
	if status == "" {
		status = models.TemplatePending
	}
	return h.store.MarkTemplateSubmitted(ctx, row.ID, h.cfg.WhatsApp.WABAID, res.ID, status, strings.ToUpper(res.Category))
}

func (h *Handlers) templateSubmit(c echo.Context) error {
	row, err := h.templateParam(c)
	if err != nil {
		return err
	}
	if !row.Editable() {
		h.flash(c, "info", "This template was submitted already.")
		return redirect(c, "/templates/"+strconv.FormatInt(row.ID, 10))
	}
	h.submitAndFlash(c, row)
	return redirect(c, "/templates/"+strconv.FormatInt(row.ID, 10))
}

func (h *Handlers) detailView(c echo.Context, row *models.Template) (tv.DetailView, error) {
	t, err := templateFromRow(row)
	if err != nil {
		return tv.DetailView{}, err
	}
	contact, name, _, _, err := h.samples(c.Request().Context(), "")
	if err != nil {
		return tv.DetailView{}, err
	}
	_, testSender := h.gateway.(TemplateTestSender)
	vm := tv.DetailView{ID: row.ID, Name: row.Name, Language: row.Language, Category: row.Category,
		ParameterFormat: row.ParameterFormat, Status: row.Status, StatusReason: row.StatusReason, Quality: row.Quality,
		MetaID: row.MetaID, Archived: row.ArchivedAt != nil, UpdatedAt: row.UpdatedAt, SyncedAt: row.SyncedAt,
		Preview: previewView(t, contact, name, nil), CanEdit: currentUser(c).Role.Allows(models.RoleMarketer),
		CanSubmit: h.gateway != nil && row.Editable(), TestSender: testSender, Errors: components.FieldErrors{}}
	for _, l := range tv.Languages {
		if l != row.Language {
			vm.Languages = append(vm.Languages, tv.Option{Value: l, Label: l})
		}
	}
	return vm, nil
}

func (h *Handlers) templateDetail(c echo.Context) error {
	row, err := h.templateParam(c)
	if err != nil {
		return err
	}
	vm, err := h.detailView(c, row)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, tv.Detail(h.page(c, row.Name, "templates"), vm), nil)
}

// detailInvalid re-renders the detail page with a field error (422).
func (h *Handlers) detailInvalid(c echo.Context, row *models.Template, field, msg string, set func(*tv.DetailView)) error {
	vm, err := h.detailView(c, row)
	if err != nil {
		return err
	}
	vm.Errors[field] = msg
	if set != nil {
		set(&vm)
	}
	return render(c, http.StatusUnprocessableEntity, tv.Detail(h.page(c, row.Name, "templates"), vm), nil)
}

func (h *Handlers) templateDuplicate(c echo.Context) error {
	row, err := h.templateParam(c)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("name"))
	if !templateNameRe.MatchString(name) {
		return h.detailInvalid(c, row, "name", "Use lowercase letters, digits and underscores.", nil)
	}
	dup, err := h.store.DuplicateTemplate(c.Request().Context(), row.ID, name)
	if errors.Is(err, models.ErrConflict) {
		return h.detailInvalid(c, row, "name", "A template "+name+" in "+row.Language+" exists already.", nil)
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", "Duplicated as "+dup.Name+".")
	return redirect(c, "/templates/"+strconv.FormatInt(dup.ID, 10)+"/edit")
}

func (h *Handlers) templateAddLanguage(c echo.Context) error {
	row, err := h.templateParam(c)
	if err != nil {
		return err
	}
	lang := strings.TrimSpace(c.FormValue("language"))
	if !languageCodeRe.MatchString(lang) {
		return h.detailInvalid(c, row, "language", "Choose a language code like en or pt_BR.", nil)
	}
	tr, err := h.store.AddTemplateLanguage(c.Request().Context(), row.ID, lang)
	if errors.Is(err, models.ErrConflict) {
		return h.detailInvalid(c, row, "language", row.Name+" exists in "+lang+" already.", nil)
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", "Added "+lang+": translate the text, then submit it.")
	return redirect(c, "/templates/"+strconv.FormatInt(tr.ID, 10)+"/edit")
}

func (h *Handlers) templateArchive(c echo.Context) error {
	row, err := h.templateParam(c)
	if err != nil {
		return err
	}
	if err := h.store.ArchiveTemplate(c.Request().Context(), row.ID); err != nil {
		return err
	}
	h.flash(c, "success", "Archived "+row.Name+" ("+row.Language+").")
	return redirect(c, "/templates")
}

func (h *Handlers) templateSendTest(c echo.Context) error {
	row, err := h.templateParam(c)
	if err != nil {
		return err
	}
	phone := strings.TrimSpace(c.FormValue("phone"))
	keep := func(vm *tv.DetailView) { vm.TestPhone = phone }
	if !testPhoneRe.MatchString(phone) {
		return h.detailInvalid(c, row, "phone", "Enter your number in international format, e.g. +5511987654321.", keep)
	}
	sender, ok := h.gateway.(TemplateTestSender)
	if !ok {
		return h.detailInvalid(c, row, "phone", "Test sends are not available: no WhatsApp sender is wired into this Herald.", keep)
	}
	if row.Status != models.TemplateApproved {
		return h.detailInvalid(c, row, "phone", "WhatsApp sends only approved templates; this one is "+row.Status+".", keep)
	}
	if err := sender.SendTest(c.Request().Context(), row.ID, phone); err != nil {
		h.log.Warn("send test", "template", row.ID, "err", err)
		return h.detailInvalid(c, row, "phone", "The test could not be sent: "+err.Error(), keep)
	}
	h.flash(c, "success", "Test sent to "+phone+".")
	return redirect(c, "/templates/"+strconv.FormatInt(row.ID, 10))
}

func (h *Handlers) templatesSync(c echo.Context) error {
	if h.gateway == nil {
		h.flash(c, "error", "WhatsApp is not connected, so there is nothing to sync.")
		return redirect(c, "/templates")
	}
	res, err := jobs.SyncTemplates(c.Request().Context(), h.store, h.gateway, h.cfg.WhatsApp.WABAID)
	if err != nil {
		h.log.Warn("sync templates", "err", err)
		h.flash(c, "error", "Sync failed: "+err.Error())
		return redirect(c, "/templates")
	}
	h.flash(c, "success", fmt.Sprintf("Synced with WhatsApp: %d imported, %d updated.", res.Imported, res.Updated))
	return redirect(c, "/templates")
}

// trackedLink records a tap on a tracked URL button and sends the user on,
// with UTM parameters so the shop's analytics see WhatsApp as the source.
func (h *Handlers) trackedLink(c echo.Context) error {
	code := c.Param("code")
	notFound := echo.NewHTTPError(http.StatusNotFound, "This link is unknown or has expired.")
	if !templating.ValidLinkCode(code) {
		return notFound
	}
	tap, err := h.store.RecordLinkTap(c.Request().Context(), code, time.Now())
	if errors.Is(err, models.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	dest, err := templating.WithUTM(tap.URL, tap.UTMCampaign())
	if err != nil {
		return fmt.Errorf("tracked link %s: %w", code, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return c.Redirect(http.StatusFound, dest)
}

// --- REST API ---

// apiTemplate is a template in the API: the CONTRACT shape plus its state.
type apiTemplate struct {
	ID int64 `json:"id"`
	templating.Template
	Status       string     `json:"status"`
	StatusReason string     `json:"status_reason,omitempty"`
	Quality      string     `json:"quality"`
	MetaID       string     `json:"meta_id,omitempty"`
	Archived     bool       `json:"archived"`
	SyncedAt     *time.Time `json:"synced_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func toAPITemplate(row *models.Template) (apiTemplate, error) {
	t, err := templateFromRow(row)
	if err != nil {
		return apiTemplate{}, err
	}
	return apiTemplate{ID: row.ID, Template: t, Status: row.Status, StatusReason: row.StatusReason, Quality: row.Quality,
		MetaID: row.MetaID, Archived: row.ArchivedAt != nil, SyncedAt: row.SyncedAt, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}, nil
}

func (h *Handlers) apiTemplateCreate(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return apiErr(http.StatusBadRequest, "bad_request", "The body could not be read.")
	}
	t, err := templating.ParseJSON(body)
	if err != nil {
		return apiErr(http.StatusBadRequest, "bad_json", strings.TrimPrefix(err.Error(), "templating: "))
	}
	if issues := templating.Validate(t, h.definitionOptions()); len(issues) > 0 {
		fields := map[string]string{}
		for _, is := range issues {
			if prev, ok := fields[is.Field]; ok {
				fields[is.Field] = prev + "; " + is.Message
			} else {
				fields[is.Field] = is.Message
			}
		}
		return apiFieldsErr(fields)
	}
	row, err := rowFromTemplate(t)
	if err != nil {
		return err
	}
	if err := h.store.CreateTemplate(c.Request().Context(), row); err != nil {
		return err
	}
	out, err := toAPITemplate(row)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

func (h *Handlers) apiTemplatesList(c echo.Context) error {
	f := models.TemplateFilter{Status: strings.ToUpper(c.QueryParam("status")), Query: c.QueryParam("q"),
		Archived: c.QueryParam("archived") == "true"}
	rows, err := h.store.ListTemplates(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]apiTemplate, 0, len(rows))
	for i := range rows {
		t, err := toAPITemplate(&rows[i])
		if err != nil {
			return err
		}
		out = append(out, t)
	}
	return c.JSON(http.StatusOK, map[string]any{"templates": out})
}

func (h *Handlers) apiTemplateGet(c echo.Context) error {
	row, err := h.templateParam(c)
	if err != nil {
		return err
	}
	out, err := toAPITemplate(row)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
