// Package segments renders the segment pages: the list, the rule builder
// with its live count, and the static-list upload.
package segments

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/views/components"
)

// Row is one segment in the list.
type Row struct {
	ID               int64
	Name, Kind       string
	Count, Reachable *int64
	UpdatedAt        time.Time
}

// ListView is the segments list page.
type ListView struct {
	Rows    []Row
	CanEdit bool
	Upload  UploadForm
}

// UploadForm is the "static list from a CSV of numbers" form.
type UploadForm struct {
	Name, DefaultCountry string
	Errors               components.FieldErrors
}

// Field is a field the builder offers, with its operators.
type Field struct {
	Key, Label, Type string
	Operators        []string
	Values           []string // enum choices
	Group            string   // optgroup label
}

// Choice is an id and label for campaign and segment dropdowns.
type Choice struct {
	ID    int64
	Label string
}

// Node is one rule of the tree as the builder edits it: a group (Kind
// all/any/none) or a condition (Kind field/event/campaign/segment). Values
// are kept as typed, so a half-typed number survives a re-render.
type Node struct {
	Path     string // form-field prefix, "r", "r.0", "r.0.2"
	Kind     string
	Field    string
	Op       string
	Values   []string
	Value2   string // upper bound of between
	Event    string
	Campaign string
	Segment  string
	Days     string
	Children []Node
	Errors   []string
	Depth    int
}

// IsGroup tells a group from a condition.
func (n Node) IsGroup() bool { return n.Kind == "all" || n.Kind == "any" || n.Kind == "none" }

// Value is the first value, for single-value inputs.
func (n Node) Value() string {
	if len(n.Values) == 0 {
		return ""
	}
	return n.Values[0]
}

// ListValue is the values joined for a comma-separated input.
func (n Node) ListValue() string { return strings.Join(n.Values, ", ") }

// Builder is everything the rule builder fragment needs.
type Builder struct {
	Root        Node
	Fields      []Field
	Suggestions map[string][]string // datalist values per field key
	Campaigns   []Choice
	Segments    []Choice
	MaxDepth    int
	ReadOnly    bool
}

// FieldByKey finds the field a condition uses.
func (b Builder) FieldByKey(key string) (Field, bool) {
	i := slices.IndexFunc(b.Fields, func(f Field) bool { return f.Key == key })
	if i < 0 {
		return Field{}, false
	}
	return b.Fields[i], true
}

// Preview is the live count and the sample of matching contacts.
type Preview struct {
	Total, Reachable int64
	Invalid          bool // the rules have errors; no count
	Sample           []SampleRow
	Errors           []string // problems not tied to a condition
}

// SampleRow is one contact of the sample.
type SampleRow struct {
	ID                          int64
	Name, Phone, Country, Stage string
	Reachability                string
	OptIn                       bool
	Spent                       string
	LastActive                  string
}

// EditView is the builder page of a new or saved segment.
type EditView struct {
	ID          int64 // 0 for a new segment
	Name        string
	Description string
	Kind        string
	Members     int64 // static lists
	Builder     Builder
	Preview     Preview
	Errors      components.FieldErrors
	CanEdit     bool
	UpdatedAt   time.Time
}

// Action is where the builder form posts.
func (v EditView) Action() string {
	if v.ID == 0 {
		return "/segments"
	}
	return "/segments/" + strconv.FormatInt(v.ID, 10)
}

// URL is the segment's own page.
func (v EditView) URL(suffix string) string {
	return "/segments/" + strconv.FormatInt(v.ID, 10) + suffix
}

var opLabels = map[string]string{
	"eq": "is", "neq": "is not", "in": "is any of", "not_in": "is none of", "contains": "contains",
	"gt": "is more than", "gte": "is at least", "lt": "is less than", "lte": "is at most", "between": "is between",
	"exists": "is set", "older_than_days": "more than N days ago", "within_days": "in the last N days",
	"count_gte": "at least", "count_lte": "at most", "count_eq": "exactly", "never": "never",
	"status": "was", "not_status": "was not",
}

var dateOpLabels = map[string]string{"gt": "is after", "gte": "is on or after", "lt": "is before", "lte": "is on or before"}

// OpLabel names an operator for people; dates read as before/after.
func OpLabel(fieldType, op string) string {
	if fieldType == "date" {
		if l, ok := dateOpLabels[op]; ok {
			return l
		}
	}
	if fieldType == "tags" {
		switch op {
		case "contains":
			return "include"
		case "in":
			return "include any of"
		case "not_in":
			return "include none of"
		}
	}
	if l, ok := opLabels[op]; ok {
		return l
	}
	return op
}

// Special field keys of the condition dropdown that switch the condition
// kind.
const (
	KeyEvent    = "@event"
	KeyCampaign = "@campaign"
	KeySegment  = "@segment"
)

// FieldSelectValue is what the condition's field dropdown shows selected.
func (n Node) FieldSelectValue() string {
	switch n.Kind {
	case "event":
		return KeyEvent
	case "campaign":
		return KeyCampaign
	case "segment":
		return KeySegment
	}
	return n.Field
}

func count(n *int64) string {
	if n == nil {
		return "–"
	}
	return components.Thousands(*n)
}

func idStr(id int64) string { return strconv.FormatInt(id, 10) }

// funnelSteps are the engagement steps, as the compiler knows them.
var funnelSteps = []string{"targeted", "sent", "delivered", "read", "tapped", "converted", "failed"}

func stepLabel(s string) string {
	if s == "targeted" {
		return "in the audience of"
	}
	return s
}

func groupLabel(kind string) string {
	switch kind {
	case "any":
		return "Any of these"
	case "none":
		return "None of these"
	}
	return "All of these"
}

func id(path, name string) string { return "f-" + strings.ReplaceAll(path, ".", "-") + "-" + name }

func name(path, key string) string { return path + "." + key }

func selectedIn(values []string, v string) bool { return slices.Contains(values, v) }

func valuesWith(values []string, current []string) []string {
	out := slices.Clone(values)
	for _, v := range current {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func hxVals(action string) string {
	return `{"action": "` + strings.NewReplacer(`"`, ``, `\`, ``).Replace(action) + `"}`
}

func dataListID(field string) string {
	return "dl-" + strings.NewReplacer(".", "-", "_", "-").Replace(field)
}
