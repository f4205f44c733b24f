package components

import (
	"math"
	"strconv"
	"strings"
)

// Charts are server-side SVG: no script, no inline style (the CSP forbids
// both), colours from classes in app.css. Every chart is an <svg role="img">
// with a <title> and <desc> that state the numbers, followed by a visually
// hidden table with the same data for screen readers.

// FunnelStep is one bar of a funnel chart.
type FunnelStep struct {
	Label string
	Count int64
	// RateLabel names the step rate, e.g. "delivery rate"; "" for the first step.
	RateLabel string
	// RateOf is the label of the step the rate and drop-off are measured
	// against; "" = the step before.
	RateOf string
}

// Funnel is a funnel chart: steps from the widest to the narrowest.
type Funnel struct {
	ID    string // unique on the page; prefixes the title/desc ids
	Title string
	Steps []FunnelStep
}

// funnel geometry, in viewBox units.
const (
	funnelWidth    = 760
	funnelLabelW   = 120
	funnelBarMaxW  = 430
	funnelRowH     = 46
	funnelBarH     = 26
	funnelTopPad   = 8
	funnelRateXEnd = 756
)

// FunnelRow is one laid-out funnel step.
type FunnelRow struct {
	FunnelStep
	Y, BarW     int
	Percent     string // of the first step
	StepRate    string // of the previous step, e.g. "96.0%"
	DropOff     string // share lost from the previous step, e.g. "4.0%"
	Dropped     int64
	CountLabel  string
	ValueX      int
	PrevCount   int64
	IsFirstStep bool
}

// Rows lays out the funnel.
func (f Funnel) Rows() []FunnelRow {
	var maxCount int64 = 1
	for _, s := range f.Steps {
		maxCount = max(maxCount, s.Count)
	}
	rows := make([]FunnelRow, len(f.Steps))
	for i, s := range f.Steps {
		w := int(math.Round(float64(s.Count) / float64(maxCount) * funnelBarMaxW))
		if s.Count > 0 {
			w = max(w, 2)
		}
		r := FunnelRow{FunnelStep: s, Y: funnelTopPad + i*funnelRowH, BarW: w, CountLabel: Thousands(s.Count),
			ValueX: funnelLabelW + w + 8, IsFirstStep: i == 0}
		if len(f.Steps) > 0 {
			r.Percent = Percent(s.Count, f.Steps[0].Count)
		}
		if i > 0 {
			prev := f.Steps[i-1].Count
			for _, o := range f.Steps {
				if s.RateOf != "" && o.Label == s.RateOf {
					prev = o.Count
				}
			}
			r.PrevCount = prev
			r.StepRate = Percent(s.Count, prev)
			r.Dropped = max(prev-s.Count, 0)
			r.DropOff = Percent(r.Dropped, prev)
		}
		rows[i] = r
	}
	return rows
}

// Height is the funnel's viewBox height.
func (f Funnel) Height() int { return funnelTopPad*2 + len(f.Steps)*funnelRowH }

// ViewBox is the funnel's viewBox attribute.
func (f Funnel) ViewBox() string { return "0 0 " + itoa(funnelWidth) + " " + itoa(f.Height()) }

// Summary states every step in words, for <desc>.
func (f Funnel) Summary() string {
	parts := make([]string, len(f.Steps))
	for i, r := range f.Rows() {
		p := r.Label + " " + r.CountLabel
		if i > 0 {
			p += " (" + r.StepRate + " " + r.RateLabel + ")"
		}
		parts[i] = p
	}
	return strings.Join(parts, ", ") + "."
}

// SeriesPoint is one period of a time series.
type SeriesPoint struct {
	Label  string // e.g. "Mar 3" or "14:00"
	Bars   float64
	Line   float64
	Bucket string // machine form of the period, e.g. 2026-03-03
}

// Series is a column chart (Bars) with an optional line (Line) on its own
// right-hand axis, e.g. messages sent per day and conversions per day.
type Series struct {
	ID, Title         string
	BarName, LineName string // "" LineName = no line
	Points            []SeriesPoint
	BarUnit, LineUnit string // axis captions
	PeriodName        string // "Day", "Hour"
	LineIsMoney       bool
}

// series geometry.
const (
	seriesW     = 760
	seriesH     = 260
	seriesLeft  = 56
	seriesRight = 56
	seriesTop   = 16
	seriesBot   = 44
)

// SeriesBar is one laid-out column.
type SeriesBar struct {
	X, Y, W, H int
	LabelX     int
	ShowLabel  bool
	Point      SeriesPoint
	LineY      int
	Title      string
}

// Tick is one axis tick.
type Tick struct {
	Y     int
	Label string
}

// ViewBox of the series chart.
func (s Series) ViewBox() string { return "0 0 " + itoa(seriesW) + " " + itoa(seriesH) }

func (s Series) plotW() int { return seriesW - seriesLeft - seriesRight }
func (s Series) plotH() int { return seriesH - seriesTop - seriesBot }

// BaseY is the y of the x axis.
func (s Series) BaseY() int { return seriesH - seriesBot }

// Left, Right are the plot's x bounds.
func (s Series) Left() int  { return seriesLeft }
func (s Series) Right() int { return seriesW - seriesRight }

func (s Series) maxima() (bars, line float64) {
	for _, p := range s.Points {
		bars = math.Max(bars, p.Bars)
		line = math.Max(line, p.Line)
	}
	return NiceCeil(bars), NiceCeil(line)
}

// Bars lays out the columns and the line's points.
func (s Series) Bars() []SeriesBar {
	n := len(s.Points)
	if n == 0 {
		return nil
	}
	bmax, lmax := s.maxima()
	slot := float64(s.plotW()) / float64(n)
	w := max(int(slot*0.7), 1)
	every := max(1, (n+11)/12) // at most ~12 x labels
	out := make([]SeriesBar, n)
	for i, p := range s.Points {
		h := int(math.Round(p.Bars / bmax * float64(s.plotH())))
		x := seriesLeft + int(float64(i)*slot+(slot-float64(w))/2)
		title := p.Label + ": " + fmtNum(p.Bars) + " " + s.BarName
		if s.LineName != "" {
			title += ", " + s.fmtLine(p.Line) + " " + s.LineName
		}
		out[i] = SeriesBar{X: x, Y: s.BaseY() - h, W: w, H: h, LabelX: x + w/2, ShowLabel: i%every == 0, Point: p,
			LineY: s.BaseY() - int(math.Round(p.Line/lmax*float64(s.plotH()))), Title: title}
	}
	return out
}

// LinePoints is the polyline's points attribute.
func (s Series) LinePoints() string {
	var b strings.Builder
	for i, bar := range s.Bars() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(itoa(bar.LabelX) + "," + itoa(bar.LineY))
	}
	return b.String()
}

// BarTicks are the left axis ticks (0, half, max).
func (s Series) BarTicks() []Tick {
	bmax, _ := s.maxima()
	return s.ticks(bmax, fmtNum)
}

// LineTicks are the right axis ticks.
func (s Series) LineTicks() []Tick {
	_, lmax := s.maxima()
	return s.ticks(lmax, s.fmtLine)
}

func (s Series) ticks(top float64, f func(float64) string) []Tick {
	out := make([]Tick, 0, 5)
	for i := range 5 {
		v := top * float64(i) / 4
		out = append(out, Tick{Y: s.BaseY() - int(math.Round(float64(s.plotH())*float64(i)/4)), Label: f(v)})
	}
	return out
}

func (s Series) fmtLine(v float64) string {
	if s.LineIsMoney {
		return Money(v)
	}
	return fmtNum(v)
}

// LineValue formats a point's line value for the data table.
func (s Series) LineValue(p SeriesPoint) string { return s.fmtLine(p.Line) }

// BarValue formats a point's bar value for the data table.
func (s Series) BarValue(p SeriesPoint) string { return fmtNum(p.Bars) }

// Summary describes the series in words, for <desc>.
func (s Series) Summary() string {
	if len(s.Points) == 0 {
		return "No data yet."
	}
	var total, lineTotal, peak float64
	peakAt := ""
	for _, p := range s.Points {
		total += p.Bars
		lineTotal += p.Line
		if p.Bars > peak {
			peak, peakAt = p.Bars, p.Label
		}
	}
	out := fmtNum(total) + " " + s.BarName + " over " + itoa(len(s.Points)) + " periods"
	if peakAt != "" {
		out += ", most on " + peakAt + " (" + fmtNum(peak) + ")"
	}
	if s.LineName != "" {
		out += "; " + s.fmtLine(lineTotal) + " " + s.LineName + " in total"
	}
	return out + "."
}

// HeatCell is one hour of one weekday.
type HeatCell struct {
	Reads, Taps int64
}

// Heatmap is reads and taps by local weekday (0 = Monday) and hour.
type Heatmap struct {
	ID, Title string
	Cells     [7][24]HeatCell
	Peaks     []string // named peak windows, e.g. "Tue–Thu 12:00–13:00 (lunch)"
}

// heatmap geometry.
const (
	heatLeft  = 44
	heatTop   = 24
	heatCellW = 28
	heatCellH = 24
)

// Weekdays are the heatmap's row labels, Monday first.
var Weekdays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// LaidCell is one cell with its position and intensity class.
type LaidCell struct {
	X, Y   int
	Level  int // 0 (none) to 5 (busiest)
	Title  string
	Day    int
	Hour   int
	Weight int64
}

// Weight is what a cell's colour shows: reads plus taps.
func (c HeatCell) Weight() int64 { return c.Reads + c.Taps }

// ViewBox of the heatmap.
func (h Heatmap) ViewBox() string {
	return "0 0 " + itoa(heatLeft+24*heatCellW+4) + " " + itoa(heatTop+7*heatCellH+30)
}

// Laid lays out every cell.
func (h Heatmap) Laid() []LaidCell {
	var top int64
	for d := range 7 {
		for hr := range 24 {
			top = max(top, h.Cells[d][hr].Weight())
		}
	}
	out := make([]LaidCell, 0, 7*24)
	for d := range 7 {
		for hr := range 24 {
			c := h.Cells[d][hr]
			lvl := 0
			if w := c.Weight(); w > 0 && top > 0 {
				lvl = 1 + int(float64(w)*4.999/float64(top))
			}
			out = append(out, LaidCell{X: heatLeft + hr*heatCellW, Y: heatTop + d*heatCellH, Level: lvl, Day: d, Hour: hr,
				Weight: c.Weight(), Title: Weekdays[d] + " " + HourLabel(hr) + "–" + HourLabel((hr+1)%24) + ": " +
					Thousands(c.Reads) + " reads, " + Thousands(c.Taps) + " taps"})
		}
	}
	return out
}

// HourTicks are the hour labels along the top (every third hour).
func (h Heatmap) HourTicks() []Tick {
	var out []Tick
	for hr := 0; hr < 24; hr += 3 {
		out = append(out, Tick{Y: heatLeft + hr*heatCellW + heatCellW/2, Label: HourLabel(hr)})
	}
	return out
}

// DayY is the baseline of a weekday's row label.
func (h Heatmap) DayY(d int) int { return heatTop + d*heatCellH + heatCellH/2 + 4 }

// LegendY is the y of the legend row.
func (h Heatmap) LegendY() int { return heatTop + 7*heatCellH + 10 }

// LegendX is the x of legend swatch i.
func (h Heatmap) LegendX(i int) int { return heatLeft + 60 + i*(heatCellW+2) }

// Total is all reads and taps in the map.
func (h Heatmap) Total() (reads, taps int64) {
	for d := range 7 {
		for hr := range 24 {
			reads += h.Cells[d][hr].Reads
			taps += h.Cells[d][hr].Taps
		}
	}
	return reads, taps
}

// Summary describes the heatmap in words.
func (h Heatmap) Summary() string {
	r, t := h.Total()
	out := Thousands(r) + " reads and " + Thousands(t) + " taps by the contact's local weekday and hour."
	if len(h.Peaks) > 0 {
		out += " Peak windows: " + strings.Join(h.Peaks, "; ") + "."
	}
	return out
}

// HourLabel formats an hour as "09:00".
func HourLabel(h int) string {
	if h < 10 {
		return "0" + itoa(h) + ":00"
	}
	return itoa(h) + ":00"
}

// NiceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1), so
// axes end on round numbers.
func NiceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// Money formats an amount with two decimals and thousands separators.
func Money(v float64) string {
	neg := v < 0
	v = math.Abs(v)
	whole := int64(v)
	cents := int64(math.Round((v - float64(whole)) * 100))
	if cents == 100 {
		whole, cents = whole+1, 0
	}
	s := Thousands(whole) + "." + strconv.FormatInt(100+cents, 10)[1:]
	if neg {
		return "-" + s
	}
	return s
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return Thousands(int64(v))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func itoa(n int) string { return strconv.Itoa(n) }

// Itoa formats an int for attributes.
func Itoa(n int) string { return itoa(n) }
