package csvimport

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// parseAmount reads money and other decimal numbers written in any common
// locale: "1.234,56", "1,234.56", "R$ 120,00", "$99", "€ -5", "(12.50)",
// "1'234.50". Currency symbols and codes are ignored.
//
// The decimal separator is the last of "." and "," when both appear. When
// only one kind appears it is a thousands separator if it appears more than
// once or is followed by exactly three digits ("1.234" = 1234, "1,234" =
// 1234), and the decimal separator otherwise ("120,00", "99.9", "0.125").
func parseAmount(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return 0, errors.New("is too long to be a number")
	}
	negative := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		negative, s = true, s[1:len(s)-1]
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '.', r == ',':
			b.WriteRune(r)
		case r == '-' || r == '−':
			if negative {
				return 0, errors.New("is not a number")
			}
			negative = true
		case unicode.IsLetter(r), unicode.Is(unicode.Sc, r), unicode.IsSpace(r), r == '\'', r == '’', r == '+':
			// currency codes and symbols, spaces and Swiss thousands marks
		default:
			return 0, errors.New("is not a number")
		}
	}
	num := b.String()
	if strings.Trim(num, ".,") == "" || hasWord(s) {
		return 0, errors.New("is not a number")
	}
	lastDot, lastComma := strings.LastIndex(num, "."), strings.LastIndex(num, ",")
	var decimal byte
	switch {
	case lastDot >= 0 && lastComma >= 0:
		decimal = num[max(lastDot, lastComma)]
	case lastDot >= 0 || lastComma >= 0:
		sep := byte('.')
		if lastComma >= 0 {
			sep = ','
		}
		last := max(lastDot, lastComma)
		if strings.Count(num, string(sep)) == 1 && !(len(num)-last-1 == 3 && last > 0 && num[:last] != "0") {
			decimal = sep
		}
	}
	var clean strings.Builder
	for i := 0; i < len(num); i++ {
		switch c := num[i]; {
		case c == decimal:
			clean.WriteByte('.')
		case c == '.' || c == ',':
			// thousands separator
		default:
			clean.WriteByte(c)
		}
	}
	v, err := strconv.ParseFloat(clean.String(), 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, errors.New("is not a number")
	}
	if negative {
		v = -v
	}
	return v, nil
}

// hasWord reports a run of more than three letters, so that "call me 5" is
// not read as 5 while currency markers like "R$", "US$" or "BRL" pass.
func hasWord(s string) bool {
	run := 0
	for _, r := range s {
		if !unicode.IsLetter(r) {
			run = 0
			continue
		}
		if run++; run > 3 {
			return true
		}
	}
	return false
}

// parseCount reads a non-negative whole number such as "12", "1.234" or an
// Excel-formatted "3.0".
func parseCount(s string) (int, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
		return n, nil
	}
	v, err := parseAmount(s)
	if err != nil || v < 0 || v != math.Trunc(v) || v > math.MaxInt32 {
		return 0, errors.New("is not a whole number")
	}
	return int(v), nil
}

// parseBool reads yes/no answers in the supported languages and the
// subscription states Shopify and HubSpot export.
func parseBool(s string) (bool, error) {
	switch normalizeHeader(s) {
	case "yes", "y", "true", "t", "1", "x", "sim", "s", "si", "oui", "o", "ja", "j", "subscribed",
		"opted in", "opt in", "optin", "confirmed", "accepted", "granted", "on", "checked", "verdadeiro", "verdadero", "vrai", "wahr":
		return true, nil
	case "no", "n", "false", "f", "0", "nao", "non", "nein", "unsubscribed", "not subscribed", "opted out",
		"opt out", "optout", "pending", "never subscribed", "declined", "denied", "revoked", "off",
		"unchecked", "falso", "faux", "falsch", "invalid", "redacted", "cleaned", "bounced":
		return false, nil
	}
	return false, errors.New("is not yes/no (expected yes/no, true/false, 1/0, sim/não, sí/no, oui/non, ja/nein or subscribed/unsubscribed)")
}

// splitTags splits on "," ";" and "|", trims, lowercases and drops
// duplicates (keeping first-seen order).
func splitTags(s string, into []string) []string {
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '|' }) {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !containsWord(into, t) {
			into = append(into, t)
		}
	}
	return into
}

// lifecycleStages maps common CRM and spreadsheet wording onto Herald's
// stages: lead, new, active, at_risk, churned.
var lifecycleStages = map[string]string{
	"lead": "lead", "subscriber": "lead", "prospect": "lead", "marketingqualifiedlead": "lead",
	"salesqualifiedlead": "lead", "marketing qualified lead": "lead", "sales qualified lead": "lead",
	"mql": "lead", "sql": "lead", "opportunity": "lead", "interessado": "lead", "interesado": "lead",
	"potencial": "lead", "contato": "lead", "interessent": "lead",
	"new": "new", "new customer": "new", "novo": "new", "novo cliente": "new", "nuevo": "new",
	"nuevo cliente": "new", "nouveau": "new", "nouveau client": "new", "neu": "new", "neukunde": "new",
	"first time": "new", "first purchase": "new",
	"active": "active", "customer": "active", "active customer": "active", "ativo": "active",
	"activo": "active", "actif": "active", "aktiv": "active", "cliente": "active", "client": "active",
	"kunde": "active", "evangelist": "active", "repeat customer": "active", "returning": "active",
	"returning customer": "active", "loyal": "active", "recorrente": "active", "frequente": "active",
	"at risk": "at_risk", "at_risk": "at_risk", "atrisk": "at_risk", "em risco": "at_risk",
	"en riesgo": "at_risk", "a risque": "at_risk", "gefahrdet": "at_risk", "dormant": "at_risk",
	"inactive": "at_risk", "inativo": "at_risk", "inactivo": "at_risk", "inactif": "at_risk",
	"inaktiv": "at_risk", "lapsing": "at_risk", "sleeping": "at_risk",
	"churned": "churned", "churn": "churned", "lost": "churned", "lost customer": "churned",
	"former customer": "churned", "cancelled": "churned", "canceled": "churned", "perdido": "churned",
	"cancelado": "churned", "perdu": "churned", "annule": "churned", "verloren": "churned",
	"gekundigt": "churned", "ex cliente": "churned", "excliente": "churned",
}

// normalizeStage returns the Herald stage for s, or s lowercased when it is
// not recognisable.
func normalizeStage(s string) string {
	if stage, ok := lifecycleStages[normalizeHeader(s)]; ok {
		return stage
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// countryAliases covers names the CLDR display tables do not produce.
var countryAliases = map[string]string{
	"uk": "GB", "usa": "US", "u s a": "US", "u s": "US", "united states of america": "US",
	"america": "US", "england": "GB", "scotland": "GB", "wales": "GB", "great britain": "GB",
	"britain": "GB", "holland": "NL", "brasil": "BR", "mejico": "MX", "eeuu": "US", "ee uu": "US",
	"eua": "US", "emirates": "AE", "uae": "AE", "south korea": "KR", "korea": "KR", "russia": "RU",
	"czech republic": "CZ", "ivory coast": "CI", "vatican": "VA", "deutschland": "DE", "espana": "ES",
}

// countryNames maps normalised country names in English, Portuguese,
// Spanish, French and German to ISO codes. It is built once, on first use,
// and never modified.
var countryNames = sync.OnceValue(func() map[string]string {
	names := map[string]string{}
	dicts := []*display.Dictionary{display.English, display.Portuguese, display.Spanish, display.French, display.German}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			region, err := language.ParseRegion(string([]rune{a, b}))
			if err != nil || !currentCountry(region) || region.String() != string([]rune{a, b}) {
				continue
			}
			for _, d := range dicts {
				if n := normalizeHeader(d.Regions().Name(region)); n != "" {
					if _, taken := names[n]; !taken {
						names[n] = region.String()
					}
				}
			}
		}
	}
	return names
})

// currentCountry excludes historic codes (DD, SU, YU…) and groupings: a
// country is one the phone numbering data knows.
func currentCountry(r language.Region) bool {
	return r.IsCountry() && phonenumbers.GetCountryCodeForRegion(r.String()) != 0
}

// parseCountry accepts ISO 3166-1 alpha-2 and alpha-3 codes (any case),
// country calling codes ("55", "+55"), and country names in English,
// Portuguese, Spanish, French and German.
func parseCountry(s string) (string, error) {
	s = strings.TrimSpace(s)
	if digits := strings.TrimPrefix(s, "+"); digits != "" && len(digits) <= 3 && strings.Trim(digits, "0123456789") == "" {
		cc, _ := strconv.Atoi(digits)
		if region := phonenumbers.GetRegionCodeForCountryCode(cc); region != "" && region != phonenumbers.UNKNOWN_REGION {
			return region, nil
		}
		return "", errors.New("is not a known country calling code")
	}
	n := normalizeHeader(s)
	if code, ok := countryAliases[n]; ok {
		return code, nil
	}
	if len(s) == 2 || len(s) == 3 {
		if region, err := language.ParseRegion(s); err == nil && currentCountry(region) {
			return region.String(), nil
		}
	}
	if code, ok := countryNames()[n]; ok {
		return code, nil
	}
	return "", errors.New("is not a country (expected an ISO code like BR or BRA, or a country name)")
}

// parseTimezone validates an IANA zone name, forgiving letter case
// ("america/sao_paulo").
func parseTimezone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "local") {
		return "", errors.New("is not a time zone")
	}
	for _, candidate := range []string{s, titleZone(s)} {
		if loc, err := time.LoadLocation(candidate); err == nil {
			return loc.String(), nil
		}
	}
	return "", errors.New("is not an IANA time zone (expected a name like America/Sao_Paulo)")
}

// titleZone capitalises each word of a zone name: "america/sao_paulo" →
// "America/Sao_Paulo". "utc" becomes "UTC".
func titleZone(s string) string {
	if len(s) <= 3 {
		return strings.ToUpper(s)
	}
	b := []rune(strings.ToLower(s))
	for i := range b {
		if i == 0 || strings.ContainsRune("/_-", b[i-1]) {
			b[i] = unicode.ToUpper(b[i])
		}
	}
	return string(b)
}

// languageNames maps language names as people write them to base codes.
var languageNames = map[string]string{
	"english": "en", "ingles": "en", "anglais": "en", "englisch": "en",
	"portuguese": "pt", "portugues": "pt", "portugais": "pt", "portugiesisch": "pt",
	"spanish": "es", "espanol": "es", "castellano": "es", "espanhol": "es", "espagnol": "es", "spanisch": "es",
	"french": "fr", "frances": "fr", "francais": "fr", "franzosisch": "fr",
	"german": "de", "alemao": "de", "aleman": "de", "allemand": "de", "deutsch": "de",
	"italian": "it", "italiano": "it", "italien": "it", "italienisch": "it",
}

// parseLanguage returns a WhatsApp-style language code: the base language,
// plus "_REGION" when the value names one ("pt-br" → "pt_BR", "EN" → "en",
// "Português" → "pt").
func parseLanguage(s string) (string, error) {
	s = strings.TrimSpace(s)
	if code, ok := languageNames[normalizeHeader(s)]; ok {
		return code, nil
	}
	tag, err := language.Parse(strings.ReplaceAll(s, "_", "-"))
	if err != nil || len(s) > 35 {
		return "", errors.New("is not a language code (expected something like pt_BR, en or es-MX)")
	}
	base, _ := tag.Base()
	if region, conf := tag.Region(); conf == language.Exact {
		return base.String() + "_" + region.String(), nil
	}
	return base.String(), nil
}

// numericDate matches day/month/year or month/day/year with "/", "-" or "."
// and an optional time.
var numericDate = regexp.MustCompile(`^(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{4}|\d{2})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([aApP][mM])?)?$`)

// dateLayouts are tried in order. Layouts without a zone are read as UTC.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05 -0700", // Shopify
	"2006-01-02 15:04:05 -07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04 -0700",
	"2006-01-02 15:04:05 MST",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02 15:04:05",
	"2006/01/02 15:04",
	"2006/01/02",
	"20060102",
	time.RFC1123Z,
	time.RFC1123,
	"Jan 2, 2006",
	"January 2, 2006",
	"Jan 2 2006",
	"2 Jan 2006",
	"2 January 2006",
	"Jan 2, 2006 3:04 PM",
	"Jan 2, 2006 15:04",
}

// parseDate reads the date formats contact exports use. ISO forms are tried
// first. Numeric d/m/y vs m/d/y is resolved by the values when one part is
// above 12; otherwise dayFirst decides (see Options.DefaultCountry).
// Dotted dates (02.01.2006) are always day first. All-digit values are read
// as Unix seconds (10 digits), Unix milliseconds (13 digits) or an Excel
// serial day number (5 digits, with an optional fraction). Values without a
// zone are read as UTC; every result is returned in UTC.
func parseDate(s string, dayFirst bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return time.Time{}, errors.New("is too long to be a date")
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if m := numericDate.FindStringSubmatch(s); m != nil && m[2] == m[4] {
		return numericDMY(m, dayFirst)
	}
	if t, ok := epochDate(s); ok {
		return t, nil
	}
	return time.Time{}, errors.New("is not a date (expected a form like 2024-03-05, 2024-03-05 14:22:01 -0300 or 05/03/2024)")
}

func numericDMY(m []string, dayFirst bool) (time.Time, error) {
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[3])
	year, _ := strconv.Atoi(m[5])
	if len(m[5]) == 2 {
		year += 2000
		if year > time.Now().Year()+10 {
			year -= 100
		}
	}
	day, month := a, b
	switch {
	case m[2] == ".":
	case a > 12:
	case b > 12:
		day, month = b, a
	case !dayFirst:
		day, month = b, a
	}
	var hour, minute, sec int
	if m[6] != "" {
		hour, _ = strconv.Atoi(m[6])
		minute, _ = strconv.Atoi(m[7])
		sec, _ = strconv.Atoi(m[8]) // "" → 0
		switch strings.ToLower(m[9]) {
		case "pm":
			if hour < 12 {
				hour += 12
			}
		case "am":
			if hour == 12 {
				hour = 0
			}
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("is not a valid date (day %d, month %d)", day, month)
	}
	return t, nil
}

// epochDate reads Unix timestamps and Excel serial day numbers.
func epochDate(s string) (time.Time, bool) {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || strings.Trim(intPart, "0123456789") != "" || (hasFrac && (frac == "" || strings.Trim(frac, "0123456789") != "")) {
		return time.Time{}, false
	}
	switch {
	case len(intPart) == 10 && !hasFrac:
		n, _ := strconv.ParseInt(intPart, 10, 64)
		return time.Unix(n, 0).UTC(), true
	case len(intPart) == 13 && !hasFrac:
		n, _ := strconv.ParseInt(intPart, 10, 64)
		return time.UnixMilli(n).UTC(), true
	case len(intPart) == 5:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, false
		}
		// Excel day 0 is 1899-12-30 (it counts a non-existent 1900-02-29).
		base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
		return base.Add(time.Duration(v * float64(24*time.Hour))).Round(time.Second), true
	}
	return time.Time{}, false
}

// monthFirstCountries write numeric dates month first.
var monthFirstCountries = map[string]bool{"US": true, "PH": true, "PR": true, "GU": true, "AS": true,
	"VI": true, "MP": true, "UM": true, "FM": true, "MH": true, "PW": true}
