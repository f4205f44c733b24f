package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/phone"
	"github.com/heraldhq/herald/views/components"
	views "github.com/heraldhq/herald/views/segments"
)

// segmentCountMaxAge is how old a cached count the list may show.
const segmentCountMaxAge = 10 * time.Minute

// sampleSize is how many matching contacts the builder shows.
const sampleSize = 10

// segmentsRoutes registers the segments pages and API endpoints.
func (h *Handlers) segmentsRoutes(r routes) {
	r.view("/segments", h.segmentsList)
	r.edit(http.MethodGet, "/segments/new", h.segmentNew)
	r.edit(http.MethodPost, "/segments", h.segmentCreate)
	r.edit(http.MethodPost, "/segments/builder", h.segmentBuilder)
	r.edit(http.MethodPost, "/segments/preview", h.segmentPreview)
	r.edit(http.MethodPost, "/segments/upload", h.segmentUpload)
	r.view("/segments/:id", h.segmentShow)
	r.edit(http.MethodPost, "/segments/:id", h.segmentSave)
	r.edit(http.MethodPost, "/segments/:id/duplicate", h.segmentDuplicate)
	r.edit(http.MethodPost, "/segments/:id/freeze", h.segmentFreeze)
	r.edit(http.MethodPost, "/segments/:id/delete", h.segmentDelete)

	r.apiRoute(http.MethodGet, "/segments", h.apiSegmentsList, models.RoleViewer)
	r.apiRoute(http.MethodPost, "/segments", h.apiSegmentCreate, models.RoleMarketer)
	r.apiRoute(http.MethodGet, "/segments/fields", h.apiSegmentFields, models.RoleViewer)
	r.apiRoute(http.MethodPost, "/segments/preview", h.apiSegmentPreview, models.RoleViewer)
	r.apiRoute(http.MethodGet, "/segments/:id", h.apiSegmentGet, models.RoleViewer)
	r.apiRoute(http.MethodPatch, "/segments/:id", h.apiSegmentUpdate, models.RoleMarketer)
	r.apiRoute(http.MethodDelete, "/segments/:id", h.apiSegmentDelete, models.RoleMarketer)
	r.apiRoute(http.MethodGet, "/segments/:id/count", h.apiSegmentCount, models.RoleViewer)
}

func segmentID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	return id, nil
}

func userID(c echo.Context) *int64 {
	if u := currentUser(c); u != nil {
		return &u.ID
	}
	return nil
}

func canEdit(c echo.Context) bool {
	u := currentUser(c)
	return u != nil && u.Role.Allows(models.RoleMarketer)
}

// --- pages -------------------------------------------------------------------

func (h *Handlers) segmentsListView(c echo.Context) (views.ListView, error) {
	segs, err := h.store.ListSegmentsCounted(c.Request().Context(), segmentCountMaxAge)
	if err != nil {
		return views.ListView{}, err
	}
	vm := views.ListView{CanEdit: canEdit(c)}
	for _, s := range segs {
		vm.Rows = append(vm.Rows, views.Row{ID: s.ID, Name: s.Name, Kind: s.Kind, Count: s.MatchCount,
			Reachable: s.ReachableCount, UpdatedAt: s.UpdatedAt})
	}
	return vm, nil
}

func (h *Handlers) segmentsList(c echo.Context) error {
	vm, err := h.segmentsListView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.List(h.page(c, "Segments", "segments"), vm), nil)
}

// builderFor gathers the builder's dropdowns: fields, discovered
// attributes, known values of the fields in use, campaigns and segments.
func (h *Handlers) builderFor(ctx context.Context, root views.Node, self int64, readOnly bool) (views.Builder, error) {
	b := views.Builder{Root: root, MaxDepth: models.MaxRuleDepth, ReadOnly: readOnly, Suggestions: map[string][]string{}}
	for _, f := range models.SegmentFields() {
		b.Fields = append(b.Fields, views.Field{Key: f.Key, Label: f.Label, Type: string(f.Type), Operators: f.Operators,
			Values: f.Values, Group: "Contact"})
	}
	keys, err := h.store.DiscoverAttributeKeys(ctx)
	if err != nil {
		return b, err
	}
	// Attributes named in the rules show even when no contact has them.
	for _, k := range fieldsInUse(root) {
		if name, ok := strings.CutPrefix(k, models.AttributePrefix); ok && !slices.Contains(keys, name) {
			if _, valid := models.LookupField(k); valid {
				keys = append(keys, name)
			}
		}
	}
	for _, k := range keys {
		f := models.AttributeFieldInfo(k)
		b.Fields = append(b.Fields, views.Field{Key: f.Key, Label: f.Label, Type: string(f.Type), Operators: f.Operators,
			Group: "Custom attributes"})
	}
	for _, key := range fieldsInUse(root) {
		if !suggestible(key) {
			continue
		}
		values, err := h.store.DistinctValues(ctx, key)
		if err != nil {
			return b, err
		}
		b.Suggestions[key] = values
	}
	campaigns, err := h.store.SegmentCampaignChoices(ctx)
	if err != nil {
		return b, err
	}
	for _, ch := range campaigns {
		b.Campaigns = append(b.Campaigns, views.Choice{ID: ch.ID, Label: ch.Name})
	}
	segs, err := h.store.ListSegments(ctx)
	if err != nil {
		return b, err
	}
	for _, s := range segs {
		if s.ID != self {
			b.Segments = append(b.Segments, views.Choice{ID: s.ID, Label: s.Name})
		}
	}
	return b, nil
}

func suggestible(key string) bool {
	switch key {
	case "country", "timezone", "language", "tags":
		return true
	}
	return strings.HasPrefix(key, models.AttributePrefix)
}

func fieldsInUse(n views.Node) []string {
	var out []string
	if n.Kind == "field" && !slices.Contains(out, n.Field) {
		out = append(out, n.Field)
	}
	for _, c := range n.Children {
		for _, k := range fieldsInUse(c) {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// preview counts the rules and samples the audience; invalid rules put
// their errors on the tree's nodes instead.
func (h *Handlers) preview(ctx context.Context, rules json.RawMessage, root *views.Node) (views.Preview, error) {
	total, reachable, err := h.store.CountSegment(ctx, rules)
	if errors.Is(err, models.ErrInvalid) {
		pv := views.Preview{Invalid: true}
		pv.Errors = attachErrors(root, models.RuleErrorFields(err))
		return pv, nil
	}
	if err != nil {
		return views.Preview{}, err
	}
	sample, err := h.store.SampleSegment(ctx, rules, sampleSize)
	if err != nil {
		return views.Preview{}, err
	}
	return views.Preview{Total: total, Reachable: reachable, Sample: sampleRows(sample)}, nil
}

func sampleRows(sample []models.SegmentSample) []views.SampleRow {
	var rows []views.SampleRow
	for _, s := range sample {
		rows = append(rows, views.SampleRow{ID: s.ID, Name: strings.TrimSpace(s.FirstName + " " + s.LastName), Phone: s.Phone,
			Country: s.Country, Stage: s.LifecycleStage, Reachability: s.Reachability, OptIn: s.MarketingOptIn,
			Spent: strconv.FormatFloat(s.TotalSpent, 'f', 2, 64)})
	}
	return rows
}

// editView builds the builder page for a tree.
func (h *Handlers) editView(c echo.Context, seg *models.Segment, root views.Node) (views.EditView, error) {
	ctx := c.Request().Context()
	vm := views.EditView{Kind: models.SegmentDynamic, CanEdit: canEdit(c), Errors: components.FieldErrors{}}
	var self int64
	if seg != nil {
		vm.ID, vm.Name, vm.Description, vm.Kind, vm.UpdatedAt = seg.ID, seg.Name, seg.Description, seg.Kind, seg.UpdatedAt
		self = seg.ID
	}
	if vm.Kind == models.SegmentStatic {
		members, err := h.store.SegmentMemberCount(ctx, seg.ID)
		if err != nil {
			return vm, err
		}
		vm.Members = members
		// A static list previews through a reference to itself.
		rules := json.RawMessage(fmt.Sprintf(`{"segment":%d,"op":"in"}`, seg.ID))
		if vm.Preview, err = h.preview(ctx, rules, &views.Node{}); err != nil {
			return vm, err
		}
		return vm, nil
	}
	fixOperators(&root)
	var err error
	if vm.Preview, err = h.preview(ctx, rulesFromTree(root), &root); err != nil {
		return vm, err
	}
	vm.Builder, err = h.builderFor(ctx, root, self, !vm.CanEdit)
	return vm, err
}

func (h *Handlers) segmentNew(c echo.Context) error {
	vm, err := h.editView(c, nil, treeFromRules(models.EmptyRules))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Edit(h.page(c, "New segment", "segments"), vm), nil)
}

func (h *Handlers) segmentShow(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	seg, err := h.store.Segment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	vm, err := h.editView(c, seg, treeFromRules(seg.Rules))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Edit(h.page(c, seg.Name, "segments"), vm), nil)
}

// segmentBuilder re-renders the builder after a structural change and
// tells the preview to refresh.
func (h *Handlers) segmentBuilder(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	root := treeFromForm(form)
	if action := form.Get("action"); action != "" {
		root = applyAction(root, action)
	}
	fixOperators(&root)
	ctx := c.Request().Context()
	if _, _, err := h.store.CompileRules(ctx, rulesFromTree(root)); errors.Is(err, models.ErrInvalid) {
		attachErrors(&root, models.RuleErrorFields(err))
	} else if err != nil {
		return err
	}
	b, err := h.builderFor(ctx, root, formSegmentID(c), false)
	if err != nil {
		return err
	}
	c.Response().Header().Set("HX-Trigger", "segment-changed")
	return render(c, http.StatusOK, views.BuilderFragment(b), nil)
}

// formSegmentID is the id of the segment being edited, from the page URL
// htmx reports, so the segment dropdown leaves it out.
func formSegmentID(c echo.Context) int64 {
	u := c.Request().Header.Get("HX-Current-URL")
	i := strings.Index(u, "/segments/")
	if i < 0 {
		return 0
	}
	id, _ := strconv.ParseInt(strings.SplitN(u[i+len("/segments/"):], "/", 2)[0], 10, 64)
	return id
}

func (h *Handlers) segmentPreview(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	root := treeFromForm(form)
	fixOperators(&root)
	pv, err := h.preview(c.Request().Context(), rulesFromTree(root), &root)
	if err != nil {
		return err
	}
	if pv.Invalid {
		// Errors not tied to a condition are listed; the others show
		// beside their conditions once the builder re-renders.
		for _, n := range flatten(root) {
			pv.Errors = append(pv.Errors, n.Errors...)
		}
	}
	return render(c, http.StatusOK, views.PreviewFragment(pv), nil)
}

func flatten(n views.Node) []views.Node {
	out := []views.Node{n}
	for _, c := range n.Children {
		out = append(out, flatten(c)...)
	}
	return out
}

// segmentForm is the builder page's own fields; the rules come from the tree.
type segmentForm struct {
	Name        string `form:"name"`
	Description string `form:"description"`
}

// Validate returns what is wrong, per field.
func (f segmentForm) Validate() components.FieldErrors {
	errs := components.FieldErrors{}
	if strings.TrimSpace(f.Name) == "" {
		errs["name"] = "Name the segment."
	} else if len(f.Name) > models.MaxSegmentName {
		errs["name"] = fmt.Sprintf("Use at most %d characters.", models.MaxSegmentName)
	}
	if len(f.Description) > 2000 {
		errs["description"] = "Use at most 2000 characters."
	}
	return errs
}

func (h *Handlers) segmentCreate(c echo.Context) error { return h.segmentSubmit(c, nil) }

func (h *Handlers) segmentSave(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	seg, err := h.store.Segment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return h.segmentSubmit(c, seg)
}

// segmentSubmit creates (seg nil) or updates a segment from the builder
// form; problems re-render the page with 422 and each error in place.
func (h *Handlers) segmentSubmit(c echo.Context, seg *models.Segment) error {
	ctx := c.Request().Context()
	var f segmentForm
	if err := c.Bind(&f); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	root := treeFromForm(form)
	fixOperators(&root)
	rules := rulesFromTree(root)
	errs := f.Validate()
	var saved *models.Segment
	if len(errs) == 0 {
		switch {
		case seg == nil:
			saved, err = h.store.CreateSegment(ctx, models.SegmentInput{Name: f.Name, Description: f.Description, Rules: rules, CreatedByID: userID(c)})
		case seg.Kind == models.SegmentStatic:
			saved, err = h.store.UpdateSegment(ctx, seg.ID, models.SegmentPatch{Name: &f.Name, Description: &f.Description})
		default:
			saved, err = h.store.UpdateSegment(ctx, seg.ID, models.SegmentPatch{Name: &f.Name, Description: &f.Description, Rules: rules})
		}
		if fields := models.RuleErrorFields(err); fields != nil {
			errs["rules"] = "Some conditions need fixing; see the notes beside them."
			err = nil
		}
		if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		vm, err := h.editView(c, seg, root)
		if err != nil {
			return err
		}
		vm.Name, vm.Description, vm.Errors = f.Name, f.Description, errs
		if seg == nil {
			vm.Name = f.Name
		}
		return render(c, http.StatusUnprocessableEntity, views.Edit(h.page(c, "Segment", "segments"), vm), nil)
	}
	h.flash(c, "success", "Saved the segment “"+saved.Name+"”.")
	return redirect(c, "/segments/"+strconv.FormatInt(saved.ID, 10))
}

func (h *Handlers) segmentDuplicate(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	dup, err := h.store.DuplicateSegment(c.Request().Context(), id, userID(c))
	if err != nil {
		return err
	}
	h.flash(c, "success", "Made “"+dup.Name+"”.")
	return redirect(c, "/segments/"+strconv.FormatInt(dup.ID, 10))
}

func (h *Handlers) segmentFreeze(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	frozen, err := h.store.FreezeSegment(c.Request().Context(), id, "", userID(c))
	if err != nil {
		return err
	}
	n, err := h.store.SegmentMemberCount(c.Request().Context(), frozen.ID)
	if err != nil {
		return err
	}
	h.flash(c, "success", fmt.Sprintf("Saved %s contacts as the static list “%s”.", components.Thousands(n), frozen.Name))
	return redirect(c, "/segments/"+strconv.FormatInt(frozen.ID, 10))
}

func (h *Handlers) segmentDelete(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	err = h.store.DeleteSegment(c.Request().Context(), id)
	if errors.Is(err, models.ErrConflict) {
		h.flash(c, "error", "Not deleted: "+conflictMessage(err)+".")
		return redirect(c, "/segments/"+strconv.FormatInt(id, 10))
	}
	if err != nil {
		return err
	}
	h.flash(c, "success", "Segment deleted.")
	return redirect(c, "/segments")
}

func (h *Handlers) segmentUpload(c echo.Context) error {
	ctx := c.Request().Context()
	// The CSRF check has parsed the multipart form already (large files
	// spill to disk); ReadPhoneList caps the numbers at MaxPhoneList.
	form := views.UploadForm{Name: strings.TrimSpace(c.FormValue("name")), DefaultCountry: c.FormValue("default_country"),
		Errors: components.FieldErrors{}}
	if form.Name == "" {
		form.Errors["name"] = "Name the list."
	}
	var numbers []string
	file, err := c.FormFile("file")
	if err != nil {
		form.Errors["file"] = "Choose a file of phone numbers."
	} else {
		f, err := file.Open()
		if err != nil {
			return fmt.Errorf("handlers: open upload: %w", err)
		}
		defer f.Close()
		if numbers, err = models.ReadPhoneList(f); err != nil {
			form.Errors["file"] = "The file could not be read as a list of numbers."
		} else if len(numbers) == 0 {
			form.Errors["file"] = "The file holds no phone numbers."
		}
	}
	// Numbers are read like the contact import reads them; national
	// numbers need the default country.
	defaultCountry := strings.ToUpper(strings.TrimSpace(c.FormValue("default_country")))
	var e164 []string
	rejected := 0
	for _, raw := range numbers {
		n, err := phone.Parse(raw, defaultCountry)
		if err != nil {
			rejected++
			continue
		}
		e164 = append(e164, n.E164)
	}
	var res *models.PhoneListResult
	if len(form.Errors) == 0 {
		res, err = h.store.CreateStaticSegmentFromPhones(ctx, form.Name, e164, userID(c))
		if errors.Is(err, models.ErrInvalid) {
			form.Errors["file"] = "None of the lines is a valid phone number; numbers without a country code need the default country."
		} else if err != nil {
			return err
		}
	}
	if len(form.Errors) > 0 {
		vm, err := h.segmentsListView(c)
		if err != nil {
			return err
		}
		vm.Upload = form
		return render(c, http.StatusUnprocessableEntity, views.List(h.page(c, "Segments", "segments"), vm), nil)
	}
	msg := fmt.Sprintf("Made the list “%s”: %s of %s numbers matched a contact.", res.Segment.Name,
		components.Thousands(int64(res.Matched)), components.Thousands(int64(res.Numbers)))
	if rejected > 0 {
		msg += fmt.Sprintf(" %d lines were not valid phone numbers.", rejected)
	}
	h.flash(c, "success", msg)
	return redirect(c, "/segments/"+strconv.FormatInt(res.Segment.ID, 10))
}

// --- REST API ----------------------------------------------------------------

// rulesErr turns invalid rules into the API's 422 with a path per problem.
func rulesErr(err error) error {
	if fields := models.RuleErrorFields(err); fields != nil {
		return &APIError{Status: http.StatusUnprocessableEntity, Code: "invalid_rules",
			Message: "The segment rules are invalid; see fields for where.", Fields: fields}
	}
	return err
}

type apiSegmentBody struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Rules       json.RawMessage `json:"rules"`
}

func bindJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		return apiErr(http.StatusBadRequest, "bad_json", "The body must be a JSON object: "+err.Error())
	}
	return nil
}

func (h *Handlers) apiSegmentsList(c echo.Context) error {
	segs, err := h.store.ListSegmentsCounted(c.Request().Context(), segmentCountMaxAge)
	if err != nil {
		return err
	}
	if segs == nil {
		segs = []models.Segment{}
	}
	return c.JSON(http.StatusOK, map[string]any{"segments": segs})
}

func (h *Handlers) apiSegmentCreate(c echo.Context) error {
	var body apiSegmentBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if body.Name == nil || strings.TrimSpace(*body.Name) == "" {
		return apiFieldsErr(map[string]string{"name": "Name the segment."})
	}
	in := models.SegmentInput{Name: *body.Name, Rules: body.Rules}
	if body.Description != nil {
		in.Description = *body.Description
	}
	seg, err := h.store.CreateSegment(c.Request().Context(), in)
	if err != nil {
		return rulesErr(err)
	}
	return c.JSON(http.StatusCreated, seg)
}

func (h *Handlers) apiSegmentGet(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	seg, err := h.store.Segment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, seg)
}

func (h *Handlers) apiSegmentUpdate(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	var body apiSegmentBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	seg, err := h.store.UpdateSegment(c.Request().Context(), id, models.SegmentPatch{Name: body.Name, Description: body.Description, Rules: body.Rules})
	if err != nil {
		return rulesErr(err)
	}
	return c.JSON(http.StatusOK, seg)
}

func (h *Handlers) apiSegmentDelete(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	if err := h.store.DeleteSegment(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handlers) apiSegmentCount(c echo.Context) error {
	id, err := segmentID(c)
	if err != nil {
		return err
	}
	total, reachable, err := h.store.CountSavedSegment(c.Request().Context(), id)
	if err != nil {
		return rulesErr(err)
	}
	return c.JSON(http.StatusOK, map[string]int64{"count": total, "reachable": reachable})
}

func (h *Handlers) apiSegmentPreview(c echo.Context) error {
	var body apiSegmentBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if len(body.Rules) == 0 {
		return &APIError{Status: http.StatusUnprocessableEntity, Code: "invalid_rules", Message: "Send the rules to count.",
			Fields: map[string]string{"rules": "required"}}
	}
	total, reachable, err := h.store.CountSegment(c.Request().Context(), body.Rules)
	if err != nil {
		return rulesErr(err)
	}
	return c.JSON(http.StatusOK, map[string]int64{"count": total, "reachable": reachable})
}

// apiSegmentFields describes what rules may test, for API clients that
// build their own editors.
func (h *Handlers) apiSegmentFields(c echo.Context) error {
	keys, err := h.store.DiscoverAttributeKeys(c.Request().Context())
	if err != nil {
		return err
	}
	fields := models.SegmentFields()
	for _, k := range keys {
		fields = append(fields, models.AttributeFieldInfo(k))
	}
	return c.JSON(http.StatusOK, map[string]any{"fields": fields, "event_operators": models.EventOperators,
		"campaign_operators": models.CampaignOperators, "funnel_steps": models.FunnelSteps,
		"limits": map[string]int{"depth": models.MaxRuleDepth, "conditions": models.MaxRuleConditions}})
}
