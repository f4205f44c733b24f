package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAnalyticsReportAndHeatmap loads demo data with `herald demo` (its
// campaigns really go through a simulator and its webhooks), then opens the
// dashboard, a campaign's report and the engagement heatmap, and saves
// screenshots of the charts.
func TestAnalyticsReportAndHeatmap(t *testing.T) {
	t.Parallel()
	startBrowser(t)
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "herald.db")
	load := exec.Command(heraldBin, "demo", "--contacts", "1200")
	load.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "HERALD_DATA_DIR="+dir, "HERALD_LOG_LEVEL=error")
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("herald demo: %v\n%s", err, out)
	}
	s := startServer(t, dbURL)
	p := newPage(t)
	p.signIn(s, s.Email, s.Pass)

	p.open(s.URL + "/")
	p.waitText("#recent-campaigns", "Spring sale A/B")
	p.screenshot("dashboard")

	p.click(`#recent-campaigns a[href="/campaigns/2"]`)
	p.waitVisible("#funnel svg")
	p.waitText("#campaign-report", "Converted")
	p.waitVisible("#campaign-timeline svg")
	p.screenshot("funnel")

	p.open(s.URL + "/analytics")
	p.waitVisible("#heatmap svg")
	p.waitText("#peak-windows", ":00")
	p.screenshot("heatmap")
}
