package jobs

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/heraldhq/herald/csvimport"
	"github.com/heraldhq/herald/models"
)

// ImportsWorker is the name the import worker is registered and woken under.
const ImportsWorker = "imports"

// Importer is the CSV import worker: it claims a queued import, streams its
// file, and writes contacts in batches. Every batch commits together with
// the import's counters and position, so after a crash or restart the next
// claim resumes right after the last committed line: rows before it are
// read again (the file has to be parsed from the top to find its
// encoding, header and line numbers) but not written again.
type Importer struct {
	store  *models.Store
	log    *slog.Logger
	worker string
	// BatchSize is how many rows go to the database at once; 0 picks a
	// size that suits the database.
	BatchSize int
	// StaleAfter is how long a running import may go without progress
	// before another worker presumes its worker dead and takes it over.
	StaleAfter time.Duration
}

// NewImporter makes the import worker; worker names this process in claims
// (Runner.InstanceID).
func NewImporter(store *models.Store, log *slog.Logger, worker string) *Importer {
	return &Importer{store: store, log: log, worker: worker, StaleAfter: 2 * time.Minute}
}

// Register adds the importer to r as the ImportsWorker.
func (imp *Importer) Register(r *Runner) error {
	return r.Worker(ImportsWorker, 1, 5*time.Second, imp.Round)
}

// Round claims one import and runs it to the end. It reports more=true when
// it found one, so the runner looks for the next at once.
func (imp *Importer) Round(ctx context.Context) (bool, error) {
	im, err := imp.store.ClaimImport(ctx, imp.worker, imp.StaleAfter)
	if err != nil || im == nil {
		return false, err
	}
	log := imp.log.With("import", im.ID, "file", im.FileName)
	log.Info("import started", "resume_after_line", im.LineDone)
	status, reason, err := imp.run(ctx, im)
	switch {
	case errors.Is(err, models.ErrClaimLost):
		log.Warn("import taken over by another worker; stopping")
		return true, nil
	case err != nil:
		// The database or the context failed, not the file: the claim
		// stays and the import resumes on a later round.
		return false, fmt.Errorf("jobs: import %d: %w", im.ID, err)
	}
	if err := imp.store.FinishImport(ctx, im.ID, imp.worker, status, reason); err != nil {
		if errors.Is(err, models.ErrClaimLost) {
			return true, nil
		}
		return false, fmt.Errorf("jobs: import %d: %w", im.ID, err)
	}
	// Uploads hold personal data; once imported they are not kept.
	if im.FilePath != "" {
		if err := os.Remove(im.FilePath); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("remove imported file", "err", err)
		}
		if err := imp.store.RemoveImportFile(ctx, im.ID); err != nil {
			log.Warn("forget imported file", "err", err)
		}
	}
	log.Info("import finished", "status", status, "reason", reason)
	return true, nil
}

// batch is a parsed slice of the file on its way to the database.
type batch struct {
	models.ImportBatch
	fatal error // a read error that ends the file (the import fails after this batch)
}

// run streams the file. It returns the final status and reason for a
// finished import, or an error when the import must be retried later.
func (imp *Importer) run(ctx context.Context, im *models.Import) (status, reason string, err error) {
	f, err := os.Open(im.FilePath)
	if err != nil {
		return models.ImportFailed, "The uploaded file is no longer available; upload it again.", nil
	}
	defer f.Close()
	r, err := csvimport.NewReader(f)
	if err != nil {
		return models.ImportFailed, "The file could not be read: " + err.Error(), nil
	}
	header := r.Header()
	mapping := csvimport.Mapping(im.Mapping)
	if len(mapping) == 0 {
		mapping = csvimport.GuessMapping(header)
	}
	if err := mapping.Validate(header); err != nil {
		return models.ImportFailed, "The column mapping does not fit the file: " + err.Error(), nil
	}
	size := imp.BatchSize
	if size <= 0 {
		size = 1000
		if imp.store.Dialect() == models.Postgres {
			size = 5000
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Parsing (phone numbers above all) runs beside the database writes.
	batches := make(chan batch, 2)
	go func() {
		defer close(batches)
		produce(ctx, r, header, mapping, im, size, batches)
	}()
	for b := range batches {
		if len(b.Rows) > 0 || len(b.Rejected) > 0 || b.Seen > 0 || b.LastLine > im.LineDone {
			if _, err := imp.store.ImportBatch(ctx, im, imp.worker, b.ImportBatch); err != nil {
				return "", "", err
			}
		}
		if b.fatal != nil {
			return models.ImportFailed, "The file could not be read to the end: " + b.fatal.Error() +
				". The rows before it were imported.", nil
		}
	}
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	return models.ImportDone, "", nil
}

// produce reads rows after im.LineDone, normalises them and sends batches.
func produce(ctx context.Context, r *csvimport.Reader, header []string, mapping csvimport.Mapping, im *models.Import, size int, out chan<- batch) {
	opts := csvimport.Options{DefaultCountry: im.DefaultCountry}
	cur := batch{}
	send := func() bool {
		cur.BytesRead = r.BytesRead()
		select {
		case out <- cur:
			cur = batch{}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			send()
			return
		}
		var rowErr *csvimport.RowError
		switch {
		case errors.As(err, &rowErr):
			if rowErr.Line <= im.LineDone {
				continue
			}
			cur.Seen++
			cur.LastLine = max(cur.LastLine, rowErr.Line)
			cur.Rejected = append(cur.Rejected, models.ImportError{Line: rowErr.Line, Message: rowErr.Msg})
		case err != nil:
			cur.fatal = err
			send()
			return
		default:
			if row.Line <= im.LineDone {
				continue
			}
			cur.Seen++
			cur.LastLine = row.Line
			c, err := mapping.Contact(header, row, opts)
			if err != nil {
				msg := err.Error()
				if errors.As(err, &rowErr) {
					msg = rowErr.Msg
				}
				cur.Rejected = append(cur.Rejected, models.ImportError{Line: row.Line, Message: msg, Raw: rawRow(row.Fields)})
				break
			}
			cur.Rows = append(cur.Rows, importRow(c))
		}
		if cur.Seen >= size {
			if !send() {
				return
			}
		}
	}
}

// rawRow renders a rejected row as one CSV line for the error report.
func rawRow(fields []string) string {
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	_ = w.Write(fields)
	w.Flush()
	return strings.TrimRight(sb.String(), "\r\n")
}

// importRow converts a normalised file row; fields the file left empty stay
// nil so an update keeps the contact's value.
func importRow(c csvimport.Contact) models.ImportRow {
	ptr := func(field, v string) *string {
		if !c.Set[field] {
			return nil
		}
		return &v
	}
	row := models.ImportRow{
		Line: c.Line, Phone: c.Phone, WaID: c.PhoneDigits,
		ExternalID:     ptr(csvimport.FieldExternalID, c.ExternalID),
		FirstName:      ptr(csvimport.FieldFirstName, c.FirstName),
		LastName:       ptr(csvimport.FieldLastName, c.LastName),
		Email:          ptr(csvimport.FieldEmail, c.Email),
		Country:        ptr(csvimport.FieldCountry, c.Country),
		Timezone:       ptr(csvimport.FieldTimezone, c.Timezone),
		Language:       ptr(csvimport.FieldLanguage, c.Language),
		LifecycleStage: ptr(csvimport.FieldLifecycleStage, c.LifecycleStage),
		Tags:           c.Tags,
		OptIn:          c.OptIn,
		LastActiveAt:   c.LastActiveAt,
		CreatedAt:      c.CreatedAt,
		TotalOrders:    c.TotalOrders,
		TotalSpent:     c.TotalSpent,
		Attributes:     c.Attributes,
	}
	if !c.Set[csvimport.FieldCountry] {
		row.DerivedCountry = c.Country
	}
	if !c.Set[csvimport.FieldTimezone] {
		row.DerivedTimezone = c.Timezone
	}
	return row
}
