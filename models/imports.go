package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Import statuses. A UI upload waits as ImportDraft until the marketer
// confirms the mapping; an API upload is queued at once.
const (
	ImportDraft   = "draft"
	ImportQueued  = "queued"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// Import modes.
const (
	ImportUpsert = "upsert" // create new contacts, update known ones
	ImportCreate = "create" // only create; known phones are skipped
	ImportUpdate = "update" // only update; unknown phones are skipped
)

// Consent an import records for every row (besides a file's opt-in column).
const (
	ConsentNone    = ""
	ConsentGranted = "granted"
	ConsentRevoked = "revoked"
)

// ImportOverwritable lists the fields an import may overwrite on contacts
// that already exist, as the csvimport field keys ("opt_in" is the file's
// marketing opt-in column). Tags are always added, never overwritten.
var ImportOverwritable = []string{"first_name", "last_name", "email", "external_id", "country", "timezone",
	"language", "lifecycle_stage", "opt_in", "total_orders", "total_spent", "last_active_at", "attributes"}

// ErrClaimLost means another worker took over an import (this one was
// presumed dead); the batch was rolled back and the worker must stop.
var ErrClaimLost = errors.New("models: import claim lost")

// Import is one CSV file being brought into contacts: its options, its
// progress and its outcome. The row is the job's whole state.
type Import struct {
	ID             int64             `json:"id"`
	FileName       string            `json:"file_name"`
	FilePath       string            `json:"-"`
	FileSize       int64             `json:"file_size"`
	Status         string            `json:"status"`
	StatusReason   string            `json:"status_reason"`
	Mode           string            `json:"mode"`
	Mapping        map[string]string `json:"mapping" gorm:"serializer:json"`
	Overwrite      []string          `json:"overwrite" gorm:"serializer:json"`
	Tags           []string          `json:"tags" gorm:"serializer:json"`
	DefaultCountry string            `json:"default_country"`
	Consent        string            `json:"consent"`
	RowsTotal      int64             `json:"rows_total"`
	RowsImported   int64             `json:"rows_imported"`
	RowsUpdated    int64             `json:"rows_updated"`
	RowsUnchanged  int64             `json:"rows_unchanged"`
	RowsSkipped    int64             `json:"rows_skipped"`
	RowsRejected   int64             `json:"rows_rejected"`
	BytesRead      int64             `json:"bytes_read"`
	LineDone       int               `json:"-"`
	// PartLines is each writer partition's last committed line when the
	// import is written by several (ImportBatch.Parts); empty before.
	PartLines   []int      `json:"-" gorm:"serializer:json"`
	ClaimedBy   string     `json:"-"`
	ClaimedAt   *time.Time `json:"-"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	CreatedByID *int64     `json:"-"`
	APIKeyID    *int64     `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// RowsMerged is how many rows repeated a phone seen earlier in the same
// batch and were merged into it.
func (im *Import) RowsMerged() int64 {
	return max(0, im.RowsTotal-im.RowsImported-im.RowsUpdated-im.RowsUnchanged-im.RowsSkipped-im.RowsRejected)
}

// Finished reports whether the import is done or failed.
func (im *Import) Finished() bool { return im.Status == ImportDone || im.Status == ImportFailed }

// Fraction is the share of the file read so far, 0..1.
func (im *Import) Fraction() float64 {
	if im.Status == ImportDone {
		return 1
	}
	if im.FileSize <= 0 {
		return 0
	}
	return min(1, float64(im.BytesRead)/float64(im.FileSize))
}

// RowsPerSecond is the import's speed since it started (or overall when done).
func (im *Import) RowsPerSecond(now time.Time) float64 {
	if im.StartedAt == nil {
		return 0
	}
	end := now
	if im.FinishedAt != nil {
		end = *im.FinishedAt
	}
	secs := end.Sub(*im.StartedAt).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(im.RowsTotal) / secs
}

// ETA estimates the time left from the bytes read so far; 0 when unknown.
func (im *Import) ETA(now time.Time) time.Duration {
	f := im.Fraction()
	if im.StartedAt == nil || f <= 0 || f >= 1 || im.Finished() {
		return 0
	}
	elapsed := now.Sub(*im.StartedAt)
	return time.Duration(float64(elapsed) * (1 - f) / f)
}

// Allows reports whether the import may overwrite field on known contacts.
func (im *Import) Allows(field string) bool { return slices.Contains(im.Overwrite, field) }

// ImportError is one rejected row of an import.
type ImportError struct {
	ID       int64  `json:"-"`
	ImportID int64  `json:"-"`
	Line     int    `json:"line"`
	Message  string `json:"message"`
	Raw      string `json:"raw,omitempty"`
}

// ImportOptions are what the marketer chooses before an import runs.
type ImportOptions struct {
	Mode           string
	Mapping        map[string]string
	Overwrite      []string
	Tags           []string
	DefaultCountry string
	Consent        string
}

// Validate reports the first invalid option, wrapping ErrInvalid.
func (o ImportOptions) Validate() error {
	if !slices.Contains([]string{ImportUpsert, ImportCreate, ImportUpdate}, o.Mode) {
		return fmt.Errorf("models: import mode %q is not upsert, create or update: %w", o.Mode, ErrInvalid)
	}
	if !slices.Contains([]string{ConsentNone, ConsentGranted, ConsentRevoked}, o.Consent) {
		return fmt.Errorf("models: import consent %q is not granted or revoked: %w", o.Consent, ErrInvalid)
	}
	for _, f := range o.Overwrite {
		if !slices.Contains(ImportOverwritable, f) {
			return fmt.Errorf("models: import may not overwrite %q: %w", f, ErrInvalid)
		}
	}
	return nil
}

func (im *Import) apply(o ImportOptions) {
	im.Mode, im.Mapping, im.Overwrite, im.DefaultCountry, im.Consent = o.Mode, o.Mapping, o.Overwrite, strings.ToUpper(o.DefaultCountry), o.Consent
	im.Tags = nil
	for _, t := range o.Tags {
		if t = normalizeTag(t); t != "" && !slices.Contains(im.Tags, t) {
			im.Tags = append(im.Tags, t)
		}
	}
	if im.Mapping == nil {
		im.Mapping = map[string]string{}
	}
	if im.Overwrite == nil {
		im.Overwrite = []string{}
	}
	if im.Tags == nil {
		im.Tags = []string{}
	}
}

// CreateImport stores a new import of an uploaded file. With queue set it
// is queued for the worker at once (the API); otherwise it waits as a draft
// for the mapping step (the UI).
func (s *Store) CreateImport(ctx context.Context, im *Import, opts ImportOptions, queue bool) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	im.ID = 0
	im.apply(opts)
	im.Status = ImportDraft
	if queue {
		im.Status = ImportQueued
	}
	if err := s.db.WithContext(ctx).Create(im).Error; err != nil {
		return fmt.Errorf("models: create import of %s: %w", im.FileName, err)
	}
	return nil
}

// QueueImport saves the options of a draft import and queues it. An import
// that is not a draft any more is ErrConflict.
func (s *Store) QueueImport(ctx context.Context, id int64, opts ImportOptions) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	var im Import
	im.apply(opts)
	res := s.db.WithContext(ctx).Model(&Import{}).Where("id = ? AND status = ?", id, ImportDraft).
		Select("mode", "mapping", "overwrite", "tags", "default_country", "consent", "status", "updated_at").
		Updates(&Import{Mode: im.Mode, Mapping: im.Mapping, Overwrite: im.Overwrite, Tags: im.Tags,
			DefaultCountry: im.DefaultCountry, Consent: im.Consent, Status: ImportQueued, UpdatedAt: time.Now().UTC()})
	if res.Error != nil {
		return fmt.Errorf("models: queue import %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.Import(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("models: import %d was already started: %w", id, ErrConflict)
	}
	return nil
}

// Import returns one import.
func (s *Store) Import(ctx context.Context, id int64) (*Import, error) {
	var im Import
	if err := s.db.WithContext(ctx).First(&im, id).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("import %d", id))
	}
	return &im, nil
}

// ListImports returns the newest imports first.
func (s *Store) ListImports(ctx context.Context, limit int) ([]Import, error) {
	var out []Import
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(max(limit, 1)).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list imports: %w", err)
	}
	return out, nil
}

// ImportErrors returns up to limit rejected rows of an import after line
// afterLine, in file order; page through them by passing the last line.
func (s *Store) ImportErrors(ctx context.Context, importID int64, afterLine, limit int) ([]ImportError, error) {
	var out []ImportError
	err := s.db.WithContext(ctx).Where("import_id = ? AND line > ?", importID, afterLine).
		Order("line, id").Limit(max(limit, 1)).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: errors of import %d: %w", importID, err)
	}
	return out, nil
}

// ClaimImport gives worker the oldest queued import, or a running one whose
// worker has not reported for staleAfter (it died); nil when there is none.
// The claim is a conditional UPDATE, so two workers never both win it.
func (s *Store) ClaimImport(ctx context.Context, worker string, staleAfter time.Duration) (*Import, error) {
	db := s.db.WithContext(ctx)
	now := time.Now().UTC()
	stale := now.Add(-staleAfter)
	// A worker also takes back its own running import, after a failed round.
	const claimable = "(status = 'queued' OR (status = 'running' AND (claimed_at IS NULL OR claimed_at < ? OR claimed_by = ?)))"
	for range 3 {
		var ids []int64
		if err := db.Raw("SELECT id FROM imports WHERE "+claimable+" ORDER BY id LIMIT 1", stale, worker).Scan(&ids).Error; err != nil {
			return nil, fmt.Errorf("models: claim import: %w", err)
		}
		if len(ids) == 0 {
			return nil, nil
		}
		res := db.Exec(`UPDATE imports SET status = 'running', claimed_by = ?, claimed_at = ?,
			started_at = COALESCE(started_at, ?), updated_at = ? WHERE id = ? AND `+claimable,
			worker, now, now, now, ids[0], stale, worker)
		if res.Error != nil {
			return nil, fmt.Errorf("models: claim import %d: %w", ids[0], res.Error)
		}
		if res.RowsAffected == 1 {
			return s.Import(ctx, ids[0])
		}
	}
	return nil, nil
}

// FinishImport ends worker's claim on an import with status ImportDone or
// ImportFailed and a reason for people.
func (s *Store) FinishImport(ctx context.Context, id int64, worker, status, reason string) error {
	now := time.Now().UTC()
	res := s.db.WithContext(ctx).Exec(`UPDATE imports SET status = ?, status_reason = ?, finished_at = ?,
		claimed_by = '', updated_at = ? WHERE id = ? AND claimed_by = ? AND status = 'running'`,
		status, reason, now, now, id, worker)
	if res.Error != nil {
		return fmt.Errorf("models: finish import %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrClaimLost
	}
	return nil
}

// ImportRow is one normalised file row. A nil pointer means the file gave
// no value, so an update keeps what the contact has.
type ImportRow struct {
	Line            int
	Phone, WaID     string // E.164 and digits
	ExternalID      *string
	FirstName       *string
	LastName        *string
	Email           *string
	Country         *string
	Timezone        *string
	Language        *string
	LifecycleStage  *string
	DerivedCountry  string // from the number; fills an empty country
	DerivedTimezone string
	Tags            []string
	OptIn           *bool
	LastActiveAt    *time.Time
	CreatedAt       *time.Time
	TotalOrders     *int
	TotalSpent      *float64
	Attributes      map[string]string
}

// merge folds a later row for the same phone into r: later values win,
// tags and attributes accumulate.
func (r *ImportRow) merge(later ImportRow) {
	pick := func(dst **string, src *string) {
		if src != nil {
			*dst = src
		}
	}
	pick(&r.ExternalID, later.ExternalID)
	pick(&r.FirstName, later.FirstName)
	pick(&r.LastName, later.LastName)
	pick(&r.Email, later.Email)
	pick(&r.Country, later.Country)
	pick(&r.Timezone, later.Timezone)
	pick(&r.Language, later.Language)
	pick(&r.LifecycleStage, later.LifecycleStage)
	for _, t := range later.Tags {
		if !slices.Contains(r.Tags, t) {
			r.Tags = append(r.Tags, t)
		}
	}
	if later.OptIn != nil {
		r.OptIn = later.OptIn
	}
	if later.LastActiveAt != nil {
		r.LastActiveAt = later.LastActiveAt
	}
	if later.CreatedAt != nil {
		r.CreatedAt = later.CreatedAt
	}
	if later.TotalOrders != nil {
		r.TotalOrders = later.TotalOrders
	}
	if later.TotalSpent != nil {
		r.TotalSpent = later.TotalSpent
	}
	if len(later.Attributes) > 0 {
		if r.Attributes == nil {
			r.Attributes = map[string]string{}
		}
		maps.Copy(r.Attributes, later.Attributes)
	}
	r.Line = later.Line
}

// ImportBatch is a slice of the file the worker hands over at once: the
// valid rows, the rejected ones, and where the file stands after them.
type ImportBatch struct {
	Rows     []ImportRow
	Rejected []ImportError
	// Seen counts every data row of the batch: valid, rejected and merged.
	Seen      int
	LastLine  int
	BytesRead int64
	// Parts > 1 says the file is written by that many writers, each owning
	// the rows of one partition; this batch holds partition Part's rows up
	// to LastLine, and its progress is recorded as that partition's.
	Part, Parts int
}

// ImportCounts are a batch's outcome.
type ImportCounts struct {
	Imported, Updated, Unchanged, Skipped, Rejected int64
}

// ImportBatch writes one batch of im in a single transaction: the contacts
// (inserted and/or updated according to the mode, set-based), the consent
// events, the rejected rows, and the import's counters and position. A crash
// therefore loses no committed batch and repeats none: the worker resumes
// after LineDone. On Postgres the rows arrive by COPY into a temporary
// staging table; on SQLite by multi-row INSERTs into one.
func (s *Store) ImportBatch(ctx context.Context, im *Import, worker string, b ImportBatch) (ImportCounts, error) {
	rows, rejected := dedupeImportRows(b.Rows)
	b.Rejected = append(b.Rejected, rejected...)
	var counts ImportCounts
	var err error
	if s.dialect == Postgres {
		counts, err = s.importBatchPostgres(ctx, im, worker, rows, b)
	} else {
		err = s.Tx(ctx, func(tx *Store) error {
			var err error
			counts, err = tx.importBatchTx(ctx, gormBatchDB{tx}, im, worker, rows, b)
			return err
		})
	}
	if err != nil {
		if errors.Is(err, ErrClaimLost) {
			return counts, err
		}
		return counts, fmt.Errorf("models: import %d batch to line %d: %w", im.ID, b.LastLine, err)
	}
	return counts, nil
}

// dedupeImportRows merges rows with the same phone (last wins) and rejects
// a row whose external ID another phone of the batch already claimed.
func dedupeImportRows(in []ImportRow) ([]ImportRow, []ImportError) {
	byPhone := make(map[string]int, len(in))
	byExternal := map[string]string{}
	out := make([]ImportRow, 0, len(in))
	var rejected []ImportError
	for _, r := range in {
		if r.ExternalID != nil {
			if owner, ok := byExternal[*r.ExternalID]; ok && owner != r.Phone {
				rejected = append(rejected, ImportError{Line: r.Line, Message: fmt.Sprintf(
					"external ID %q is already used by %s earlier in the file", *r.ExternalID, owner)})
				continue
			}
			byExternal[*r.ExternalID] = r.Phone
		}
		if i, ok := byPhone[r.Phone]; ok {
			out[i].merge(r)
			continue
		}
		byPhone[r.Phone] = len(out)
		out = append(out, r)
	}
	return out, rejected
}

// batchDB runs the batch's statements on one connection inside one
// transaction, with ? placeholders.
type batchDB interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args []any, scan func(scan func(dest ...any) error) error) error
}

type gormBatchDB struct{ s *Store }

func (g gormBatchDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res := g.s.db.WithContext(ctx).Exec(query, args...)
	return res.RowsAffected, res.Error
}

func (g gormBatchDB) query(ctx context.Context, query string, args []any, scan func(func(...any) error) error) error {
	rows, err := g.s.db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

type pgxBatchDB struct{ tx pgx.Tx }

// dollarParams turns ? placeholders into $1, $2… for pgx. The import SQL
// holds no literal question marks.
func dollarParams(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (p pgxBatchDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.tx.Exec(ctx, dollarParams(query), args...)
	return tag.RowsAffected(), err
}

func (p pgxBatchDB) query(ctx context.Context, query string, args []any, scan func(func(...any) error) error) error {
	rows, err := p.tx.Query(ctx, dollarParams(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// stagingColumns are the staging table's columns in COPY order.
var stagingColumns = []string{"line", "phone", "wa_id", "external_id", "first_name", "last_name", "email",
	"country", "timezone", "language", "lifecycle_stage", "derived_country", "derived_timezone", "tags",
	"opt_in", "opt_in_update", "last_active_at", "created_at", "total_orders", "total_spent", "attributes"}

func stagingDDL(d Dialect) string {
	ts, num, extra := "TIMESTAMPTZ", "DOUBLE PRECISION", " ON COMMIT DELETE ROWS"
	if d == SQLite {
		ts, num, extra = "DATETIME", "REAL", ""
	}
	return `CREATE TEMP TABLE IF NOT EXISTS import_staging (line INTEGER, phone TEXT, wa_id TEXT,
		external_id TEXT, first_name TEXT, last_name TEXT, email TEXT, country TEXT, timezone TEXT, language TEXT,
		lifecycle_stage TEXT, derived_country TEXT, derived_timezone TEXT, tags TEXT, opt_in BOOLEAN,
		opt_in_update BOOLEAN, last_active_at ` + ts + `, created_at ` + ts + `, total_orders INTEGER,
		total_spent ` + num + `, attributes TEXT, contact_id BIGINT)` + extra
}

// stagingValues renders one row for the staging table. opt_in applies to
// new contacts, opt_in_update to known ones (the file's column only when the
// import may overwrite consent; the import's own consent choice always).
func stagingValues(im *Import, r ImportRow) []any {
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	tags := r.Tags
	for _, t := range im.Tags {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if tags == nil {
		tags = []string{}
	}
	tagsJSON, _ := json.Marshal(tags)
	attrs := r.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	attrsJSON, _ := json.Marshal(attrs)
	var optIn, optInUpdate any
	if r.OptIn != nil {
		optIn = *r.OptIn
		if im.Allows("opt_in") {
			optInUpdate = *r.OptIn
		}
	}
	if im.Consent != ConsentNone {
		optIn, optInUpdate = im.Consent == ConsentGranted, im.Consent == ConsentGranted
	}
	var lastActive, created, orders, spent any
	if r.LastActiveAt != nil {
		lastActive = r.LastActiveAt.UTC()
	}
	if r.CreatedAt != nil {
		created = r.CreatedAt.UTC()
	}
	if r.TotalOrders != nil {
		orders = int32(min(*r.TotalOrders, math.MaxInt32))
	}
	if r.TotalSpent != nil {
		// The column keeps cents; rounding here keeps a re-import unchanged.
		spent = math.Round(*r.TotalSpent*100) / 100
	}
	return []any{int32(r.Line), r.Phone, r.WaID, str(r.ExternalID), str(r.FirstName), str(r.LastName), str(r.Email),
		str(r.Country), str(r.Timezone), str(r.Language), str(r.LifecycleStage), r.DerivedCountry, r.DerivedTimezone,
		string(tagsJSON), optIn, optInUpdate, lastActive, created, orders, spent, string(attrsJSON)}
}

func (s *Store) importBatchPostgres(ctx context.Context, im *Import, worker string, rows []ImportRow, b ImportBatch) (ImportCounts, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return ImportCounts{}, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return ImportCounts{}, err
	}
	defer conn.Close()
	var counts ImportCounts
	err = conn.Raw(func(driverConn any) error {
		c := driverConn.(*stdlib.Conn).Conn()
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			// The batch and its progress commit together, so a batch lost
			// in a database crash is read again from the file on resume:
			// the commit need not wait for the disk.
			if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("relax commit: %w", err)
			}
			var err error
			counts, err = s.importBatchTx(ctx, pgxBatchDB{tx}, im, worker, rows, b)
			return err
		})
	})
	return counts, err
}

// importBatchTx is the dialect-neutral body of ImportBatch.
func (s *Store) importBatchTx(ctx context.Context, db batchDB, im *Import, worker string, rows []ImportRow, b ImportBatch) (ImportCounts, error) {
	var counts ImportCounts
	now := time.Now().UTC()
	source := "CSV import " + im.FileName
	if _, err := db.exec(ctx, stagingDDL(s.dialect)); err != nil {
		return counts, fmt.Errorf("create staging table: %w", err)
	}
	if s.dialect == SQLite {
		if _, err := db.exec(ctx, "DELETE FROM import_staging"); err != nil {
			return counts, fmt.Errorf("clear staging table: %w", err)
		}
	}
	if err := s.loadStaging(ctx, db, im, rows); err != nil {
		return counts, fmt.Errorf("load staging table: %w", err)
	}
	// Lookups against contacts are correlated subqueries, one unique-index
	// probe per staged row: during a large import the contacts table grows
	// faster than its statistics, and a join planned on stale statistics
	// scans the whole table for every batch (quadratic over the file).
	// Only staged rows of known phones are written (rewriting every row of a
	// batch of new contacts cost a tenth of the batch); the test is a scalar
	// subquery, not EXISTS, which the planner would turn into a join.
	if _, err := db.exec(ctx, `UPDATE import_staging SET contact_id = (SELECT c.id FROM contacts c WHERE c.phone = import_staging.phone)
		WHERE (SELECT c.id FROM contacts c WHERE c.phone = import_staging.phone) IS NOT NULL`); err != nil {
		return counts, fmt.Errorf("match known contacts: %w", err)
	}
	// An external ID held by another phone would break its unique index.
	var conflicts []int
	err := db.query(ctx, `SELECT s.line, s.external_id,
		(SELECT c.phone FROM contacts c WHERE c.external_id = s.external_id AND c.phone <> s.phone) AS other
		FROM import_staging s WHERE s.external_id IS NOT NULL`, nil,
		func(scan func(...any) error) error {
			var line int
			var ext string
			var otherPhone *string
			if err := scan(&line, &ext, &otherPhone); err != nil {
				return err
			}
			if otherPhone == nil {
				return nil
			}
			other := *otherPhone
			conflicts = append(conflicts, line)
			b.Rejected = append(b.Rejected, ImportError{Line: line,
				Message: fmt.Sprintf("external ID %q already belongs to the contact %s", ext, other)})
			return nil
		})
	if err != nil {
		return counts, fmt.Errorf("check external IDs: %w", err)
	}
	for _, line := range conflicts {
		if _, err := db.exec(ctx, "DELETE FROM import_staging WHERE line = ?", line); err != nil {
			return counts, fmt.Errorf("drop conflicting row: %w", err)
		}
	}
	var staged, known int64
	if err := db.query(ctx, "SELECT COUNT(*), COUNT(contact_id) FROM import_staging", nil,
		func(scan func(...any) error) error { return scan(&staged, &known) }); err != nil {
		return counts, fmt.Errorf("count staged rows: %w", err)
	}
	q := importSQL{d: s.dialect, im: im}
	if im.Mode != ImportCreate && known > 0 {
		// Consent events first: they compare with the values before the update.
		if _, err := db.exec(ctx, `INSERT INTO consent_events (contact_id, kind, granted, source, created_at)
			SELECT c.id, 'marketing', s.opt_in_update, ?, ? FROM import_staging s JOIN contacts c ON c.id = s.contact_id
			WHERE s.opt_in_update IS NOT NULL AND c.marketing_opt_in <> s.opt_in_update`, source, now); err != nil {
			return counts, fmt.Errorf("record consent of known contacts: %w", err)
		}
		n, err := db.exec(ctx, q.update(), source, now, now)
		if err != nil {
			return counts, fmt.Errorf("update known contacts: %w", err)
		}
		counts.Updated, counts.Unchanged = n, known-n
	} else {
		counts.Skipped += known
	}
	if im.Mode != ImportUpdate && staged > known {
		n, err := db.exec(ctx, q.insert(), source, now, now, now)
		if err != nil {
			return counts, fmt.Errorf("insert new contacts: %w", err)
		}
		// A phone inserted meanwhile by someone else was left alone.
		counts.Imported, counts.Unchanged = n, counts.Unchanged+(staged-known-n)
		if _, err := db.exec(ctx, `INSERT INTO consent_events (contact_id, kind, granted, source, created_at)
			SELECT x.id, 'marketing', x.opt_in, ?, ? FROM (SELECT s.opt_in, (SELECT c.id FROM contacts c WHERE c.phone = s.phone
				AND c.marketing_opt_in_source = ? AND c.marketing_opt_in_at = ?) AS id
				FROM import_staging s WHERE s.contact_id IS NULL AND s.opt_in IS NOT NULL) x WHERE x.id IS NOT NULL`,
			source, now, source, now); err != nil {
			return counts, fmt.Errorf("record consent of new contacts: %w", err)
		}
	} else {
		counts.Skipped += staged - known
	}
	counts.Rejected = int64(len(b.Rejected))
	for chunk := range slices.Chunk(b.Rejected, 200) {
		var sb strings.Builder
		args := make([]any, 0, len(chunk)*4)
		for i, e := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?)")
			// Postgres text cannot hold NUL; a rejected line may carry one.
			args = append(args, im.ID, int32(e.Line), strings.ReplaceAll(e.Message, "\x00", ""), strings.ReplaceAll(e.Raw, "\x00", ""))
		}
		if _, err := db.exec(ctx, "INSERT INTO import_errors (import_id, line, message, raw) VALUES "+sb.String(), args...); err != nil {
			return counts, fmt.Errorf("record rejected rows: %w", err)
		}
	}
	lineDone, partLines := b.LastLine, "[]"
	if b.Parts > 1 {
		var err error
		if lineDone, partLines, err = partProgress(ctx, db, im, b); err != nil {
			return counts, err
		}
	}
	// With several writers their batches commit in any order: the bytes
	// read only grow, the line done is the slowest partition's.
	n, err := db.exec(ctx, `UPDATE imports SET rows_total = rows_total + ?, rows_imported = rows_imported + ?,
		rows_updated = rows_updated + ?, rows_unchanged = rows_unchanged + ?, rows_skipped = rows_skipped + ?,
		rows_rejected = rows_rejected + ?, bytes_read = CASE WHEN bytes_read > ? THEN bytes_read ELSE ? END,
		line_done = ?, part_lines = ?, claimed_at = ?, updated_at = ?
		WHERE id = ? AND claimed_by = ? AND status = 'running'`,
		int64(b.Seen), counts.Imported, counts.Updated, counts.Unchanged, counts.Skipped, counts.Rejected,
		b.BytesRead, b.BytesRead, int32(lineDone), partLines, now, now, im.ID, worker)
	if err != nil {
		return counts, fmt.Errorf("save progress: %w", err)
	}
	if n == 0 {
		return counts, ErrClaimLost
	}
	return counts, nil
}

// partProgress records that partition b.Part is written up to b.LastLine:
// it locks the import's row (the other writers wait here, at the end of
// their batch, not for its whole length) and returns the line done by every
// partition and the partitions' lines as stored.
//
// The lock is FOR NO KEY UPDATE, the one the progress UPDATE takes anyway:
// each writer's rejected rows went into import_errors, whose foreign key
// holds a KEY SHARE lock on this row until commit, and FOR UPDATE waits for
// every KEY SHARE, so two writers with rejected rows deadlocked here.
func partProgress(ctx context.Context, db batchDB, im *Import, b ImportBatch) (int, string, error) {
	var stored string
	err := db.query(ctx, "SELECT COALESCE(part_lines, '') FROM imports WHERE id = ? FOR NO KEY UPDATE", []any{im.ID},
		func(scan func(...any) error) error { return scan(&stored) })
	if err != nil {
		return 0, "", fmt.Errorf("read partition progress: %w", err)
	}
	var lines []int
	if stored != "" {
		if err := json.Unmarshal([]byte(stored), &lines); err != nil {
			return 0, "", fmt.Errorf("read partition progress %q: %w", stored, err)
		}
	}
	if len(lines) != b.Parts {
		// The first batch of a partitioned run: every partition has done
		// what the single-writer position says.
		lines = slices.Repeat([]int{im.LineDone}, b.Parts)
	}
	if b.Part < 0 || b.Part >= b.Parts {
		return 0, "", fmt.Errorf("partition %d of %d", b.Part, b.Parts)
	}
	lines[b.Part] = max(lines[b.Part], b.LastLine)
	out, err := json.Marshal(lines)
	if err != nil {
		return 0, "", err
	}
	return slices.Min(lines), string(out), nil
}

// loadStaging puts rows into the staging table: COPY on Postgres, INSERTs
// of a few hundred rows each on SQLite.
func (s *Store) loadStaging(ctx context.Context, db batchDB, im *Import, rows []ImportRow) error {
	if len(rows) == 0 {
		return nil
	}
	if p, ok := db.(pgxBatchDB); ok {
		_, err := p.tx.CopyFrom(ctx, pgx.Identifier{"import_staging"}, stagingColumns,
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) { return stagingValues(im, rows[i]), nil }))
		return err
	}
	placeholders := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(stagingColumns)), ", ") + ")"
	for chunk := range slices.Chunk(rows, 400) {
		var sb strings.Builder
		args := make([]any, 0, len(chunk)*len(stagingColumns))
		for i, r := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(placeholders)
			args = append(args, stagingValues(im, r)...)
		}
		if _, err := db.exec(ctx, "INSERT INTO import_staging ("+strings.Join(stagingColumns, ", ")+") VALUES "+sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// importSQL writes the set-based statements for one dialect and one
// import's choices (which fields an update may overwrite).
type importSQL struct {
	d  Dialect
	im *Import
}

func (q importSQL) json(col string) string {
	if q.d == Postgres {
		return col + "::jsonb"
	}
	return col
}

func (q importSQL) distinct(a, b string) string {
	if q.d == Postgres {
		return a + " IS DISTINCT FROM " + b
	}
	return a + " IS NOT " + b
}

func (q importSQL) param(pgType string) string {
	if q.d == Postgres {
		return "?::" + pgType
	}
	return "?"
}

// update sets the allowed fields of known contacts from the staging rows,
// touching only contacts where something changes (so the count of updated
// rows is honest and unchanged rows cost no write).
// Parameters: consent source, consent time, updated_at.
func (q importSQL) update() string {
	var sets, changed []string
	for _, col := range []string{"external_id", "first_name", "last_name", "email", "language", "lifecycle_stage",
		"total_orders", "total_spent", "last_active_at"} {
		if !q.im.Allows(col) {
			continue
		}
		sets = append(sets, fmt.Sprintf("%s = COALESCE(s.%s, contacts.%s)", col, col, col))
		changed = append(changed, fmt.Sprintf("(s.%s IS NOT NULL AND %s)", col, q.distinct("s."+col, "contacts."+col)))
	}
	for _, col := range []string{"country", "timezone"} {
		if q.im.Allows(col) {
			sets = append(sets, fmt.Sprintf("%s = COALESCE(s.%s, NULLIF(contacts.%s, ''), s.derived_%s, '')", col, col, col, col))
			changed = append(changed, fmt.Sprintf("(s.%s IS NOT NULL AND %s)", col, q.distinct("s."+col, "contacts."+col)))
		} else {
			sets = append(sets, fmt.Sprintf("%s = CASE WHEN contacts.%s = '' THEN COALESCE(s.%s, s.derived_%s, '') ELSE contacts.%s END", col, col, col, col, col))
		}
		// An empty country or zone is filled in from the number either way.
		changed = append(changed, fmt.Sprintf("(contacts.%s = '' AND COALESCE(s.%s, s.derived_%s, '') <> '')", col, col, col))
	}
	if q.d == Postgres {
		sets = append(sets, `tags = contacts.tags || COALESCE((SELECT jsonb_agg(t) FROM jsonb_array_elements(s.tags::jsonb) t
			WHERE NOT contacts.tags @> jsonb_build_array(t)), '[]'::jsonb)`)
		changed = append(changed, "NOT contacts.tags @> s.tags::jsonb")
		if q.im.Allows("attributes") {
			sets = append(sets, "attributes = contacts.attributes || s.attributes::jsonb")
			changed = append(changed, "NOT contacts.attributes @> s.attributes::jsonb")
		}
	} else {
		sets = append(sets, `tags = (SELECT json_group_array(value) FROM (
			SELECT value FROM json_each(contacts.tags)
			UNION ALL SELECT n.value FROM json_each(s.tags) n WHERE n.value NOT IN (SELECT value FROM json_each(contacts.tags))))`)
		changed = append(changed, "EXISTS (SELECT 1 FROM json_each(s.tags) n WHERE n.value NOT IN (SELECT value FROM json_each(contacts.tags)))")
		if q.im.Allows("attributes") {
			sets = append(sets, "attributes = json_patch(contacts.attributes, s.attributes)")
			changed = append(changed, `EXISTS (SELECT 1 FROM json_each(s.attributes) n WHERE NOT EXISTS (
				SELECT 1 FROM json_each(contacts.attributes) o WHERE o.key = n.key AND o.value = n.value))`)
		}
	}
	consentChanges := "(s.opt_in_update IS NOT NULL AND s.opt_in_update <> contacts.marketing_opt_in)"
	sets = append(sets,
		"marketing_opt_in = COALESCE(s.opt_in_update, contacts.marketing_opt_in)",
		"marketing_opt_in_source = CASE WHEN "+consentChanges+" THEN "+q.param("text")+" ELSE contacts.marketing_opt_in_source END",
		"marketing_opt_in_at = CASE WHEN "+consentChanges+" THEN "+q.param("timestamptz")+" ELSE contacts.marketing_opt_in_at END",
		"updated_at = ?")
	changed = append(changed, consentChanges)
	return "UPDATE contacts SET " + strings.Join(sets, ",\n") + "\nFROM import_staging s WHERE s.contact_id = contacts.id AND (" +
		strings.Join(changed, "\n OR ") + ")"
}

// insert adds the staging rows no contact has yet.
// Parameters: consent source, consent time, created_at fallback, updated_at.
func (q importSQL) insert() string {
	return `INSERT INTO contacts (phone, wa_id, external_id, first_name, last_name, email, country, timezone,
		language, tags, lifecycle_stage, marketing_opt_in, marketing_opt_in_source, marketing_opt_in_at,
		last_active_at, total_orders, total_spent, attributes, created_at, updated_at)
	SELECT phone, wa_id, external_id, COALESCE(first_name, ''), COALESCE(last_name, ''), COALESCE(email, ''),
		COALESCE(country, derived_country, ''), COALESCE(timezone, derived_timezone, ''), COALESCE(language, ''),
		` + q.json("tags") + `, COALESCE(lifecycle_stage, ''), COALESCE(opt_in, FALSE),
		CASE WHEN opt_in IS NOT NULL THEN ` + q.param("text") + ` ELSE '' END,
		CASE WHEN opt_in IS NOT NULL THEN ` + q.param("timestamptz") + ` END,
		last_active_at, COALESCE(total_orders, 0), COALESCE(total_spent, 0), ` + q.json("attributes") + `,
		` + q.param("timestamptz") + `, ` + q.param("timestamptz") + `
	FROM import_staging WHERE contact_id IS NULL
	ON CONFLICT (phone) DO NOTHING`
}

// RemoveImportFile forgets the uploaded file's path once the worker has
// deleted it (uploads hold personal data and are not kept after an import).
func (s *Store) RemoveImportFile(ctx context.Context, id int64) error {
	if err := s.db.WithContext(ctx).Exec("UPDATE imports SET file_path = '' WHERE id = ?", id).Error; err != nil {
		return fmt.Errorf("models: import %d: forget file: %w", id, err)
	}
	return nil
}
