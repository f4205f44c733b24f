// Package campaigns renders the campaign pages: the list with scheduled and
// recurring runs, the one-screen composer, the pre-launch confirmation, the
// live campaign page and Settings → Delivery rules.
package campaigns

import (
	"strconv"
	"time"

	"github.com/heraldhq/herald/views/components"
)

// Row is one campaign in the list.
type Row struct {
	ID                                              int64
	Name, Status, StatusReason, Schedule            string
	Targeted, Queued, Sent, Delivered, Read, Failed int64
	Done                                            int64
	CreatedAt                                       time.Time
}

// Upcoming is one scheduled or recurring run.
type Upcoming struct {
	ID              int64
	Name, Schedule  string
	NextRunAt       time.Time
	Status          string
	RecurringRunner bool
}

// ListView is the campaigns list.
type ListView struct {
	Rows     []Row
	Upcoming []Upcoming
	CanEdit  bool
}

// Choice is one checkbox or option.
type Choice struct {
	Value, Label, Hint string
	Checked            bool
}

// VarField is a campaign variable the chosen template asks for.
type VarField struct {
	Name, Value, Example string
}

// FormValues are the composer's fields as typed.
type FormValues struct {
	Name, SenderID, TemplateID                string
	VariantTemplateID, VariantShare           string
	SegmentIDs, ExcludeIDs                    map[string]bool
	ScheduleType, At, Timezone                string
	LocalDate, LocalTime                      string
	Repeat, RepeatDay, RepeatTime, Cron       string
	Deadline                                  string
	QuietHours, FrequencyCap                  bool
	Holdout                                   string
	Values                                    map[string]string
	QuietStart, QuietEnd, ReentryDays         string
	AttributionDays, ConversionEvents         string
	DefaultQuietStart, DefaultQuietEnd        string
	DefaultFrequencyCount, DefaultFrequencyIn int
}

// FormView is the composer.
type FormView struct {
	Form      FormValues
	Errors    components.FieldErrors
	Templates []components.Option
	Senders   []components.Option
	Segments  []Choice
	Timezones []string
	Vars      []VarField
}

// ConfirmView is the check before launch.
type ConfirmView struct {
	ID                       int64
	Name, Template, Category string
	Schedule                 string
	Matching, Reachable      int64
	Holdout                  int64
	Skipped                  []Choice // Label = reason, Value = count
	FrequencyCapped          int64
	QuietDeferred            int64
	Cost                     string
	Duration                 string
	Large                    bool
	Error                    string
	CanTest                  bool // a WhatsApp sender can send a test now
}

// ShowView is the live campaign page.
type ShowView struct {
	ID                               int64
	Name, Status, StatusReason       string
	Schedule, Template, Audience     string
	NextRunAt, LaunchedAt, Completed string
	Stats                            StatsView
	Reasons                          []Choice
	Runs                             []Choice
	CanEdit                          bool
	Live                             bool // poll for progress
	Report                           *ReportView
}

// StatsView is the funnel on the campaign page.
type StatsView struct {
	Targeted, Queued, Sent, Delivered, Read, Tapped, Converted int64
	Failed, Unknown, Holdout, Suppressed, Expired, Cancelled   int64
	Done                                                       int64
	Rate                                                       string // messages per second right now
}

// DeliveryView is Settings → Delivery rules.
type DeliveryView struct {
	QuietStart, QuietEnd, FrequencyCount, FrequencyDays string
	DefaultTimezone, FailureRate, MinAttempts           string
	Pricing                                             []PriceRow
	Errors                                              components.FieldErrors
	Timezones                                           []string
}

// PriceRow is one market of the pricing table, prices in USD per message.
type PriceRow struct {
	Country, Marketing, Utility, Authentication string
}

// N formats a count with thousands separators.
func N(n int64) string { return components.Thousands(n) }

func id(n int64) string { return strconv.FormatInt(n, 10) }

func when(t time.Time) string { return t.Format("2006-01-02 15:04 MST") }

func tzOptions(zones []string, selected string) []components.Option {
	out := make([]components.Option, len(zones))
	for i, z := range zones {
		out[i] = components.Option{Value: z, Label: z, Selected: z == selected}
	}
	return out
}

func live(v ShowView) bool { return v.Live }

var weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func weekdayOptions(selected string) []components.Option {
	out := make([]components.Option, len(weekdays))
	for i, d := range weekdays {
		out[i] = components.Option{Value: strconv.Itoa(i), Label: d, Selected: strconv.Itoa(i) == selected}
	}
	return out
}

func repeatOptions(selected string) []components.Option {
	var out []components.Option
	for _, r := range [][2]string{{"daily", "Every day"}, {"weekly", "Every week"}, {"custom", "Custom (cron)"}} {
		out = append(out, components.Option{Value: r[0], Label: r[1], Selected: r[0] == selected})
	}
	return out
}
