package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
)

// childEnv makes the bench binary run one measured job as a child process
// (so its peak RSS is its own) instead of the table.
const childEnv = "HERALD_BENCH_CHILD"

// importResult is what the import child reports.
type importResult struct {
	Seconds  float64 `json:"seconds"`
	Imported int64   `json:"imported"`
	Rejected int64   `json:"rejected"`
	Status   string  `json:"status"`
	Reason   string  `json:"reason"`
}

// importScenario imports a generated CSV through Herald's import worker (in
// a child process, for its peak RSS) and COPYs the same file into an
// unindexed table as the baseline.
func (b *bench) importScenario() error {
	if !b.wants("import") {
		return nil
	}
	n := b.n(1_000_000, 10_000)
	dir, err := os.MkdirTemp("", "herald-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "contacts.csv")
	b.step("import: writing a %d-row CSV", n)
	size, err := writeCSV(path, n)
	if err != nil {
		return err
	}
	dbURL, store, err := b.newSchema("import")
	if err != nil {
		return err
	}

	// Baseline: raw COPY of the same file into a table without indexes.
	conn, err := pgx.Connect(b.ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(b.ctx)
	if _, err := conn.Exec(b.ctx, `CREATE TABLE copy_baseline (phone text, first_name text, last_name text, email text,
		country text, tags text, total_spent text, lifecycle_stage text)`); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	b.step("import: raw COPY baseline")
	start := time.Now()
	_, err = conn.PgConn().CopyFrom(b.ctx, f, "COPY copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)")
	copySecs := time.Since(start).Seconds()
	f.Close()
	if err != nil {
		return fmt.Errorf("raw COPY: %w", err)
	}

	// Herald: an API-style queued import, run by the worker in a child.
	im := &models.Import{FileName: "bench.csv", FilePath: path, FileSize: size}
	if err := store.CreateImport(b.ctx, im, models.ImportOptions{Mode: models.ImportUpsert, Overwrite: models.ImportOverwritable}, true); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	b.step("import: Herald's import worker (child process)")
	cmd := exec.CommandContext(b.ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"=import", "HERALD_BENCH_DB="+dbURL)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("import child: %w", err)
	}
	var res importResult
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("import child said %q: %w", out, err)
	}
	if res.Status != models.ImportDone || res.Imported != int64(n) {
		return fmt.Errorf("import ended %s (%s) with %d of %d rows", res.Status, res.Reason, res.Imported, n)
	}
	rssMB := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KiB on Linux
	rate, copyRate := float64(n)/res.Seconds, float64(n)/copySecs
	b.add(row{Scenario: fmt.Sprintf("import %dk-row CSV (Postgres)", n/1000),
		Measured: fmtRate(rate, "rows/s"), Baseline: fmtRate(copyRate, "rows/s raw COPY"), Ratio: ratio(rate, copyRate),
		Target: "≥ 0.33 of COPY and ≥ 44k rows/s", Pass: pass(rate/copyRate >= 0.33 && rate >= 44_000), Value: rate, Base: copyRate,
		Notes: "baseline COPYs the file's text into a table with no indexes; Herald parses, validates phones, dedupes and upserts into contacts with its 16 indexes"})
	b.add(row{Scenario: "import peak RSS", Measured: fmt.Sprintf("%.0f MB", rssMB), Baseline: "–", Ratio: "–",
		Target: "< 300 MB", Pass: pass(rssMB < 300), Value: rssMB})
	return nil
}

// runChild runs one measured job in this process and prints its result.
func runChild(kind string) error {
	if kind != "import" {
		return fmt.Errorf("unknown child %q", kind)
	}
	ctx := contextBackground()
	store, err := models.Open(ctx, os.Getenv("HERALD_BENCH_DB"))
	if err != nil {
		return err
	}
	defer store.Close()
	imp := jobs.NewImporter(store, discardLogger(), "bench-child")
	start := time.Now()
	more, err := imp.Round(ctx)
	if err != nil {
		return err
	}
	if !more {
		return fmt.Errorf("no queued import")
	}
	secs := time.Since(start).Seconds()
	var ims []models.Import
	if err := store.DB(ctx).Order("id DESC").Limit(1).Find(&ims).Error; err != nil || len(ims) == 0 {
		return fmt.Errorf("read import: %v", err)
	}
	im := ims[0]
	return json.NewEncoder(os.Stdout).Encode(importResult{Seconds: secs, Imported: im.RowsImported, Rejected: im.RowsRejected,
		Status: im.Status, Reason: im.StatusReason})
}
