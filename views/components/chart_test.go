package components_test

import (
	"context"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"github.com/heraldhq/herald/views/components"
)

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b strings.Builder
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCharts(t *testing.T) {
	t.Parallel()
	var heat components.Heatmap
	heat.ID, heat.Title, heat.Peaks = "hm", "Engagement", []string{"Tue–Thu 12:00–13:00 (lunch)"}
	heat.Cells[1][12] = components.HeatCell{Reads: 40, Taps: 9}
	cases := []struct {
		name string
		c    templ.Component
		want []string
	}{
		{"funnel", components.FunnelChart(components.Funnel{ID: "f", Title: "Funnel of Spring", Steps: []components.FunnelStep{
			{Label: "Sent", Count: 1000}, {Label: "Delivered", Count: 960, RateLabel: "delivery rate"}, {Label: "Read", Count: 480, RateLabel: "read rate"}}}),
			[]string{`role="img"`, `<title id="f-title">Funnel of Spring</title>`, "Delivered 960 (96.0% delivery rate)", "50.0% read rate",
				"−480 (50.0%)", `class="visually-hidden"`, "<td>1,000</td>", `width="430"`}},
		{"series", components.SeriesChart(components.Series{ID: "s", Title: "Per day", BarName: "messages sent", LineName: "conversions",
			PeriodName: "Day", Points: []components.SeriesPoint{{Label: "Mar 1", Bars: 120, Line: 3}, {Label: "Mar 2", Bars: 80, Line: 5}}}),
			[]string{"200 messages sent over 2 periods, most on Mar 1 (120); 8 conversions in total.", ">Mar 2<", "<polyline", ">Day<",
				"Mar 1: 120 messages sent, 3 conversions", "conversions (right axis)"}},
		{"heatmap", components.HeatmapChart(heat),
			[]string{"40 reads and 9 taps by the contact", "Peak windows: Tue–Thu 12:00–13:00 (lunch).", "Tue 12:00–13:00: 40 reads, 9 taps",
				`class="heat heat-5"`, ">Sun<", ">21:00<", "<td>40 / 9</td>"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := render(t, c.c)
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			if strings.Contains(out, "style=") || strings.Contains(out, "<script") {
				t.Error("charts must not use inline style or script (CSP)")
			}
		})
	}
}

func TestNiceCeilAndMoney(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]float64{0: 1, 7: 10, 12: 20, 180: 200, 240: 250, 3100: 5000} {
		if got := components.NiceCeil(in); got != want {
			t.Errorf("NiceCeil(%v) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "0.00", 1234.5: "1,234.50", 9.999: "10.00", -3.2: "-3.20"} {
		if got := components.Money(in); got != want {
			t.Errorf("Money(%v) = %q, want %q", in, got, want)
		}
	}
}
