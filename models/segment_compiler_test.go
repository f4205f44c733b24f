package models_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// TestCompileRulesMatches runs every field type and operator, nesting and
// negation against the fixture on both databases; the expected letters are
// worked out by hand from fixtureContacts and seedFixture.
func TestCompileRulesMatches(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	day := func(ago float64) string { return daysAgo(now, ago).Format(time.DateOnly) }
	instant := func(ago float64) string { return daysAgo(now, ago).Format(time.RFC3339) }
	type tc struct{ name, rules, want string }
	tests := []tc{
		// text
		{"text eq", `{"field":"country","op":"eq","value":"BR"}`, "AE"},
		{"text neq", `{"field":"country","op":"neq","value":"BR"}`, "BCD"},
		{"text in", `{"field":"country","op":"in","value":["BR","MX"]}`, "ABE"},
		{"text not_in", `{"field":"country","op":"not_in","value":["BR","MX"]}`, "CD"},
		{"text contains is case-insensitive", `{"field":"first_name","op":"contains","value":"AR"}`, "C"},
		{"text contains a quote", `{"field":"last_name","op":"contains","value":"o'b"}`, "C"},
		{"text contains a % is literal", `{"field":"first_name","op":"contains","value":"%"}`, ""},
		{"text contains a _ is literal", `{"field":"email","op":"contains","value":"_"}`, ""},
		{"text contains", `{"field":"email","op":"contains","value":"@example."}`, "AD"},
		{"text exists", `{"field":"email","op":"exists","value":true}`, "ACD"},
		{"text not exists", `{"field":"email","op":"exists","value":false}`, "BE"},
		{"nullable neq keeps missing", `{"field":"external_id","op":"neq","value":"ext-1"}`, "BCDE"},
		{"nullable not exists", `{"field":"external_id","op":"exists","value":false}`, "BD"},
		{"phone eq", `{"field":"phone","op":"eq","value":"+14155550003"}`, "C"},
		{"timezone eq", `{"field":"timezone","op":"eq","value":"America/Sao_Paulo"}`, "AE"},
		{"language in", `{"field":"language","op":"in","value":["en"]}`, "CD"},
		// enum
		{"enum eq", `{"field":"lifecycle_stage","op":"eq","value":"active"}`, "A"},
		{"enum in", `{"field":"lifecycle_stage","op":"in","value":["lead","new"]}`, "BE"},
		{"enum neq", `{"field":"lifecycle_stage","op":"neq","value":"churned"}`, "ABDE"},
		{"enum exists", `{"field":"lifecycle_stage","op":"exists","value":true}`, "ABCDE"},
		{"reachability eq", `{"field":"reachability","op":"eq","value":"reachable"}`, "AB"},
		{"reachability not_in", `{"field":"reachability","op":"not_in","value":["blocked","opted_out"]}`, "ABE"},
		// bool
		{"bool eq true", `{"field":"opt_in","op":"eq","value":true}`, "ACD"},
		{"bool eq false", `{"field":"opt_in","op":"eq","value":false}`, "BE"},
		{"bool neq true", `{"field":"opt_in","op":"neq","value":true}`, "BE"},
		{"transactional opt-in defaults to true", `{"field":"transactional_opt_in","op":"eq","value":true}`, "ABCDE"},
		// number
		{"number gte", `{"field":"total_spent","op":"gte","value":100}`, "ADE"},
		{"number gt", `{"field":"total_spent","op":"gt","value":100}`, "AD"},
		{"number lt", `{"field":"total_spent","op":"lt","value":100}`, "BC"},
		{"number lte decimal", `{"field":"total_spent","op":"lte","value":99.99}`, "BC"},
		{"number eq decimal", `{"field":"total_spent","op":"eq","value":250.5}`, "A"},
		{"number between", `{"field":"total_spent","op":"between","value":[99.99,250.5]}`, "ACE"},
		{"integer eq", `{"field":"total_orders","op":"eq","value":0}`, "B"},
		{"integer neq", `{"field":"total_orders","op":"neq","value":0}`, "ACDE"},
		{"integer in", `{"field":"total_orders","op":"in","value":[1,2]}`, "CE"},
		{"integer not_in", `{"field":"total_orders","op":"not_in","value":[1,2]}`, "ABD"},
		{"integer gt", `{"field":"total_orders","op":"gt","value":4}`, "AD"},
		// date
		{"date within_days", `{"field":"last_active_at","op":"within_days","value":7}`, "AE"},
		{"date older_than_days counts never active", `{"field":"last_active_at","op":"older_than_days","value":30}`, "BCD"},
		{"created within_days", `{"field":"created_at","op":"within_days","value":30}`, "BE"},
		{"created older_than_days", `{"field":"created_at","op":"older_than_days","value":150}`, "CD"},
		{"date exists false", `{"field":"last_active_at","op":"exists","value":false}`, "C"},
		{"date exists true", `{"field":"last_active_at","op":"exists","value":true}`, "ABDE"},
		{"date lt day", fmt.Sprintf(`{"field":"created_at","op":"lt","value":%q}`, day(50)), "ACD"},
		{"date gt day", fmt.Sprintf(`{"field":"created_at","op":"gt","value":%q}`, day(50)), "BE"},
		{"date lte day covers that day", fmt.Sprintf(`{"field":"created_at","op":"lte","value":%q}`, day(10)), "ABCD"},
		{"date gte instant", fmt.Sprintf(`{"field":"created_at","op":"gte","value":%q}`, instant(150)), "ABE"},
		{"date between days", fmt.Sprintf(`{"field":"created_at","op":"between","value":[%q,%q]}`, day(250), day(150)), "D"},
		// tags
		{"tags contains", `{"field":"tags","op":"contains","value":"vip"}`, "AD"},
		{"tags contains is exact", `{"field":"tags","op":"contains","value":"VIP"}`, ""},
		{"tags contains odd characters", `{"field":"tags","op":"contains","value":"100%_real"}`, "E"},
		{"tags contains no wildcard", `{"field":"tags","op":"contains","value":"100%"}`, ""},
		{"tags in", `{"field":"tags","op":"in","value":["sp","newsletter"]}`, "ABE"},
		{"tags not_in", `{"field":"tags","op":"not_in","value":["vip"]}`, "BCE"},
		{"tags exists", `{"field":"tags","op":"exists","value":true}`, "ABDE"},
		{"tags not exists", `{"field":"tags","op":"exists","value":false}`, "C"},
		// custom attributes
		{"attribute eq", `{"field":"attributes.plan","op":"eq","value":"pro"}`, "A"},
		{"attribute neq keeps missing", `{"field":"attributes.plan","op":"neq","value":"pro"}`, "BCDE"},
		{"attribute contains", `{"field":"attributes.plan","op":"contains","value":"PRO"}`, "AD"},
		{"attribute in", `{"field":"attributes.plan","op":"in","value":["free","Pro Max"]}`, "BD"},
		{"attribute exists", `{"field":"attributes.plan","op":"exists","value":true}`, "ABD"},
		{"attribute not exists", `{"field":"attributes.plan","op":"exists","value":false}`, "CE"},
		{"attribute numeric gt mixes text and numbers", `{"field":"attributes.score","op":"gt","value":10}`, "AE"},
		{"attribute numeric lte", `{"field":"attributes.score","op":"lte","value":42}`, "AB"},
		{"attribute numeric between", `{"field":"attributes.score","op":"between","value":[5,50]}`, "AB"},
		{"attribute eq number", `{"field":"attributes.score","op":"eq","value":7}`, "B"},
		{"attribute eq numeric text", `{"field":"attributes.score","op":"eq","value":"42"}`, "A"},
		{"attribute eq bool", `{"field":"attributes.beta","op":"eq","value":true}`, "A"},
		{"attribute in numbers", `{"field":"attributes.score","op":"in","value":[7,"100.5"]}`, "BE"},
		// events
		{"event ever", `{"event":"purchase","op":"count_gte","value":1}`, "ACD"},
		{"event within days", `{"event":"purchase","op":"count_gte","value":1,"within_days":30}`, "AD"},
		{"event at least 2", `{"event":"purchase","op":"count_gte","value":2}`, "AD"},
		{"event at least 3", `{"event":"purchase","op":"count_gte","value":3}`, "A"},
		{"event at least 0 is everyone", `{"event":"purchase","op":"count_gte","value":0}`, "ABCDE"},
		{"event at most 1", `{"event":"purchase","op":"count_lte","value":1}`, "BCE"},
		{"event exactly 2", `{"event":"purchase","op":"count_eq","value":2}`, "D"},
		{"event exactly 0", `{"event":"purchase","op":"count_eq","value":0}`, "BE"},
		{"event never", `{"event":"purchase","op":"never"}`, "BE"},
		{"event never within days", `{"event":"purchase","op":"never","within_days":30}`, "BCE"},
		{"other event", `{"event":"signup","op":"count_gte","value":1,"within_days":30}`, "B"},
		// engagement (campaign ids are substituted below)
		{"campaign sent", `{"campaign":C1,"op":"status","value":"sent"}`, "ABD"},
		{"campaign delivered implied by read", `{"campaign":C1,"op":"status","value":"delivered"}`, "ABD"},
		{"campaign read", `{"campaign":C1,"op":"status","value":"read"}`, "AD"},
		{"campaign tapped", `{"campaign":C1,"op":"status","value":"tapped"}`, "D"},
		{"campaign failed", `{"campaign":C1,"op":"status","value":"failed"}`, "C"},
		{"campaign targeted", `{"campaign":C1,"op":"status","value":"targeted"}`, "ABCD"},
		{"campaign not read", `{"campaign":C1,"op":"not_status","value":"read"}`, "BCE"},
		{"received but did not read", `{"all":[{"campaign":C1,"op":"status","value":"delivered"},{"campaign":C1,"op":"not_status","value":"read"}]}`, "B"},
		{"any campaign converted", `{"campaign":"any","op":"status","value":"converted"}`, "E"},
		{"any campaign within days", `{"campaign":"any","op":"status","value":"sent","within_days":30}`, "ABDE"},
		{"any campaign ignores transactional", `{"campaign":"any","op":"status","value":"read"}`, "AD"},
		{"campaign within days", `{"campaign":C2,"op":"status","value":"sent","within_days":30}`, "E"},
		// groups
		{"nested all/any", `{"all":[{"field":"country","op":"in","value":["BR","MX"]},{"any":[{"field":"tags","op":"contains","value":"vip"},{"field":"total_spent","op":"lt","value":50}]}]}`, "AB"},
		{"none", `{"none":[{"field":"country","op":"eq","value":"BR"}]}`, "BCD"},
		{"none keeps unknowns", `{"none":[{"field":"external_id","op":"eq","value":"ext-1"}]}`, "BCDE"},
		{"none of groups", `{"none":[{"any":[{"field":"tags","op":"contains","value":"vip"}]},{"all":[{"field":"opt_in","op":"eq","value":false}]}]}`, "C"},
		{"empty all", `{"all":[]}`, "ABCDE"},
		{"empty any does not filter", `{"any":[]}`, "ABCDE"},
		{"root condition", `{"field":"country","op":"eq","value":"GB"}`, "D"},
		{"five levels", `{"all":[{"any":[{"all":[{"any":[{"all":[{"field":"country","op":"eq","value":"US"}]}]}]}]}]}`, "C"},
		{"injection is inert", `{"field":"country","op":"eq","value":"'; DROP TABLE contacts; --"}`, ""},
		{"injection in contains", `{"field":"first_name","op":"contains","value":"' OR 1=1 --"}`, ""},
		{"injection in attribute", `{"field":"attributes.plan","op":"in","value":["x') OR ('1'='1"]}`, ""},
	}
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ids, c1, c2 := seedFixture(t, db.Store, now)
			for _, tt := range tests {
				rules := strings.NewReplacer("C1", fmt.Sprint(c1), "C2", fmt.Sprint(c2)).Replace(tt.rules)
				where, args, err := models.CompileRules([]byte(rules), db.Store.Dialect(), now)
				if err != nil {
					t.Errorf("%s: compile %s: %v", tt.name, rules, err)
					continue
				}
				if got := matchLetters(t, db.Store, ids, where, args); got != tt.want {
					t.Errorf("%s: %s matched %q, want %q\nSQL: %s %v", tt.name, rules, got, tt.want, where, args)
				}
			}
			// The injection attempts left the table alone.
			var n int64
			db.Store.DB(t.Context()).Raw("SELECT COUNT(*) FROM contacts").Scan(&n)
			if n != 5 {
				t.Fatalf("contacts has %d rows after the injection cases, want 5", n)
			}
		})
	}
}

// TestCompileRulesNeverSplicesValues checks the SQL text holds no value.
func TestCompileRulesNeverSplicesValues(t *testing.T) {
	t.Parallel()
	evil := `'; DROP TABLE contacts; --`
	for _, d := range []models.Dialect{models.Postgres, models.SQLite} {
		for _, rule := range []string{
			`{"field":"country","op":"eq","value":%q}`, `{"field":"tags","op":"in","value":[%q]}`,
			`{"field":"attributes.x","op":"contains","value":%q}`, `{"event":%q,"op":"never"}`,
			`{"field":"email","op":"not_in","value":[%q]}`,
		} {
			where, args, err := models.CompileRules([]byte(fmt.Sprintf(rule, evil)), d, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(where, "DROP") || len(args) == 0 {
				t.Errorf("%s %s: value reached the SQL text: %s", d, rule, where)
			}
		}
	}
}

func TestCompileRulesErrors(t *testing.T) {
	t.Parallel()
	deep := `{"field":"country","op":"eq","value":"BR"}`
	for range 6 {
		deep = `{"all":[` + deep + `]}`
	}
	many := `{"any":[` + strings.TrimSuffix(strings.Repeat(`{"field":"country","op":"eq","value":"BR"},`, models.MaxRuleConditions+1), ",") + `]}`
	tests := []struct{ name, rules, path, msg string }{
		{"not an object", `[1,2]`, "", "must be a group"},
		{"nothing recognisable", `{"foo":1}`, "", "must be a group"},
		{"group not a list", `{"all":{"field":"country"}}`, "all", "list of rules"},
		{"unknown field", `{"all":[{"field":"shoe_size","op":"eq","value":"9"}]}`, "all[0].field", `unknown field "shoe_size"`},
		{"bad attribute name", `{"all":[{"field":"attributes.a-b","op":"eq","value":"9"}]}`, "all[0].field", "letters, digits"},
		{"unknown operator", `{"all":[{"field":"country","op":"like","value":"B%"}]}`, "all[0].op", `"like" does not apply`},
		{"missing operator", `{"all":[{"field":"country","value":"BR"}]}`, "all[0].op", "choose an operator"},
		{"operator wrong for type", `{"all":[{"any":[{"field":"tags","op":"gt","value":1}]}]}`, "all[0].any[0].op", "does not apply to tags"},
		{"number needs number", `{"all":[{"field":"total_spent","op":"gte","value":"100"}]}`, "all[0].value", "must be a number"},
		{"integer needs whole number", `{"all":[{"field":"total_orders","op":"eq","value":1.5}]}`, "all[0].value", "whole number"},
		{"text needs text", `{"all":[{"field":"country","op":"eq","value":3}]}`, "all[0].value", "must be text"},
		{"bool needs bool", `{"all":[{"field":"opt_in","op":"eq","value":"yes"}]}`, "all[0].value", "true or false"},
		{"in needs list", `{"all":[{"field":"country","op":"in","value":"BR"}]}`, "all[0].value", "list of values"},
		{"in needs values", `{"all":[{"field":"country","op":"in","value":[]}]}`, "all[0].value", "at least one"},
		{"in item type", `{"all":[{"field":"country","op":"in","value":["BR",2]}]}`, "all[0].value[1]", "must be text"},
		{"enum strict", `{"all":[{"field":"reachability","op":"eq","value":"maybe"}]}`, "all[0].value", "must be one of"},
		{"days not negative", `{"all":[{"field":"last_active_at","op":"within_days","value":-1}]}`, "all[0].value", "between 0"},
		{"bad date", `{"all":[{"field":"created_at","op":"gt","value":"yesterday"}]}`, "all[0].value", "must be a date"},
		{"between order", `{"all":[{"field":"total_spent","op":"between","value":[10,1]}]}`, "all[0].value", "low end"},
		{"between shape", `{"all":[{"field":"total_spent","op":"between","value":[10]}]}`, "all[0].value", "two numbers"},
		{"missing value", `{"all":[{"field":"country","op":"eq"}]}`, "all[0].value", "required"},
		{"empty contains", `{"all":[{"field":"email","op":"contains","value":" "}]}`, "all[0].value", "not be empty"},
		{"unknown key", `{"all":[{"field":"country","op":"eq","value":"BR","extra":1}]}`, "all[0].extra", "unknown key"},
		{"group with extra key", `{"all":[],"any":[]}`, "any", "unknown key"},
		{"event name", `{"all":[{"event":"","op":"never"}]}`, "all[0].event", "event name"},
		{"event op", `{"all":[{"event":"purchase","op":"gte","value":1}]}`, "all[0].op", "does not apply to events"},
		{"event count", `{"all":[{"event":"purchase","op":"count_gte","value":"two"}]}`, "all[0].value", "whole number"},
		{"event within_days", `{"all":[{"event":"purchase","op":"count_gte","value":1,"within_days":0}]}`, "all[0].within_days", "between 1"},
		{"campaign id", `{"all":[{"campaign":"some","op":"status","value":"read"}]}`, "all[0].campaign", "campaign id"},
		{"campaign step", `{"all":[{"campaign":3,"op":"status","value":"opened"}]}`, "all[0].value", "must be one of"},
		{"segment needs a store", `{"all":[{"segment":3,"op":"in"}]}`, "all[0].segment", "not available"},
		{"segment id", `{"all":[{"segment":"x","op":"in"}]}`, "all[0].segment", "segment id"},
		{"too deep", deep, "all[0].all[0].all[0].all[0].all[0].all", "too deep"},
		{"too many conditions", many, fmt.Sprintf("any[%d]", models.MaxRuleConditions), "too many conditions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := models.CompileRules([]byte(tt.rules), models.SQLite, time.Now())
			if !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
			var re *models.RuleError
			if !errors.As(err, &re) {
				t.Fatalf("err %T is no *RuleError", err)
			}
			fields := models.RuleErrorFields(err)
			key := tt.path
			if key == "" {
				key = "rules"
			}
			msg, ok := fields[key]
			if !ok || !strings.Contains(msg, tt.msg) {
				t.Fatalf("fields %v, want %q containing %q", fields, key, tt.msg)
			}
		})
	}
}

func TestCompileRulesReportsEveryError(t *testing.T) {
	t.Parallel()
	_, _, err := models.CompileRules([]byte(`{"all":[{"field":"nope","op":"eq","value":1},{"any":[{"field":"country","op":"gt","value":1}]}]}`),
		models.Postgres, time.Now())
	fields := models.RuleErrorFields(err)
	if len(fields) != 2 || fields["all[0].field"] == "" || fields["all[1].any[0].op"] == "" {
		t.Fatalf("fields %v, want both problems", fields)
	}
}

func TestSegmentFieldsOffersValidOperators(t *testing.T) {
	t.Parallel()
	// Every field and operator the builder offers must compile with a
	// value of the right type; this keeps the UI and compiler in step.
	sample := map[models.FieldType]map[string]string{}
	text := map[string]string{"eq": `"x"`, "neq": `"x"`, "in": `["x"]`, "not_in": `["x"]`, "contains": `"x"`, "exists": `true`}
	sample[models.FieldText] = text
	sample[models.FieldEnum] = text
	sample[models.FieldBool] = map[string]string{"eq": "true", "neq": "false"}
	sample[models.FieldNumber] = map[string]string{"eq": "1", "neq": "1", "gt": "1", "gte": "1", "lt": "1", "lte": "1", "between": "[1,2]", "in": "[1]", "not_in": "[1]"}
	sample[models.FieldDate] = map[string]string{"within_days": "3", "older_than_days": "3", "gt": `"2026-01-01"`, "gte": `"2026-01-01"`, "lt": `"2026-01-01"`, "lte": `"2026-01-01"`, "between": `["2026-01-01","2026-02-01"]`, "exists": "true"}
	sample[models.FieldTags] = map[string]string{"contains": `"x"`, "in": `["x"]`, "not_in": `["x"]`, "exists": "false"}
	fields := append(models.SegmentFields(), models.AttributeFieldInfo("plan"))
	sample[models.FieldAttribute] = map[string]string{"eq": `"x"`, "neq": `"x"`, "in": `["x"]`, "not_in": `["x"]`, "contains": `"x"`, "exists": "true", "gt": "1", "gte": "1", "lt": "1", "lte": "1", "between": "[1,2]"}
	if len(fields) < 17 {
		t.Fatalf("only %d fields", len(fields))
	}
	for _, f := range fields {
		for _, op := range f.Operators {
			v, ok := sample[f.Type][op]
			if !ok {
				t.Errorf("%s: no sample for %s %s", f.Key, f.Type, op)
				continue
			}
			if f.Key == "reachability" && v == `"x"` || f.Key == "reachability" && v == `["x"]` {
				v = strings.ReplaceAll(v, "x", "reachable")
			}
			rule := fmt.Sprintf(`{"field":%q,"op":%q,"value":%s}`, f.Key, op, v)
			if _, _, err := models.CompileRules([]byte(rule), models.SQLite, time.Now()); err != nil {
				t.Errorf("%s: %v", rule, err)
			}
		}
	}
}
