package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// benchFile writes n contact rows and returns the file's path.
func benchFile(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "contacts.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "phone,first_name,last_name,email,country,tags,total_spent")
	for i := range n {
		// Valid Brazilian mobiles: +55 11 9xxxx-xxxx.
		fmt.Fprintf(w, "+55119%08d,First%d,Last%d,person%d@example.com,BR,\"tag%d,all\",%d.50\n", i, i, i, i, i%10, i%1000)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkImportPostgres imports a generated file (BENCH_ROWS rows, 100k by
// default) through the import worker into Postgres, and COPYs the same file
// into an unindexed table as the baseline; it reports both speeds and their
// ratio (the target is at least 0.33).
func BenchmarkImportPostgres(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	path := benchFile(b, n)
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var importSecs, copySecs float64
	for b.Loop() {
		db := testdb.Postgres(b)
		// Baseline: raw COPY of the file's text into a table without indexes.
		conn, err := pgx.Connect(ctx, db.URL)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE copy_baseline (phone text, first_name text, last_name text,
			email text, country text, tags text, total_spent text)`); err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := conn.PgConn().CopyFrom(ctx, f, "COPY copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)"); err != nil {
			b.Fatal(err)
		}
		copySecs += time.Since(start).Seconds()
		f.Close()
		conn.Close(ctx)

		// Herald's import: parse, normalise, stage by COPY, upsert.
		src, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		upload := filepath.Join(b.TempDir(), "upload.csv")
		if err := os.WriteFile(upload, src, 0o600); err != nil {
			b.Fatal(err)
		}
		im := &models.Import{FileName: "bench.csv", FilePath: upload, FileSize: info.Size()}
		if err := db.Store.CreateImport(ctx, im, models.ImportOptions{Mode: models.ImportUpsert, Overwrite: models.ImportOverwritable}, true); err != nil {
			b.Fatal(err)
		}
		imp := jobs.NewImporter(db.Store, log, "bench")
		start = time.Now()
		if _, err := imp.Round(ctx); err != nil {
			b.Fatal(err)
		}
		importSecs += time.Since(start).Seconds()
		got, err := db.Store.Import(ctx, im.ID)
		if err != nil {
			b.Fatal(err)
		}
		if got.Status != models.ImportDone || got.RowsImported != int64(n) {
			b.Fatalf("import %s (%s): %d of %d rows", got.Status, got.StatusReason, got.RowsImported, n)
		}
	}
	loops := float64(b.N)
	importRate := float64(n) * loops / importSecs
	copyRate := float64(n) * loops / copySecs
	b.ReportMetric(importRate, "rows/s")
	b.ReportMetric(copyRate, "copy-rows/s")
	b.ReportMetric(importRate/copyRate, "ratio")
}
