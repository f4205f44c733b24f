package models

import (
	"context"
	"fmt"
	"time"
)

// EngagementCell counts reads and taps in one local hour of one weekday.
type EngagementCell struct {
	Reads int64 `json:"reads"`
	Taps  int64 `json:"taps"`
}

// EngagementGrid is reads and taps by the contact's local weekday (0 =
// Monday … 6 = Sunday) and local hour (0–23).
type EngagementGrid [7][24]EngagementCell

// Add counts n reads (or taps) that happened at utc for a contact in loc.
// The instant is shifted into the contact's own zone, daylight saving
// included, before its weekday and hour are taken.
func (g *EngagementGrid) Add(loc *time.Location, utc time.Time, reads, taps int64) {
	local := utc.In(loc)
	day := (int(local.Weekday()) + 6) % 7
	c := &g[day][local.Hour()]
	c.Reads += reads
	c.Taps += taps
}

// HeatmapFilter says whose engagement the heatmap shows.
type HeatmapFilter struct {
	Since     time.Time
	SegmentID int64 // 0 = every contact
	// DefaultTimezone is used for contacts without a zone ("" = UTC).
	DefaultTimezone string
}

// EngagementHeatmap counts reads and taps since f.Since by each contact's
// local weekday and hour. SQL groups by zone and UTC half-hour (a few
// thousand rows for a month), Go shifts each group into its zone, so
// half-hour zones such as India's land in the right hour.
func (s *Store) EngagementHeatmap(ctx context.Context, f HeatmapFilter) (EngagementGrid, error) {
	var grid EngagementGrid
	segWhere, segArgs := "", []any(nil)
	if f.SegmentID > 0 {
		w, a, err := s.SegmentWhere(ctx, f.SegmentID)
		if err != nil {
			return grid, err
		}
		segWhere, segArgs = " AND ("+w+")", a
	}
	def := f.DefaultTimezone
	if def == "" {
		def = "UTC"
	}
	locs := map[string]*time.Location{}
	locOf := func(name string) *time.Location {
		if l, ok := locs[name]; ok {
			return l
		}
		l, err := time.LoadLocation(name)
		if err != nil {
			l = time.UTC
		}
		locs[name] = l
		return l
	}
	for _, col := range []string{"read_at", "tapped_at"} {
		var rows []struct {
			TZ     string `gorm:"column:tz"`
			Bucket string
			Half   int
			N      int64
		}
		minute := "CAST(strftime('%M', m." + col + ") AS INTEGER)"
		if s.dialect == Postgres {
			minute = "EXTRACT(MINUTE FROM m." + col + " AT TIME ZONE 'UTC')"
		}
		q := "SELECT COALESCE(NULLIF(c.timezone, ''), ?) AS tz, " + s.bucketSQL("m."+col, true) + " AS bucket, CASE WHEN " + minute +
			" >= 30 THEN 1 ELSE 0 END AS half, COUNT(*) AS n FROM messages m JOIN contacts c ON c.id = m.contact_id WHERE m." + col +
			" >= ?" + segWhere + " GROUP BY 1, 2, 3"
		args := append([]any{def, f.Since.UTC()}, segArgs...)
		if err := s.db.WithContext(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
			return grid, fmt.Errorf("models: engagement heatmap (%s): %w", col, err)
		}
		for _, r := range rows {
			t, err := time.ParseInLocation(BucketLayout(true), r.Bucket, time.UTC)
			if err != nil {
				return grid, fmt.Errorf("models: engagement bucket %q: %w", r.Bucket, err)
			}
			// The middle of the half hour stands for it.
			t = t.Add(time.Duration(r.Half*30+15) * time.Minute)
			if col == "read_at" {
				grid.Add(locOf(r.TZ), t, r.N, 0)
			} else {
				grid.Add(locOf(r.TZ), t, 0, r.N)
			}
		}
	}
	return grid, nil
}

// PeakWindows names up to three busiest windows of the grid, e.g.
// "Tue–Thu 12:00–13:00 (lunch)" or "Every day 19:00–21:00 (evening)": the
// busiest cell grown over neighbouring hours and days that reach 60 % of
// it, then the next busiest outside it, while it still reaches half of the
// first peak.
func PeakWindows(g EngagementGrid) []string {
	var w [7][24]int64
	for d := range 7 {
		for h := range 24 {
			w[d][h] = g[d][h].Reads + g[d][h].Taps
		}
	}
	var covered [7][24]bool
	var out []string
	var first int64
	for len(out) < 3 {
		bd, bh := -1, -1
		var best int64
		for d := range 7 {
			for h := range 24 {
				if !covered[d][h] && w[d][h] > best {
					bd, bh, best = d, h, w[d][h]
				}
			}
		}
		if bd < 0 || (first > 0 && best*2 < first) {
			break
		}
		if first == 0 {
			first = best
		}
		h0, h1 := bh, bh
		for h0 > 0 && h1-h0 < 3 && !covered[bd][h0-1] && w[bd][h0-1]*10 >= best*6 {
			h0--
		}
		for h1 < 23 && h1-h0 < 3 && !covered[bd][h1+1] && w[bd][h1+1]*10 >= best*6 {
			h1++
		}
		score := func(d int) int64 {
			var s int64
			for h := h0; h <= h1; h++ {
				if !covered[d][h] {
					s += w[d][h]
				}
			}
			return s
		}
		peak := score(bd)
		d0, d1 := bd, bd
		for d0 > 0 && score(d0-1)*10 >= peak*6 {
			d0--
		}
		for d1 < 6 && score(d1+1)*10 >= peak*6 {
			d1++
		}
		for d := d0; d <= d1; d++ {
			for h := h0; h <= h1; h++ {
				covered[d][h] = true
			}
		}
		out = append(out, dayRange(d0, d1)+" "+clock(h0)+"–"+clock(h1+1)+" ("+partOfDay(h0)+")")
	}
	return out
}

var shortDays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func dayRange(d0, d1 int) string {
	switch {
	case d0 == 0 && d1 == 6:
		return "Every day"
	case d0 == 0 && d1 == 4:
		return "Weekdays"
	case d0 == 5 && d1 == 6:
		return "Weekends"
	case d0 == d1:
		return shortDays[d0]
	}
	return shortDays[d0] + "–" + shortDays[d1]
}

func clock(h int) string { return fmt.Sprintf("%02d:00", h%24) }

func partOfDay(h int) string {
	switch {
	case h >= 5 && h <= 10:
		return "morning"
	case h >= 11 && h <= 13:
		return "lunch"
	case h >= 14 && h <= 17:
		return "afternoon"
	case h >= 18 && h <= 22:
		return "evening"
	}
	return "night"
}
