package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldhq/herald/csvimport"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// hostileCSVs are files that have broken importers: binary junk, a lone
// quote, a huge record, NUL bytes, mixed encodings, formula injection,
// SQL in cells, a header only, thousands of columns.
var hostileCSVs = map[string]string{
	"binary":         "\x00\x01\x02\xff\xfe\x00phone\n\x00\x00",
	"lone quote":     "phone,first_name\n\"+5511987654321,Ana\n",
	"header only":    "phone,first_name\n",
	"empty":          "",
	"bom and crlf":   "\ufeffphone,first_name\r\n+5511987654321,Ana\r\n",
	"latin1 mixed":   "phone,first_name\n+5511987654321,Jos\xe9\n+5511987654322,Ana\n",
	"formula":        "phone,first_name\n+5511987654321,=HYPERLINK(\"http://x\")\n",
	"sql in cells":   "phone,first_name,email\n+5511987650009,'); DROP TABLE contacts; --,x@example.com\n",
	"ragged rows":    "phone,first_name\n+5511987654321\n+5511987654322,Ana,extra,extra\n",
	"many columns":   strings.Repeat("c,", 5000) + "phone\n" + strings.Repeat("x,", 5000) + "+5511987654321\n",
	"huge record":    "phone,first_name\n+5511987654321," + strings.Repeat("A", 3<<20) + "\n",
	"only separator": ";;;;\n;;;;\n",
}

// FuzzCSVImport: no file makes the reader, the column guesser or the row
// normaliser panic, and every row is either a contact or a rejection.
func FuzzCSVImport(f *testing.F) {
	for _, s := range hostileCSVs {
		if len(s) < 1<<16 {
			f.Add([]byte(s))
		}
	}
	f.Add([]byte("Phone,Name,Tags,Total Spent,Created At\n+55 11 98765-4321,Ana,\"a,b\",\"1.234,50\",2024-03-05\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := csvimport.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		header := r.Header()
		m := csvimport.GuessMapping(header)
		if m.Validate(header) != nil {
			return
		}
		for range 1000 {
			row, err := r.Next()
			var rowErr *csvimport.RowError
			if errors.As(err, &rowErr) {
				continue
			}
			if err != nil {
				return
			}
			_, _ = m.Contact(header, row, csvimport.Options{DefaultCountry: "BR"})
		}
	})
}

// TestHostileCSVImports proves: each hostile file, imported by the worker
// into SQLite and Postgres, ends done or failed with a reason, never a
// panic or a stuck import; SQL in cells is stored as text.
func TestHostileCSVImports(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			for name, body := range hostileCSVs {
				path := filepath.Join(t.TempDir(), "upload.csv")
				if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				im := &models.Import{FileName: name + ".csv", FilePath: path, FileSize: int64(len(body))}
				if err := db.Store.CreateImport(ctx, im, models.ImportOptions{Mode: models.ImportUpsert, DefaultCountry: "BR"}, true); err != nil {
					t.Fatal(err)
				}
				imp := jobs.NewImporter(db.Store, slog.New(slog.DiscardHandler), "w")
				if _, err := imp.Round(ctx); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, err := db.Store.Import(ctx, im.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Finished() || (got.Status == models.ImportFailed && got.StatusReason == "") {
					t.Errorf("%s: import %s (%q)", name, got.Status, got.StatusReason)
				}
			}
			var name string
			db.Store.DB(ctx).Raw("SELECT first_name FROM contacts WHERE email = 'x@example.com'").Scan(&name)
			if name != "'); DROP TABLE contacts; --" {
				t.Errorf("SQL in a cell stored as %q", name)
			}
		})
	}
}

// uploadTooLarge streams a multipart upload of size bytes (generated, never
// stored) to the import API and returns the HTTP status and body.
func uploadTooLarge(t *testing.T, site *web, token string, size int64) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", "huge.csv")
		if err == nil {
			_, err = io.WriteString(part, "phone,first_name\n")
		}
		line := []byte("+5511987654321,Ana Maria de Souza Oliveira\n")
		for written := int64(0); err == nil && written < size; written += int64(len(line)) {
			_, err = part.Write(line)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, site.srv.URL+"/api/v1/contacts/imports", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		// The server may close the connection once it has refused.
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// tooLargeUpload proves: an upload over HERALD_MAX_IMPORT_BYTES is refused
// with 413 while it streams, creates no import and leaves no file behind.
func tooLargeUpload(t *testing.T, limit, size int64) {
	db := testdb.Postgres(t)
	site := newWeb(t, db.Store, fmt.Sprint(limit))
	_, token, err := db.Store.CreateAPIKey(context.Background(), "reliability", models.RoleMarketer, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, body := uploadTooLarge(t, site, token, size)
	if code != http.StatusRequestEntityTooLarge && code != 0 {
		t.Fatalf("upload of %d bytes over a %d limit: HTTP %d %s", size, limit, code, body)
	}
	if code == http.StatusRequestEntityTooLarge && !strings.Contains(body, "file_too_large") {
		t.Errorf("413 without the API error code: %s", body)
	}
	var n int64
	db.Store.DB(context.Background()).Raw("SELECT COUNT(*) FROM imports").Scan(&n)
	if n != 0 {
		t.Errorf("%d imports created from a refused upload", n)
	}
	left, _ := filepath.Glob(filepath.Join(site.cfg.DataDir, "imports", "*"))
	if len(left) > 0 {
		t.Errorf("refused upload left files: %v", left)
	}
}

// TestTooLargeUploadQuick: the same path as a 1 GB+ file, with a 1 MB limit.
func TestTooLargeUploadQuick(t *testing.T) {
	t.Parallel()
	tooLargeUpload(t, 1<<20, 3<<20)
}
