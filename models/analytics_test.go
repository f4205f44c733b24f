package models_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

func TestEngagementGridAdd(t *testing.T) {
	t.Parallel()
	cases := []struct {
		zone     string
		utc      string
		day, hr  int // 0 = Monday
		describe string
	}{
		{"America/Sao_Paulo", "2026-03-03T15:30:00Z", 1, 12, "Tuesday 15:30 UTC is 12:30 in São Paulo (UTC-3)"},
		{"Asia/Kolkata", "2026-03-03T06:45:00Z", 1, 12, "UTC+5:30: 06:45 UTC is 12:15 local"},
		{"Asia/Jakarta", "2026-03-01T20:15:00Z", 0, 3, "Sunday evening UTC is Monday 03:15 in Jakarta"},
		{"America/New_York", "2026-07-06T23:15:00Z", 0, 19, "summer time: UTC-4, Monday 19:15"},
		{"America/New_York", "2026-01-05T23:15:00Z", 0, 18, "winter time: UTC-5, Monday 18:15"},
		{"Europe/Berlin", "2026-03-29T00:30:00Z", 6, 1, "the night clocks go forward: 01:30 CET"},
		{"Europe/Berlin", "2026-03-29T01:30:00Z", 6, 3, "one hour later it is 03:30 CEST"},
		{"UTC", "2026-03-08T23:59:00Z", 6, 23, "Sunday is the last row"},
	}
	for _, c := range cases {
		t.Run(c.describe, func(t *testing.T) {
			t.Parallel()
			loc, err := time.LoadLocation(c.zone)
			if err != nil {
				t.Fatal(err)
			}
			at, _ := time.Parse(time.RFC3339, c.utc)
			var g models.EngagementGrid
			g.Add(loc, at, 2, 1)
			if g[c.day][c.hr] != (models.EngagementCell{Reads: 2, Taps: 1}) {
				for d := range 7 {
					for h := range 24 {
						if g[d][h].Reads > 0 {
							t.Fatalf("landed on day %d hour %d, want day %d hour %d", d, h, c.day, c.hr)
						}
					}
				}
			}
		})
	}
}

func TestPeakWindows(t *testing.T) {
	t.Parallel()
	var lunch models.EngagementGrid
	for d := 1; d <= 3; d++ { // Tue–Thu 12:00–13:00
		lunch[d][12] = models.EngagementCell{Reads: 100, Taps: 20}
	}
	for d := range 7 { // every evening 19:00–21:00, a little less
		lunch[d][19] = models.EngagementCell{Reads: 80}
		lunch[d][20] = models.EngagementCell{Reads: 75}
	}
	lunch[5][3] = models.EngagementCell{Reads: 5} // noise at night
	cases := []struct {
		name string
		grid models.EngagementGrid
		want []string
	}{
		{"lunch and evenings", lunch, []string{"Tue–Thu 12:00–13:00 (lunch)", "Every day 19:00–21:00 (evening)"}},
		{"empty", models.EngagementGrid{}, nil},
	}
	var weekend models.EngagementGrid
	weekend[5][9] = models.EngagementCell{Reads: 50}
	weekend[6][9] = models.EngagementCell{Reads: 45}
	cases = append(cases, struct {
		name string
		grid models.EngagementGrid
		want []string
	}{"weekend mornings", weekend, []string{"Weekends 09:00–10:00 (morning)"}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := models.PeakWindows(c.grid); !slices.Equal(got, c.want) {
				t.Fatalf("PeakWindows = %q, want %q", got, c.want)
			}
		})
	}
}

func TestTwoProportionZ(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                string
		xa, na, xb, nb      int64
		enough, significant bool
		wantZ               float64
	}{
		{"clear difference", 120, 1000, 80, 1000, true, true, 2.98},
		{"same rates", 100, 1000, 100, 1000, true, false, 0},
		{"too few", 3, 10, 1, 10, false, false, 1.12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := models.TwoProportionZ(c.xa, c.na, c.xb, c.nb)
			if got.Enough != c.enough || got.Significant != c.significant || math.Abs(got.Z-c.wantZ) > 0.01 {
				t.Fatalf("got %+v, want z≈%.2f enough=%v significant=%v", got, c.wantZ, c.enough, c.significant)
			}
		})
	}
}

func TestEngagementHeatmapQuery(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			now := time.Now().UTC()
			// A Tuesday two weeks ago, 15:40 UTC.
			at := now.Truncate(24*time.Hour).AddDate(0, 0, -14)
			for at.Weekday() != time.Tuesday {
				at = at.AddDate(0, 0, -1)
			}
			at = at.Add(15*time.Hour + 40*time.Minute)
			mk := func(phone, tz string) int64 {
				var id int64
				if err := db.Store.DB(ctx).Raw(`INSERT INTO contacts (phone, timezone, country, created_at, updated_at) VALUES (?, ?, 'BR', ?, ?) RETURNING id`,
					phone, tz, now, now).Scan(&id).Error; err != nil {
					t.Fatal(err)
				}
				return id
			}
			sp, in, none := mk("+5511900000001", "America/Sao_Paulo"), mk("+919800000001", "Asia/Kolkata"), mk("+5511900000002", "")
			for _, c := range []struct {
				id     int64
				tapped bool
			}{{sp, true}, {in, false}, {none, false}} {
				var tap any
				if c.tapped {
					tap = at.Add(time.Minute)
				}
				if err := db.Store.DB(ctx).Exec(`INSERT INTO messages (contact_id, status, send_after, read_at, tapped_at, created_at, updated_at)
					VALUES (?, 'read', ?, ?, ?, ?, ?)`, c.id, at, at, tap, at, at).Error; err != nil {
					t.Fatal(err)
				}
			}
			g, err := db.Store.EngagementHeatmap(ctx, models.HeatmapFilter{Since: now.AddDate(0, 0, -30), DefaultTimezone: "Europe/London"})
			if err != nil {
				t.Fatal(err)
			}
			// São Paulo 12:40, Kolkata 21:10, London (default, winter or summer) 15:40 or 16:40.
			if g[1][12] != (models.EngagementCell{Reads: 1, Taps: 1}) || g[1][21].Reads != 1 || g[1][15].Reads+g[1][16].Reads != 1 {
				t.Fatalf("grid Tuesday: %+v", g[1])
			}
			old, err := db.Store.EngagementHeatmap(ctx, models.HeatmapFilter{Since: now})
			if err != nil {
				t.Fatal(err)
			}
			if old != (models.EngagementGrid{}) {
				t.Fatal("reads before Since were counted")
			}
		})
	}
}

// TestListHealthOfALargeListIsSharedBriefly: a list of healthCountedFrom
// contacts or more is counted once and the count shared for a few seconds
// (the dashboard would otherwise scan it on every visit); a small list is
// counted on every call, so its figures are exact.
func TestListHealthOfALargeListIsSharedBriefly(t *testing.T) {
	t.Parallel()
	db := testdb.Postgres(t)
	ctx := context.Background()
	addContacts := func(from, n int) {
		t.Helper()
		err := db.Store.DB(ctx).Exec(`INSERT INTO contacts (phone, wa_id, reachability, marketing_opt_in, tags, created_at, updated_at)
			SELECT '+5511' || lpad(g::text, 9, '0'), '5511' || lpad(g::text, 9, '0'), 'reachable', true, '[]', now(), now()
			FROM generate_series(?::int, ?::int) g`, from, from+n-1).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	total := func() int64 {
		t.Helper()
		h, err := db.Store.ListHealth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return h.Total
	}
	addContacts(1, 10)
	if got := total(); got != 10 {
		t.Fatalf("small list: %d contacts, want 10", got)
	}
	addContacts(11, 1)
	if got := total(); got != 11 {
		t.Fatalf("small list after one more: %d contacts, want 11 (never cached)", got)
	}
	addContacts(12, 60_000)
	if got := total(); got != 60_011 {
		t.Fatalf("large list: %d contacts, want 60011", got)
	}
	addContacts(100_000, 1)
	if got := total(); got != 60_011 {
		t.Fatalf("large list counted again at once: %d contacts, want the shared 60011", got)
	}
}
