package csvimport

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Field keys a column can be mapped to. Besides these, a column can map to
// AttributePrefix+"name" (a custom attribute) or to Ignore.
const (
	FieldExternalID     = "external_id"
	FieldPhone          = "phone"
	FieldFirstName      = "first_name"
	FieldLastName       = "last_name"
	FieldName           = "name" // full name, split into first/last when those are not given
	FieldEmail          = "email"
	FieldCountry        = "country"
	FieldTimezone       = "timezone"
	FieldLanguage       = "language"
	FieldTags           = "tags"
	FieldLifecycleStage = "lifecycle_stage"
	FieldOptIn          = "opt_in"
	FieldTotalSpent     = "total_spent"
	FieldTotalOrders    = "total_orders"
	FieldLastActiveAt   = "last_active_at"
	FieldCreatedAt      = "created_at"

	// Ignore skips a column; the empty string means the same.
	Ignore = "ignore"
	// AttributePrefix starts the key of a custom attribute, e.g. "attributes.city".
	AttributePrefix = "attributes."
)

// FieldInfo describes a field for the mapping dropdown.
type FieldInfo struct {
	Key   string
	Label string
}

// Fields lists the built-in fields in the order the mapping UI should offer
// them. Custom attributes (AttributeKey) and Ignore are offered besides these.
var Fields = []FieldInfo{
	{FieldPhone, "Phone (WhatsApp number)"},
	{FieldFirstName, "First name"},
	{FieldLastName, "Last name"},
	{FieldName, "Full name (split into first and last)"},
	{FieldEmail, "Email"},
	{FieldExternalID, "External ID"},
	{FieldCountry, "Country"},
	{FieldTimezone, "Time zone"},
	{FieldLanguage, "Language"},
	{FieldTags, "Tags"},
	{FieldLifecycleStage, "Lifecycle stage"},
	{FieldOptIn, "Marketing opt-in"},
	{FieldTotalSpent, "Total spent"},
	{FieldTotalOrders, "Total orders"},
	{FieldLastActiveAt, "Last active"},
	{FieldCreatedAt, "Created at"},
}

// Mapping maps a header name to a field key (see Fields, AttributePrefix);
// "" or Ignore skips the column. Header names are those of Reader.Header.
type Mapping map[string]string

// ErrInvalidMapping is wrapped by every error Validate returns.
var ErrInvalidMapping = errors.New("invalid column mapping")

// multiValued fields may be mapped from several columns.
func multiValued(field string) bool {
	return field == FieldTags || strings.HasPrefix(field, AttributePrefix)
}

func isBuiltin(field string) bool {
	for _, f := range Fields {
		if f.Key == field {
			return true
		}
	}
	return false
}

var attributeName = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// Validate checks that every mapped column is in header, that exactly one
// column is the phone, that no built-in field is mapped twice (tags and
// attributes may be), and that every key is known. The error lists every
// problem and wraps ErrInvalidMapping.
func (m Mapping) Validate(header []string) error {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("csvimport: %w: "+format, append([]any{ErrInvalidMapping}, args...)...))
	}
	inHeader := make(map[string]bool, len(header))
	for _, h := range header {
		inHeader[h] = true
	}
	columns := map[string][]string{} // field -> columns, in header order
	for _, h := range header {
		field, ok := m[h]
		if !ok || field == "" || field == Ignore {
			continue
		}
		columns[field] = append(columns[field], h)
	}
	for h, field := range m {
		if !inHeader[h] {
			bad("column %q is not in the file", h)
			continue
		}
		switch {
		case field == "" || field == Ignore || isBuiltin(field):
		case strings.HasPrefix(field, AttributePrefix):
			if !attributeName.MatchString(strings.TrimPrefix(field, AttributePrefix)) {
				bad("column %q: attribute name %q must be 1-64 lowercase letters, digits or underscores", h, strings.TrimPrefix(field, AttributePrefix))
			}
		default:
			bad("column %q: unknown field %q", h, field)
		}
	}
	switch phones := columns[FieldPhone]; len(phones) {
	case 0:
		bad("no column is mapped to phone; choose the column that holds the WhatsApp number")
	case 1:
	default:
		bad("columns %s are all mapped to phone; keep one and map the others to an attribute or ignore them", quoteList(phones))
	}
	for _, f := range Fields {
		if f.Key == FieldPhone || multiValued(f.Key) {
			continue
		}
		if cols := columns[f.Key]; len(cols) > 1 {
			bad("columns %s are all mapped to %s; a field can come from one column only", quoteList(cols), f.Key)
		}
	}
	return errors.Join(problems...)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// AttributeKey returns the default custom-attribute key for a header name,
// e.g. "Default Address City" → "attributes.default_address_city".
func AttributeKey(header string) string {
	name := strings.ReplaceAll(normalizeHeader(header), " ", "_")
	if len(name) > 64 {
		name = strings.TrimRight(name[:64], "_")
	}
	if name == "" {
		name = "column"
	}
	return AttributePrefix + name
}

// GuessMapping proposes a field for every column. Matching ignores case,
// accents, punctuation and word order conventions (camelCase, snake_case),
// and knows English, Portuguese, Spanish, French and German names.
//
// When several columns could be the same field the most specific wins: for
// the phone a WhatsApp column beats a mobile one, which beats a plain
// "Phone", which beats address/work/home phones; ties go to the leftmost
// column. Losers and unrecognised columns become custom attributes.
func GuessMapping(header []string) Mapping {
	type guess struct {
		field string
		score int
		word  string // the normalised header, for the name post-pass
	}
	guesses := make([]guess, len(header))
	best := map[string]int{} // field -> index of best column
	for i, h := range header {
		n := normalizeHeader(h)
		field, score := guessField(n)
		guesses[i] = guess{field, score, n}
		if field == "" || multiValued(field) {
			continue
		}
		if j, ok := best[field]; !ok || score > guesses[j].score {
			best[field] = i
		}
	}

	// A lone "nome"/"nombre"/"name" column usually holds the full name, and a
	// French "nom" without "prénom" does too.
	if j, ok := best[FieldFirstName]; ok && !hasKey(best, FieldLastName) && ambiguousFirstName[guesses[j].word] && !hasKey(best, FieldName) {
		delete(best, FieldFirstName)
		best[FieldName] = j
	}
	if j, ok := best[FieldLastName]; ok && !hasKey(best, FieldFirstName) && guesses[j].word == "nom" && !hasKey(best, FieldName) {
		delete(best, FieldLastName)
		best[FieldName] = j
	}

	winner := make(map[int]string, len(best))
	for field, i := range best {
		winner[i] = field
	}
	m := make(Mapping, len(header))
	usedAttr := map[string]bool{}
	for i, h := range header {
		switch {
		case winner[i] != "":
			m[h] = winner[i]
		case guesses[i].field == FieldTags:
			m[h] = FieldTags
		default:
			key := AttributeKey(h)
			if key == AttributePrefix+"column" {
				key += "_" + strconv.Itoa(i+1)
			}
			for n := 2; usedAttr[key]; n++ {
				key = fmt.Sprintf("%s_%d", strings.TrimSuffix(key, "_"+strconv.Itoa(n-1)), n)
			}
			usedAttr[key] = true
			m[h] = key
		}
	}
	return m
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

var ambiguousFirstName = map[string]bool{"nome": true, "nombre": true}

// normalizeHeader lowercases, strips accents, splits camelCase and turns
// every run of non-alphanumerics into one space: "Prénom" → "prenom",
// "createdAt" → "created at", "E-mail" → "e mail".
func normalizeHeader(h string) string {
	if !isASCII(h) {
		h, _, _ = transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), h)
	}
	// camelCase is only split in headers without other word separators, so
	// "WhatsApp Number" stays "whatsapp number" while "firstName" splits.
	camel := !strings.ContainsAny(h, " _-.")
	var b strings.Builder
	var prev rune
	space := false
	for _, r := range h {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if camel && unicode.IsUpper(r) && unicode.IsLower(prev) && !space {
				b.WriteByte(' ')
			}
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
		prev = r
	}
	s := b.String()
	// German sharp s and the like survive NFD; fold the common one.
	return strings.ReplaceAll(s, "ß", "ss")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// exact maps a whole normalised header to a field and score.
var exact = buildExact()

type fieldScore struct {
	field string
	score int
}

func buildExact() map[string]fieldScore {
	exact := map[string]fieldScore{}
	add := func(field string, score int, names ...string) {
		for _, n := range names {
			exact[n] = fieldScore{field, score}
		}
	}
	add(FieldExternalID, 100, "external id", "externalid", "external reference", "ext id")
	add(FieldExternalID, 90, "customer id", "customerid", "user id", "userid", "contact id", "contactid",
		"client id", "clientid", "customer number", "id cliente", "id do cliente", "codigo do cliente",
		"codigo cliente", "id del cliente", "numero de cliente", "identifiant", "id client",
		"identifiant client", "kundennummer", "kunden id", "kundenid")
	add(FieldExternalID, 85, "record id", "recordid")
	add(FieldExternalID, 80, "id", "uid", "uuid", "codigo", "code client")

	add(FieldFirstName, 100, "first name", "firstname", "given name", "givenname", "forename", "fname",
		"first", "nome", "primeiro nome", "nombre", "primer nombre", "prenom", "vorname")
	add(FieldLastName, 100, "last name", "lastname", "surname", "family name", "familyname", "lname",
		"last", "sobrenome", "ultimo nome", "apelido", "apellido", "apellidos", "nom", "nom de famille",
		"nachname", "familienname")
	add(FieldName, 100, "name", "full name", "fullname", "nome completo", "nombre completo", "nom complet",
		"vollstandiger name", "voller name", "customer name", "contact name", "cliente", "contato",
		"contacto", "display name")

	add(FieldEmail, 100, "email", "e mail", "email address", "e mail address", "emailaddress", "correo",
		"correo electronico", "courriel", "adresse e mail", "adresse email", "adresse mail", "mail",
		"e mail adresse", "email adresse", "endereco de email", "endereco de e mail")

	add(FieldCountry, 100, "country", "country code", "countrycode", "pais", "pays", "land", "codigo do pais",
		"codigo de pais", "code pays", "landercode", "country region", "nation", "country iso")
	add(FieldTimezone, 100, "timezone", "time zone", "tz", "fuso horario", "fuso", "zona horaria",
		"huso horario", "fuseau horaire", "zeitzone")
	add(FieldLanguage, 100, "language", "locale", "idioma", "lingua", "langue", "sprache", "lang",
		"preferred language", "language code")
	add(FieldTags, 100, "tags", "tag", "labels", "label", "segments", "segment", "etiquetas", "etiqueta",
		"marcadores", "etiquettes", "etiquette", "schlagworte", "stichworte")
	add(FieldLifecycleStage, 100, "lifecycle stage", "lifecycle", "lifecyclestage", "stage", "status",
		"customer status", "lifecycle status", "estagio", "etapa", "estagio do ciclo de vida", "fase",
		"statut", "phase", "lebenszyklusphase", "ciclo de vida")
	add(FieldTotalSpent, 100, "total spent", "amount spent", "ltv", "lifetime value", "customer lifetime value",
		"clv", "valor total", "total gasto", "gasto total", "valor gasto", "revenue", "total revenue",
		"monto total", "importe total", "total gastado", "montant total", "total depense", "umsatz",
		"gesamtumsatz", "total spend", "spent")
	add(FieldTotalOrders, 100, "total orders", "orders count", "orders", "order count", "number of orders",
		"num orders", "pedidos", "total de pedidos", "total pedidos", "numero de pedidos",
		"quantidade de pedidos", "compras", "numero de compras", "commandes", "nombre de commandes",
		"bestellungen", "anzahl bestellungen", "purchases", "purchase count")
	add(FieldLastActiveAt, 100, "last active", "last activity", "last activity date", "last order date",
		"last seen", "last order", "last purchase", "last purchase date", "last order at", "last active at",
		"last seen at", "ultima compra", "data da ultima compra", "ultimo pedido", "data do ultimo pedido",
		"ultima atividade", "ultimo acesso", "ultima actividad", "fecha de ultima compra",
		"fecha ultima compra", "derniere commande", "derniere activite", "date de derniere commande",
		"letzte bestellung", "letzte aktivitat", "zuletzt aktiv")
	add(FieldCreatedAt, 100, "created at", "created", "create date", "creation date", "date created",
		"signup date", "sign up date", "registered", "registration date", "customer since", "data de cadastro",
		"data de criacao", "cadastro", "cliente desde", "fecha de creacion", "fecha de alta",
		"fecha de registro", "date de creation", "date d inscription", "erstellt am", "erstellungsdatum",
		"registriert am", "created date")
	return exact
}

// Words used by the phone and opt-in rules.
var (
	whatsappWords = wordSet("whatsapp", "whats", "wa", "waid", "zap", "wpp", "zapzap")
	mobileWords   = wordSet("mobile", "mobil", "movil", "cell", "cellphone", "cellular", "celular", "cel",
		"handy", "portable", "mobiltelefon", "handynummer", "mobilnummer", "mobilephone", "cellulaire")
	phoneWords = wordSet("phone", "telephone", "tel", "telefone", "telefono", "fone", "telefon",
		"telefonnummer", "phonenumber", "msisdn", "telf", "tlf", "tfno")
	phoneNeutral = wordSet("number", "no", "nr", "num", "nummer", "numero", "de", "do", "da", "of", "the",
		"primary", "main", "principal", "id", "personal", "privado", "private", "app")
	phoneDemote = wordSet("address", "billing", "shipping", "home", "work", "office", "business",
		"company", "landline", "fixo", "fijo", "fixe", "festnetz", "residencial", "comercial",
		"alternative", "alt", "secondary", "other", "2", "empresa", "trabalho", "casa", "bureau", "arbeit")
	notPhone   = wordSet("fax", "country", "code", "type", "verified", "opt", "optin", "consent", "marketing", "ext", "extension")
	optInWords = wordSet("optin", "consent", "consentimento", "consentimiento", "consentement",
		"einwilligung", "subscribed", "subscription", "subscriber", "newsletter", "permission", "permissao",
		"permiso")
	emailWords = wordSet("email", "mail", "correo", "courriel", "newsletter")
)

func wordSet(words ...string) map[string]bool {
	s := make(map[string]bool, len(words))
	for _, w := range words {
		s[w] = true
	}
	return s
}

// guessField maps a normalised header to a field and a score (higher is a
// better match); "" means no built-in field fits.
func guessField(n string) (string, int) {
	words := strings.Fields(n)
	// Consent columns first: "Accepts SMS Marketing" must not become a phone.
	if f, s, ok := guessOptIn(n, words); ok {
		return f, s
	}
	if e, ok := exact[n]; ok {
		return e.field, e.score
	}
	if f, s := guessPhone(words); f != "" {
		return f, s
	}
	has := func(ws ...string) bool {
		for _, w := range ws {
			if containsWord(words, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("email") || strings.Contains(n, "e mail"):
		return FieldEmail, 60
	case has("country", "pais", "pays"):
		return FieldCountry, 60 // e.g. Shopify "Default Address Country Code"
	case has("tags", "tag", "etiquetas", "labels"):
		return FieldTags, 60
	case has("timezone") || strings.Contains(n, "time zone"):
		return FieldTimezone, 60
	}
	return "", 0
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// guessOptIn recognises marketing-consent columns. Email-only consent is
// deliberately not WhatsApp consent, so it is reported as "no field"
// (ok=true, field "") and becomes an attribute.
func guessOptIn(n string, words []string) (field string, score int, ok bool) {
	joined := " " + n + " "
	consent := strings.Contains(joined, " opt in ") || strings.Contains(joined, " opted in ") ||
		strings.Contains(joined, " accepts ") && strings.Contains(joined, " marketing ") ||
		strings.Contains(joined, " aceita ") || strings.Contains(joined, " acepta ") ||
		strings.Contains(joined, " marketing consent ") || strings.Contains(joined, " accepts marketing ")
	if !consent {
		for _, w := range words {
			if optInWords[w] {
				consent = true
				break
			}
		}
	}
	if !consent {
		return "", 0, false
	}
	var whatsapp, sms, email bool
	for _, w := range words {
		whatsapp = whatsapp || whatsappWords[w]
		sms = sms || w == "sms"
		email = email || emailWords[w]
	}
	switch {
	case whatsapp:
		return FieldOptIn, 100, true
	case sms:
		return FieldOptIn, 90, true
	case email:
		return "", 0, true
	}
	return FieldOptIn, 80, true
}

// guessPhone scores phone-like headers: WhatsApp 100, mobile 90, phone 80,
// minus 40 for address/work/home qualifiers and 5 per other unknown word.
func guessPhone(words []string) (string, int) {
	score := 0
	for _, w := range words {
		switch {
		case notPhone[w]:
			return "", 0
		case whatsappWords[w]:
			score = max(score, 100)
		case mobileWords[w]:
			score = max(score, 90)
		case phoneWords[w]:
			score = max(score, 80)
		}
	}
	if score == 0 {
		return "", 0
	}
	for _, w := range words {
		switch {
		case whatsappWords[w], mobileWords[w], phoneWords[w], phoneNeutral[w]:
		case phoneDemote[w]:
			score -= 40
		default:
			score -= 5
		}
	}
	return FieldPhone, max(score, 1)
}
