package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

func TestSegmentLifecycle(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			ids, _, _ := seedFixture(t, s, time.Now().UTC())

			seg, err := s.CreateSegment(ctx, models.SegmentInput{Name: " Brazil ", Rules: json.RawMessage(`{"all": [ {"field":"country","op":"eq","value":"BR"} ]}`)})
			if err != nil {
				t.Fatal(err)
			}
			if seg.Name != "Brazil" || seg.Kind != models.SegmentDynamic || !sameJSON(seg.Rules, `{"all":[{"field":"country","op":"eq","value":"BR"}]}`) {
				t.Fatalf("created %+v rules %s", seg, seg.Rules)
			}
			total, reachable, err := s.CountSavedSegment(ctx, seg.ID)
			if err != nil || total != 2 || reachable != 1 { // A reachable+opted in, E unreachable
				t.Fatalf("count %d/%d, %v; want 2/1", total, reachable, err)
			}
			got, _ := s.Segment(ctx, seg.ID)
			if got.MatchCount == nil || *got.MatchCount != 2 || got.CountedAt == nil {
				t.Fatalf("count not cached: %+v", got)
			}

			// Invalid rules are refused with their path.
			_, err = s.CreateSegment(ctx, models.SegmentInput{Name: "bad", Rules: json.RawMessage(`{"all":[{"field":"x","op":"eq","value":1}]}`)})
			if !errors.Is(err, models.ErrInvalid) || models.RuleErrorFields(err)["all[0].field"] == "" {
				t.Fatalf("bad rules: %v", err)
			}
			if _, err := s.CreateSegment(ctx, models.SegmentInput{Name: "  "}); !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("empty name: %v", err)
			}

			// Rename and change rules; the cached count is dropped.
			name := "Brazil & Mexico"
			upd, err := s.UpdateSegment(ctx, seg.ID, models.SegmentPatch{Name: &name, Rules: json.RawMessage(`{"field":"country","op":"in","value":["BR","MX"]}`)})
			if err != nil || upd.Name != name || upd.MatchCount != nil {
				t.Fatalf("update: %+v %v", upd, err)
			}
			list, err := s.ListSegmentsCounted(ctx, time.Minute)
			if err != nil || len(list) != 1 || *list[0].MatchCount != 3 || *list[0].ReachableCount != 1 {
				t.Fatalf("list %+v %v", list, err)
			}

			dup, err := s.DuplicateSegment(ctx, seg.ID, nil)
			if err != nil || dup.Name != "Copy of "+name || !sameJSON(dup.Rules, string(upd.Rules)) {
				t.Fatalf("duplicate %+v %v", dup, err)
			}

			sample, err := s.SampleSegment(ctx, upd.Rules, 2)
			if err != nil || len(sample) != 2 || sample[0].ID != ids["E"] || sample[1].ID != ids["B"] {
				t.Fatalf("sample %+v %v", sample, err)
			}

			// Freeze: a static copy that no longer follows the rules.
			frozen, err := s.FreezeSegment(ctx, seg.ID, "", nil)
			if err != nil || frozen.Kind != models.SegmentStatic || !strings.HasPrefix(frozen.Name, name+" (") {
				t.Fatalf("freeze %+v %v", frozen, err)
			}
			exec(t, s, `UPDATE contacts SET country = 'US' WHERE id = ?`, ids["B"])
			if n, _, _ := s.CountSavedSegment(ctx, frozen.ID); n != 3 {
				t.Fatalf("frozen list has %d, want 3", n)
			}
			if n, _, _ := s.CountSavedSegment(ctx, seg.ID); n != 2 {
				t.Fatalf("dynamic segment has %d after the move, want 2", n)
			}
			if _, err := s.UpdateSegment(ctx, frozen.ID, models.SegmentPatch{Rules: json.RawMessage(`{"all":[]}`)}); !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("rules of a static list changed: %v", err)
			}

			// SegmentWhere drives INSERT … SELECT snapshots.
			where, args, err := s.SegmentWhere(ctx, frozen.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := matchLetters(t, s, ids, where, args); got != "ABE" {
				t.Fatalf("static where matched %q", got)
			}

			// The contacts list filters through the membership form.
			sql, margs, err := s.SegmentMembershipSQL(ctx, seg.ID)
			if err != nil {
				t.Fatal(err)
			}
			listed, err := s.ListContacts(ctx, models.ContactFilter{SegmentSQL: sql, SegmentArgs: margs}, 0, 50)
			if err != nil || len(listed) != 2 || listed[0].ID != ids["E"] || listed[1].ID != ids["A"] {
				t.Fatalf("contacts of the segment: %+v %v", listed, err)
			}

			// Delete is refused while an active campaign uses the segment.
			insertCampaign(t, s, "done", "completed", []int64{seg.ID}, nil)
			camp := insertCampaign(t, s, "Autumn sale", "scheduled", []int64{99}, []int64{seg.ID})
			err = s.DeleteSegment(ctx, seg.ID)
			if !errors.Is(err, models.ErrConflict) || !strings.Contains(err.Error(), "Autumn sale") {
				t.Fatalf("delete in use: %v", err)
			}
			exec(t, s, `UPDATE campaigns SET status = 'completed' WHERE id = ?`, camp)
			if err := s.DeleteSegment(ctx, seg.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Segment(ctx, seg.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("deleted segment: %v", err)
			}
			if err := s.DeleteSegment(ctx, seg.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("second delete: %v", err)
			}
		})
	}
}

func TestSegmentReferences(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			ids, _, _ := seedFixture(t, s, time.Now().UTC())
			vip, err := s.CreateSegment(ctx, models.SegmentInput{Name: "VIP", Rules: json.RawMessage(`{"field":"tags","op":"contains","value":"vip"}`)})
			if err != nil {
				t.Fatal(err)
			}
			list, err := s.CreateStaticSegmentFromPhones(ctx, "List", []string{"+5511900000001", "+14155550003"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rules := fmt.Sprintf(`{"all":[{"segment":%d,"op":"in"},{"segment":%d,"op":"not_in"}]}`, vip.ID, list.Segment.ID)
			both, err := s.CreateSegment(ctx, models.SegmentInput{Name: "VIP not on list", Rules: json.RawMessage(rules)})
			if err != nil {
				t.Fatal(err)
			}
			where, args, err := s.SegmentWhere(ctx, both.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := matchLetters(t, s, ids, where, args); got != "D" {
				t.Fatalf("matched %q, want D", got)
			}
			// A cycle through a reference is refused.
			_, err = s.UpdateSegment(ctx, vip.ID, models.SegmentPatch{Rules: json.RawMessage(fmt.Sprintf(`{"any":[{"segment":%d,"op":"in"}]}`, both.ID))})
			if !errors.Is(err, models.ErrInvalid) || !strings.Contains(models.RuleErrorFields(err)["any[0].segment"], "refers back") {
				t.Fatalf("cycle: %v", err)
			}
			_, err = s.UpdateSegment(ctx, vip.ID, models.SegmentPatch{Rules: json.RawMessage(fmt.Sprintf(`{"segment":%d,"op":"in"}`, vip.ID))})
			if !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("self reference: %v", err)
			}
			_, _, err = s.CountSegment(ctx, json.RawMessage(`{"segment":987654,"op":"in"}`))
			if !strings.Contains(models.RuleErrorFields(err)["segment"], "does not exist") {
				t.Fatalf("missing segment: %v", err)
			}
			// A referenced segment cannot be deleted.
			if err := s.DeleteSegment(ctx, vip.ID); !errors.Is(err, models.ErrConflict) {
				t.Fatalf("delete referenced: %v", err)
			}
		})
	}
}

func TestStaticSegmentFromPhones(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			ids, _, _ := seedFixture(t, s, time.Now().UTC())
			csv := "Phone\n+55 (11) 90000-0001\n00447700900004\n\nnot a number\n"
			numbers, err := models.ReadPhoneList(strings.NewReader(csv))
			if err != nil || !slices.Equal(numbers, []string{"+55 (11) 90000-0001", "00447700900004", "not a number"}) {
				t.Fatalf("read %q %v", numbers, err)
			}
			res, err := s.CreateStaticSegmentFromPhones(ctx, "Upload", []string{"+5511900000001", "+447700900004", "+5511900000001", "+19990000000"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Numbers != 3 || res.Matched != 2 || !slices.Equal(res.Missing, []string{"+19990000000"}) {
				t.Fatalf("result %+v", res)
			}
			where, args, _ := s.SegmentWhere(ctx, res.Segment.ID)
			if got := matchLetters(t, s, ids, where, args); got != "AD" {
				t.Fatalf("list matched %q", got)
			}
			if n, _ := s.SegmentMemberCount(ctx, res.Segment.ID); n != 2 {
				t.Fatalf("members %d", n)
			}
			dup, err := s.DuplicateSegment(ctx, res.Segment.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := s.SegmentMemberCount(ctx, dup.ID); n != 2 {
				t.Fatalf("duplicate has %d members", n)
			}
			if _, err := s.CreateStaticSegmentFromPhones(ctx, "Empty", []string{" "}, nil); !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("no numbers: %v", err)
			}
		})
	}
}

func TestBuilderSuggestions(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			seedFixture(t, s, time.Now().UTC())
			exec(t, s, `INSERT INTO contacts (phone, attributes, created_at, updated_at) VALUES ('+10000000001', '{"bad key":1,"ok_key":"v"}', ?, ?)`, time.Now(), time.Now())
			keys, err := s.DiscoverAttributeKeys(ctx)
			if err != nil || !slices.Equal(keys, []string{"beta", "ok_key", "plan", "score"}) {
				t.Fatalf("keys %v %v", keys, err)
			}
			for field, want := range map[string][]string{
				"country":         {"BR", "GB", "MX", "US"},
				"tags":            {"100%_real", "newsletter", "sp", "vip"},
				"lifecycle_stage": {"active", "at_risk", "churned", "lead", "new"},
				"attributes.plan": {"Pro Max", "free", "pro"},
			} {
				got, err := s.DistinctValues(ctx, field)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("%s: %v %v, want %v", field, got, err, want)
				}
			}
			if _, err := s.DistinctValues(ctx, "total_spent"); !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("distinct of a number: %v", err)
			}
		})
	}
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}
