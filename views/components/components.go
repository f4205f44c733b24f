// Package components holds the small templ parts that pages compose: form
// fields with their errors, empty states, pagination, progress bars.
package components

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/a-h/templ"
)

// FieldErrors maps a form field's name to what is wrong with it.
type FieldErrors map[string]string

// Input describes one form field.
type Input struct {
	Name, Label, Type, Value, Placeholder, Help, Error string
	Required                                           bool
	Options                                            []Option // for Type "select"
	Attrs                                              templ.Attributes
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// Pager describes one page of a list.
type Pager struct {
	Page, PerPage int
	Total         int64
	BaseURL       string     // the list's path
	Query         url.Values // filters to keep on every link
}

// Pages is the number of pages, at least 1.
func (p Pager) Pages() int {
	if p.PerPage <= 0 {
		return 1
	}
	return max(1, int((p.Total+int64(p.PerPage)-1)/int64(p.PerPage)))
}

// Link returns the URL of page n with the current filters.
func (p Pager) Link(n int) string {
	q := url.Values{}
	for k, v := range p.Query {
		q[k] = v
	}
	q.Set("page", strconv.Itoa(n))
	return p.BaseURL + "?" + q.Encode()
}

// Summary says which rows are shown, e.g. "51–100 of 1,234".
func (p Pager) Summary() string {
	if p.Total == 0 {
		return "No results"
	}
	from := int64((p.Page-1)*p.PerPage + 1)
	to := min(int64(p.Page*p.PerPage), p.Total)
	return fmt.Sprintf("%s–%s of %s", Thousands(from), Thousands(to), Thousands(p.Total))
}

// Thousands formats n with thousands separators.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// Percent formats part/whole as a percentage with one decimal.
func Percent(part, whole int64) string {
	if whole == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(part)*100/float64(whole), 'f', 1, 64) + "%"
}
