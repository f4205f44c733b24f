package csvimport

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"
)

func ptr[T any](v T) *T { return &v }

func TestContact(t *testing.T) {
	t.Parallel()
	header := []string{"ID", "Phone", "First", "Last", "Full", "Email", "Country", "TZ", "Lang", "Tags", "More Tags",
		"Stage", "Opt", "Spent", "Orders", "Last Seen", "Created", "City", "Skip"}
	mapping := Mapping{
		"ID": FieldExternalID, "Phone": FieldPhone, "First": FieldFirstName, "Last": FieldLastName, "Full": FieldName,
		"Email": FieldEmail, "Country": FieldCountry, "TZ": FieldTimezone, "Lang": FieldLanguage, "Tags": FieldTags,
		"More Tags": FieldTags, "Stage": FieldLifecycleStage, "Opt": FieldOptIn, "Spent": FieldTotalSpent,
		"Orders": FieldTotalOrders, "Last Seen": FieldLastActiveAt, "Created": FieldCreatedAt, "City": "attributes.city",
		"Skip": Ignore,
	}
	// row builds a full row from column=value pairs; other cells are empty.
	row := func(pairs ...string) Row {
		fields := make([]string, len(header))
		for i := 0; i < len(pairs); i += 2 {
			for j, h := range header {
				if h == pairs[i] {
					fields[j] = pairs[i+1]
				}
			}
		}
		return Row{Line: 7, Fields: fields}
	}
	tests := []struct {
		name    string
		row     Row
		opts    Options
		want    Contact
		wantErr []string
	}{
		{
			name: "everything given",
			row: row("ID", "c-1", "Phone", "+55 (11) 98765-4321", "First", " Ana ", "Last", "Souza", "Email", "Ana@Example.COM",
				"Country", "bra", "TZ", "america/manaus", "Lang", "pt-br", "Tags", "VIP, Black Friday", "More Tags", "vip|sp",
				"Stage", "Customer", "Opt", "sim", "Spent", "R$ 1.234,56", "Orders", "3", "Last Seen", "2024-03-05 14:22:01 -0300",
				"Created", "25/12/2023", "City", "São Paulo", "Skip", "whatever"),
			want: Contact{
				Line: 7, ExternalID: "c-1", Phone: "+5511987654321", PhoneDigits: "5511987654321", FirstName: "Ana",
				LastName: "Souza", Email: "ana@example.com", Country: "BR", Timezone: "America/Manaus", Language: "pt_BR",
				Tags: []string{"vip", "black friday", "sp"}, LifecycleStage: "active", OptIn: ptr(true),
				LastActiveAt: ptr(time.Date(2024, 3, 5, 17, 22, 1, 0, time.UTC)),
				CreatedAt:    ptr(time.Date(2023, 12, 25, 0, 0, 0, 0, time.UTC)),
				TotalOrders:  ptr(3), TotalSpent: ptr(1234.56), Attributes: map[string]string{"city": "São Paulo"},
				Set: map[string]bool{"external_id": true, "phone": true, "first_name": true, "last_name": true, "email": true,
					"country": true, "timezone": true, "language": true, "tags": true, "lifecycle_stage": true, "opt_in": true,
					"total_spent": true, "total_orders": true, "last_active_at": true, "created_at": true, "attributes.city": true},
			},
		},
		{
			name: "country and timezone derived from the number are not marked as set",
			row:  row("Phone", "+44 20 7946 0958", "Full", "Zoë  van der Berg"),
			want: Contact{Line: 7, Phone: "+442079460958", PhoneDigits: "442079460958", FirstName: "Zoë", LastName: "van der Berg",
				Country: "GB", Timezone: "Europe/London",
				Set: map[string]bool{"phone": true, "first_name": true, "last_name": true, "name": true}},
		},
		{
			name: "national number uses the default country",
			row:  row("Phone", "(11) 98765-4321", "Opt", "no"),
			opts: Options{DefaultCountry: "BR"},
			want: Contact{Line: 7, Phone: "+5511987654321", PhoneDigits: "5511987654321", Country: "BR", Timezone: "America/Sao_Paulo",
				OptIn: ptr(false), Set: map[string]bool{"phone": true, "opt_in": true}},
		},
		{
			name: "the row's country beats the default country for national numbers",
			row:  row("Phone", "020 7946 0958", "Country", "United Kingdom"),
			opts: Options{DefaultCountry: "BR"},
			want: Contact{Line: 7, Phone: "+442079460958", PhoneDigits: "442079460958", Country: "GB", Timezone: "Europe/London",
				Set: map[string]bool{"phone": true, "country": true}},
		},
		{
			name: "US default country reads ambiguous dates month first",
			row:  row("Phone", "+1 212 555 0100", "Created", "03/05/2024"),
			opts: Options{DefaultCountry: "US"},
			want: Contact{Line: 7, Phone: "+12125550100", PhoneDigits: "12125550100", Country: "US", Timezone: "America/New_York",
				CreatedAt: ptr(time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)), Set: map[string]bool{"phone": true, "created_at": true}},
		},
		{
			name: "full name fills only the missing part",
			row:  row("Phone", "5511987654321", "First", "Ana", "Full", "Ana Maria Souza"),
			want: Contact{Line: 7, Phone: "+5511987654321", PhoneDigits: "5511987654321", FirstName: "Ana", LastName: "Maria Souza",
				Country: "BR", Timezone: "America/Sao_Paulo",
				Set: map[string]bool{"phone": true, "first_name": true, "last_name": true, "name": true}},
		},
		{
			name: "unknown stage kept lowercased",
			row:  row("Phone", "whatsapp:+5511987654321", "Stage", "Gold Member"),
			want: Contact{Line: 7, Phone: "+5511987654321", PhoneDigits: "5511987654321", Country: "BR", Timezone: "America/Sao_Paulo",
				LifecycleStage: "gold member", Set: map[string]bool{"phone": true, "lifecycle_stage": true}},
		},
		{
			name:    "excel scientific phone",
			row:     row("Phone", "5.51199E+12"),
			opts:    Options{DefaultCountry: "BR"},
			wantErr: []string{"line 7", `column "Phone"`, "looks like Excel scientific notation; format the column as text"},
		},
		{
			name:    "missing phone",
			row:     row("First", "Ana"),
			wantErr: []string{`column "Phone": the phone number is missing`},
		},
		{
			name:    "no country code and no default",
			row:     row("Phone", "(11) 98765-4321"),
			wantErr: []string{`column "Phone"`, "no country code"},
		},
		{
			name: "every bad column is named",
			row: row("Phone", "+5511987654321", "Email", "not-an-email", "Country", "Atlantis", "TZ", "Mars/Base",
				"Lang", "zz-zz-zz-zz", "Opt", "maybe", "Spent", "lots", "Orders", "2.5", "Last Seen", "yesterday", "Created", "31/02/2024"),
			wantErr: []string{
				`column "Email": "not-an-email" is not an email address`,
				`column "Country": "Atlantis" is not a country`,
				`column "TZ": "Mars/Base" is not an IANA time zone`,
				`column "Lang": "zz-zz-zz-zz" is not a language code`,
				`column "Opt": "maybe" is not yes/no`,
				`column "Spent": "lots" is not a number`,
				`column "Orders": "2.5" is not a whole number`,
				`column "Last Seen": "yesterday" is not a date`,
				`column "Created": "31/02/2024" is not a valid date`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mapping.Contact(header, tt.row, tt.opts)
			if len(tt.wantErr) > 0 {
				var rowErr *RowError
				if !errors.As(err, &rowErr) || rowErr.Line != tt.row.Line {
					t.Fatalf("error = %v, want *RowError on line %d", err, tt.row.Line)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Contact =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestImportPipeline runs files through Reader, GuessMapping and Contact as
// the import job will, checking what reaches the contact and which lines fail.
func TestImportPipeline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		data       func(t *testing.T) []byte
		opts       Options
		wantPhones map[int]string // line → E.164
		wantNames  map[int]string // line → "First Last"
		wantErrs   map[int]string // line → message fragment
	}{
		{
			name: "Shopify export with an Excel-mangled phone",
			data: func(*testing.T) []byte {
				return []byte("First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,Default Address Address1,Default Address City,Default Address Province Code,Default Address Country Code,Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags\n" +
					"Ana,Souza,ana@example.com,yes,,\"Rua A, 1\",São Paulo,SP,BR,01000-000,+55 11 3333-4444,+55 11 98765-4321,yes,1234.56,3,\"likes\nblue\",no,\"vip, newsletter\"\n" +
					"Bob,Lee,bob@example.com,no,,,,,,,,5.51199E+12,no,0.00,0,,no,\n" +
					"Cy,Ng,,no,,,,,US,,,(212) 555-0100,yes,10,1,,no,\n")
			},
			opts:       Options{DefaultCountry: "BR"},
			wantPhones: map[int]string{2: "+5511987654321", 5: "+12125550100"},
			wantNames:  map[int]string{2: "Ana Souza", 5: "Cy Ng"},
			wantErrs:   map[int]string{4: "scientific notation"},
		},
		{
			name: "Portuguese Latin-1 spreadsheet with semicolons and national numbers",
			data: func(t *testing.T) []byte {
				return windows1252(t, "Nome;Celular;Valor total;Aceita receber WhatsApp\r\n"+
					"José da Silva;(11) 98765-4321;R$ 1.200,50;sim\r\n"+
					"\r\n"+
					"Márcia;11 91234-5678;0;não\r\n"+
					"Sem Telefone;;10;sim\r\n")
			},
			opts:       Options{DefaultCountry: "BR"},
			wantPhones: map[int]string{2: "+5511987654321", 4: "+5511912345678"},
			wantNames:  map[int]string{2: "José da Silva", 4: "Márcia "},
			wantErrs:   map[int]string{5: "phone number is missing"},
		},
		{
			name: "Spanish UTF-16 tab file with wrong field count",
			data: func(t *testing.T) []byte {
				return utf16With(t, unicode.BigEndian, "Nombre\tApellido\tTeléfono móvil\n"+
					"María\tGarcía\t+34 612 345 678\n"+
					"Solo dos\tcampos\n"+
					"Íñigo\tLópez\t612 345 679\n")
			},
			opts:       Options{DefaultCountry: "ES"},
			wantPhones: map[int]string{2: "+34612345678", 4: "+34612345679"},
			wantNames:  map[int]string{2: "María García", 4: "Íñigo López"},
			wantErrs:   map[int]string{3: "has 2 fields but the header has 3 columns"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rd, err := NewReader(strings.NewReader(string(tt.data(t))))
			if err != nil {
				t.Fatal(err)
			}
			m := GuessMapping(rd.Header())
			if err := m.Validate(rd.Header()); err != nil {
				t.Fatalf("guessed mapping invalid: %v (%v)", err, m)
			}
			phones, names, errs := map[int]string{}, map[int]string{}, map[int]string{}
			for {
				row, err := rd.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var rowErr *RowError
				if errors.As(err, &rowErr) {
					errs[rowErr.Line] = rowErr.Msg
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				c, err := m.Contact(rd.Header(), row, tt.opts)
				if errors.As(err, &rowErr) {
					errs[rowErr.Line] = rowErr.Msg
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				phones[c.Line], names[c.Line] = c.Phone, c.FirstName+" "+c.LastName
			}
			if !reflect.DeepEqual(phones, tt.wantPhones) {
				t.Errorf("phones = %v, want %v", phones, tt.wantPhones)
			}
			if !reflect.DeepEqual(names, tt.wantNames) {
				t.Errorf("names = %v, want %v", names, tt.wantNames)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Errorf("errors = %v, want lines %v", errs, tt.wantErrs)
			}
			for line, want := range tt.wantErrs {
				if !strings.Contains(errs[line], want) {
					t.Errorf("line %d error = %q, want it to contain %q", line, errs[line], want)
				}
			}
		})
	}
}
