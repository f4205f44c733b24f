package csvimport

import (
	"errors"
	"strings"
	"testing"
)

func TestGuessMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string // comma separated
		want   map[string]string
	}{
		{
			name:   "Shopify customer export",
			header: "First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,Default Address Address1,Default Address City,Default Address Province Code,Default Address Country Code,Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags",
			want: map[string]string{
				"First Name":                    FieldFirstName,
				"Last Name":                     FieldLastName,
				"Email":                         FieldEmail,
				"Accepts Email Marketing":       "attributes.accepts_email_marketing", // email consent is not WhatsApp consent
				"Default Address Company":       "attributes.default_address_company",
				"Default Address Address1":      "attributes.default_address_address1",
				"Default Address City":          "attributes.default_address_city",
				"Default Address Province Code": "attributes.default_address_province_code",
				"Default Address Country Code":  FieldCountry,
				"Default Address Zip":           "attributes.default_address_zip",
				"Default Address Phone":         "attributes.default_address_phone",
				"Phone":                         FieldPhone,
				"Accepts SMS Marketing":         FieldOptIn,
				"Total Spent":                   FieldTotalSpent,
				"Total Orders":                  FieldTotalOrders,
				"Note":                          "attributes.note",
				"Tax Exempt":                    "attributes.tax_exempt",
				"Tags":                          FieldTags,
			},
		},
		{
			name:   "Shopify, address phone before plain phone",
			header: "Default Address Phone,Email,Phone",
			want: map[string]string{
				"Default Address Phone": "attributes.default_address_phone", "Email": FieldEmail, "Phone": FieldPhone,
			},
		},
		{
			name:   "old Shopify Accepts Marketing",
			header: "Customer ID,Phone,Accepts Marketing",
			want:   map[string]string{"Customer ID": FieldExternalID, "Phone": FieldPhone, "Accepts Marketing": FieldOptIn},
		},
		{
			name:   "HubSpot contacts export",
			header: "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Lifecycle Stage,Create Date,Last Activity Date",
			want: map[string]string{
				"Record ID":           FieldExternalID,
				"First Name":          FieldFirstName,
				"Last Name":           FieldLastName,
				"Email":               FieldEmail,
				"Phone Number":        "attributes.phone_number",
				"Mobile Phone Number": FieldPhone,
				"Lifecycle Stage":     FieldLifecycleStage,
				"Create Date":         FieldCreatedAt,
				"Last Activity Date":  FieldLastActiveAt,
			},
		},
		{
			name:   "Portuguese spreadsheet with a single name column",
			header: "Nome,Telefone fixo,Celular,E-mail,País,Data de cadastro,Última compra,Valor total,Pedidos,Etiquetas,Aceita receber WhatsApp,Cidade,Idioma,Fuso horário",
			want: map[string]string{
				"Nome":                    FieldName,
				"Telefone fixo":           "attributes.telefone_fixo",
				"Celular":                 FieldPhone,
				"E-mail":                  FieldEmail,
				"País":                    FieldCountry,
				"Data de cadastro":        FieldCreatedAt,
				"Última compra":           FieldLastActiveAt,
				"Valor total":             FieldTotalSpent,
				"Pedidos":                 FieldTotalOrders,
				"Etiquetas":               FieldTags,
				"Aceita receber WhatsApp": FieldOptIn,
				"Cidade":                  "attributes.cidade",
				"Idioma":                  FieldLanguage,
				"Fuso horário":            FieldTimezone,
			},
		},
		{
			name:   "Portuguese with first and last name",
			header: "Nome,Sobrenome,WhatsApp,Telefone",
			want: map[string]string{
				"Nome": FieldFirstName, "Sobrenome": FieldLastName, "WhatsApp": FieldPhone, "Telefone": "attributes.telefone",
			},
		},
		{
			name:   "Spanish spreadsheet",
			header: "Nombre,Apellidos,Teléfono móvil,Correo electrónico,País,Etiquetas,Fecha de alta,Estado",
			want: map[string]string{
				"Nombre":             FieldFirstName,
				"Apellidos":          FieldLastName,
				"Teléfono móvil":     FieldPhone,
				"Correo electrónico": FieldEmail,
				"País":               FieldCountry,
				"Etiquetas":          FieldTags,
				"Fecha de alta":      FieldCreatedAt,
				"Estado":             "attributes.estado", // "estado" is also a state/province
			},
		},
		{
			name:   "French spreadsheet",
			header: "Prénom,Nom,Portable,Courriel,Pays,Langue,Dernière commande",
			want: map[string]string{
				"Prénom": FieldFirstName, "Nom": FieldLastName, "Portable": FieldPhone, "Courriel": FieldEmail,
				"Pays": FieldCountry, "Langue": FieldLanguage, "Dernière commande": FieldLastActiveAt,
			},
		},
		{
			name:   "German spreadsheet",
			header: "Vorname,Nachname,Handy,Telefon,E-Mail-Adresse,Land,Zeitzone,Sprache",
			want: map[string]string{
				"Vorname": FieldFirstName, "Nachname": FieldLastName, "Handy": FieldPhone,
				"Telefon": "attributes.telefon", "E-Mail-Adresse": FieldEmail, "Land": FieldCountry,
				"Zeitzone": FieldTimezone, "Sprache": FieldLanguage,
			},
		},
		{
			name:   "developer style names",
			header: "user_id,firstName,last_name,phoneNumber,createdAt,lastSeenAt,ltv,whatsapp_opt_in,locale,TimeZone",
			want: map[string]string{
				"user_id": FieldExternalID, "firstName": FieldFirstName, "last_name": FieldLastName,
				"phoneNumber": FieldPhone, "createdAt": FieldCreatedAt, "lastSeenAt": FieldLastActiveAt,
				"ltv": FieldTotalSpent, "whatsapp_opt_in": FieldOptIn, "locale": FieldLanguage, "TimeZone": FieldTimezone,
			},
		},
		{
			name:   "whatsapp beats mobile beats phone, case-insensitive",
			header: "PHONE,cell,WhatsApp Number,Fax",
			want: map[string]string{
				"PHONE": "attributes.phone", "cell": "attributes.cell", "WhatsApp Number": FieldPhone, "Fax": "attributes.fax",
			},
		},
		{
			name:   "full name with separate first name stays a name column",
			header: "Full Name,First Name,Tel",
			want:   map[string]string{"Full Name": FieldName, "First Name": FieldFirstName, "Tel": FieldPhone},
		},
		{
			name:   "several tag columns and clashing attribute names",
			header: "Phone,Tags,Labels,Note,note (2),Cor favorita!,???",
			want: map[string]string{
				"Phone": FieldPhone, "Tags": FieldTags, "Labels": FieldTags, "Note": "attributes.note",
				"note (2)": "attributes.note_2", "Cor favorita!": "attributes.cor_favorita", "???": "attributes.column_7",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			header := strings.Split(tt.header, ",")
			got := GuessMapping(header)
			if len(got) != len(header) {
				t.Errorf("mapping has %d entries for %d columns: %v", len(got), len(header), got)
			}
			for h, want := range tt.want {
				if got[h] != want {
					t.Errorf("%q → %q, want %q", h, got[h], want)
				}
			}
			if err := got.Validate(header); err != nil {
				t.Errorf("guessed mapping does not validate: %v", err)
			}
		})
	}
}

func TestGuessMappingWithoutPhoneFailsValidation(t *testing.T) {
	t.Parallel()
	header := []string{"First Name", "Email"}
	err := GuessMapping(header).Validate(header)
	if !errors.Is(err, ErrInvalidMapping) || !strings.Contains(err.Error(), "no column is mapped to phone") {
		t.Fatalf("Validate = %v, want missing phone error", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	header := []string{"Phone", "Mobile", "Email", "Email 2", "Tags", "Labels", "City"}
	tests := []struct {
		name    string
		mapping Mapping
		wantErr []string // substrings; none means valid
	}{
		{"minimal", Mapping{"Phone": FieldPhone}, nil},
		{"full", Mapping{"Phone": FieldPhone, "Mobile": "attributes.mobile", "Email": FieldEmail, "Email 2": Ignore,
			"Tags": FieldTags, "Labels": FieldTags, "City": "attributes.city"}, nil},
		{"empty value means ignore", Mapping{"Phone": FieldPhone, "City": ""}, nil},
		{"two attributes with the same key", Mapping{"Phone": FieldPhone, "Email 2": "attributes.x", "City": "attributes.x"}, nil},
		{"no phone", Mapping{"Email": FieldEmail}, []string{"no column is mapped to phone"}},
		{"two phones", Mapping{"Phone": FieldPhone, "Mobile": FieldPhone},
			[]string{`columns "Phone", "Mobile" are all mapped to phone`}},
		{"field twice", Mapping{"Phone": FieldPhone, "Email": FieldEmail, "Email 2": FieldEmail},
			[]string{`columns "Email", "Email 2" are all mapped to email`}},
		{"unknown field", Mapping{"Phone": FieldPhone, "City": "town"}, []string{`column "City": unknown field "town"`}},
		{"bad attribute name", Mapping{"Phone": FieldPhone, "City": "attributes.Big City"},
			[]string{`attribute name "Big City"`}},
		{"empty attribute name", Mapping{"Phone": FieldPhone, "City": "attributes."}, []string{"attribute name"}},
		{"column not in file", Mapping{"Phone": FieldPhone, "Zip": "attributes.zip"}, []string{`column "Zip" is not in the file`}},
		{"several problems at once", Mapping{"Email": FieldEmail, "Email 2": FieldEmail, "City": "nope"},
			[]string{"no column is mapped to phone", "mapped to email", `unknown field "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.mapping.Validate(header)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidMapping) {
				t.Fatalf("Validate = %v, want ErrInvalidMapping", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestFieldsAreKnownAndUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, f := range Fields {
		if f.Key == "" || f.Label == "" || seen[f.Key] {
			t.Errorf("bad or repeated field %+v", f)
		}
		seen[f.Key] = true
	}
	for _, key := range []string{FieldPhone, FieldFirstName, FieldLastName, FieldName, FieldEmail, FieldExternalID,
		FieldCountry, FieldTimezone, FieldLanguage, FieldTags, FieldLifecycleStage, FieldOptIn, FieldTotalSpent,
		FieldTotalOrders, FieldLastActiveAt, FieldCreatedAt} {
		if !seen[key] {
			t.Errorf("field %q missing from Fields", key)
		}
	}
}

func TestAttributeKey(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Default Address City":   "attributes.default_address_city",
		"Cor Favorita":           "attributes.cor_favorita",
		"São Paulo Store #2":     "attributes.sao_paulo_store_2",
		"favouriteColour":        "attributes.favourite_colour",
		"Straße":                 "attributes.strasse",
		"!!!":                    "attributes.column",
		strings.Repeat("x", 100): "attributes." + strings.Repeat("x", 64),
	}
	for in, want := range tests {
		if got := AttributeKey(in); got != want {
			t.Errorf("AttributeKey(%q) = %q, want %q", in, got, want)
		}
	}
}
