package models_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/views/components"
)

// benchRows reads HERALD_BENCH_ROWS, defaulting to def.
func benchRows(def int) int {
	if n, err := strconv.Atoi(os.Getenv("HERALD_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return def
}

// bigCampaign writes a campaign with n ledger rows on Postgres in one
// INSERT … SELECT generate_series: a realistic mix of outcomes, each row
// with its own wamid; then its counters are rebuilt from the rows.
func bigCampaign(b *testing.B, store *models.Store, n int, status string) int64 {
	b.Helper()
	ctx := context.Background()
	c := &models.Campaign{Name: "big", SegmentIDs: []int64{1}, Schedule: models.Schedule{Type: models.ScheduleNow}}
	if err := store.CreateCampaign(ctx, c); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	q := `INSERT INTO messages (campaign_id, status, send_after, wamid, sent_at, delivered_at, read_at, tapped_at, created_at, updated_at)
		SELECT ?, ?, ?, 'wamid.bench.' || ? || '.' || g, ?,
			CASE WHEN ? = 'sent' OR g % 20 = 0 THEN NULL ELSE ?::timestamptz END,
			CASE WHEN ? <> 'sent' AND g % 10 < 7 AND g % 20 <> 0 THEN ?::timestamptz END,
			CASE WHEN ? <> 'sent' AND g % 10 = 0 AND g % 20 <> 0 THEN ?::timestamptz END, ?, ?
		FROM generate_series(1, ?) g`
	if err := store.DB(ctx).Exec(q, c.ID, status, now, strconv.FormatInt(c.ID, 10), now, status, now, status, now, status, now, now, now, n).Error; err != nil {
		b.Fatal(err)
	}
	if _, err := store.RebuildCampaignStats(ctx, c.ID); err != nil {
		b.Fatal(err)
	}
	if err := store.DB(ctx).Exec("ANALYZE messages").Error; err != nil {
		b.Fatal(err)
	}
	return c.ID
}

// BenchmarkCampaignFunnelRender measures what the campaign page does for
// its funnel on a campaign of 1M ledger rows: read the counters, the
// conversion counters and the attribution settings, and render the SVG
// funnel. The target is under 100 ms; it reads no ledger row.
func BenchmarkCampaignFunnelRender(b *testing.B) {
	db := testdb.Postgres(b)
	ctx := context.Background()
	id := bigCampaign(b, db.Store, benchRows(1_000_000), models.MessageRead)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		st, err := db.Store.CampaignStats(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		conv, err := db.Store.CampaignConversions(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Store.CampaignAttribution(ctx, id); err != nil {
			b.Fatal(err)
		}
		f := components.Funnel{ID: "funnel", Title: "Funnel", Steps: []components.FunnelStep{
			{Label: "Targeted", Count: st.Targeted}, {Label: "Sent", Count: st.Sent}, {Label: "Delivered", Count: st.Delivered},
			{Label: "Read", Count: st.Read}, {Label: "Tapped", Count: st.Tapped}, {Label: "Converted", Count: conv.Converted}}}
		if err := components.FunnelChart(f).Render(ctx, io.Discard); err != nil {
			b.Fatal(err)
		}
		if st.Sent == 0 {
			b.Fatal("the counters are empty")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/render")
}

// BenchmarkWebhookApply measures delivered statuses applied per second
// through ApplyStatusUpdates (batches of 100, as webhooks arrive), on a
// campaign of HERALD_BENCH_ROWS (default 1M) rows of which 50,000 get a
// status, and the same rows updated by a bare UPDATE loop (one statement
// per status, 100 per transaction) as the baseline.
func BenchmarkWebhookApply(b *testing.B) {
	db := testdb.Postgres(b)
	ctx := context.Background()
	id := bigCampaign(b, db.Store, benchRows(1_000_000), models.MessageSent)
	const events, batch = 50_000, 100
	wamid := func(i int) string { return fmt.Sprintf("wamid.bench.%d.%d", id, i+1) }
	reset := func() {
		b.Helper()
		err := db.Store.DB(ctx).Exec("UPDATE messages SET status = 'sent', delivered_at = NULL WHERE campaign_id = ? AND delivered_at IS NOT NULL", id).Error
		if err != nil {
			b.Fatal(err)
		}
	}
	var applyRate, bareRate float64
	for b.Loop() {
		reset()
		at := time.Now().UTC()
		start := time.Now()
		for i := 0; i < events; i += batch {
			ups := make([]models.StatusUpdate, 0, batch)
			for j := i; j < i+batch; j++ {
				ups = append(ups, models.StatusUpdate{WAMID: wamid(j), Status: models.MessageDelivered, Timestamp: at, PricingCategory: "marketing"})
			}
			n, err := db.Store.ApplyStatusUpdates(ctx, ups)
			if err != nil || n != batch {
				b.Fatalf("applied %d of %d: %v", n, batch, err)
			}
		}
		applyRate = events / time.Since(start).Seconds()

		reset()
		start = time.Now()
		for i := 0; i < events; i += batch {
			err := db.Store.Tx(ctx, func(tx *models.Store) error {
				for j := i; j < i+batch; j++ {
					if err := tx.DB(ctx).Exec("UPDATE messages SET status = 'delivered', delivered_at = ? WHERE wamid = ?", at, wamid(j)).Error; err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		bareRate = events / time.Since(start).Seconds()
	}
	b.ReportMetric(applyRate, "events/s")
	b.ReportMetric(bareRate, "bare-updates/s")
	b.ReportMetric(applyRate/bareRate, "ratio")
}
