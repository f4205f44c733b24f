package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// row is one line of the results table.
type row struct {
	Scenario string  `json:"scenario"`
	Measured string  `json:"measured"`
	Baseline string  `json:"baseline"`
	Ratio    string  `json:"ratio"`
	Target   string  `json:"target"`
	Pass     string  `json:"pass"` // yes, no, or n/a
	Value    float64 `json:"value"`
	Base     float64 `json:"baseline_value"`
	Notes    string  `json:"notes,omitempty"`
}

func numCPU() int { return runtime.NumCPU() }

func pass(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func ratio(measured, baseline float64) string {
	if baseline <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", measured/baseline)
}

// markdownTable renders rows as a GitHub table.
func markdownTable(rows []row) string {
	var sb strings.Builder
	sb.WriteString("| scenario | measured | baseline | ratio | target | pass |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s |\n", r.Scenario, r.Measured, r.Baseline, r.Ratio, r.Target, r.Pass)
	}
	var notes []string
	for _, r := range rows {
		if r.Notes != "" {
			notes = append(notes, "- "+r.Scenario+": "+r.Notes)
		}
	}
	if len(notes) > 0 {
		sb.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	return sb.String()
}

// writeResults writes latest.json and latest.md under dir.
func writeResults(dir string, rows []row, scale float64, took time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	doc := map[string]any{"scale": scale, "cpus": numCPU(), "go": runtime.Version(),
		"finished_at": time.Now().UTC().Format(time.RFC3339), "seconds": took.Seconds(), "rows": rows}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	md := fmt.Sprintf("BENCH_SCALE=%g on %d CPUs (%s), %s\n\n%s", scale, numCPU(), runtime.Version(),
		took.Round(time.Second), markdownTable(rows))
	return os.WriteFile(filepath.Join(dir, "latest.md"), []byte(md), 0o644)
}

func fmtRate(v float64, unit string) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// medianTime runs fn n times and returns the median duration.
func medianTime(n int, fn func() error) (time.Duration, error) {
	times := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}
