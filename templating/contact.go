package templating

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Contact is what rendering needs to know about a recipient. The campaign
// engine fills it from models.Contact; the composer from a sample contact.
type Contact struct {
	FirstName      string
	LastName       string
	Phone          string
	Email          string
	Country        string
	Language       string
	Timezone       string
	LifecycleStage string
	TotalOrders    int
	TotalSpent     float64
	// Attributes are the contact's custom fields, read as attributes.NAME.
	Attributes map[string]any
}

// ContactField is one contact field a variable can be mapped to.
type ContactField struct {
	Key, Label string
}

// ContactFields are the built-in fields offered in the composer's mapping
// dropdown; custom attributes are added as attributes.NAME.
var ContactFields = []ContactField{
	{"first_name", "First name"},
	{"last_name", "Last name"},
	{"full_name", "Full name"},
	{"phone", "Phone"},
	{"email", "E-mail"},
	{"country", "Country"},
	{"language", "Language"},
	{"timezone", "Time zone"},
	{"lifecycle_stage", "Lifecycle stage"},
	{"total_orders", "Total orders"},
	{"total_spent", "Total spent"},
}

// DefaultFallbacks are used when a mapping to these fields sets no fallback
// of its own, so a contact without a name is greeted "there", not "".
var DefaultFallbacks = map[string]string{"first_name": "there", "full_name": "there"}

// SampleContact is the built-in contact the composer previews with when the
// database has none.
func SampleContact() Contact {
	return Contact{FirstName: "Ana", LastName: "Souza", Phone: "+5511987654321", Email: "ana@example.com",
		Country: "BR", Language: "pt_BR", Timezone: "America/Sao_Paulo", LifecycleStage: "customer",
		TotalOrders: 3, TotalSpent: 249.9, Attributes: map[string]any{"plan": "pro", "city": "São Paulo"}}
}

// IsKnownField reports whether field names a built-in field or an attribute.
func IsKnownField(field string) bool {
	if name, ok := strings.CutPrefix(field, "attributes."); ok {
		return name != ""
	}
	for _, f := range ContactFields {
		if f.Key == field {
			return true
		}
	}
	return false
}

// Lookup returns the contact's value of field as text ("" when missing).
func (c Contact) Lookup(field string) string {
	if name, ok := strings.CutPrefix(field, "attributes."); ok {
		v, found := c.Attributes[name]
		if !found || v == nil {
			return ""
		}
		switch x := v.(type) {
		case string:
			return x
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		default:
			return fmt.Sprint(x)
		}
	}
	switch field {
	case "first_name":
		return c.FirstName
	case "last_name":
		return c.LastName
	case "full_name":
		return strings.TrimSpace(c.FirstName + " " + c.LastName)
	case "phone":
		return c.Phone
	case "email":
		return c.Email
	case "country":
		return c.Country
	case "language":
		return c.Language
	case "timezone":
		return c.Timezone
	case "lifecycle_stage":
		return c.LifecycleStage
	case "total_orders":
		return strconv.Itoa(c.TotalOrders)
	case "total_spent":
		return strconv.FormatFloat(c.TotalSpent, 'f', 2, 64)
	}
	return ""
}

// AttributeFields lists attributes.NAME for each attribute key, sorted, for
// the mapping dropdown.
func (c Contact) AttributeFields() []string {
	out := make([]string, 0, len(c.Attributes))
	for k := range c.Attributes {
		out = append(out, "attributes."+k)
	}
	sort.Strings(out)
	return out
}
