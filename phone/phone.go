// Package phone normalises the phone numbers marketers paste or import into the
// forms WhatsApp needs: E.164 ("+5511987654321") and the bare-digit wa_id form
// ("5511987654321"), plus the number's country and a best-guess time zone.
//
// It wraps github.com/nyaruka/phonenumbers (a port of Google's libphonenumber)
// and adds the clean-ups real contact lists need: "whatsapp:" prefixes, the
// international "00" prefix, numbers written without "+", and a clear refusal
// of numbers a spreadsheet has already destroyed (scientific notation).
package phone

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Number is a validated phone number.
type Number struct {
	// E164 is the canonical form with a leading plus, e.g. "+5511987654321".
	E164 string
	// Digits is E164 without the plus: WhatsApp's wa_id form, e.g. "5511987654321".
	Digits string
	// Country is the ISO 3166-1 alpha-2 region of the number, e.g. "BR".
	Country string
	// Timezone is an IANA zone guessed from the number ("" if unknown). When the
	// number's prefix spans several zones, the alphabetically first is chosen so
	// the result is deterministic; for single-zone countries it is exact.
	Timezone string
}

// Reasons a number is rejected. Errors returned by Parse wrap exactly one of
// these, so callers can use errors.Is and still show err.Error() to a person.
var (
	// ErrEmpty means the input had no number at all.
	ErrEmpty = errors.New("is empty")
	// ErrScientificNotation means a spreadsheet stored the number as a float
	// and lost its last digits, e.g. "5.51199E+12".
	ErrScientificNotation = errors.New("looks like Excel scientific notation; format the column as text")
	// ErrNotANumber means the input has no usable digits or contains letters.
	ErrNotANumber = errors.New("is not a phone number")
	// ErrNoCountryCode means the number has no country code and no default
	// country was given to interpret it.
	ErrNoCountryCode = errors.New("has no country code (start it with + and the country code, or choose a default country)")
	// ErrInvalidCountryCode means the leading digits are not a known country calling code.
	ErrInvalidCountryCode = errors.New("has an unknown country calling code")
	// ErrTooShort means the number has too few digits for its country.
	ErrTooShort = errors.New("is too short")
	// ErrTooLong means the number has too many digits for its country.
	ErrTooLong = errors.New("is too long")
	// ErrInvalid means the number has a plausible length but is not a valid
	// number in its country's numbering plan.
	ErrInvalid = errors.New("is not a valid number for its country")
	// ErrUnknownCountry means defaultCountry is not an ISO 3166-1 alpha-2 code
	// phonenumbers knows.
	ErrUnknownCountry = errors.New("unknown default country")
)

// scientific matches what Excel shows for a long number stored as a float:
// "5.51199E+12", "5,51199E+12" (comma locales), "5.5E12".
var scientific = regexp.MustCompile(`^[+-]?\d+([.,]\d+)?[eE][+-]?\d+$`)

// prefixes are URI-like schemes people paste in front of numbers.
var prefixes = []string{"whatsapp:", "tel:", "wa:", "sms:"}

// maxInputLen bounds the work on absurd inputs; real numbers with formatting
// are far shorter than this.
const maxInputLen = 64

// Parse validates and normalises raw. defaultCountry (ISO alpha-2, any case,
// may be "") is used for numbers written without a country code.
//
// Interpretation order, for input without "+" or "00": the national form in
// defaultCountry first, then the digits as an international number without
// its "+" (the wa_id form, "5511987654321"). The first valid reading wins.
func Parse(raw, defaultCountry string) (Number, error) {
	n, err := parse(raw, defaultCountry)
	if err != nil {
		return Number{}, fmt.Errorf("phone: %q %w", truncate(raw), err)
	}
	return n, nil
}

func parse(raw, defaultCountry string) (Number, error) {
	s := strings.TrimSpace(raw)
	lower := strings.ToLower(s)
	for _, p := range prefixes {
		if strings.HasPrefix(lower, p) {
			s = strings.TrimSpace(s[len(p):])
			break
		}
	}
	if s == "" {
		return Number{}, ErrEmpty
	}
	if len(s) > maxInputLen {
		return Number{}, ErrTooLong
	}
	if scientific.MatchString(strings.ReplaceAll(s, " ", "")) {
		return Number{}, ErrScientificNotation
	}
	region := strings.ToUpper(strings.TrimSpace(defaultCountry))
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return Number{}, fmt.Errorf("%w %q", ErrUnknownCountry, defaultCountry)
	}

	digits, international, err := clean(s)
	if err != nil {
		return Number{}, err
	}
	if international {
		return fromInternational(digits)
	}

	// No explicit country code: the national reading in the default country
	// first, then the bare international (wa_id) reading.
	var nationalErr error
	if region != "" {
		n, err := parseIn(digits, region)
		if err == nil {
			return n, nil
		}
		nationalErr = err
	}
	if !strings.HasPrefix(digits, "0") {
		if n, err := fromInternational(digits); err == nil {
			return n, nil
		}
	}
	if nationalErr != nil {
		return Number{}, nationalErr
	}
	return Number{}, ErrNoCountryCode
}

// clean strips formatting, returning the digits and whether the input carried
// an explicit international prefix ("+" or "00").
func clean(s string) (digits string, international bool, err error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９': // full-width digits from some IMEs
			b.WriteRune('0' + (r - '０'))
		case r == '+' || r == '＋':
			if b.Len() > 0 || international {
				return "", false, ErrNotANumber
			}
			international = true
		case strings.ContainsRune(" \t\u00a0.-‐–—()/[]", r):
			// visual separators
		default:
			return "", false, ErrNotANumber
		}
	}
	digits = b.String()
	if digits == "" {
		return "", false, ErrNotANumber
	}
	if !international && strings.HasPrefix(digits, "00") {
		digits = digits[2:]
		international = true
	}
	if digits == "" {
		return "", false, ErrNotANumber
	}
	return digits, international, nil
}

// fromInternational reads digits that start with a country calling code.
func fromInternational(digits string) (Number, error) {
	return parseIn("+"+digits, "")
}

// parseIn parses and validates s in region ("" when s starts with "+").
func parseIn(s, region string) (Number, error) {
	if region == "" && strings.HasPrefix(s, "+") {
		if num, ok := fastInternational(s[1:]); ok {
			return validate(num)
		}
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			if region == "" && !strings.HasPrefix(s, "+") {
				return Number{}, ErrNoCountryCode
			}
			return Number{}, ErrInvalidCountryCode
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return Number{}, ErrTooShort
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return Number{}, ErrTooLong
		default:
			return Number{}, ErrNotANumber
		}
	}
	return validate(num)
}

// validate checks a parsed number's length and numbering plan and fills in
// the normalised forms, its country and its zone.
func validate(num *phonenumbers.PhoneNumber) (Number, error) {
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.IS_POSSIBLE:
	case phonenumbers.INVALID_COUNTRY_CODE:
		return Number{}, ErrInvalidCountryCode
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return Number{}, ErrTooShort
	case phonenumbers.TOO_LONG:
		return Number{}, ErrTooLong
	case phonenumbers.INVALID_LENGTH:
		return Number{}, ErrInvalid
	}
	if !phonenumbers.IsValidNumber(num) {
		return Number{}, ErrInvalid
	}
	var e164 string
	if num.GetItalianLeadingZero() {
		e164 = phonenumbers.Format(num, phonenumbers.E164)
	} else {
		// What Format(E164) writes, without its buffers and metadata lookups.
		e164 = "+" + strconv.Itoa(int(num.GetCountryCode())) + strconv.FormatUint(num.GetNationalNumber(), 10)
	}
	return Number{
		E164:     e164,
		Digits:   strings.TrimPrefix(e164, "+"),
		Country:  phonenumbers.GetRegionCodeForNumber(num),
		Timezone: timezone(num),
	}, nil
}

// timezone picks one IANA zone for num: the alphabetically first of the zones
// the mapper returns, so the choice never depends on data-file order.
func timezone(num *phonenumbers.PhoneNumber) string {
	zones, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		return ""
	}
	zones = slices.DeleteFunc(slices.Clone(zones), func(z string) bool {
		return z == "" || z == phonenumbers.UNKNOWN_TIMEZONE
	})
	if len(zones) == 0 {
		return ""
	}
	slices.Sort(zones)
	return zones[0]
}

// truncate keeps error messages readable when a whole cell of junk was passed.
func truncate(s string) string {
	const limit = 40
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[:limit]) + "…"
}
