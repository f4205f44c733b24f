package models

import (
	"regexp"
	"slices"
	"strings"
)

// FieldType is the kind of value a segment field holds; it decides which
// operators apply and which input the builder shows.
type FieldType string

// The field types of segment rules.
const (
	FieldText      FieldType = "text"
	FieldNumber    FieldType = "number"
	FieldDate      FieldType = "date"
	FieldBool      FieldType = "bool"
	FieldTags      FieldType = "tags"
	FieldEnum      FieldType = "enum"
	FieldAttribute FieldType = "attribute" // attributes.NAME: text, compared as a number by gt/gte/lt/lte/between
)

// FieldInfo describes one field a segment condition may test, for the
// builder's dropdowns and for API clients.
type FieldInfo struct {
	Key       string    `json:"key"`
	Label     string    `json:"label"`
	Type      FieldType `json:"type"`
	Operators []string  `json:"operators"`
	// Values are the known choices of an enum field; for lifecycle_stage
	// they are suggestions, other values are allowed.
	Values []string `json:"values,omitempty"`
}

// Operators of field conditions.
const (
	OpEq            = "eq"
	OpNeq           = "neq"
	OpIn            = "in"
	OpNotIn         = "not_in"
	OpContains      = "contains"
	OpGt            = "gt"
	OpGte           = "gte"
	OpLt            = "lt"
	OpLte           = "lte"
	OpBetween       = "between"
	OpExists        = "exists"
	OpOlderThanDays = "older_than_days"
	OpWithinDays    = "within_days"
)

// Operators of event, campaign and segment conditions.
const (
	OpCountGte  = "count_gte"
	OpCountLte  = "count_lte"
	OpCountEq   = "count_eq"
	OpNever     = "never"
	OpStatus    = "status"
	OpNotStatus = "not_status"
)

// operatorsByType lists, in the order the builder offers them, the
// operators each field type accepts.
func operatorsFor(t FieldType) []string {
	switch t {
	case FieldText:
		return []string{OpEq, OpNeq, OpIn, OpNotIn, OpContains, OpExists}
	case FieldEnum:
		return []string{OpEq, OpNeq, OpIn, OpNotIn, OpExists}
	case FieldBool:
		return []string{OpEq, OpNeq}
	case FieldNumber:
		return []string{OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte, OpBetween, OpIn, OpNotIn}
	case FieldDate:
		return []string{OpWithinDays, OpOlderThanDays, OpGt, OpGte, OpLt, OpLte, OpBetween, OpExists}
	case FieldTags:
		return []string{OpContains, OpIn, OpNotIn, OpExists}
	case FieldAttribute:
		return []string{OpEq, OpNeq, OpIn, OpNotIn, OpContains, OpExists, OpGt, OpGte, OpLt, OpLte, OpBetween}
	}
	return nil
}

// reachabilityValues are the values of contacts.reachability as strings.
func reachabilityValues() []string {
	out := make([]string, len(Reachabilities))
	for i, r := range Reachabilities {
		out[i] = string(r)
	}
	return out
}

// FunnelSteps are the engagement steps a campaign condition can test, in
// funnel order (failed stands apart).
var FunnelSteps = []string{"targeted", "sent", "delivered", "read", "tapped", "converted", "failed"}

// EventOperators and CampaignOperators are the operators of behaviour and
// engagement conditions.
var (
	EventOperators    = []string{OpCountGte, OpCountLte, OpCountEq, OpNever}
	CampaignOperators = []string{OpStatus, OpNotStatus}
)

// fieldDef is a built-in field: what the UI shows and the column behind it.
type fieldDef struct {
	FieldInfo
	column   string
	nullable bool
	integer  bool     // number fields stored as integers take whole values only
	strict   []string // enum values outside this list are refused (nil: any)
}

func builtinFields() []fieldDef {
	def := func(key, label string, t FieldType, column string) fieldDef {
		return fieldDef{FieldInfo: FieldInfo{Key: key, Label: label, Type: t, Operators: operatorsFor(t)}, column: column}
	}
	lifecycle := def("lifecycle_stage", "Lifecycle stage", FieldEnum, "lifecycle_stage")
	lifecycle.Values = LifecycleStages
	reach := def("reachability", "Reachability", FieldEnum, "reachability")
	reach.Values, reach.strict = reachabilityValues(), reachabilityValues()
	externalID := def("external_id", "External ID", FieldText, "external_id")
	externalID.nullable = true
	lastActive := def("last_active_at", "Last active", FieldDate, "last_active_at")
	lastActive.nullable = true
	orders := def("total_orders", "Total orders", FieldNumber, "total_orders")
	orders.integer = true
	return []fieldDef{
		def("phone", "Phone", FieldText, "phone"),
		def("first_name", "First name", FieldText, "first_name"),
		def("last_name", "Last name", FieldText, "last_name"),
		def("email", "E-mail", FieldText, "email"),
		externalID,
		def("country", "Country", FieldText, "country"),
		def("timezone", "Time zone", FieldText, "timezone"),
		def("language", "Language", FieldText, "language"),
		def("tags", "Tags", FieldTags, "tags"),
		lifecycle,
		def("opt_in", "Marketing opt-in", FieldBool, "marketing_opt_in"),
		def("transactional_opt_in", "Transactional opt-in", FieldBool, "transactional_opt_in"),
		reach,
		def("created_at", "Created", FieldDate, "created_at"),
		lastActive,
		orders,
		def("total_spent", "Total spent", FieldNumber, "total_spent"),
	}
}

// attributeKey is what a custom attribute name may contain; the name is
// written into SQL as a JSON path literal, so nothing else is allowed.
var attributeKey = regexp.MustCompile(`^[a-zA-Z0-9_]{1,64}$`)

// AttributePrefix starts the field key of a custom attribute.
const AttributePrefix = "attributes."

// lookupField finds a built-in field or a valid attributes.NAME.
func lookupField(key string) (fieldDef, bool) {
	if name, ok := strings.CutPrefix(key, AttributePrefix); ok {
		if !attributeKey.MatchString(name) {
			return fieldDef{}, false
		}
		return attributeField(name), true
	}
	fields := builtinFields()
	i := slices.IndexFunc(fields, func(f fieldDef) bool { return f.Key == key })
	if i < 0 {
		return fieldDef{}, false
	}
	return fields[i], true
}

func attributeField(name string) fieldDef {
	return fieldDef{FieldInfo: FieldInfo{Key: AttributePrefix + name, Label: name, Type: FieldAttribute,
		Operators: operatorsFor(FieldAttribute)}, column: name}
}

// SegmentFields lists the built-in fields a segment condition can test, in
// the order the builder offers them. Custom attributes come from
// DiscoverAttributeKeys; AttributeFieldInfo describes one.
func SegmentFields() []FieldInfo {
	var out []FieldInfo
	for _, f := range builtinFields() {
		info := f.FieldInfo
		info.Operators = slices.Clone(info.Operators)
		info.Values = slices.Clone(info.Values)
		out = append(out, info)
	}
	return out
}

// AttributeFieldInfo describes the custom attribute name as a field.
func AttributeFieldInfo(name string) FieldInfo { return attributeField(name).FieldInfo }

// LookupField describes the field with key (built-in or attributes.NAME).
func LookupField(key string) (FieldInfo, bool) {
	f, ok := lookupField(key)
	return f.FieldInfo, ok
}
