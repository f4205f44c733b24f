package handlers

import (
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/csvimport"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/contacts"
)

// previewRows is how many rows the mapping step shows.
const previewRows = 8

// reportErrors is how many rejected rows the report page lists.
const reportErrors = 200

func (h *Handlers) importsRoutes(r routes) {
	r.view("/contacts/imports", h.importsList)
	r.edit(http.MethodGet, "/contacts/imports/new", h.importUploadPage)
	r.edit(http.MethodPost, "/contacts/imports", h.importUpload)
	r.view("/contacts/imports/:id", h.importShow)
	r.edit(http.MethodPost, "/contacts/imports/:id/preview", h.importPreview)
	r.edit(http.MethodPost, "/contacts/imports/:id/confirm", h.importConfirm)
	r.view("/contacts/imports/:id/progress", h.importProgress)
	r.view("/contacts/imports/:id/errors.csv", h.importErrorsCSV)
}

// errFileTooLarge is a user error: the upload exceeds cfg.MaxImportBytes.
var errFileTooLarge = errors.New("file too large")

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// receiveUpload stores the multipart "file" under the data folder and
// returns the import row to create for it. The body is capped so a huge
// upload is refused while it streams, not after it filled the disk.
func (h *Handlers) receiveUpload(c echo.Context) (*models.Import, *multipart.FileHeader, error) {
	limit := h.cfg.MaxImportBytes
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, limit+1<<20)
	fh, err := c.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, errFileTooLarge
		}
		return nil, nil, fmt.Errorf("read upload: %w", err)
	}
	if fh.Size > limit {
		return nil, nil, errFileTooLarge
	}
	src, err := fh.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("handlers: open upload: %w", err)
	}
	defer src.Close()
	dir := filepath.Join(h.cfg.DataDir, "imports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("handlers: create %s: %w", dir, err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	path := filepath.Join(dir, time.Now().UTC().Format("20060102-150405")+"-"+hex.EncodeToString(suffix)+".csv")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("handlers: store upload: %w", err)
	}
	n, err := io.Copy(dst, io.LimitReader(src, limit+1))
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errFileTooLarge
	}
	if err != nil {
		_ = os.Remove(path)
		if errors.Is(err, errFileTooLarge) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("handlers: store upload: %w", err)
	}
	name := filepath.Base(strings.ReplaceAll(fh.Filename, `\`, "/"))
	im := &models.Import{FileName: name, FilePath: path, FileSize: n}
	if u := currentUser(c); u != nil {
		im.CreatedByID = &u.ID
	}
	if k := currentAPIKey(c); k != nil {
		im.APIKeyID = &k.ID
	}
	return im, fh, nil
}

func (h *Handlers) importsList(c echo.Context) error {
	list, err := h.store.ListImports(c.Request().Context(), 100)
	if err != nil {
		return err
	}
	vm := contacts.ImportsView{CanEdit: currentUser(c).Role.Allows(models.RoleMarketer)}
	for _, im := range list {
		vm.Imports = append(vm.Imports, contacts.ImportSummary{ID: im.ID, FileName: im.FileName, Status: im.Status,
			Total: im.RowsTotal, Imported: im.RowsImported, Updated: im.RowsUpdated, Rejected: im.RowsRejected, CreatedAt: im.CreatedAt})
	}
	return render(c, http.StatusOK, contacts.Imports(h.page(c, "Imports", "contacts"), vm), nil)
}

func (h *Handlers) importUploadPage(c echo.Context) error {
	vm := contacts.UploadView{MaxBytes: humanBytes(h.cfg.MaxImportBytes)}
	return render(c, http.StatusOK, contacts.Upload(h.page(c, "Import contacts", "contacts"), vm), nil)
}

func (h *Handlers) importUpload(c echo.Context) error {
	vm := contacts.UploadView{MaxBytes: humanBytes(h.cfg.MaxImportBytes)}
	im, _, err := h.receiveUpload(c)
	switch {
	case errors.Is(err, errFileTooLarge):
		vm.Error = "The file is larger than the limit of " + vm.MaxBytes + ". Split it, or ask your administrator to raise HERALD_MAX_IMPORT_BYTES."
		return render(c, http.StatusRequestEntityTooLarge, contacts.Upload(h.page(c, "Import contacts", "contacts"), vm), nil)
	case err != nil && strings.HasPrefix(err.Error(), "read upload"):
		vm.Error = "Choose a CSV file to upload."
		return render(c, http.StatusUnprocessableEntity, contacts.Upload(h.page(c, "Import contacts", "contacts"), vm), nil)
	case err != nil:
		return err
	}
	if msg := checkCSV(im.FilePath, nil); msg != "" {
		_ = os.Remove(im.FilePath)
		vm.Error = msg
		return render(c, http.StatusUnprocessableEntity, contacts.Upload(h.page(c, "Import contacts", "contacts"), vm), nil)
	}
	opts := models.ImportOptions{Mode: models.ImportUpsert, Overwrite: models.ImportOverwritable}
	if err := h.store.CreateImport(c.Request().Context(), im, opts, false); err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/contacts/imports/%d", im.ID))
}

// checkCSV opens a stored upload and returns what is wrong with it for a
// person ("" when it is readable and, if given, the mapping fits).
func checkCSV(path string, mapping csvimport.Mapping) string {
	f, err := os.Open(path)
	if err != nil {
		return "The uploaded file could not be opened."
	}
	defer f.Close()
	r, err := csvimport.NewReader(f)
	if err != nil {
		return "This file cannot be imported: " + err.Error()
	}
	if mapping == nil {
		mapping = csvimport.GuessMapping(r.Header())
	}
	if err := mapping.Validate(r.Header()); err != nil {
		return "The column mapping does not fit the file: " + err.Error()
	}
	return ""
}

func importID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	return id, nil
}

func (h *Handlers) importShow(c echo.Context) error {
	id, err := importID(c)
	if err != nil {
		return err
	}
	im, err := h.store.Import(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if im.Status == models.ImportDraft {
		if !currentUser(c).Role.Allows(models.RoleMarketer) {
			return echo.NewHTTPError(http.StatusForbidden, "This import waits for a marketer to map its columns.")
		}
		vm, err := mappingView(im, nil, c)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, contacts.Mapping(h.page(c, "Map columns", "contacts"), vm), nil)
	}
	vm, err := h.importView(c, im)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, contacts.Progress(h.page(c, "Import", "contacts"), vm), contacts.Status(vm))
}

func (h *Handlers) importProgress(c echo.Context) error {
	id, err := importID(c)
	if err != nil {
		return err
	}
	im, err := h.store.Import(c.Request().Context(), id)
	if err != nil {
		return err
	}
	vm, err := h.importView(c, im)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, contacts.Status(vm), nil)
}

func roundDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Minute:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Minute).String()
	}
}

func (h *Handlers) importView(c echo.Context, im *models.Import) (contacts.ImportView, error) {
	now := time.Now().UTC()
	vm := contacts.ImportView{ID: im.ID, FileName: im.FileName, Status: im.Status, Reason: im.StatusReason, Mode: im.Mode,
		Total: im.RowsTotal, Imported: im.RowsImported, Updated: im.RowsUpdated, Unchanged: im.RowsUnchanged,
		Skipped: im.RowsSkipped, Merged: im.RowsMerged(), Rejected: im.RowsRejected, Finished: im.Finished(),
		Percent:       int(im.Fraction() * 100),
		RowsPerSecond: strconv.FormatFloat(im.RowsPerSecond(now), 'f', 0, 64),
		ETA:           roundDuration(im.ETA(now)),
	}
	if im.StartedAt != nil && im.FinishedAt != nil {
		vm.Elapsed = im.FinishedAt.Sub(*im.StartedAt).Round(time.Millisecond).String()
	}
	if im.Finished() && im.RowsRejected > 0 {
		errs, err := h.store.ImportErrors(c.Request().Context(), im.ID, 0, reportErrors+1)
		if err != nil {
			return vm, err
		}
		vm.MoreErrors = len(errs) > reportErrors
		for _, e := range errs[:min(len(errs), reportErrors)] {
			vm.Errors = append(vm.Errors, contacts.ImportErrorRow{Line: e.Line, Message: e.Message, Raw: e.Raw})
		}
	}
	return vm, nil
}

// mappingView reads the file's header and first rows and shows them as
// mapping (the saved or guessed one, or the form's) would import them.
func mappingView(im *models.Import, form map[string][]string, c echo.Context) (contacts.MappingView, error) {
	vm := contacts.MappingView{ID: im.ID, FileName: im.FileName, FileSize: humanBytes(im.FileSize), Mode: im.Mode,
		Tags: strings.Join(im.Tags, ", "), DefaultCountry: im.DefaultCountry, Consent: im.Consent, Overwrite: map[string]bool{}}
	for _, f := range im.Overwrite {
		vm.Overwrite[f] = true
	}
	f, err := os.Open(im.FilePath)
	if err != nil {
		vm.Error = "The uploaded file is no longer available; upload it again."
		return vm, nil
	}
	defer f.Close()
	r, err := csvimport.NewReader(f)
	if err != nil {
		vm.Error = "This file cannot be imported: " + err.Error()
		return vm, nil
	}
	vm.Encoding = r.Encoding()
	vm.Separator = map[rune]string{',': "commas", ';': "semicolons", '\t': "tabs", '|': "pipes"}[r.Separator()]
	header := r.Header()
	var rows []csvimport.Row
	for len(rows) < previewRows {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *csvimport.RowError
		if errors.As(err, &rowErr) {
			vm.Preview = append(vm.Preview, contacts.PreviewRow{Line: rowErr.Line, Error: rowErr.Msg})
			continue
		}
		if err != nil {
			vm.Error = "This file cannot be read: " + err.Error()
			break
		}
		rows = append(rows, row)
	}
	mapping := csvimport.Mapping(im.Mapping)
	if len(mapping) == 0 {
		mapping = csvimport.GuessMapping(header)
	}
	if form != nil {
		mapping, vm = applyOptionsForm(form, header, vm)
	}
	for i, hname := range header {
		col := contacts.MappingColumn{Index: i, Header: hname, Field: mapping[hname]}
		if col.Field == "" {
			col.Field = csvimport.Ignore
		}
		col.Choices = append(col.Choices, contacts.FieldChoice{Key: csvimport.Ignore, Label: "— ignore —"})
		for _, f := range csvimport.Fields {
			col.Choices = append(col.Choices, contacts.FieldChoice{Key: f.Key, Label: f.Label})
		}
		attr := csvimport.AttributeKey(hname)
		col.Choices = append(col.Choices, contacts.FieldChoice{Key: attr, Label: "Custom attribute " + strings.TrimPrefix(attr, csvimport.AttributePrefix)})
		if strings.HasPrefix(col.Field, csvimport.AttributePrefix) && col.Field != attr {
			col.Choices = append(col.Choices, contacts.FieldChoice{Key: col.Field, Label: "Custom attribute " + strings.TrimPrefix(col.Field, csvimport.AttributePrefix)})
		}
		for _, row := range rows {
			if i < len(row.Fields) && row.Fields[i] != "" && len(col.Samples) < 3 {
				col.Samples = append(col.Samples, truncate(row.Fields[i], 40))
			}
		}
		vm.Columns = append(vm.Columns, col)
	}
	for _, f := range models.ImportOverwritable {
		label := strings.ReplaceAll(f, "_", " ")
		if f == "opt_in" {
			label = "marketing opt-in (from the file's column)"
		}
		vm.Overwritable = append(vm.Overwritable, contacts.FieldChoice{Key: f, Label: label})
	}
	if vm.Error == "" {
		if err := mapping.Validate(header); err != nil {
			vm.Error = strings.TrimPrefix(err.Error(), "csvimport: ")
		}
	}
	opts := csvimport.Options{DefaultCountry: vm.DefaultCountry}
	for _, row := range rows {
		ct, err := mapping.Contact(header, row, opts)
		if err != nil {
			msg := err.Error()
			var rowErr *csvimport.RowError
			if errors.As(err, &rowErr) {
				msg = rowErr.Msg
			}
			vm.Preview = append(vm.Preview, contacts.PreviewRow{Line: row.Line, Error: msg})
			continue
		}
		var extra []string
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range ct.Attributes {
				if !yield(k) {
					return
				}
			}
		}) {
			extra = append(extra, k+"="+truncate(ct.Attributes[k], 24))
		}
		if ct.LifecycleStage != "" {
			extra = append(extra, "stage="+ct.LifecycleStage)
		}
		if ct.OptIn != nil {
			extra = append(extra, "opt-in="+strconv.FormatBool(*ct.OptIn))
		}
		if ct.TotalSpent != nil {
			extra = append(extra, "spent="+strconv.FormatFloat(*ct.TotalSpent, 'f', 2, 64))
		}
		vm.Preview = append(vm.Preview, contacts.PreviewRow{Line: ct.Line, Phone: ct.Phone,
			Name: strings.TrimSpace(ct.FirstName + " " + ct.LastName), Email: ct.Email, Country: ct.Country,
			Timezone: ct.Timezone, Language: ct.Language, Tags: strings.Join(ct.Tags, ", "), Extra: strings.Join(extra, " · ")})
	}
	slices.SortStableFunc(vm.Preview, func(a, b contacts.PreviewRow) int { return a.Line - b.Line })
	return vm, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// applyOptionsForm reads the mapping step's form: map_<column index>
// selects, and the options.
func applyOptionsForm(form map[string][]string, header []string, vm contacts.MappingView) (csvimport.Mapping, contacts.MappingView) {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	mapping := csvimport.Mapping{}
	for i, hname := range header {
		if v := get("map_" + strconv.Itoa(i)); v != "" && v != csvimport.Ignore {
			mapping[hname] = v
		}
	}
	vm.Mode, vm.Tags, vm.DefaultCountry, vm.Consent = get("mode"), get("tags"), strings.ToUpper(get("default_country")), get("consent")
	vm.Overwrite = map[string]bool{}
	for _, f := range form["overwrite"] {
		vm.Overwrite[f] = true
	}
	return mapping, vm
}

func (h *Handlers) draftImport(c echo.Context) (*models.Import, error) {
	id, err := importID(c)
	if err != nil {
		return nil, err
	}
	im, err := h.store.Import(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	if im.Status != models.ImportDraft {
		return nil, echo.NewHTTPError(http.StatusConflict, "This import has already started.")
	}
	return im, nil
}

// importPreview re-renders the preview for the mapping the form holds now.
func (h *Handlers) importPreview(c echo.Context) error {
	im, err := h.draftImport(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	vm, err := mappingView(im, form, c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, contacts.Preview(vm), nil)
}

func (h *Handlers) importConfirm(c echo.Context) error {
	im, err := h.draftImport(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	vm, err := mappingView(im, form, c)
	if err != nil {
		return err
	}
	header := make([]string, len(vm.Columns))
	for i, col := range vm.Columns {
		header[i] = col.Header
	}
	mapping, _ := applyOptionsForm(form, header, vm)
	opts := models.ImportOptions{Mode: vm.Mode, Mapping: mapping, Tags: splitTags(vm.Tags),
		DefaultCountry: vm.DefaultCountry, Consent: vm.Consent}
	for _, f := range models.ImportOverwritable {
		if vm.Overwrite[f] {
			opts.Overwrite = append(opts.Overwrite, f)
		}
	}
	if vm.Error == "" {
		if err := opts.Validate(); err != nil {
			vm.Error = conflictMessage(err)
		} else if vm.DefaultCountry != "" && len(vm.DefaultCountry) != 2 {
			vm.Error = "Use a two-letter ISO code for the default country, e.g. BR."
		}
	}
	if vm.Error != "" {
		return render(c, http.StatusUnprocessableEntity, contacts.Mapping(h.page(c, "Map columns", "contacts"), vm), nil)
	}
	if err := h.store.QueueImport(c.Request().Context(), im.ID, opts); err != nil {
		return err
	}
	h.runner.Wake(jobs.ImportsWorker)
	return redirect(c, fmt.Sprintf("/contacts/imports/%d", im.ID))
}

// importErrorsCSV streams every rejected row: line, reason, original row.
func (h *Handlers) importErrorsCSV(c echo.Context) error {
	id, err := importID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	im, err := h.store.Import(ctx, id)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(im.FileName, filepath.Ext(im.FileName)) + "-errors.csv"
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().Header().Set(echo.HeaderContentDisposition, "attachment; filename="+strconv.Quote(name))
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write([]string{"line", "reason", "row"})
	after := 0
	for {
		errs, err := h.store.ImportErrors(ctx, id, after, 1000)
		if err != nil {
			h.log.Error("stream import errors", "import", id, "err", err)
			break
		}
		for _, e := range errs {
			_ = w.Write([]string{strconv.Itoa(e.Line), spreadsheetSafe(e.Message), spreadsheetSafe(e.Raw)})
		}
		if len(errs) < 1000 {
			break
		}
		after = errs[len(errs)-1].Line
	}
	w.Flush()
	return w.Error()
}

// spreadsheetSafe keeps a cell from being run as a formula when the report
// is opened in a spreadsheet: the rejected rows are the uploader's data, not
// ours, and "=HYPERLINK(…)" in a name must stay text.
func spreadsheetSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
