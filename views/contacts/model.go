// Package contacts renders the audience pages: the contact list with its
// filters and bulk actions, a contact's page, the suppression-list upload,
// and the CSV import steps (upload, mapping, progress and report).
package contacts

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/views/components"
)

// Filter is the list's search and filters, as in the query string.
type Filter struct {
	Q, Tag, Status, Lifecycle, Country string
}

// Query renders the filter for links (empty values left out).
func (f Filter) Query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": f.Q, "tag": f.Tag, "status": f.Status, "lifecycle": f.Lifecycle, "country": f.Country} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// Active reports whether any filter is set.
func (f Filter) Active() bool { return len(f.Query()) > 0 }

// Row is one contact in the list.
type Row struct {
	ID                                                   int64
	Name, Phone, Email, Country, Lifecycle, Reachability string
	Tags                                                 []string
	OptIn                                                bool
}

// ListView is the contact list page.
type ListView struct {
	Rows       []Row
	Filter     Filter
	Page       int
	PerPage    int
	Total      int64
	TotalExact bool
	HasNext    bool
	Countries  []string
	Lifecycles []string
	Statuses   []string
	CanEdit    bool
	// Empty is true when there are no contacts at all, not just no match.
	Empty bool
}

// TotalLabel says how many contacts match, honestly when it is an estimate.
func (v ListView) TotalLabel() string {
	switch {
	case v.TotalExact:
		return components.Thousands(v.Total)
	case v.Filter.Active():
		return "more than " + components.Thousands(v.Total)
	default:
		return "about " + components.Thousands(v.Total)
	}
}

// Summary is "1–50 of about 1,000,000".
func (v ListView) Summary() string {
	if len(v.Rows) == 0 {
		return "No contacts match"
	}
	from := (v.Page-1)*v.PerPage + 1
	return fmt.Sprintf("%s–%s of %s", components.Thousands(int64(from)),
		components.Thousands(int64(from+len(v.Rows)-1)), v.TotalLabel())
}

// PageLink is the URL of page n with the current filters.
func (v ListView) PageLink(n int) string {
	q := v.Filter.Query()
	q.Set("page", strconv.Itoa(n))
	return "/contacts?" + q.Encode()
}

func options(values []string, selected, anyLabel string) []components.Option {
	out := []components.Option{{Value: "", Label: anyLabel, Selected: selected == ""}}
	for _, v := range values {
		out = append(out, components.Option{Value: v, Label: strings.ReplaceAll(v, "_", " "), Selected: v == selected})
	}
	return out
}

// ConsentRow is one consent event on a contact's page.
type ConsentRow struct {
	Kind, Source string
	Granted      bool
	At           time.Time
}

// MessageRow is one message on a contact's page.
type MessageRow struct {
	Campaign, Category, Status, Reason string
	CreatedAt                          time.Time
	SentAt, DeliveredAt, ReadAt        *time.Time
}

// ContactForm is the edit form's values.
type ContactForm struct {
	Phone, FirstName, LastName, Email, ExternalID, Country, Timezone, Language string
	Tags, Lifecycle, Reachability, ReachabilityReason, Attributes              string
	MarketingOptIn, TransactionalOptIn                                         bool
}

// Attribute is one custom attribute.
type Attribute struct{ Key, Value string }

// ContactView is a contact's page (or the new-contact page when ID is 0).
type ContactView struct {
	ID             int64
	Title          string
	Phone          string
	Reachability   string
	ReachReason    string
	ReachAt        *time.Time
	OptInSource    string
	OptInAt        *time.Time
	OptIn          bool
	Facts          []Attribute // built-in attributes shown read-only
	Attributes     []Attribute
	Consent        []ConsentRow
	Messages       []MessageRow
	Form           ContactForm
	Errors         components.FieldErrors
	CanEdit        bool
	Lifecycles     []string
	Reachabilities []string
}

// SuppressionView is the suppression-list upload page.
type SuppressionView struct {
	Status   string
	Reason   string
	Errors   components.FieldErrors
	Result   string // after an upload
	Rejected []string
}

// FieldChoice is one option of a mapping dropdown.
type FieldChoice struct{ Key, Label string }

// MappingColumn is one file column on the mapping step.
type MappingColumn struct {
	Index   int
	Header  string
	Field   string   // chosen field key
	Samples []string // first values of the column
	Choices []FieldChoice
}

// PreviewRow is one file row as it would be imported.
type PreviewRow struct {
	Line                                            int
	Phone, Name, Email, Country, Timezone, Language string
	Tags, Extra                                     string
	Error                                           string
}

// MappingView is the mapping and options step of an import.
type MappingView struct {
	ID             int64
	FileName       string
	FileSize       string
	Encoding       string
	Separator      string
	Columns        []MappingColumn
	Preview        []PreviewRow
	Mode           string
	Overwrite      map[string]bool
	Overwritable   []FieldChoice
	Tags           string
	DefaultCountry string
	Consent        string
	Error          string // a file or mapping problem for the whole form
}

// ImportView is an import's progress or final report.
type ImportView struct {
	ID                                                   int64
	FileName, Status, Reason, Mode                       string
	Total, Imported, Updated, Unchanged, Skipped, Merged int64
	Rejected                                             int64
	Percent                                              int // 0..100
	RowsPerSecond                                        string
	ETA                                                  string
	Elapsed                                              string
	Errors                                               []ImportErrorRow
	MoreErrors                                           bool
	Finished                                             bool
}

// ImportErrorRow is one rejected row in the report.
type ImportErrorRow struct {
	Line         int
	Message, Raw string
}

// ImportSummary is one import in the history list.
type ImportSummary struct {
	ID                                 int64
	FileName, Status                   string
	Total, Imported, Updated, Rejected int64
	CreatedAt                          time.Time
}

// ImportsView is the import history page.
type ImportsView struct {
	Imports []ImportSummary
	CanEdit bool
}

// UploadView is the upload form.
type UploadView struct {
	Error    string
	MaxBytes string
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

func when(t *time.Time) string {
	if t == nil {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04")
}
