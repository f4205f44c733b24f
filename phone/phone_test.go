package phone

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, country string
		want               Number
	}{
		{"formatted international", "+55 (11) 98765-4321", "",
			Number{"+5511987654321", "5511987654321", "BR", "America/Sao_Paulo"}},
		{"00 international prefix", "0044 20 7946 0958", "",
			Number{"+442079460958", "442079460958", "GB", "Europe/London"}},
		{"00 prefix wins over default country", "0044 20 7946 0958", "BR",
			Number{"+442079460958", "442079460958", "GB", "Europe/London"}},
		{"national with default country", "(11) 98765-4321", "BR",
			Number{"+5511987654321", "5511987654321", "BR", "America/Sao_Paulo"}},
		{"default country is case-insensitive", "(11) 98765-4321", "br",
			Number{"+5511987654321", "5511987654321", "BR", "America/Sao_Paulo"}},
		{"national with trunk prefix", "020 7946 0958", "GB",
			Number{"+442079460958", "442079460958", "GB", "Europe/London"}},
		{"wa_id form without plus", "5511987654321", "",
			Number{"+5511987654321", "5511987654321", "BR", "America/Sao_Paulo"}},
		{"wa_id form with a different default country", "5511987654321", "US",
			Number{"+5511987654321", "5511987654321", "BR", "America/Sao_Paulo"}},
		{"wa_id form with same default country", "5511987654321", "BR",
			Number{"+5511987654321", "5511987654321", "BR", "America/Sao_Paulo"}},
		{"whatsapp prefix", "whatsapp:+14155552671", "",
			Number{"+14155552671", "14155552671", "US", "America/Los_Angeles"}},
		{"WhatsApp prefix any case with space", "WhatsApp: +1 212 555 0100", "",
			Number{"+12125550100", "12125550100", "US", "America/New_York"}},
		{"tel URI", "tel:+34-612-345-678", "",
			Number{"+34612345678", "34612345678", "ES", "Europe/Madrid"}},
		{"dots", "+49.30.123456", "",
			Number{"+4930123456", "4930123456", "DE", "Europe/Berlin"}},
		{"surrounding whitespace and nbsp", "  +52\u00a055 1234 5678 ", "",
			Number{"+525512345678", "525512345678", "MX", "America/Mexico_City"}},
		{"single-zone country is exact", "+34 912 345 678", "",
			Number{"+34912345678", "34912345678", "ES", "Europe/Madrid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.raw, tt.country)
			if err != nil {
				t.Fatalf("Parse(%q, %q) error: %v", tt.raw, tt.country, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q, %q) = %+v, want %+v", tt.raw, tt.country, got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw, country string
		want               error
		msg                string
	}{
		{"empty", "", "BR", ErrEmpty, "is empty"},
		{"blank", "   ", "BR", ErrEmpty, "is empty"},
		{"only prefix", "whatsapp:", "", ErrEmpty, "is empty"},
		{"excel scientific", "5.51199E+12", "BR", ErrScientificNotation, "format the column as text"},
		{"excel scientific comma locale", "5,51199E+12", "BR", ErrScientificNotation, "scientific notation"},
		{"excel scientific lower e", "5.5e12", "", ErrScientificNotation, "scientific notation"},
		{"too short", "+55 11 9876", "", ErrTooShort, "too short"},
		{"too long", "+55 11 98765 4321 1234", "", ErrTooLong, "too long"},
		{"absurdly long input", strings.Repeat("1", 200), "", ErrTooLong, "too long"},
		{"invalid for country", "+55 11 08765-4321", "", ErrInvalid, "not a valid number for its country"},
		{"unknown calling code", "+999 1234567", "", ErrInvalidCountryCode, "unknown country calling code"},
		{"no country code and no default", "(11) 98765-4321", "", ErrNoCountryCode, "no country code"},
		{"trunk prefix and no default", "020 7946 0958", "", ErrNoCountryCode, "default country"},
		{"letters", "call me", "BR", ErrNotANumber, "not a phone number"},
		{"vanity letters", "+1 800 FLOWERS", "", ErrNotANumber, "not a phone number"},
		{"plus in the middle", "55+11987654321", "", ErrNotANumber, "not a phone number"},
		{"punctuation only", "--", "BR", ErrNotANumber, "not a phone number"},
		{"unknown default country", "(11) 98765-4321", "XX", ErrUnknownCountry, "unknown default country"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.raw, tt.country)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q, %q) = %+v, %v; want error %v", tt.raw, tt.country, got, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "phone: ") {
				t.Errorf("error %q should start with \"phone: \" and contain %q", err, tt.msg)
			}
			if got != (Number{}) {
				t.Errorf("rejected number should be zero, got %+v", got)
			}
		})
	}
}

// TestTimezoneMultipleZones checks the documented rule for prefixes that span
// several zones: the alphabetically first zone the mapper offers.
func TestTimezoneMultipleZones(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw string }{
		{"+1 800 225 5288"}, // toll-free: the whole of North America
		{"+7 800 555 3535"}, // Russian toll-free spans many zones
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.raw, "")
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.raw, err)
			}
			num, err := phonenumbers.Parse(tt.raw, "")
			if err != nil {
				t.Fatal(err)
			}
			zones, err := phonenumbers.GetTimezonesForNumber(num)
			if err != nil {
				t.Fatal(err)
			}
			if len(zones) < 2 {
				t.Fatalf("test needs a multi-zone number; %s maps to %v", tt.raw, zones)
			}
			if !slices.Contains(zones, got.Timezone) {
				t.Fatalf("timezone %q is not one of the mapper's %v", got.Timezone, zones)
			}
			for _, z := range zones {
				if z < got.Timezone {
					t.Errorf("timezone %q is not the alphabetically first of %v", got.Timezone, zones)
				}
			}
			// Deterministic: the same number always gets the same zone.
			for range 5 {
				again, _ := Parse(tt.raw, "")
				if again.Timezone != got.Timezone {
					t.Fatalf("timezone changed between calls: %q then %q", got.Timezone, again.Timezone)
				}
			}
		})
	}
}
