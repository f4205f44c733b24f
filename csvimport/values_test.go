package csvimport

import (
	"reflect"
	"testing"
	"time"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1.234,56", 1234.56, true},
		{"1,234.56", 1234.56, true},
		{"R$ 120,00", 120, true},
		{"R$120,00", 120, true},
		{"$99", 99, true},
		{"99.9", 99.9, true},
		{"0,5", 0.5, true},
		{"0.125", 0.125, true},
		{"1.234", 1234, true},
		{"1,234", 1234, true},
		{"1.234.567", 1234567, true},
		{"1,234,567.89", 1234567.89, true},
		{"1.234.567,89", 1234567.89, true},
		{"1'234.50", 1234.5, true},
		{"1 234,50 €", 1234.5, true},
		{"1\u00a0234,50", 1234.5, true},
		{"BRL 45.90", 45.9, true},
		{"US$ 10", 10, true},
		{"-12.50", -12.5, true},
		{"(12.50)", -12.5, true},
		{"€ -5", -5, true},
		{"0", 0, true},
		{"", 0, false},
		{"abc", 0, false},
		{"call me 5", 0, false},
		{"1.2.3,4,5", 0, false},
		{"--5", 0, false},
		{"12%", 0, false},
		{".", 0, false},
	}
	for _, tt := range tests {
		got, err := parseAmount(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseAmount(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"12", 12, true}, {" 3 ", 3, true}, {"3.0", 3, true}, {"1.234", 1234, true}, {"0", 0, true},
		{"2.5", 0, false}, {"-1", 0, false}, {"many", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseCount(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseCount(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseBool(t *testing.T) {
	t.Parallel()
	yes := []string{"yes", "YES", "true", "1", "sim", "Sí", "si", "oui", "ja", "y", "Y", "subscribed", "SUBSCRIBED", "x", "opted in"}
	no := []string{"no", "false", "0", "não", "nao", "non", "nein", "n", "unsubscribed", "NOT_SUBSCRIBED", "pending"}
	for _, s := range yes {
		if got, err := parseBool(s); err != nil || !got {
			t.Errorf("parseBool(%q) = %v, %v; want true", s, got, err)
		}
	}
	for _, s := range no {
		if got, err := parseBool(s); err != nil || got {
			t.Errorf("parseBool(%q) = %v, %v; want false", s, got, err)
		}
	}
	for _, s := range []string{"maybe", "2", "yes please"} {
		if _, err := parseBool(s); err == nil {
			t.Errorf("parseBool(%q) should fail", s)
		}
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	utc := func(y int, m time.Month, d, h, min, s int) time.Time {
		return time.Date(y, m, d, h, min, s, 0, time.UTC)
	}
	tests := []struct {
		in       string
		dayFirst bool
		want     time.Time
		ok       bool
	}{
		{"2024-03-05T14:22:01Z", true, utc(2024, 3, 5, 14, 22, 1), true},
		{"2024-03-05T14:22:01-03:00", true, utc(2024, 3, 5, 17, 22, 1), true},
		{"2024-03-05T14:22:01.123Z", true, time.Date(2024, 3, 5, 14, 22, 1, 123e6, time.UTC), true},
		{"2024-03-05", true, utc(2024, 3, 5, 0, 0, 0), true},
		{"2024-03-05 14:22:01", true, utc(2024, 3, 5, 14, 22, 1), true},
		{"2024-03-05 14:22", true, utc(2024, 3, 5, 14, 22, 0), true},
		{"2024-03-05 14:22:01 -0300", true, utc(2024, 3, 5, 17, 22, 1), true}, // Shopify
		{"2024/03/05", true, utc(2024, 3, 5, 0, 0, 0), true},
		{"05/03/2024", true, utc(2024, 3, 5, 0, 0, 0), true},  // ambiguous: day first
		{"05/03/2024", false, utc(2024, 5, 3, 0, 0, 0), true}, // ambiguous: month first (US)
		{"25/12/2023", false, utc(2023, 12, 25, 0, 0, 0), true},
		{"12/25/2023", true, utc(2023, 12, 25, 0, 0, 0), true},
		{"05.03.2024", false, utc(2024, 3, 5, 0, 0, 0), true}, // dotted is always day first
		{"5-3-24", true, utc(2024, 3, 5, 0, 0, 0), true},
		{"05/03/2024 14:22", true, utc(2024, 3, 5, 14, 22, 0), true},
		{"3/5/2024 2:22 PM", false, utc(2024, 3, 5, 14, 22, 0), true},
		{"Mar 5, 2024", true, utc(2024, 3, 5, 0, 0, 0), true},
		{"5 March 2024", true, utc(2024, 3, 5, 0, 0, 0), true},
		{"1709648521", true, utc(2024, 3, 5, 14, 22, 1), true},
		{"1709648521000", true, utc(2024, 3, 5, 14, 22, 1), true},
		{"45356", true, utc(2024, 3, 5, 0, 0, 0), true}, // Excel serial
		{"45356.5", true, utc(2024, 3, 5, 12, 0, 0), true},
		{"31/02/2024", true, time.Time{}, false},
		{"13/13/2024", true, time.Time{}, false},
		{"yesterday", true, time.Time{}, false},
		{"2024-13-01", true, time.Time{}, false},
		{"", true, time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseDate(tt.in, tt.dayFirst)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseDate(%q, dayFirst=%v) = %v, %v; want %v ok=%v", tt.in, tt.dayFirst, got, err, tt.want, tt.ok)
		}
	}
}

func TestSplitTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"VIP, vip ,New", []string{"vip", "new"}},
		{"a;b|c,d", []string{"a", "b", "c", "d"}},
		{" , ;|", nil},
		{"Black Friday 2024", []string{"black friday 2024"}},
	}
	for _, tt := range tests {
		if got := splitTags(tt.in, nil); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitTags(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := splitTags("b, c", []string{"a", "b"}); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("splitTags appending = %q", got)
	}
}

func TestNormalizeStage(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"lead": "lead", "Subscriber": "lead", "marketingqualifiedlead": "lead", "Opportunity": "lead",
		"New": "new", "Novo cliente": "new", "customer": "active", "Ativo": "active", "evangelist": "active",
		"At Risk": "at_risk", "at_risk": "at_risk", "Em risco": "at_risk", "Inactive": "at_risk",
		"Churned": "churned", "Perdido": "churned", "Cancelled": "churned",
		"Gold Member": "gold member", " OTHER ": "other",
	}
	for in, want := range tests {
		if got := normalizeStage(in); got != want {
			t.Errorf("normalizeStage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCountry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"BR", "BR"}, {"br", "BR"}, {"BRA", "BR"}, {"usa", "US"}, {"GBR", "GB"}, {"UK", "GB"},
		{"Brazil", "BR"}, {"Brasil", "BR"}, {"United States", "US"}, {"México", "MX"}, {"Mexico", "MX"},
		{"España", "ES"}, {"Allemagne", "DE"}, {"Deutschland", "DE"}, {"Alemanha", "DE"},
		{"+55", "BR"}, {"44", "GB"},
	}
	for _, tt := range tests {
		if got, err := parseCountry(tt.in); err != nil || got != tt.want {
			t.Errorf("parseCountry(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"Atlantis", "ZZ", "EU", "999", "X"} {
		if got, err := parseCountry(bad); err == nil {
			t.Errorf("parseCountry(%q) = %q, want error", bad, got)
		}
	}
}

func TestParseTimezone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"America/Sao_Paulo", "America/Sao_Paulo", true},
		{"america/sao_paulo", "America/Sao_Paulo", true},
		{"Europe/London", "Europe/London", true},
		{"UTC", "UTC", true},
		{"utc", "UTC", true},
		{"Local", "", false},
		{"Mars/Olympus", "", false},
		{"GMT-3 Brasilia", "", false},
		{"../../etc/passwd", "", false},
	}
	for _, tt := range tests {
		got, err := parseTimezone(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTimezone(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"pt_BR", "pt_BR", true}, {"pt-br", "pt_BR", true}, {"EN", "en", true}, {"en-US", "en_US", true},
		{"es", "es", true}, {"Português", "pt", true}, {"Spanish", "es", true}, {"Deutsch", "de", true},
		{"klingon-ish", "", false}, {"xx", "", false},
	}
	for _, tt := range tests {
		got, err := parseLanguage(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseLanguage(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
