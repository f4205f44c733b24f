package handlers

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/models"
	views "github.com/heraldhq/herald/views/segments"
)

// The rule builder keeps no state on the server: the form carries the whole
// tree as fields named by each node's path ("r" is the root group, "r.1" its
// second child, "r.1.0" that one's first), and every change posts the form
// and gets the builder back. This file turns the form into a tree, the tree
// into the rules JSON of the contract, and saved JSON back into a tree.

// nodePath matches the kind field of a node: "r.t", "r.0.2.t".
var nodePath = regexp.MustCompile(`^r(\.[0-9]{1,3})*\.t$`)

// maxFormNodes bounds how many nodes a posted form may hold.
const maxFormNodes = 4 * models.MaxRuleConditions

// treeFromForm rebuilds the rule tree from a posted builder form.
func treeFromForm(form url.Values) views.Node {
	paths := []string{}
	for key := range form {
		if nodePath.MatchString(key) && len(paths) < maxFormNodes {
			paths = append(paths, strings.TrimSuffix(key, ".t"))
		}
	}
	if !slices.Contains(paths, "r") {
		return views.Node{Path: "r", Kind: "all"}
	}
	children := map[string][]string{}
	for _, p := range paths {
		if p == "r" {
			continue
		}
		parent := p[:strings.LastIndex(p, ".")]
		children[parent] = append(children[parent], p)
	}
	var build func(path string, depth int) views.Node
	build = func(path string, depth int) views.Node {
		n := nodeFromForm(form, path)
		n.Depth = depth
		if !n.IsGroup() {
			return n
		}
		kids := children[path]
		sort.Slice(kids, func(i, j int) bool { return lastIndex(kids[i]) < lastIndex(kids[j]) })
		for _, k := range kids {
			if depth < models.MaxRuleDepth+1 { // deeper nodes would be refused anyway
				n.Children = append(n.Children, build(k, depth+1))
			}
		}
		return n
	}
	return renumber(build("r", 1), "r", 1)
}

func lastIndex(path string) int {
	i, _ := strconv.Atoi(path[strings.LastIndex(path, ".")+1:])
	return i
}

// nodeFromForm reads one node's own fields.
func nodeFromForm(form url.Values, path string) views.Node {
	get := func(key string) string { return strings.TrimSpace(form.Get(path + "." + key)) }
	n := views.Node{Path: path, Kind: get("t")}
	if n.IsGroup() {
		return n
	}
	field := get("field")
	switch field {
	case views.KeyEvent:
		n.Kind = "event"
	case views.KeyCampaign:
		n.Kind = "campaign"
	case views.KeySegment:
		n.Kind = "segment"
	default:
		n.Kind = "field"
		n.Field = field
	}
	n.Op = get("op")
	for _, v := range form[path+".value"] {
		if v = strings.TrimSpace(v); v != "" {
			n.Values = append(n.Values, v)
		}
	}
	n.Value2 = get("value2")
	n.Event, n.Campaign, n.Segment, n.Days = get("event"), get("campaign"), get("segment"), get("days")
	return n
}

// renumber gives nodes paths from their place in the tree, after removals.
func renumber(n views.Node, path string, depth int) views.Node {
	n.Path, n.Depth = path, depth
	for i := range n.Children {
		n.Children[i] = renumber(n.Children[i], fmt.Sprintf("%s.%d", path, i), depth+1)
	}
	return n
}

// fixOperators picks fitting operators where a field changed under them.
func fixOperators(n *views.Node) {
	if n.IsGroup() {
		for i := range n.Children {
			fixOperators(&n.Children[i])
		}
		return
	}
	var ops []string
	switch n.Kind {
	case "event":
		ops = models.EventOperators
	case "campaign":
		ops = models.CampaignOperators
		if !slices.Contains(models.FunnelSteps, n.Value()) {
			n.Values = []string{"delivered"}
		}
		if n.Campaign == "" {
			n.Campaign = "any"
		}
	case "segment":
		ops = []string{models.OpIn, models.OpNotIn}
	default:
		f, ok := models.LookupField(n.Field)
		if !ok {
			return
		}
		ops = f.Operators
	}
	if !slices.Contains(ops, n.Op) {
		n.Op = ops[0]
		switch n.Kind {
		case "field":
			n.Values, n.Value2 = nil, ""
		case "event":
			n.Values = []string{"1"} // a new event condition starts as "at least once"
		}
	}
}

// newCondition is what "add condition" adds.
func newCondition() views.Node {
	return views.Node{Kind: "field", Field: "country", Op: models.OpIn}
}

// applyAction changes the tree as a builder button asked:
// add_condition:PATH, add_group:PATH or remove:PATH.
func applyAction(root views.Node, action string) views.Node {
	verb, path, _ := strings.Cut(action, ":")
	var walk func(n *views.Node) bool
	walk = func(n *views.Node) bool {
		if n.Path == path && n.IsGroup() {
			switch verb {
			case "add_condition":
				n.Children = append(n.Children, newCondition())
				return true
			case "add_group":
				n.Children = append(n.Children, views.Node{Kind: "any", Children: []views.Node{newCondition()}})
				return true
			}
		}
		for i := range n.Children {
			if verb == "remove" && n.Children[i].Path == path {
				n.Children = slices.Delete(n.Children, i, i+1)
				return true
			}
			if walk(&n.Children[i]) {
				return true
			}
		}
		return false
	}
	walk(&root)
	return renumber(root, "r", 1)
}

// rulesFromTree writes the tree as the contract's rules JSON. Values that
// do not parse as the field needs are passed on as text, so the compiler
// reports them at the right path.
func rulesFromTree(n views.Node) json.RawMessage {
	out, _ := json.Marshal(ruleValue(n))
	return out
}

func ruleValue(n views.Node) any {
	if n.IsGroup() {
		children := make([]any, 0, len(n.Children))
		for _, c := range n.Children {
			children = append(children, ruleValue(c))
		}
		return map[string]any{n.Kind: children}
	}
	switch n.Kind {
	case "event":
		r := map[string]any{"event": n.Event, "op": n.Op}
		if n.Op != models.OpNever {
			r["value"] = numberOrText(n.Value())
		}
		if n.Days != "" {
			r["within_days"] = numberOrText(n.Days)
		}
		return r
	case "campaign":
		r := map[string]any{"op": n.Op, "value": n.Value()}
		if n.Campaign == "any" || n.Campaign == "" {
			r["campaign"] = "any"
		} else {
			r["campaign"] = numberOrText(n.Campaign)
		}
		if n.Days != "" {
			r["within_days"] = numberOrText(n.Days)
		}
		return r
	case "segment":
		return map[string]any{"segment": numberOrText(n.Segment), "op": n.Op}
	}
	f, _ := models.LookupField(n.Field)
	return map[string]any{"field": n.Field, "op": n.Op, "value": fieldValue(f, n)}
}

func fieldValue(f models.FieldInfo, n views.Node) any {
	numeric := f.Type == models.FieldNumber ||
		f.Type == models.FieldAttribute && slices.Contains([]string{models.OpGt, models.OpGte, models.OpLt, models.OpLte, models.OpBetween}, n.Op)
	scalar := func(s string) any {
		if numeric {
			return numberOrText(s)
		}
		return s
	}
	switch {
	case n.Op == models.OpExists || f.Type == models.FieldBool:
		switch n.Value() {
		case "true":
			return true
		case "false":
			return false
		}
		return n.Value()
	case n.Op == models.OpWithinDays || n.Op == models.OpOlderThanDays:
		return numberOrText(n.Value())
	case n.Op == models.OpBetween:
		return []any{scalar(n.Value()), scalar(n.Value2)}
	case n.Op == models.OpIn || n.Op == models.OpNotIn:
		items := []any{}
		for _, v := range n.Values {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					items = append(items, scalar(part))
				}
			}
		}
		return items
	}
	return scalar(n.Value())
}

func numberOrText(s string) any {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return json.Number(s)
	}
	return s
}

// treeFromRules turns saved rules into the builder's tree. A root that is
// a single condition is shown inside an "all" group.
func treeFromRules(raw json.RawMessage) views.Node {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return views.Node{Path: "r", Kind: "all", Depth: 1}
	}
	root := nodeFromValue(v)
	if !root.IsGroup() {
		root = views.Node{Kind: "all", Children: []views.Node{root}}
	}
	return renumber(root, "r", 1)
}

func nodeFromValue(v any) views.Node {
	m, _ := v.(map[string]any)
	for _, kind := range []string{"all", "any", "none"} {
		if children, ok := m[kind].([]any); ok {
			n := views.Node{Kind: kind}
			for _, c := range children {
				n.Children = append(n.Children, nodeFromValue(c))
			}
			return n
		}
	}
	n := views.Node{Op: text(m["op"]), Days: text(m["within_days"])}
	switch {
	case m["event"] != nil:
		n.Kind, n.Event = "event", text(m["event"])
	case m["campaign"] != nil:
		n.Kind, n.Campaign = "campaign", text(m["campaign"])
	case m["segment"] != nil:
		n.Kind, n.Segment = "segment", text(m["segment"])
	default:
		n.Kind, n.Field = "field", text(m["field"])
	}
	switch val := m["value"].(type) {
	case []any:
		if n.Op == models.OpBetween && len(val) == 2 {
			n.Values, n.Value2 = []string{text(val[0])}, text(val[1])
		} else {
			for _, x := range val {
				n.Values = append(n.Values, text(x))
			}
		}
	case nil:
	default:
		n.Values = []string{text(val)}
	}
	return n
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// attachErrors puts each rule error on the node it is about: the deepest
// node whose JSON path starts the error's path. It returns the errors no
// node claimed (about the tree as a whole).
func attachErrors(root *views.Node, fields map[string]string) []string {
	var loose []string
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, errPath := range keys {
		msg := fields[errPath]
		if errPath == "rules" {
			errPath = ""
		}
		if !attach(root, "", errPath, msg) {
			loose = append(loose, msg)
		}
	}
	return loose
}

// attach walks the tree with each node's JSON path (jsonPath); the root of
// the builder is always a group, whose path is "".
func attach(n *views.Node, jsonPath, errPath, msg string) bool {
	if n.IsGroup() {
		prefix := n.Kind
		if jsonPath != "" {
			prefix = jsonPath + "." + n.Kind
		}
		for i := range n.Children {
			childPath := fmt.Sprintf("%s[%d]", prefix, i)
			if errPath == childPath || strings.HasPrefix(errPath, childPath+".") || strings.HasPrefix(errPath, childPath+"[") {
				return attach(&n.Children[i], childPath, errPath, msg)
			}
		}
	}
	if jsonPath == "" && errPath == "" {
		return false
	}
	n.Errors = append(n.Errors, msg)
	return true
}
