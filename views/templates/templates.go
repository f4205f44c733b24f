// Package templates renders the message template pages: the list, the
// composer with its live phone preview, and a template's detail page.
package templates

import (
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/views/components"
)

// Row is one template in the list.
type Row struct {
	ID                                        int64
	Name, Language, Category, Status, Quality string
	UpdatedAt                                 time.Time
}

// ListView is the templates list.
type ListView struct {
	Rows     []Row
	Status   string // the status filter, "" for all
	Query    string
	Statuses []string
	CanEdit  bool
}

// Form holds the composer's values as typed.
type Form struct {
	Name, Language, Category, ParameterFormat string
	HeaderType, HeaderText, HeaderMediaURL    string
	Body, Footer                              string
	Buttons                                   []ButtonForm
	Sample                                    string // selected sample contact: "sample" or a contact id
}

// ButtonForm is one button row of the composer.
type ButtonForm struct {
	Type, Text, URL, Phone, Example, Payload string
	Track                                    bool
}

// VarRow is the mapping row of one variable.
type VarRow struct {
	Key      string // "header.0", "body.1", "button.2": the input name prefix after "var."
	Label    string // "{{2}} in the body"
	Source   string // field, value or campaign
	Field    string
	Value    string
	Campaign string
	Fallback string
	Error    string
}

// Issue is one validation problem.
type Issue struct {
	Field   string // the form field, e.g. "buttons[1].url"
	Label   string // how the composer names it, e.g. "Button 2 url"
	Message string
}

// PreviewButton is a button in the phone preview.
type PreviewButton struct {
	Type, Text, URL string
	Tracked         bool
}

// Preview is the phone preview and the live validation state.
type Preview struct {
	HeaderType, HeaderText, HeaderMediaURL string
	Body, Footer                           string
	Buttons                                []PreviewButton
	SampleName                             string
	Issues                                 []Issue
	CanSubmit                              bool // a WhatsApp gateway is configured
	Editable                               bool // a draft: content and submission are possible
}

// Option is a select option.
type Option = components.Option

// ComposerView is the composer page.
type ComposerView struct {
	ID       int64  // 0 for a new template
	Status   string // DRAFT for new ones
	Form     Form
	Vars     []VarRow
	VarsSig  string // the variable set the mapping rows were built for
	Preview  Preview
	Errors   components.FieldErrors
	Samples  []Option
	Fields   []Option // contact fields and attributes a variable can be mapped to
	Editable bool
}

// Action is where the composer posts.
func (v ComposerView) Action() string {
	if v.ID == 0 {
		return "/templates"
	}
	return "/templates/" + strconv.FormatInt(v.ID, 10)
}

// DetailView is a template's page.
type DetailView struct {
	ID                                        int64
	Name, Language, Category, ParameterFormat string
	Status, StatusReason, Quality, MetaID     string
	Archived                                  bool
	UpdatedAt                                 time.Time
	SyncedAt                                  *time.Time
	Preview                                   Preview
	CanEdit                                   bool
	CanSubmit                                 bool // draft and a gateway is configured
	TestSender                                bool // a test sender is wired
	Languages                                 []Option
	Errors                                    components.FieldErrors
	TestPhone                                 string
}

// Languages are the template languages Meta offers most often.
var Languages = []string{"en", "en_US", "en_GB", "es", "es_ES", "es_MX", "es_AR", "pt_BR", "pt_PT", "fr", "de", "it",
	"nl", "id", "hi", "ar", "tr", "ru", "ja", "ko", "zh_CN"}

// LanguageOptions lists Languages with selected marked (kept even when
// it is not a common one).
func LanguageOptions(selected string) []Option {
	var out []Option
	found := false
	for _, l := range Languages {
		out = append(out, Option{Value: l, Label: l, Selected: l == selected})
		found = found || l == selected
	}
	if !found && selected != "" {
		out = append([]Option{{Value: selected, Label: selected, Selected: true}}, out...)
	}
	return out
}

func options(selected string, pairs ...string) []Option {
	var out []Option
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Option{Value: pairs[i], Label: pairs[i+1], Selected: pairs[i] == selected})
	}
	return out
}

func categoryOptions(s string) []Option {
	return options(s, "MARKETING", "Marketing — offers, re-engagement", "UTILITY", "Utility — orders, shipping, billing",
		"AUTHENTICATION", "Authentication — one-time codes")
}

func formatOptions(s string) []Option {
	return options(s, "POSITIONAL", "Positional {{1}}", "NAMED", "Named {{first_name}}")
}

func headerOptions(s string) []Option {
	return options(s, "", "None", "text", "Text", "image", "Image", "video", "Video", "document", "Document")
}

func sourceOptions(s string) []Option {
	return options(s, "field", "Contact field", "value", "Fixed text", "campaign", "Per-campaign value")
}

func withSelected(opts []Option, selected string) []Option {
	out := make([]Option, 0, len(opts)+1)
	found := false
	for _, o := range opts {
		o.Selected = o.Value == selected
		found = found || o.Selected
		out = append(out, o)
	}
	if !found && selected != "" {
		out = append(out, Option{Value: selected, Label: selected, Selected: true})
	}
	return out
}

func buttonLabel(typ string) string {
	switch typ {
	case "quick_reply":
		return "Quick reply"
	case "url":
		return "Visit website"
	case "phone_number":
		return "Call phone number"
	case "copy_code":
		return "Copy offer code"
	case "otp":
		return "One-time password"
	}
	return typ
}

func itoa(i int) string { return strconv.Itoa(i) }

func btnName(i int, field string) string { return "buttons." + strconv.Itoa(i) + "." + field }

func btnErrKey(i int, field string) string { return "buttons[" + strconv.Itoa(i) + "]." + field }

func varName(key, field string) string { return "var." + key + "." + field }

func statusClass(s string) string { return "badge badge-" + s }

func qualityClass(q string) string { return "quality quality-" + strings.ToLower(q) }

func when(t time.Time) string { return t.Format("2006-01-02 15:04") }

func whenPtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return when(*t)
}

func idPath(id int64, suffix string) string {
	return "/templates/" + strconv.FormatInt(id, 10) + suffix
}

// lines splits message text for the bubble, which keeps line breaks.
func lines(s string) []string { return strings.Split(s, "\n") }
