// Package analytics renders the analytics page: totals for the last 7 and
// 30 days, messages and conversions per day, every campaign's key rates and
// the engagement-windows heatmap.
package analytics

import (
	"strconv"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/components"
)

// View is the analytics page.
type View struct {
	Days      int
	SegmentID int64
	Totals    []TotalsView
	Activity  components.Series
	Campaigns []CampaignRow
	Segments  []components.Option
	Heatmap   components.Heatmap
}

// TotalsView is one period's totals.
type TotalsView struct {
	Days   int
	Totals models.PeriodTotals
}

// CampaignRow is one campaign with its key rates.
type CampaignRow struct {
	ID                                              int64
	Name, Status                                    string
	LaunchedAt                                      time.Time
	Sent, Delivered, Read, Tapped, Converted        int64
	Revenue, Cost                                   float64
	DeliveryRate, ReadRate, TapRate, ConversionRate string
}

func n(v int64) string { return components.Thousands(v) }

func id(v int64) string { return strconv.FormatInt(v, 10) }

func days(d int) string { return strconv.Itoa(d) }

// query keeps the period and segment on the page's links.
func (v View) query(extra string) string {
	q := "?days=" + days(v.Days)
	if v.SegmentID > 0 {
		q += "&segment_id=" + id(v.SegmentID)
	}
	return q + extra
}
