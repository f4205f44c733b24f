package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// Pools the random data and the random rules draw from, small enough that
// conditions often match.
var (
	poolCountries = []string{"BR", "MX", "US", "GB", ""}
	poolTags      = []string{"vip", "sp", "newsletter", "b2b", "100%_off"}
	poolStages    = []string{"lead", "new", "active", "at_risk", "churned", ""}
	poolWords     = []string{"pro", "free", "Pro", "42", "7.5", "-3", "n/a", "", "x'y"}
	poolEvents    = []string{"purchase", "signup", "cart"}
	poolLangs     = []string{"en", "pt_BR", "es"}
	poolZones     = []string{"America/Sao_Paulo", "Europe/London", ""}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// seedRandom inserts n random contacts with events and campaign messages,
// identically for a given seed, and returns the campaign ids.
func seedRandom(t testing.TB, s *models.Store, seed uint64, n int, now time.Time) []int64 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	campaigns := []int64{insertCampaign(t, s, "r1", "completed", nil, nil), insertCampaign(t, s, "r2", "completed", nil, nil)}
	steps := [][]string{{"sent"}, {"sent", "delivered"}, {"sent", "delivered", "read"}, {"read", "tapped"}, {"failed"}, {"sent", "converted"}, nil}
	for i := range n {
		var tags []string
		for _, tag := range poolTags {
			if r.IntN(4) == 0 {
				tags = append(tags, tag)
			}
		}
		attrs := map[string]any{}
		if r.IntN(3) > 0 {
			attrs["plan"] = pick(r, poolWords)
		}
		switch r.IntN(4) {
		case 0:
			attrs["score"] = r.IntN(100)
		case 1:
			attrs["score"] = fmt.Sprint(r.IntN(100))
		case 2:
			attrs["score"] = pick(r, poolWords)
		}
		if r.IntN(2) == 0 {
			attrs["beta"] = r.IntN(2) == 0
		}
		attrJSON, _ := json.Marshal(attrs)
		var ext *string
		if r.IntN(2) == 0 {
			ext = ptr(fmt.Sprintf("ext-%d", i))
		}
		var active *float64
		if r.IntN(5) > 0 {
			active = ptr(r.Float64() * 200)
		}
		c := fixtureContact{phone: fmt.Sprintf("+55119%08d", i), first: pick(r, []string{"Ana", "bruno", "CARLA", ""}),
			last: pick(r, []string{"Silva", "O'Brien", ""}), email: pick(r, []string{"a@example.com", "", "b_c@shop.com"}),
			externalID: ext, country: pick(r, poolCountries), tz: pick(r, poolZones), lang: pick(r, poolLangs),
			stage: pick(r, poolStages), reach: string(pick(r, models.Reachabilities)), tags: append([]string{}, tags...),
			optIn: r.IntN(2) == 0, createdDaysAgo: r.Float64() * 400, activeDaysAgo: active,
			orders: r.IntN(6), spent: float64(r.IntN(50000)) / 100, attributes: string(attrJSON)}
		id := insertContact(t, s, now, c)
		for range r.IntN(5) {
			insertEvent(t, s, now, id, pick(r, poolEvents), r.Float64()*120)
		}
		for _, cid := range campaigns {
			if st := pick(r, steps); st != nil {
				insertMessage(t, s, now, &cid, id, r.Float64()*60, st...)
			}
		}
	}
	return campaigns
}

// randomRule builds a valid rule tree from r.
func randomRule(r *rand.Rand, depth int, campaigns []int64) any {
	if depth < 4 && r.IntN(3) == 0 {
		kind := pick(r, []string{"all", "any", "none"})
		var children []any
		for range r.IntN(4) {
			children = append(children, randomRule(r, depth+1, campaigns))
		}
		return map[string]any{kind: children}
	}
	switch r.IntN(8) {
	case 0:
		op := pick(r, models.EventOperators)
		rule := map[string]any{"event": pick(r, poolEvents), "op": op, "value": r.IntN(4)}
		if r.IntN(2) == 0 {
			rule["within_days"] = 1 + r.IntN(90)
		}
		return rule
	case 1:
		var campaign any = "any"
		if r.IntN(2) == 0 {
			campaign = pick(r, campaigns)
		}
		rule := map[string]any{"campaign": campaign, "op": pick(r, models.CampaignOperators), "value": pick(r, models.FunnelSteps)}
		if r.IntN(2) == 0 {
			rule["within_days"] = 1 + r.IntN(60)
		}
		return rule
	}
	fields := append(models.SegmentFields(), models.AttributeFieldInfo("plan"), models.AttributeFieldInfo("score"), models.AttributeFieldInfo("beta"))
	f := pick(r, fields)
	op := pick(r, f.Operators)
	return map[string]any{"field": f.Key, "op": op, "value": randomValue(r, f, op)}
}

func randomValue(r *rand.Rand, f models.FieldInfo, op string) any {
	scalar := func() any {
		switch {
		case f.Key == "reachability":
			return string(pick(r, models.Reachabilities))
		case f.Key == "country":
			return pick(r, poolCountries[:4])
		case f.Key == "lifecycle_stage":
			return pick(r, poolStages[:5])
		case f.Key == "language":
			return pick(r, poolLangs)
		case f.Type == models.FieldTags:
			return pick(r, poolTags)
		case f.Type == models.FieldNumber && f.Key == "total_orders":
			return r.IntN(6)
		case f.Type == models.FieldNumber:
			return float64(r.IntN(50000)) / 100
		case f.Type == models.FieldBool:
			return r.IntN(2) == 0
		case f.Type == models.FieldAttribute && r.IntN(3) == 0:
			return r.IntN(100)
		case f.Type == models.FieldDate:
			return time.Now().AddDate(0, 0, -r.IntN(400)).Format(time.DateOnly)
		}
		if w := pick(r, poolWords); w != "" {
			return w
		}
		return "a"
	}
	switch op {
	case models.OpExists:
		return r.IntN(2) == 0
	case models.OpWithinDays, models.OpOlderThanDays:
		return r.IntN(200)
	case models.OpIn, models.OpNotIn:
		var out []any
		for range 1 + r.IntN(3) {
			out = append(out, scalar())
		}
		return out
	case models.OpBetween:
		if f.Type == models.FieldDate {
			a, b := r.IntN(400), r.IntN(400)
			return []any{time.Now().AddDate(0, 0, -max(a, b)).Format(time.DateOnly), time.Now().AddDate(0, 0, -min(a, b)).Format(time.DateOnly)}
		}
		a, b := r.IntN(300), r.IntN(300)
		return []any{min(a, b), max(a, b)}
	case models.OpGt, models.OpGte, models.OpLt, models.OpLte:
		if f.Type == models.FieldAttribute {
			return r.IntN(100) - 5
		}
	case models.OpContains:
		if f.Type != models.FieldTags {
			return pick(r, []string{"a", "pro", "'", "%", "_", "example"})
		}
	}
	return scalar()
}

// TestRandomRulesAgreeAcrossDatabases is the property test: random rule
// trees compile, run without error, and count the same contacts on SQLite
// and Postgres over the same random data.
func TestRandomRulesAgreeAcrossDatabases(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	dbs := testdb.All(t)
	var campaigns [][]int64
	for _, db := range dbs {
		campaigns = append(campaigns, seedRandom(t, db.Store, 42, 150, now))
	}
	r := rand.New(rand.NewPCG(7, 7))
	rounds := 300
	if testing.Short() {
		rounds = 60
	}
	nonTrivial := 0
	for i := range rounds {
		tree := randomRule(r, 1, campaigns[0])
		raw, _ := json.Marshal(tree)
		var counts []int64
		for j, db := range dbs {
			// Campaign ids may differ per database; map them.
			rules := string(raw)
			for k, id := range campaigns[0] {
				rules = strings.ReplaceAll(rules, fmt.Sprintf(`"campaign":%d`, id), fmt.Sprintf(`"campaign":%d`, campaigns[j][k]))
			}
			where, args, err := models.CompileRules([]byte(rules), db.Store.Dialect(), now)
			if err != nil {
				t.Fatalf("round %d: %s: %v", i, rules, err)
			}
			var n int64
			if err := db.Store.DB(context.Background()).Raw("SELECT COUNT(*) FROM contacts c WHERE "+where, args...).Scan(&n).Error; err != nil {
				t.Fatalf("round %d on %s: %s\n%s %v\n%v", i, db.Name, rules, where, args, err)
			}
			counts = append(counts, n)
		}
		if len(counts) == 2 && counts[0] != counts[1] {
			t.Fatalf("round %d: %s counts %d on %s, %d on %s", i, raw, counts[0], dbs[0].Name, counts[1], dbs[1].Name)
		}
		if counts[0] > 0 && counts[0] < 150 {
			nonTrivial++
		}
	}
	// Guard against a generator that only makes trivial rules.
	if nonTrivial < rounds/4 {
		t.Fatalf("only %d of %d rules split the contacts", nonTrivial, rounds)
	}
}

// FuzzCompileRules feeds arbitrary JSON to the compiler: it must not panic,
// must fail only with RuleErrors, and what it accepts must run on SQLite.
func FuzzCompileRules(f *testing.F) {
	seeds := []string{
		`{"all":[{"field":"country","op":"in","value":["BR","MX"]},{"any":[{"field":"total_spent","op":"gte","value":100},{"field":"tags","op":"contains","value":"vip"}]}]}`,
		`{"all":[{"field":"last_active_at","op":"older_than_days","value":30},{"field":"attributes.plan","op":"eq","value":"pro"}]}`,
		`{"event":"purchase","op":"count_gte","value":1,"within_days":90}`,
		`{"campaign":12,"op":"status","value":"read"}`,
		`{"none":[{"field":"attributes.score","op":"between","value":[1,2]}]}`,
		`{"field":"created_at","op":"between","value":["2026-01-01","2026-02-01T00:00:00Z"]}`,
		`{"segment":1,"op":"in"}`, `[]`, `null`, `{"all":null}`, `{"field":null}`, `"x"`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	db := testdb.SQLite(f)
	now := time.Now()
	f.Fuzz(func(t *testing.T, raw []byte) {
		where, args, err := models.CompileRules(raw, models.SQLite, now)
		if err != nil {
			var re *models.RuleError
			if !errors.As(err, &re) || !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("%s: error %v is not a RuleError", raw, err)
			}
			return
		}
		if strings.Count(where, "?") != len(args) {
			t.Fatalf("%s: %d placeholders, %d args: %s", raw, strings.Count(where, "?"), len(args), where)
		}
		var n int64
		if err := db.Store.DB(context.Background()).Raw("SELECT COUNT(*) FROM contacts c WHERE "+where, args...).Scan(&n).Error; err != nil {
			t.Fatalf("%s: invalid SQL %s %v: %v", raw, where, args, err)
		}
		if _, _, err := models.CompileRules(raw, models.Postgres, now); err != nil {
			t.Fatalf("%s: valid for SQLite but not Postgres: %v", raw, err)
		}
	})
}
