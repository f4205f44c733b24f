package jobs

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
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
	parts := 1
	if imp.store.Dialect() == models.Postgres {
		parts = importWriters
	}
	if len(im.PartLines) > 1 {
		parts = len(im.PartLines) // a resumed import keeps its partitions
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Parsing (phone numbers above all) runs beside the database writes.
	batches := make(chan batch, 2)
	go func() {
		defer close(batches)
		produce(ctx, r, header, mapping, im, size*parts, batches)
	}()
	if parts > 1 {
		return imp.writePartitioned(ctx, cancel, im, parts, batches)
	}
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

// importWriters is how many connections write a Postgres import at once.
// One writer keeps one backend busy on the contacts table's 16 indexes
// while the other core idles; two use both.
const importWriters = 2

// writePartitioned writes the file with parts writers. Each owns the rows
// whose phone hashes to its partition, and the rejected rows whose line
// number does, so every write to one phone comes from one writer in file
// order (a later row still wins) and the writers never touch the same
// contact. Each batch of the file is split among them; a partition records
// its own last line (Import.PartLines), so a resumed import skips exactly
// what each partition wrote. One difference from a single writer: when
// two phones of the file claim one external ID and fall in different
// partitions, the row committed first keeps it (a single writer keeps the
// earlier line's); if both commit at once, one batch fails on the unique
// index and the import resumes, and then rejects that row.
func (imp *Importer) writePartitioned(ctx context.Context, cancel context.CancelFunc, im *models.Import, parts int,
	batches <-chan batch) (status, reason string, err error) {
	done := im.PartLines
	if len(done) != parts {
		done = slices.Repeat([]int{im.LineDone}, parts)
	}
	queues := make([]chan models.ImportBatch, parts)
	errs := make(chan error, parts)
	var wg sync.WaitGroup
	for p := range queues {
		queues[p] = make(chan models.ImportBatch, 2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sub := range queues[p] {
				if _, err := imp.store.ImportBatch(ctx, im, imp.worker, sub); err != nil {
					errs <- err
					cancel()
					for range queues[p] { // let the splitter finish
					}
					return
				}
			}
		}()
	}
	var fatal error
feed:
	for b := range batches {
		for p, sub := range splitBatch(b.ImportBatch, parts, done) {
			if len(sub.Rows) == 0 && len(sub.Rejected) == 0 && sub.LastLine <= done[p] {
				continue
			}
			select {
			case queues[p] <- sub:
			case <-ctx.Done():
				break feed
			}
		}
		if b.fatal != nil {
			fatal = b.fatal
			break
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	for range batches { // let the producer finish
	}
	select {
	case err := <-errs:
		return "", "", err
	default:
	}
	if fatal != nil {
		return models.ImportFailed, "The file could not be read to the end: " + fatal.Error() +
			". The rows before it were imported.", nil
	}
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	return models.ImportDone, "", nil
}

// splitBatch deals a batch's rows to parts partitions, leaving out the rows
// a partition had already written before a resume (line <= done[p]). Each
// partition's share ends at the batch's last line, whether or not it got
// rows, so its recorded position moves with the file.
func splitBatch(b models.ImportBatch, parts int, done []int) []models.ImportBatch {
	subs := make([]models.ImportBatch, parts)
	for p := range subs {
		subs[p] = models.ImportBatch{LastLine: b.LastLine, BytesRead: b.BytesRead, Part: p, Parts: parts}
	}
	for _, r := range b.Rows {
		p := phonePartition(r.Phone, parts)
		if r.Line <= done[p] {
			continue
		}
		subs[p].Rows = append(subs[p].Rows, r)
		subs[p].Seen++
	}
	for _, e := range b.Rejected {
		p := e.Line % parts
		if e.Line <= done[p] {
			continue
		}
		subs[p].Rejected = append(subs[p].Rejected, e)
		subs[p].Seen++
	}
	return subs
}

// phonePartition is the partition of a normalised phone; it must not change
// between releases while imports may resume across them (FNV-1a).
func phonePartition(phone string, parts int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(phone))
	return int(h.Sum32() % uint32(parts))
}

// produce reads rows after im.LineDone, normalises them and sends batches.
// Reading is sequential (line numbers depend on it) and cheap; normalising
// (phone numbers above all) is not, so a second goroutine spreads each
// batch's rows over GOMAXPROCS workers while the next batch is read. Rows
// keep their file order within and across batches.
func produce(ctx context.Context, r *csvimport.Reader, header []string, mapping csvimport.Mapping, im *models.Import, size int, out chan<- batch) {
	raws := make(chan rawBatch, 1)
	go func() {
		defer close(raws)
		readRaw(ctx, r, im.LineDone, size, raws)
	}()
	opts := csvimport.Options{DefaultCountry: im.DefaultCountry}
	workers := max(runtime.GOMAXPROCS(0), 1)
	for rb := range raws {
		b := normalise(rb, header, mapping, opts, workers)
		select {
		case out <- b:
		case <-ctx.Done():
			for range raws { // let the reader finish
			}
			return
		}
	}
}

// rawItem is one record as read: a row, or a row-level read error.
type rawItem struct {
	row csvimport.Row
	err *csvimport.RowError
}

// rawBatch is a slice of the file read but not yet normalised.
type rawBatch struct {
	items     []rawItem
	bytesRead int64
	fatal     error
}

// readRaw reads records after lineDone into batches of size.
func readRaw(ctx context.Context, r *csvimport.Reader, lineDone, size int, out chan<- rawBatch) {
	cur := rawBatch{items: make([]rawItem, 0, size)}
	send := func() bool {
		cur.bytesRead = r.BytesRead()
		select {
		case out <- cur:
			cur = rawBatch{items: make([]rawItem, 0, size)}
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
			if rowErr.Line <= lineDone {
				continue
			}
			cur.items = append(cur.items, rawItem{err: rowErr})
		case err != nil:
			cur.fatal = err
			send()
			return
		default:
			if row.Line <= lineDone {
				continue
			}
			cur.items = append(cur.items, rawItem{row: row})
		}
		if len(cur.items) >= size {
			if !send() {
				return
			}
		}
	}
}

// normalised is one record's fate: a contact, or the reason it is rejected.
type normalised struct {
	contact  csvimport.Contact
	rejected *models.ImportError
}

// normalise maps a raw batch's rows to contacts on workers goroutines and
// assembles the batch in file order.
func normalise(rb rawBatch, header []string, mapping csvimport.Mapping, opts csvimport.Options, workers int) batch {
	res := make([]normalised, len(rb.items))
	one := func(i int) {
		it := rb.items[i]
		if it.err != nil {
			res[i].rejected = &models.ImportError{Line: it.err.Line, Message: it.err.Msg}
			return
		}
		c, err := mapping.Contact(header, it.row, opts)
		if err != nil {
			msg := err.Error()
			var rowErr *csvimport.RowError
			if errors.As(err, &rowErr) {
				msg = rowErr.Msg
			}
			res[i].rejected = &models.ImportError{Line: it.row.Line, Message: msg, Raw: rawRow(it.row.Fields)}
			return
		}
		res[i].contact = c
	}
	chunk := (len(res) + workers - 1) / workers
	if workers <= 1 || len(res) < 256 {
		for i := range res {
			one(i)
		}
	} else {
		var wg sync.WaitGroup
		for start := 0; start < len(res); start += chunk {
			wg.Add(1)
			go func(from, to int) {
				defer wg.Done()
				for i := from; i < to; i++ {
					one(i)
				}
			}(start, min(start+chunk, len(res)))
		}
		wg.Wait()
	}
	b := batch{fatal: rb.fatal}
	b.BytesRead = rb.bytesRead
	b.Rows = make([]models.ImportRow, 0, len(res))
	for i, n := range res {
		b.Seen++
		line := rb.items[i].row.Line
		if n.rejected != nil {
			line = n.rejected.Line
			b.Rejected = append(b.Rejected, *n.rejected)
		} else {
			b.Rows = append(b.Rows, importRow(n.contact))
		}
		b.LastLine = max(b.LastLine, line)
	}
	return b
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
