package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// startImport writes content to a file and queues an import of it.
// claimImport claims the waiting import for worker, as a worker's round
// would before writing its batches.
func claimImport(t *testing.T, s *models.Store, worker string) *models.Import {
	t.Helper()
	claimed, err := s.ClaimImport(context.Background(), worker, 0)
	if err != nil || claimed == nil {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	return claimed
}

func startImport(t *testing.T, s *models.Store, name string, content []byte, opts models.ImportOptions) *models.Import {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if opts.Mode == "" {
		opts.Mode = models.ImportUpsert
	}
	if opts.Overwrite == nil {
		opts.Overwrite = models.ImportOverwritable
	}
	im := &models.Import{FileName: name, FilePath: path, FileSize: int64(len(content))}
	if err := s.CreateImport(context.Background(), im, opts, true); err != nil {
		t.Fatal(err)
	}
	return im
}

// drain runs the import worker's rounds until it finds no more work and
// returns the import as stored.
func drain(t *testing.T, s *models.Store, id int64) *models.Import {
	t.Helper()
	imp := jobs.NewImporter(s, slog.New(slog.NewTextHandler(io.Discard, nil)), "test-worker")
	imp.BatchSize = 3 // several batches even for small files
	for range 100 {
		more, err := imp.Round(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			break
		}
	}
	im, err := s.Import(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func importErrors(t *testing.T, s *models.Store, id int64) []models.ImportError {
	t.Helper()
	errs, err := s.ImportErrors(context.Background(), id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

func utf16(t *testing.T, s string) []byte {
	t.Helper()
	b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func latin1(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportMessyFiles(t *testing.T) {
	t.Parallel()
	type want struct {
		phone, first, last, country string
	}
	tests := []struct {
		name           string
		file           func(t *testing.T) []byte
		defaultCountry string
		contacts       []want
		rejectedLines  map[int]string // line → part of the reason
		total          int64
	}{
		{
			name:     "utf-8 with BOM, formatted number",
			file:     func(*testing.T) []byte { return []byte("\ufeffPhone,First name\r\n+55 (11) 98765-4321,Ana\r\n") },
			contacts: []want{{"+5511987654321", "Ana", "", "BR"}},
			total:    1,
		},
		{
			name: "utf-16 with semicolons",
			file: func(t *testing.T) []byte {
				return utf16(t, "Telefone;Nome;Sobrenome\n+5511987654321;João;Silva\n+5511912345678;Zoë;Ávila\n")
			},
			contacts: []want{{"+5511987654321", "João", "Silva", "BR"}, {"+5511912345678", "Zoë", "Ávila", "BR"}},
			total:    2,
		},
		{
			name:     "latin-1 with tabs",
			file:     func(t *testing.T) []byte { return latin1(t, "mobile\tfirst_name\n+5511987654321\tJosé\n") },
			contacts: []want{{"+5511987654321", "José", "", "BR"}},
			total:    1,
		},
		{
			name: "embedded newlines keep line numbers",
			file: func(*testing.T) []byte {
				return []byte("phone,first_name,notes\n+5511987654321,Ana,\"line one\nline two\"\nnot a phone,Bad,x\n+447911123456,Bia,y\n")
			},
			contacts:      []want{{"+5511987654321", "Ana", "", "BR"}, {"+447911123456", "Bia", "", "GG"}},
			rejectedLines: map[int]string{4: "not a phone number"},
			total:         3,
		},
		{
			name: "00 international prefix and default country",
			file: func(*testing.T) []byte {
				return []byte("phone,name\n0044 20 7946 0958,Carl Jones\n(11) 98765-4321,Dora\n")
			},
			contacts: []want{{"+442079460958", "Carl", "Jones", "GB"}, {"+5511987654321", "Dora", "", "BR"}},
			total:    2, defaultCountry: "BR",
		},
		{
			name: "excel scientific notation rejected, good rows kept",
			file: func(*testing.T) []byte {
				return []byte("phone,first_name\n+5511987654321,Ana\n5.51199E+12,Broken\n+5511912345678,Caio\n")
			},
			contacts:      []want{{"+5511987654321", "Ana", "", "BR"}, {"+5511912345678", "Caio", "", "BR"}},
			rejectedLines: map[int]string{3: "scientific notation"},
			total:         3,
		},
		{
			name: "blank lines skipped",
			file: func(*testing.T) []byte {
				return []byte("phone,first_name\n\n+5511987654321,Ana\n\n\n+5511912345678,Bia\n\n")
			},
			contacts: []want{{"+5511987654321", "Ana", "", "BR"}, {"+5511912345678", "Bia", "", "BR"}},
			total:    2,
		},
		{
			name: "duplicate rows merged, last wins",
			file: func(*testing.T) []byte {
				return []byte("phone,first_name,last_name\n+5511987654321,Ana,\n+55 11 98765 4321,Anna,Lima\n")
			},
			contacts: []want{{"+5511987654321", "Anna", "Lima", "BR"}},
			total:    2,
		},
		{
			name:  "header only",
			file:  func(*testing.T) []byte { return []byte("phone,first_name\n") },
			total: 0,
		},
		{
			name:          "no country code and no default",
			file:          func(*testing.T) []byte { return []byte("phone\n98765-4321\n") },
			rejectedLines: map[int]string{2: "country code"},
			total:         1,
		},
	}
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					// Each case gets its own database: counts are per file.
					var s *models.Store
					if db.Name == "postgres" {
						s = testdb.Postgres(t).Store
					} else {
						s = testdb.SQLite(t).Store
					}
					ctx := context.Background()
					im := startImport(t, s, "list.csv", tt.file(t), models.ImportOptions{DefaultCountry: tt.defaultCountry})
					got := drain(t, s, im.ID)
					if got.Status != models.ImportDone {
						t.Fatalf("status %s (%s), want done", got.Status, got.StatusReason)
					}
					if got.RowsTotal != tt.total || got.RowsImported != int64(len(tt.contacts)) || got.RowsRejected != int64(len(tt.rejectedLines)) {
						t.Errorf("counts total %d imported %d rejected %d; want %d, %d, %d",
							got.RowsTotal, got.RowsImported, got.RowsRejected, tt.total, len(tt.contacts), len(tt.rejectedLines))
					}
					for _, w := range tt.contacts {
						c, err := s.ContactByPhone(ctx, w.phone)
						if err != nil {
							t.Errorf("contact %s: %v", w.phone, err)
							continue
						}
						if c.FirstName != w.first || c.LastName != w.last || c.Country != w.country {
							t.Errorf("contact %s = %q %q %q, want %q %q %q", w.phone, c.FirstName, c.LastName, c.Country, w.first, w.last, w.country)
						}
					}
					errs := importErrors(t, s, im.ID)
					if len(errs) != len(tt.rejectedLines) {
						t.Fatalf("errors %+v, want lines %v", errs, tt.rejectedLines)
					}
					for _, e := range errs {
						part, ok := tt.rejectedLines[e.Line]
						if !ok || !strings.Contains(e.Message, part) {
							t.Errorf("error at line %d %q; want lines %v", e.Line, e.Message, tt.rejectedLines)
						}
					}
					if _, err := os.Stat(im.FilePath); !os.IsNotExist(err) {
						t.Errorf("the uploaded file was kept after the import: %v", err)
					}
				})
			}
		})
	}
}

func TestImportModesOverwriteTagsAndConsent(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			ext := "crm-1"
			known := &models.Contact{Phone: "+5511987654321", FirstName: "Ana", Email: "ana@old.example", ExternalID: &ext,
				Tags: []string{"vip"}, Country: "BR", Attributes: map[string]any{"plan": "pro"}}
			if err := s.CreateContact(ctx, known, "test"); err != nil {
				t.Fatal(err)
			}
			file := []byte("phone,first_name,email,tags,plan\n" +
				"+5511987654321,Anna,ana@new.example,\"buyer, vip\",free\n" +
				"+5511912345678,Bia,,lead,\n")

			// create: the known phone is skipped, the new one created.
			im := startImport(t, s, "create.csv", file, models.ImportOptions{Mode: models.ImportCreate})
			got := drain(t, s, im.ID)
			if got.RowsImported != 1 || got.RowsSkipped != 1 || got.RowsUpdated != 0 {
				t.Errorf("create: imported %d skipped %d updated %d; want 1, 1, 0", got.RowsImported, got.RowsSkipped, got.RowsUpdated)
			}
			if c, _ := s.ContactByPhone(ctx, known.Phone); c.FirstName != "Ana" {
				t.Errorf("create mode changed a known contact: %q", c.FirstName)
			}

			// update, allowed to overwrite the e-mail only, with import tags
			// and consent: the unknown row would be skipped (none here).
			im = startImport(t, s, "update.csv", file, models.ImportOptions{Mode: models.ImportUpdate,
				Overwrite: []string{"email", "attributes"}, Tags: []string{"Spring Sale"}, Consent: models.ConsentGranted})
			got = drain(t, s, im.ID)
			if got.RowsUpdated != 2 || got.RowsImported != 0 {
				t.Errorf("update: updated %d imported %d; want 2, 0", got.RowsUpdated, got.RowsImported)
			}
			c, err := s.ContactByPhone(ctx, known.Phone)
			if err != nil {
				t.Fatal(err)
			}
			if c.FirstName != "Ana" || c.Email != "ana@new.example" {
				t.Errorf("update overwrote %q / %q; want first name kept, e-mail replaced", c.FirstName, c.Email)
			}
			if !slices.Equal(c.Tags, []string{"vip", "buyer", "spring sale"}) {
				t.Errorf("tags %v, want vip, buyer, spring sale merged in order", c.Tags)
			}
			if c.Attributes["plan"] != "free" {
				t.Errorf("attributes %v, want plan=free", c.Attributes)
			}
			if !c.MarketingOptIn || c.MarketingOptInSource != "CSV import update.csv" {
				t.Errorf("consent %v from %q, want granted from the import", c.MarketingOptIn, c.MarketingOptInSource)
			}
			history, err := s.ConsentHistory(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(history) != 1 || !history[0].Granted || history[0].Source != "CSV import update.csv" {
				t.Errorf("consent history %+v, want one grant from the import", history)
			}

			// the same file again changes nothing.
			im = startImport(t, s, "update.csv", file, models.ImportOptions{Mode: models.ImportUpsert,
				Overwrite: []string{"email", "attributes"}, Tags: []string{"spring sale"}, Consent: models.ConsentGranted})
			got = drain(t, s, im.ID)
			if got.RowsUnchanged != 2 || got.RowsUpdated != 0 {
				t.Errorf("re-import: unchanged %d updated %d; want 2, 0", got.RowsUnchanged, got.RowsUpdated)
			}
			if h, _ := s.ConsentHistory(ctx, c.ID); len(h) != 1 {
				t.Errorf("re-import recorded consent again: %+v", h)
			}

			// upsert with an external ID another contact holds: rejected.
			im = startImport(t, s, "ext.csv", []byte("phone,external id\n+5511955554444,crm-1\n"), models.ImportOptions{})
			got = drain(t, s, im.ID)
			if got.RowsRejected != 1 || got.RowsImported != 0 {
				t.Errorf("external ID clash: rejected %d imported %d; want 1, 0", got.RowsRejected, got.RowsImported)
			}
		})
	}
}

func TestImportResumesAfterLastCommittedLine(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			var b strings.Builder
			b.WriteString("phone,first_name\n")
			for i := range 10 {
				b.WriteString("+55119876543" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + ",P\n")
			}
			im := startImport(t, s, "resume.csv", []byte(b.String()), models.ImportOptions{})
			// A first worker commits one batch of four rows, then dies.
			claimed := claimImport(t, s, "dead-worker")
			rows := []models.ImportRow{}
			for i := range 4 {
				rows = append(rows, models.ImportRow{Line: i + 2, Phone: "+55119876543" + "0" + string(rune('0'+i)), WaID: "x"})
			}
			if _, err := s.ImportBatch(ctx, claimed, "dead-worker", models.ImportBatch{Rows: rows, Seen: 4, LastLine: 5}); err != nil {
				t.Fatal(err)
			}
			// The claim is stale at once for a worker with StaleAfter 0.
			imp := jobs.NewImporter(s, slog.New(slog.NewTextHandler(io.Discard, nil)), "second-worker")
			imp.StaleAfter = 0
			if _, err := imp.Round(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := s.Import(ctx, im.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != models.ImportDone || got.RowsTotal != 10 || got.RowsImported != 10 {
				t.Errorf("after resume: %s total %d imported %d; want done, 10, 10", got.Status, got.RowsTotal, got.RowsImported)
			}
			// The dead worker cannot write any more.
			if _, err := s.ImportBatch(ctx, claimed, "dead-worker", models.ImportBatch{Seen: 1, LastLine: 12}); err != models.ErrClaimLost {
				t.Errorf("late batch of the old worker: %v, want ErrClaimLost", err)
			}
		})
	}
}

func TestImportFailsOnUnreadableFile(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t).Store
	tests := []struct {
		name, content, reason string
	}{
		{"empty", "", "empty"},
		{"workbook", "PK\x03\x04\x14\x00\x06\x00binary", "not a CSV"},
		{"no phone column", "name,city\nAna,Rio\n", "mapping"},
	}
	for _, tt := range tests {
		im := startImport(t, s, tt.name+".csv", []byte(tt.content), models.ImportOptions{})
		got := drain(t, s, im.ID)
		if got.Status != models.ImportFailed || !strings.Contains(got.StatusReason, tt.reason) {
			t.Errorf("%s: %s %q, want failed mentioning %q", tt.name, got.Status, got.StatusReason, tt.reason)
		}
	}
}

// TestPartitionedImportResumesEachPartition: on Postgres two writers share
// an import by phone partition, and each records its own last line. A
// worker that dies after its partitions got to different lines leaves rows
// after the slower one's line that the faster one already wrote; the
// resumed import writes each row exactly once.
func TestPartitionedImportResumesEachPartition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testdb.Postgres(t).Store
	const n = 40
	phone := func(i int) string { return fmt.Sprintf("+55119876%05d", i) }
	var b strings.Builder
	b.WriteString("phone,first_name\n")
	for i := range n {
		fmt.Fprintf(&b, "%s,P%d\n", phone(i), i)
	}
	im := startImport(t, s, "parts.csv", []byte(b.String()), models.ImportOptions{})
	claimed := claimImport(t, s, "dead-worker")
	// The dead worker's partition 0 wrote the file to line 31, partition 1
	// only to line 11 (the header is line 1, row i is line i+2).
	upTo := []int{31, 11}
	for p, last := range upTo {
		sub := models.ImportBatch{LastLine: last, Part: p, Parts: 2}
		for i := range n {
			if line := i + 2; line <= last && jobs.PhonePartition(phone(i), 2) == p {
				sub.Rows = append(sub.Rows, models.ImportRow{Line: line, Phone: phone(i), WaID: phone(i)[1:]})
				sub.Seen++
			}
		}
		if len(sub.Rows) == 0 {
			t.Fatalf("partition %d got no rows: pick other phones", p)
		}
		if _, err := s.ImportBatch(ctx, claimed, "dead-worker", sub); err != nil {
			t.Fatal(err)
		}
	}
	mid, err := s.Import(ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.LineDone != 11 || len(mid.PartLines) != 2 || mid.PartLines[0] != 31 || mid.PartLines[1] != 11 {
		t.Fatalf("after the dead worker: line_done %d, partitions %v; want 11, [31 11]", mid.LineDone, mid.PartLines)
	}
	imp := jobs.NewImporter(s, slog.New(slog.NewTextHandler(io.Discard, nil)), "second-worker")
	imp.StaleAfter = 0
	imp.BatchSize = 4
	if _, err := imp.Round(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Import(ctx, im.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != models.ImportDone || got.RowsTotal != n || got.RowsImported != n || got.RowsUnchanged != 0 {
		t.Errorf("after resume: %s, total %d, imported %d, unchanged %d; want done, %d, %d, 0",
			got.Status, got.RowsTotal, got.RowsImported, got.RowsUnchanged, n, n)
	}
	var contacts int64
	if err := s.DB(ctx).Raw("SELECT COUNT(*) FROM contacts").Scan(&contacts).Error; err != nil || contacts != n {
		t.Errorf("contacts %d (err %v), want %d", contacts, err, n)
	}
}

// TestPartitionWriterDoesNotWaitForAnothersRejectedRows: a writer's
// rejected rows hold a KEY SHARE lock on the import's row (the foreign key
// of import_errors) until its batch commits. Another writer recording its
// partition's progress meanwhile must not wait for that lock: when each
// waited for the other's, two writers with rejected rows deadlocked.
func TestPartitionWriterDoesNotWaitForAnothersRejectedRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testdb.Postgres(t).Store
	im := startImport(t, s, "locks.csv", []byte("phone\n+5511987650001\nnot a phone\n"), models.ImportOptions{})
	claimed := claimImport(t, s, "worker")
	// The other writer, mid-batch: its rejected row written, not committed.
	other := s.DB(ctx).Begin()
	defer other.Rollback()
	if err := other.Exec("INSERT INTO import_errors (import_id, line, message) VALUES (?, 3, 'not a phone')", im.ID).Error; err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := s.ImportBatch(wctx, claimed, "worker", models.ImportBatch{Seen: 1, LastLine: 2, Part: 0, Parts: 2,
		Rows: []models.ImportRow{{Line: 2, Phone: "+5511987650001", WaID: "5511987650001"}}})
	if err != nil {
		t.Fatalf("partition progress waited for the other writer's open batch: %v", err)
	}
}
