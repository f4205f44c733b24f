package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits of a rule tree. They keep a hostile or mistaken rule from producing
// a query the database chokes on.
const (
	MaxRuleDepth      = 5    // nested groups, the root group included
	MaxRuleConditions = 100  // conditions in the whole tree
	MaxRuleListValues = 1000 // values of one in / not_in
	MaxDays           = 36500
	maxSegmentRefs    = 5 // saved segments referring to saved segments
)

// RuleError is one thing wrong with a rule tree. Path points at it the way
// the JSON is written: "all[1].any[0].value"; "" is the tree itself.
type RuleError struct {
	Path    string
	Message string
}

func (e *RuleError) Error() string {
	if e.Path == "" {
		return "segment rules: " + e.Message
	}
	return "segment rules: " + e.Path + ": " + e.Message
}

// Is makes errors.Is(err, ErrInvalid) hold, so handlers answer 422.
func (e *RuleError) Is(target error) bool { return target == ErrInvalid }

// RuleErrors are all the problems of one rule tree, in tree order. It is the
// error CompileRules returns; errors.As(err, &*RuleError) yields the first.
type RuleErrors []*RuleError

func (es RuleErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap exposes each RuleError to errors.Is and errors.As.
func (es RuleErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// RuleErrorFields maps each problem's path to its message ("" becomes
// "rules"), for API and form errors. It returns nil when err holds no
// RuleError.
func RuleErrorFields(err error) map[string]string {
	var es RuleErrors
	if !errors.As(err, &es) {
		var one *RuleError
		if !errors.As(err, &one) {
			return nil
		}
		es = RuleErrors{one}
	}
	out := map[string]string{}
	for _, e := range es {
		key := e.Path
		if key == "" {
			key = "rules"
		}
		if _, seen := out[key]; !seen {
			out[key] = e.Message
		}
	}
	return out
}

// SegmentSource looks up a saved segment for a {"segment": ID} condition.
// It returns the segment's kind and, for dynamic segments, its rules.
type SegmentSource func(id int64) (kind string, rules json.RawMessage, err error)

// CompileOptions configure Compile.
type CompileOptions struct {
	Dialect Dialect
	// Now anchors relative dates (within_days, older_than_days).
	Now time.Time
	// Segments resolves {"segment": ID} conditions; nil refuses them.
	Segments SegmentSource
	// Self is the id of the saved segment these rules belong to, if any:
	// a reference leading back to it is a cycle.
	Self int64
}

// CompileRules turns a rule tree (JSON, see CONTRACT.md "Segment rules")
// into a boolean SQL expression over `contacts c` with `?` placeholders and
// their arguments, in the style gorm's Raw and Exec take on both databases:
//
//	SELECT COUNT(*) FROM contacts c WHERE <where>
//
// Values are always arguments; only allowlisted column names, validated
// attribute names and fixed SQL are written into the text. An invalid tree
// returns RuleErrors (errors.Is(err, ErrInvalid) holds).
func CompileRules(raw json.RawMessage, d Dialect, now time.Time) (where string, args []any, err error) {
	return Compile(raw, CompileOptions{Dialect: d, Now: now})
}

// Compile is CompileRules with options, such as resolving references to
// saved segments.
func Compile(raw json.RawMessage, opts CompileOptions) (where string, args []any, err error) {
	if opts.Dialect != Postgres && opts.Dialect != SQLite {
		return "", nil, fmt.Errorf("models: compile rules: unknown dialect %q", opts.Dialect)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	c := &compiler{opts: opts, now: opts.Now.UTC()}
	if opts.Self > 0 {
		c.refs = []int64{opts.Self}
	}
	where = c.rule(bytes.TrimSpace(raw), "", 1, true)
	if c.internal != nil {
		return "", nil, fmt.Errorf("models: compile rules: %w", c.internal)
	}
	if len(c.errs) > 0 {
		return "", nil, c.errs
	}
	return where, c.args, nil
}

// ValidateRules reports what is wrong with a rule tree without a database;
// segment references are only checked for shape.
func ValidateRules(raw json.RawMessage) error {
	_, _, err := Compile(raw, CompileOptions{Dialect: SQLite, Segments: func(int64) (string, json.RawMessage, error) {
		return "static", nil, nil
	}})
	return err
}

// EmptyRules is the rule tree of a new segment: everyone.
var EmptyRules = json.RawMessage(`{"all":[]}`)

type compiler struct {
	opts  CompileOptions
	now   time.Time
	args  []any
	errs  RuleErrors
	conds int
	// expanded counts conditions including those of referenced segments,
	// whose trees are inlined.
	expanded int
	refs     []int64 // saved segments being expanded, for the cycle check
	internal error   // a lookup failure, not the rule's fault
}

func (c *compiler) fail(path, format string, a ...any) string {
	c.errs = append(c.errs, &RuleError{Path: path, Message: fmt.Sprintf(format, a...)})
	return "1=0"
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

func (c *compiler) argList(vs []any) string {
	marks := make([]string, len(vs))
	for i, v := range vs {
		marks[i] = c.arg(v)
	}
	return strings.Join(marks, ", ")
}

func join(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// node is one decoded rule object, keeping which keys were present.
type node map[string]json.RawMessage

var groupKeys = []string{"all", "any", "none"}

// rule compiles one rule (group or condition) at path. root allows the
// empty input to mean "everyone".
func (c *compiler) rule(raw json.RawMessage, path string, depth int, root bool) string {
	if root && (len(raw) == 0 || string(raw) == "null") {
		return "1=1"
	}
	var n node
	if err := json.Unmarshal(raw, &n); err != nil || n == nil {
		return c.fail(path, "must be a group ({\"all\": […]}) or a condition ({\"field\": …, \"op\": …})")
	}
	for _, g := range groupKeys {
		if _, ok := n[g]; ok {
			return c.group(n, g, path, depth)
		}
	}
	c.conds++
	c.expanded++
	if c.conds == MaxRuleConditions+1 {
		c.fail(path, "too many conditions: at most %d", MaxRuleConditions)
	}
	if c.conds > MaxRuleConditions {
		return "1=0"
	}
	switch {
	case has(n, "field"):
		return c.fieldCondition(n, path)
	case has(n, "event"):
		return c.eventCondition(n, path)
	case has(n, "campaign"):
		return c.campaignCondition(n, path)
	case has(n, "segment"):
		return c.segmentCondition(n, path)
	}
	return c.fail(path, "must be a group (all, any, none) or a condition (field, event, campaign or segment)")
}

func has(n node, key string) bool { _, ok := n[key]; return ok }

// onlyKeys reports keys of n that a rule of this kind does not take.
func (c *compiler) onlyKeys(n node, path string, allowed ...string) bool {
	var extra []string
	for k := range n {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		c.fail(join(path, k), "unknown key %q here (allowed: %s)", k, strings.Join(allowed, ", "))
	}
	return len(extra) == 0
}

func (c *compiler) group(n node, kind, path string, depth int) string {
	if !c.onlyKeys(n, path, kind) {
		return "1=0"
	}
	gpath := join(path, kind)
	if depth > MaxRuleDepth {
		return c.fail(gpath, "groups nest too deep: at most %d levels", MaxRuleDepth)
	}
	var children []json.RawMessage
	if err := json.Unmarshal(n[kind], &children); err != nil {
		return c.fail(gpath, "must be a list of rules")
	}
	var parts []string
	for i, child := range children {
		parts = append(parts, c.rule(child, fmt.Sprintf("%s[%d]", gpath, i), depth+1, false))
	}
	// An empty group does not filter: a new segment, or a group the
	// marketer has just added, matches everyone until it gets conditions.
	if len(parts) == 0 {
		return "1=1"
	}
	switch kind {
	case "all":
		return "(" + strings.Join(parts, " AND ") + ")"
	case "any":
		return "(" + strings.Join(parts, " OR ") + ")"
	default: // none; a condition that is unknown (NULL) for a contact does not match it
		return negate("(" + strings.Join(parts, " OR ") + ")")
	}
}

// op reads the op key and checks it against allowed.
func (c *compiler) op(n node, path, what string, allowed []string) (string, bool) {
	var op string
	if err := json.Unmarshal(n["op"], &op); err != nil || op == "" {
		c.fail(join(path, "op"), "choose an operator: %s", strings.Join(allowed, ", "))
		return "", false
	}
	if !slices.Contains(allowed, op) {
		c.fail(join(path, "op"), "operator %q does not apply to %s (use %s)", op, what, strings.Join(allowed, ", "))
		return "", false
	}
	return op, true
}

// decodeValue reads a JSON value keeping numbers exact.
func decodeValue(raw json.RawMessage) (any, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func (c *compiler) fieldCondition(n node, path string) string {
	if !c.onlyKeys(n, path, "field", "op", "value") {
		return "1=0"
	}
	var key string
	if err := json.Unmarshal(n["field"], &key); err != nil {
		return c.fail(join(path, "field"), "must be a field name")
	}
	f, ok := lookupField(key)
	if !ok {
		if strings.HasPrefix(key, AttributePrefix) {
			return c.fail(join(path, "field"), "attribute names may hold only letters, digits and _ (at most 64)")
		}
		return c.fail(join(path, "field"), "unknown field %q", key)
	}
	op, ok := c.op(n, path, fieldKindName(f), f.Operators)
	if !ok {
		return "1=0"
	}
	value, present := decodeValue(n["value"])
	vpath := join(path, "value")
	if !present {
		return c.fail(vpath, "a value is required")
	}
	switch f.Type {
	case FieldText, FieldEnum:
		return c.textCondition(f, op, value, vpath)
	case FieldBool:
		return c.boolCondition(f, op, value, vpath)
	case FieldNumber:
		return c.numberCondition(f, op, value, vpath)
	case FieldDate:
		return c.dateCondition(f, op, value, vpath)
	case FieldTags:
		return c.tagsCondition(op, value, vpath)
	case FieldAttribute:
		return c.attributeCondition(f.column, op, value, vpath)
	}
	return c.fail(path, "unsupported field")
}

func fieldKindName(f fieldDef) string {
	switch f.Type {
	case FieldAttribute:
		return "custom attributes"
	case FieldTags:
		return "tags"
	}
	return string(f.Type) + " fields"
}

// --- value readers -----------------------------------------------------

func (c *compiler) str(v any, path string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		c.fail(path, "must be text")
		return "", false
	}
	if len(s) > 1000 {
		c.fail(path, "is too long (at most 1000 characters)")
		return "", false
	}
	return s, true
}

func (c *compiler) nonEmptyStr(v any, path string) (string, bool) {
	s, ok := c.str(v, path)
	if ok && strings.TrimSpace(s) == "" {
		c.fail(path, "must not be empty")
		return "", false
	}
	return s, ok
}

func (c *compiler) boolean(v any, path string) (bool, bool) {
	b, ok := v.(bool)
	if !ok {
		c.fail(path, "must be true or false")
	}
	return b, ok
}

func (c *compiler) number(v any, path string, integer bool) (any, bool) {
	num, ok := v.(json.Number)
	if !ok {
		c.fail(path, "must be a number")
		return nil, false
	}
	if integer {
		i, err := strconv.ParseInt(num.String(), 10, 64)
		if err != nil {
			c.fail(path, "must be a whole number")
			return nil, false
		}
		return i, true
	}
	f, err := num.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		c.fail(path, "must be a finite number")
		return nil, false
	}
	return f, true
}

// count reads a whole number in [lo, hi].
func (c *compiler) count(v any, path string, lo, hi int64) (int64, bool) {
	num, ok := v.(json.Number)
	if !ok {
		c.fail(path, "must be a whole number")
		return 0, false
	}
	i, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil {
		c.fail(path, "must be a whole number")
		return 0, false
	}
	if i < lo || i > hi {
		c.fail(path, "must be between %d and %d", lo, hi)
		return 0, false
	}
	return i, true
}

func (c *compiler) list(v any, path string) ([]any, bool) {
	items, ok := v.([]any)
	if !ok {
		c.fail(path, "must be a list of values")
		return nil, false
	}
	if len(items) == 0 {
		c.fail(path, "must list at least one value")
		return nil, false
	}
	if len(items) > MaxRuleListValues {
		c.fail(path, "lists at most %d values", MaxRuleListValues)
		return nil, false
	}
	return items, true
}

func (c *compiler) strList(v any, path string) ([]any, bool) {
	items, ok := c.list(v, path)
	if !ok {
		return nil, false
	}
	out := make([]any, len(items))
	for i, it := range items {
		s, ok := c.str(it, fmt.Sprintf("%s[%d]", path, i))
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// scalarText turns a string, number or boolean into the text a custom
// attribute is compared with.
func (c *compiler) scalarText(v any, path string) (string, bool) {
	switch x := v.(type) {
	case string:
		return c.str(x, path)
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	c.fail(path, "must be text, a number or true/false")
	return "", false
}

// dateBound is a date condition's value: a day ("2026-03-01", which covers
// the whole UTC day) or an instant (RFC 3339).
type dateBound struct {
	t     time.Time
	isDay bool
}

func (c *compiler) date(v any, path string) (dateBound, bool) {
	s, ok := v.(string)
	if !ok {
		c.fail(path, "must be a date (2026-03-01) or a time (2026-03-01T10:00:00Z)")
		return dateBound{}, false
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return dateBound{t: t.UTC(), isDay: true}, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return dateBound{t: t.UTC()}, true
	}
	c.fail(path, "must be a date (2026-03-01) or a time (2026-03-01T10:00:00Z)")
	return dateBound{}, false
}

// --- conditions ----------------------------------------------------------

// col is a contacts column; names come only from builtinFields.
func col(name string) string { return "c." + name }

// negate is NOT expr with SQL NULL counting as "not matched" inside.
func negate(expr string) string { return "NOT COALESCE(" + expr + ", FALSE)" }

// likeArg is the LIKE pattern for a case-insensitive substring match.
func likeArg(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

const likeEscape = ` ESCAPE '\'`

func (c *compiler) textCondition(f fieldDef, op string, v any, path string) string {
	column := col(f.column)
	checkEnum := func(s, p string) bool {
		if f.strict != nil && !slices.Contains(f.strict, s) {
			c.fail(p, "must be one of %s", strings.Join(f.strict, ", "))
			return false
		}
		return true
	}
	switch op {
	case OpEq, OpNeq:
		s, ok := c.str(v, path)
		if !ok || !checkEnum(s, path) {
			return "1=0"
		}
		expr := column + " = " + c.arg(s)
		if op == OpNeq {
			return negate(expr)
		}
		return expr
	case OpIn, OpNotIn:
		items, ok := c.strList(v, path)
		if !ok {
			return "1=0"
		}
		for i, it := range items {
			if !checkEnum(it.(string), fmt.Sprintf("%s[%d]", path, i)) {
				return "1=0"
			}
		}
		expr := column + " IN (" + c.argList(items) + ")"
		if op == OpNotIn {
			return negate(expr)
		}
		return expr
	case OpContains:
		s, ok := c.nonEmptyStr(v, path)
		if !ok {
			return "1=0"
		}
		return "LOWER(" + column + ") LIKE " + c.arg(likeArg(s)) + likeEscape
	case OpExists:
		b, ok := c.boolean(v, path)
		if !ok {
			return "1=0"
		}
		if b {
			return "COALESCE(" + column + ", '') <> ''"
		}
		return "COALESCE(" + column + ", '') = ''"
	}
	return c.fail(path, "unsupported operator")
}

func (c *compiler) boolCondition(f fieldDef, op string, v any, path string) string {
	b, ok := c.boolean(v, path)
	if !ok {
		return "1=0"
	}
	if op == OpNeq {
		b = !b
	}
	// The value picks between two fixed expressions; nothing is spliced.
	if b {
		return col(f.column)
	}
	return "NOT " + col(f.column)
}

func (c *compiler) numberCondition(f fieldDef, op string, v any, path string) string {
	column := col(f.column)
	switch op {
	case OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte:
		num, ok := c.number(v, path, f.integer)
		if !ok {
			return "1=0"
		}
		if op == OpNeq {
			return negate(column + " = " + c.arg(num))
		}
		return column + " " + comparison(op) + " " + c.arg(num)
	case OpBetween:
		lo, hi, ok := c.numberPair(v, path, f.integer)
		if !ok {
			return "1=0"
		}
		return column + " BETWEEN " + c.arg(lo) + " AND " + c.arg(hi)
	case OpIn, OpNotIn:
		items, ok := c.list(v, path)
		if !ok {
			return "1=0"
		}
		nums := make([]any, len(items))
		for i, it := range items {
			if nums[i], ok = c.number(it, fmt.Sprintf("%s[%d]", path, i), f.integer); !ok {
				return "1=0"
			}
		}
		expr := column + " IN (" + c.argList(nums) + ")"
		if op == OpNotIn {
			return negate(expr)
		}
		return expr
	}
	return c.fail(path, "unsupported operator")
}

func comparison(op string) string {
	switch op {
	case OpGt:
		return ">"
	case OpGte:
		return ">="
	case OpLt:
		return "<"
	case OpLte:
		return "<="
	case OpNeq:
		return "<>"
	}
	return "="
}

func (c *compiler) numberPair(v any, path string, integer bool) (lo, hi any, ok bool) {
	items, ok := v.([]any)
	if !ok || len(items) != 2 {
		c.fail(path, "must be a list of two numbers: [low, high]")
		return nil, nil, false
	}
	if lo, ok = c.number(items[0], path+"[0]", integer); !ok {
		return nil, nil, false
	}
	if hi, ok = c.number(items[1], path+"[1]", integer); !ok {
		return nil, nil, false
	}
	if toFloat(lo) > toFloat(hi) {
		c.fail(path, "the low end must not exceed the high end")
		return nil, nil, false
	}
	return lo, hi, true
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// sqliteTime is how time arguments are written for SQLite, which compares
// them through julianday() so any stored ISO-8601 form matches.
const sqliteTime = "2006-01-02 15:04:05.999999"

// timeCmp compares a timestamp expression with t.
func (c *compiler) timeCmp(expr, cmp string, t time.Time) string {
	t = t.UTC()
	if c.opts.Dialect == SQLite {
		return "julianday(" + expr + ") " + cmp + " julianday(" + c.arg(t.Format(sqliteTime)) + ")"
	}
	return expr + " " + cmp + " " + c.arg(t)
}

func (c *compiler) daysAgo(days int64) time.Time {
	return c.now.Add(-time.Duration(days) * 24 * time.Hour)
}

func (c *compiler) dateCondition(f fieldDef, op string, v any, path string) string {
	column := col(f.column)
	const day = 24 * time.Hour
	switch op {
	case OpWithinDays, OpOlderThanDays:
		days, ok := c.count(v, path, 0, MaxDays)
		if !ok {
			return "1=0"
		}
		if op == OpWithinDays {
			return c.timeCmp(column, ">=", c.daysAgo(days))
		}
		// Never active counts as inactive for re-engagement.
		if f.nullable {
			return "(" + column + " IS NULL OR " + c.timeCmp(column, "<", c.daysAgo(days)) + ")"
		}
		return c.timeCmp(column, "<", c.daysAgo(days))
	case OpGt, OpGte, OpLt, OpLte:
		b, ok := c.date(v, path)
		if !ok {
			return "1=0"
		}
		switch {
		case op == OpGt && b.isDay: // after that day
			return c.timeCmp(column, ">=", b.t.Add(day))
		case op == OpLte && b.isDay: // up to the end of that day
			return c.timeCmp(column, "<", b.t.Add(day))
		}
		return c.timeCmp(column, comparison(op), b.t)
	case OpBetween:
		items, ok := v.([]any)
		if !ok || len(items) != 2 {
			return c.fail(path, "must be a list of two dates: [from, to]")
		}
		from, ok := c.date(items[0], path+"[0]")
		if !ok {
			return "1=0"
		}
		to, ok := c.date(items[1], path+"[1]")
		if !ok {
			return "1=0"
		}
		if from.t.After(to.t) {
			return c.fail(path, "the first date must not be after the second")
		}
		lower := c.timeCmp(column, ">=", from.t) // arguments follow the text order
		if to.isDay {
			return "(" + lower + " AND " + c.timeCmp(column, "<", to.t.Add(day)) + ")"
		}
		return "(" + lower + " AND " + c.timeCmp(column, "<=", to.t) + ")"
	case OpExists:
		b, ok := c.boolean(v, path)
		if !ok {
			return "1=0"
		}
		if b {
			return column + " IS NOT NULL"
		}
		return column + " IS NULL"
	}
	return c.fail(path, "unsupported operator")
}

// tagContains is "the contact's tags include one of values".
func (c *compiler) tagContains(values []any) string {
	if c.opts.Dialect == Postgres {
		// @> uses the GIN index on tags; one test per value.
		parts := make([]string, len(values))
		for i, v := range values {
			arr, _ := json.Marshal([]any{v})
			parts[i] = "c.tags @> CAST(" + c.arg(string(arr)) + " AS jsonb)"
		}
		if len(parts) == 1 {
			return parts[0]
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	}
	return "EXISTS (SELECT 1 FROM json_each(c.tags) t WHERE t.value IN (" + c.argList(values) + "))"
}

func (c *compiler) tagsCondition(op string, v any, path string) string {
	switch op {
	case OpContains:
		s, ok := c.nonEmptyStr(v, path)
		if !ok {
			return "1=0"
		}
		return c.tagContains([]any{s})
	case OpIn, OpNotIn:
		items, ok := c.strList(v, path)
		if !ok {
			return "1=0"
		}
		if op == OpNotIn {
			return negate(c.tagContains(items))
		}
		return c.tagContains(items)
	case OpExists:
		b, ok := c.boolean(v, path)
		if !ok {
			return "1=0"
		}
		expr := "json_array_length(c.tags) > 0"
		if c.opts.Dialect == Postgres {
			expr = "c.tags <> '[]'::jsonb"
		}
		if !b {
			return negate(expr)
		}
		return expr
	}
	return c.fail(path, "unsupported operator")
}

// attrText is a custom attribute as text: strings as they are, numbers in
// their JSON form, booleans as true/false, missing or null as NULL. name
// has been validated by attributeKey, so it is safe as a literal, and a
// literal lets Postgres use expression indexes on attributes ->> 'name'.
func (c *compiler) attrText(name string) string {
	if c.opts.Dialect == Postgres {
		return "(c.attributes ->> '" + name + "')"
	}
	p := "'$." + name + "'"
	return "(CASE json_type(c.attributes, " + p + ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' " +
		"ELSE CAST(json_extract(c.attributes, " + p + ") AS TEXT) END)"
}

// attrNumber is a custom attribute as a number when its text is a plain
// decimal (-12, 3.5), else NULL: imports store attributes as text, so
// "42" and 42 compare alike, and "n/a" never breaks the query.
func (c *compiler) attrNumber(name string) string {
	t := c.attrText(name)
	if c.opts.Dialect == Postgres {
		return "(CASE WHEN " + t + ` ~ '^-{0,1}[0-9]+(\.[0-9]+){0,1}$' THEN CAST(` + t + " AS numeric) END)"
	}
	return "(CASE WHEN (" + t + " GLOB '[0-9]*' OR " + t + " GLOB '-[0-9]*') AND NOT substr(" + t + ", 2) GLOB '*[^0-9.]*'" +
		" AND NOT " + t + " GLOB '*.*.*' AND NOT " + t + " GLOB '*.' THEN CAST(" + t + " AS REAL) END)"
}

func looksNumeric(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func (c *compiler) attributeCondition(name, op string, v any, path string) string {
	switch op {
	case OpEq, OpNeq:
		s, ok := c.scalarText(v, path)
		if !ok {
			return "1=0"
		}
		var expr string
		if _, isStr := v.(string); isStr && c.opts.Dialect == Postgres && !looksNumeric(s) && s != "true" && s != "false" {
			// Containment uses the GIN index on attributes and, for a
			// word, matches exactly what the text comparison would.
			obj, _ := json.Marshal(map[string]string{name: s})
			expr = "c.attributes @> CAST(" + c.arg(string(obj)) + " AS jsonb)"
		} else {
			expr = c.attrText(name) + " = " + c.arg(s)
		}
		if op == OpNeq {
			return negate(expr)
		}
		return expr
	case OpIn, OpNotIn:
		items, ok := c.list(v, path)
		if !ok {
			return "1=0"
		}
		texts := make([]any, len(items))
		for i, it := range items {
			s, ok := c.scalarText(it, fmt.Sprintf("%s[%d]", path, i))
			if !ok {
				return "1=0"
			}
			texts[i] = s
		}
		expr := c.attrText(name) + " IN (" + c.argList(texts) + ")"
		if op == OpNotIn {
			return negate(expr)
		}
		return expr
	case OpContains:
		s, ok := c.nonEmptyStr(v, path)
		if !ok {
			return "1=0"
		}
		return "LOWER(" + c.attrText(name) + ") LIKE " + c.arg(likeArg(s)) + likeEscape
	case OpExists:
		b, ok := c.boolean(v, path)
		if !ok {
			return "1=0"
		}
		if b {
			return "COALESCE(" + c.attrText(name) + ", '') <> ''"
		}
		return "COALESCE(" + c.attrText(name) + ", '') = ''"
	case OpGt, OpGte, OpLt, OpLte:
		num, ok := c.number(v, path, false)
		if !ok {
			return "1=0"
		}
		return c.attrNumber(name) + " " + comparison(op) + " " + c.arg(num)
	case OpBetween:
		lo, hi, ok := c.numberPair(v, path, false)
		if !ok {
			return "1=0"
		}
		return c.attrNumber(name) + " BETWEEN " + c.arg(lo) + " AND " + c.arg(hi)
	}
	return c.fail(path, "unsupported operator")
}

// withinDays reads the optional within_days of event and campaign
// conditions; 0 means "ever".
func (c *compiler) withinDays(n node, path string) (int64, bool) {
	raw, ok := n["within_days"]
	if !ok || string(raw) == "null" {
		return 0, true
	}
	v, _ := decodeValue(raw)
	return c.count(v, join(path, "within_days"), 1, MaxDays)
}

// eventCondition: {"event": "purchase", "op": "count_gte", "value": 2,
// "within_days": 30} — how often the contact did something (events table).
func (c *compiler) eventCondition(n node, path string) string {
	if !c.onlyKeys(n, path, "event", "op", "value", "within_days") {
		return "1=0"
	}
	var name string
	if err := json.Unmarshal(n["event"], &name); err != nil || strings.TrimSpace(name) == "" || len(name) > 200 {
		return c.fail(join(path, "event"), "must be an event name such as \"purchase\"")
	}
	op, ok := c.op(n, path, "events", EventOperators)
	if !ok {
		return "1=0"
	}
	days, ok := c.withinDays(n, path)
	if !ok {
		return "1=0"
	}
	var times int64
	if op != OpNever {
		v, present := decodeValue(n["value"])
		if !present {
			return c.fail(join(path, "value"), "say how many times")
		}
		if times, ok = c.count(v, join(path, "value"), 0, 1_000_000); !ok {
			return "1=0"
		}
	}
	// events writes the subquery anew each time, so its arguments follow
	// the text in order.
	events := func(offset int64) string {
		q := "SELECT 1 FROM events e WHERE e.contact_id = c.id AND e.name = " + c.arg(name)
		if days > 0 {
			q += " AND " + c.timeCmp("e.occurred_at", ">=", c.daysAgo(days))
		}
		if offset > 0 {
			// Stops counting at offset+1 rows: "at least N" never
			// reads a heavy buyer's whole history.
			q += " LIMIT 1 OFFSET " + c.arg(offset)
		}
		return q
	}
	atLeast := func(n int64) string {
		if n <= 0 {
			return "1=1"
		}
		return "EXISTS (" + events(n-1) + ")"
	}
	atMost := func(n int64) string { return "NOT EXISTS (" + events(n) + ")" }
	switch op {
	case OpCountGte:
		return atLeast(times)
	case OpCountLte:
		return atMost(times)
	case OpCountEq:
		return "(" + atLeast(times) + " AND " + atMost(times) + ")"
	default: // never
		return atMost(0)
	}
}

// funnelStep is the condition on a messages row m for "reached at least
// step". Webhooks can arrive out of order, so a later step implies the
// earlier ones: a read message counts as delivered even if its delivered
// status never came. Conversions are attributed independently of reads,
// and failed stands apart.
func funnelStep(step string) string {
	switch step {
	case "sent":
		return "(m.sent_at IS NOT NULL OR m.delivered_at IS NOT NULL OR m.read_at IS NOT NULL OR m.tapped_at IS NOT NULL)"
	case "delivered":
		return "(m.delivered_at IS NOT NULL OR m.read_at IS NOT NULL OR m.tapped_at IS NOT NULL)"
	case "read":
		return "(m.read_at IS NOT NULL OR m.tapped_at IS NOT NULL)"
	case "tapped":
		return "m.tapped_at IS NOT NULL"
	case "converted":
		return "m.converted_at IS NOT NULL"
	case "failed":
		return "m.failed_at IS NOT NULL"
	}
	return "" // targeted: any message row
}

// campaignCondition: {"campaign": 12 | "any", "op": "status" | "not_status",
// "value": "read", "within_days": 30} — engagement with earlier sends.
func (c *compiler) campaignCondition(n node, path string) string {
	if !c.onlyKeys(n, path, "campaign", "op", "value", "within_days") {
		return "1=0"
	}
	campaign, _ := decodeValue(n["campaign"])
	var campaignID int64
	switch x := campaign.(type) {
	case string:
		if x != "any" {
			return c.fail(join(path, "campaign"), "must be a campaign id or \"any\"")
		}
	case json.Number:
		id, err := strconv.ParseInt(x.String(), 10, 64)
		if err != nil || id < 1 {
			return c.fail(join(path, "campaign"), "must be a campaign id or \"any\"")
		}
		campaignID = id
	default:
		return c.fail(join(path, "campaign"), "must be a campaign id or \"any\"")
	}
	op, ok := c.op(n, path, "campaigns", CampaignOperators)
	if !ok {
		return "1=0"
	}
	var step string
	if err := json.Unmarshal(n["value"], &step); err != nil || !slices.Contains(FunnelSteps, step) {
		return c.fail(join(path, "value"), "must be one of %s", strings.Join(FunnelSteps, ", "))
	}
	days, ok := c.withinDays(n, path)
	if !ok {
		return "1=0"
	}
	q := "SELECT 1 FROM messages m WHERE m.contact_id = c.id"
	if campaignID > 0 {
		q += " AND m.campaign_id = " + c.arg(campaignID)
	} else {
		q += " AND m.campaign_id IS NOT NULL" // transactional sends are no campaign
	}
	if days > 0 {
		q += " AND " + c.timeCmp("m.created_at", ">=", c.daysAgo(days))
	}
	if s := funnelStep(step); s != "" {
		q += " AND " + s
	}
	if op == OpNotStatus {
		return "NOT EXISTS (" + q + ")"
	}
	return "EXISTS (" + q + ")"
}

// segmentCondition: {"segment": 7, "op": "in" | "not_in"} — membership of
// another saved segment, expanded now (dynamic) or read from its members
// (static).
func (c *compiler) segmentCondition(n node, path string) string {
	if !c.onlyKeys(n, path, "segment", "op") {
		return "1=0"
	}
	v, _ := decodeValue(n["segment"])
	num, ok := v.(json.Number)
	id, err := strconv.ParseInt(string(num), 10, 64)
	if !ok || err != nil || id < 1 {
		return c.fail(join(path, "segment"), "must be a segment id")
	}
	op, ok := c.op(n, path, "segments", []string{OpIn, OpNotIn})
	if !ok {
		return "1=0"
	}
	if c.opts.Segments == nil {
		return c.fail(join(path, "segment"), "references to saved segments are not available here")
	}
	if slices.Contains(c.refs, id) {
		return c.fail(join(path, "segment"), "segment %d refers back to itself", id)
	}
	if len(c.refs) > maxSegmentRefs {
		return c.fail(join(path, "segment"), "segments refer to segments too deeply (at most %d)", maxSegmentRefs)
	}
	kind, rules, err := c.opts.Segments(id)
	if errors.Is(err, ErrNotFound) {
		return c.fail(join(path, "segment"), "segment %d does not exist", id)
	}
	if err != nil {
		c.internal = err
		return "1=0"
	}
	var expr string
	if kind == SegmentStatic {
		expr = "c.id IN (SELECT sm.contact_id FROM segment_members sm WHERE sm.segment_id = " + c.arg(id) + ")"
	} else {
		before, conds := len(c.errs), c.conds
		c.refs = append(c.refs, id)
		expr = c.rule(rules, "", 1, true)
		c.refs = c.refs[:len(c.refs)-1]
		c.conds = conds // the referenced tree has its own cap
		if c.expanded > maxSegmentRefs*MaxRuleConditions {
			c.errs = c.errs[:before]
			return c.fail(join(path, "segment"), "referenced segments expand to too many conditions")
		}
		if len(c.errs) > before {
			inner := c.errs[before]
			c.errs = c.errs[:before]
			return c.fail(join(path, "segment"), "segment %d has invalid rules: %s", id, inner.Error())
		}
		expr = "(" + expr + ")"
	}
	if op == OpNotIn {
		return negate(expr)
	}
	return expr
}
