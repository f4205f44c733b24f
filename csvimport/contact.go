package csvimport

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/heraldhq/herald/phone"
)

// Options tune how row values are interpreted.
type Options struct {
	// DefaultCountry (ISO alpha-2) is used for phone numbers written without a
	// country code when the row has no country column value. It also decides
	// ambiguous numeric dates: month first for US-style countries, day first
	// otherwise (and when empty).
	DefaultCountry string
}

// Contact is one normalised row, ready to be upserted.
type Contact struct {
	// Line is the row's 1-based line in the file.
	Line           int
	ExternalID     string
	Phone          string // E.164, e.g. "+5511987654321"
	PhoneDigits    string // wa_id form, e.g. "5511987654321"
	FirstName      string
	LastName       string
	Email          string // lowercased
	Country        string // ISO alpha-2; from the column, else from the number
	Timezone       string // IANA; from the column, else guessed from the number
	Language       string // WhatsApp style: "pt_BR", "en"
	Tags           []string
	LifecycleStage string // lead|new|active|at_risk|churned, or the file's value lowercased
	OptIn          *bool
	LastActiveAt   *time.Time
	CreatedAt      *time.Time
	TotalOrders    *int
	TotalSpent     *float64
	Attributes     map[string]string // key without the "attributes." prefix
	// Set holds the field keys (as in Fields, and "attributes.NAME") that
	// the file gave a non-empty value for, so an update overwrites only those
	// and an empty cell never erases data. Country and Timezone derived from
	// the number are filled in but not marked here. "phone" is always set.
	Set map[string]bool
}

// Contact normalises row using the mapping. header is Reader.Header. The
// error, a *RowError carrying row.Line, names every column that was wrong
// and why; a row with an error must not be imported.
func (m Mapping) Contact(header []string, row Row, opts Options) (Contact, error) {
	c := Contact{Line: row.Line, Set: map[string]bool{}}
	var problems []string
	bad := func(column, value, why string) {
		problems = append(problems, fmt.Sprintf("column %q: %q %s", column, shorten(value), why))
	}
	var phoneColumn, phoneValue, fullName string
	dayFirst := !monthFirstCountries[strings.ToUpper(opts.DefaultCountry)]

	for i, column := range header {
		field := m[column]
		if field == "" || field == Ignore || i >= len(row.Fields) {
			continue
		}
		if field == FieldPhone {
			// Checked after the loop, once the row's country is known.
			phoneColumn, phoneValue = column, strings.TrimSpace(row.Fields[i])
			continue
		}
		v := strings.TrimSpace(row.Fields[i])
		if v == "" {
			continue
		}
		ok := true
		switch {
		case field == FieldExternalID:
			c.ExternalID = v
		case field == FieldFirstName:
			c.FirstName = v
		case field == FieldLastName:
			c.LastName = v
		case field == FieldName:
			fullName = v
		case field == FieldEmail:
			email := strings.ToLower(strings.TrimPrefix(v, "mailto:"))
			if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
				bad(column, v, "is not an email address")
				ok = false
			}
			c.Email = email
		case field == FieldCountry:
			code, err := parseCountry(v)
			if err != nil {
				bad(column, v, err.Error())
				ok = false
			}
			c.Country = code
		case field == FieldTimezone:
			tz, err := parseTimezone(v)
			if err != nil {
				bad(column, v, err.Error())
				ok = false
			}
			c.Timezone = tz
		case field == FieldLanguage:
			lang, err := parseLanguage(v)
			if err != nil {
				bad(column, v, err.Error())
				ok = false
			}
			c.Language = lang
		case field == FieldTags:
			c.Tags = splitTags(v, c.Tags)
			ok = len(c.Tags) > 0
		case field == FieldLifecycleStage:
			c.LifecycleStage = normalizeStage(v)
		case field == FieldOptIn:
			b, err := parseBool(v)
			if err != nil {
				bad(column, v, err.Error())
				ok = false
			}
			c.OptIn = &b
		case field == FieldTotalSpent:
			f, err := parseAmount(v)
			if err != nil {
				bad(column, v, err.Error())
				ok = false
			}
			c.TotalSpent = &f
		case field == FieldTotalOrders:
			n, err := parseCount(v)
			if err != nil {
				bad(column, v, err.Error())
				ok = false
			}
			c.TotalOrders = &n
		case field == FieldLastActiveAt, field == FieldCreatedAt:
			t, err := parseDate(v, dayFirst)
			if err != nil {
				bad(column, v, err.Error())
				ok = false
			}
			if field == FieldLastActiveAt {
				c.LastActiveAt = &t
			} else {
				c.CreatedAt = &t
			}
		case strings.HasPrefix(field, AttributePrefix):
			if c.Attributes == nil {
				c.Attributes = map[string]string{}
			}
			c.Attributes[strings.TrimPrefix(field, AttributePrefix)] = v
		default:
			problems = append(problems, fmt.Sprintf("column %q: mapped to unknown field %q", column, field))
			ok = false
		}
		if ok {
			c.Set[field] = true
		}
	}

	if fullName != "" {
		first, last, _ := strings.Cut(strings.Join(strings.Fields(fullName), " "), " ")
		if c.FirstName == "" && c.LastName == "" {
			c.FirstName, c.LastName = first, last
		} else if c.FirstName == "" {
			c.FirstName = strings.TrimSpace(strings.TrimSuffix(fullName, c.LastName))
		} else if c.LastName == "" {
			c.LastName = strings.TrimSpace(strings.TrimPrefix(fullName, c.FirstName))
		}
		c.Set[FieldFirstName] = c.Set[FieldFirstName] || c.FirstName != ""
		c.Set[FieldLastName] = c.Set[FieldLastName] || c.LastName != ""
		c.Set[FieldName] = true
	}

	switch {
	case phoneColumn == "":
		problems = append(problems, "no column is mapped to phone")
	case phoneValue == "":
		problems = append(problems, fmt.Sprintf("column %q: the phone number is missing", phoneColumn))
	default:
		region := opts.DefaultCountry
		if c.Country != "" {
			region = c.Country
		}
		num, err := phone.Parse(phoneValue, region)
		if err != nil {
			problems = append(problems, fmt.Sprintf("column %q: %s", phoneColumn, strings.TrimPrefix(err.Error(), "phone: ")))
			break
		}
		c.Phone, c.PhoneDigits = num.E164, num.Digits
		c.Set[FieldPhone] = true
		if c.Country == "" {
			c.Country = num.Country
		}
		if c.Timezone == "" {
			c.Timezone = num.Timezone
		}
	}

	if len(problems) > 0 {
		return Contact{Line: row.Line}, &RowError{Line: row.Line, Msg: strings.Join(problems, "; ")}
	}
	return c, nil
}

// shorten keeps error messages readable when a cell holds a paragraph.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= 40 {
		return s
	}
	return string(r[:40]) + "…"
}
