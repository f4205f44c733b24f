// Command bench measures Herald's performance targets and prints one table:
// scenario, measured figure, a baseline measured in the same run (the
// physical limit of this machine for the same work: raw COPY, a bare HTTP
// loop, a bare UPDATE loop), their ratio, the target and whether it passed.
// Ratios hold on noisy machines where absolute figures do not.
//
// It generates its own deterministic data (contacts with realistic
// countries, time zones, tags and spend; five events per contact) in
// Postgres schemas of its own, dropped at the end. BENCH_SCALE (default 1)
// scales every size: 1 is the 1M contacts / 5M events / 100k sends,
// 0.1 a quick run. `-scenario NAME` runs one scenario (and what it needs).
//
//	make bench                       # everything, BENCH_SCALE=1
//	BENCH_SCALE=0.1 make bench       # quick
//	make bench SCENARIO=send         # one scenario
//
// Results go to stdout and to bench/results/latest.json and latest.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/testdb"
)

// scenarios in run order; each names what it measures.
var scenarioNames = []string{"import", "contacts", "segment", "launch", "funnel", "send", "throttle", "webhook-apply",
	"transactional", "ui-load", "webhook-load"}

func main() {
	if child := os.Getenv(childEnv); child != "" {
		if err := runChild(child); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	scenario := flag.String("scenario", "", "run one scenario: "+strings.Join(scenarioNames, ", "))
	out := flag.String("out", "bench/results", "folder for latest.json and latest.md")
	flag.Parse()
	if *scenario != "" && !slices.Contains(scenarioNames, *scenario) {
		fmt.Fprintf(os.Stderr, "bench: unknown scenario %q (one of %s)\n", *scenario, strings.Join(scenarioNames, ", "))
		os.Exit(2)
	}
	scale := 1.0
	if v, err := strconv.ParseFloat(os.Getenv("BENCH_SCALE"), 64); err == nil && v > 0 {
		scale = v
	}
	b := &bench{
		ctx:   context.Background(),
		scale: scale,
		dbURL: testdb.PostgresURL(),
		only:  *scenario,
		log:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		quiet: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	start := time.Now()
	err := b.run()
	b.cleanup()
	if len(b.rows) > 0 {
		table := markdownTable(b.rows)
		fmt.Println()
		fmt.Print(table)
		fmt.Printf("\nBENCH_SCALE=%g, %s, total %s\n", scale, machine(), time.Since(start).Round(time.Second))
		if werr := writeResults(*out, b.rows, scale, time.Since(start)); werr != nil {
			fmt.Fprintln(os.Stderr, "bench: write results:", werr)
		} else {
			fmt.Println("written:", filepath.Join(*out, "latest.json"), "and latest.md")
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	for _, r := range b.rows {
		if r.Pass == "no" {
			os.Exit(3)
		}
	}
}

// bench is one run: its settings, the schemas it made and the rows so far.
type bench struct {
	ctx      context.Context
	scale    float64
	dbURL    string
	only     string
	log      *slog.Logger
	quiet    *slog.Logger
	rows     []row
	schemas  []string
	cleanups []func()
}

// wants reports whether scenario runs in this invocation.
func (b *bench) wants(scenario string) bool { return b.only == "" || b.only == scenario }

// n scales a full-size count, never below min.
func (b *bench) n(full, min int) int { return max(int(float64(full)*b.scale), min) }

// step logs progress to stderr, so the table stays alone on stdout.
func (b *bench) step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) add(r row) {
	b.rows = append(b.rows, r)
	b.step("%-34s %s (baseline %s) %s", r.Scenario, r.Measured, r.Baseline, r.Pass)
}

func (b *bench) run() error {
	steps := []struct {
		name string
		fn   func() error
	}{
		{"import", b.importScenario},
		{"contacts|segment|launch|funnel|ui-load|webhook-load", b.audienceScenarios},
		{"send|webhook-apply", b.sendScenarios},
		{"throttle", b.throttleScenario},
		{"transactional", b.transactionalScenario},
	}
	for _, s := range steps {
		if b.only != "" && !slices.Contains(strings.Split(s.name, "|"), b.only) {
			continue
		}
		b.settle()
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// settle writes out what earlier scenarios left dirty in Postgres's
// buffers (a million contacts, five million events…), so a checkpoint
// flushing them does not land in the middle of the next measurement.
func (b *bench) settle() {
	conn, err := pgx.Connect(b.ctx, b.dbURL)
	if err != nil {
		return // the scenario reports the connection error itself
	}
	defer conn.Close(b.ctx)
	if _, err := conn.Exec(b.ctx, "CHECKPOINT"); err != nil {
		b.step("note: CHECKPOINT between scenarios refused (%v); figures may include flushing earlier scenarios' writes", err)
	}
}

func (b *bench) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.dropSchemas()
}

func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%d CPU, host %s", numCPU(), host)
}
