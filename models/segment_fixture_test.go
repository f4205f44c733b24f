package models_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
)

// fixtureContact is one contact of the hand-made segment fixture; the
// letter names it in expectations.
type fixtureContact struct {
	letter, phone, first, last, email string
	externalID                        *string
	country, tz, lang, stage, reach   string
	tags                              []string
	optIn                             bool
	createdDaysAgo                    float64
	activeDaysAgo                     *float64 // nil: never active
	orders                            int
	spent                             float64
	attributes                        string
}

func ptr[T any](v T) *T { return &v }

// fixtureContacts are five contacts chosen so every operator splits them.
func fixtureContacts() []fixtureContact {
	return []fixtureContact{
		{letter: "A", phone: "+5511900000001", first: "Ana", last: "Silva", email: "ana@example.com", externalID: ptr("ext-1"),
			country: "BR", tz: "America/Sao_Paulo", lang: "pt_BR", tags: []string{"vip", "sp"}, stage: "active", optIn: true,
			reach: "reachable", createdDaysAgo: 100, activeDaysAgo: ptr(2.0), orders: 5, spent: 250.5,
			attributes: `{"plan":"pro","score":"42","beta":true}`},
		{letter: "B", phone: "+5215500000002", first: "Bruno", last: "Diaz", country: "MX", tz: "America/Mexico_City",
			lang: "es", tags: []string{"newsletter"}, stage: "lead", reach: "reachable", createdDaysAgo: 10,
			activeDaysAgo: ptr(40.0), attributes: `{"plan":"free","score":7}`},
		{letter: "C", phone: "+14155550003", first: "Carla", last: "O'Brien", email: "carla@shop.com", externalID: ptr("ext-3"),
			country: "US", tz: "America/New_York", lang: "en", tags: []string{}, stage: "churned", optIn: true,
			reach: "opted_out", createdDaysAgo: 400, orders: 1, spent: 99.99, attributes: `{}`},
		{letter: "D", phone: "+447700900004", first: "Dev", last: "Patel", email: "dev@example.org", country: "GB",
			tz: "Europe/London", lang: "en", tags: []string{"vip"}, stage: "at_risk", optIn: true, reach: "blocked",
			createdDaysAgo: 200, activeDaysAgo: ptr(95.0), orders: 12, spent: 1200, attributes: `{"plan":"Pro Max","score":"n/a"}`},
		{letter: "E", phone: "+5511900000005", first: "Eva", last: "Souza", externalID: ptr("ext-5"), country: "BR",
			tz: "America/Sao_Paulo", lang: "pt_BR", tags: []string{"sp", "100%_real"}, stage: "new", reach: "unreachable",
			createdDaysAgo: 1, activeDaysAgo: ptr(1.0), orders: 2, spent: 100, attributes: `{"score":"100.5"}`},
	}
}

func daysAgo(now time.Time, d float64) time.Time {
	return now.Add(-time.Duration(d * float64(24*time.Hour))).UTC()
}

func exec(t testing.TB, s *models.Store, q string, args ...any) {
	t.Helper()
	if err := s.DB(context.Background()).Exec(q, args...).Error; err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func insertContact(t testing.TB, s *models.Store, now time.Time, c fixtureContact) int64 {
	t.Helper()
	tags, _ := json.Marshal(c.tags)
	var active *time.Time
	if c.activeDaysAgo != nil {
		active = ptr(daysAgo(now, *c.activeDaysAgo))
	}
	var id int64
	err := s.DB(context.Background()).Raw(`INSERT INTO contacts (phone, first_name, last_name, email, external_id, country,
		timezone, language, tags, lifecycle_stage, marketing_opt_in, reachability, created_at, updated_at, last_active_at,
		total_orders, total_spent, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.phone, c.first, c.last, c.email, c.externalID, c.country, c.tz, c.lang, string(tags), c.stage, c.optIn, c.reach,
		daysAgo(now, c.createdDaysAgo), now, active, c.orders, c.spent, c.attributes).Scan(&id).Error
	if err != nil {
		t.Fatalf("insert contact %s: %v", c.letter, err)
	}
	return id
}

func insertEvent(t testing.TB, s *models.Store, now time.Time, contactID int64, name string, ago float64) {
	t.Helper()
	at := daysAgo(now, ago)
	exec(t, s, `INSERT INTO events (contact_id, name, value, occurred_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		contactID, name, 10, at, at)
}

func insertCampaign(t testing.TB, s *models.Store, name, status string, segmentIDs, excludeIDs []int64) int64 {
	t.Helper()
	inc, _ := json.Marshal(segmentIDs)
	exc, _ := json.Marshal(excludeIDs)
	if segmentIDs == nil {
		inc = []byte("[]")
	}
	if excludeIDs == nil {
		exc = []byte("[]")
	}
	var id int64
	now := time.Now().UTC()
	err := s.DB(context.Background()).Raw(`INSERT INTO campaigns (name, status, segment_ids, exclude_segment_ids, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, name, status, string(inc), string(exc), now, now).Scan(&id).Error
	if err != nil {
		t.Fatalf("insert campaign: %v", err)
	}
	return id
}

// message is one ledger row; steps name the funnel timestamps to set.
func insertMessage(t testing.TB, s *models.Store, now time.Time, campaignID *int64, contactID int64, ago float64, steps ...string) {
	t.Helper()
	at := daysAgo(now, ago)
	cols := []string{"campaign_id", "contact_id", "send_after", "created_at", "updated_at"}
	args := []any{campaignID, contactID, at, at, at}
	for _, step := range steps {
		cols = append(cols, step+"_at")
		args = append(args, at)
	}
	exec(t, s, `INSERT INTO messages (`+strings.Join(cols, ", ")+`) VALUES (`+strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")+`)`, args...)
}

// seedFixture inserts the fixture contacts with their events and campaign
// history, and returns the contact ids by letter and the two campaign ids.
func seedFixture(t testing.TB, s *models.Store, now time.Time) (ids map[string]int64, c1, c2 int64) {
	t.Helper()
	ids = map[string]int64{}
	for _, c := range fixtureContacts() {
		ids[c.letter] = insertContact(t, s, now, c)
	}
	for _, ago := range []float64{5, 20, 200} {
		insertEvent(t, s, now, ids["A"], "purchase", ago)
	}
	insertEvent(t, s, now, ids["A"], "signup", 100)
	insertEvent(t, s, now, ids["B"], "signup", 10)
	insertEvent(t, s, now, ids["C"], "purchase", 300)
	insertEvent(t, s, now, ids["D"], "purchase", 10)
	insertEvent(t, s, now, ids["D"], "purchase", 15)

	c1 = insertCampaign(t, s, "c1", "completed", nil, nil)
	c2 = insertCampaign(t, s, "c2", "completed", nil, nil)
	insertMessage(t, s, now, &c1, ids["A"], 3, "sent", "delivered", "read")
	insertMessage(t, s, now, &c1, ids["B"], 3, "sent", "delivered")
	insertMessage(t, s, now, &c1, ids["C"], 3, "failed")
	insertMessage(t, s, now, &c1, ids["D"], 3, "sent", "read", "tapped") // delivered status never came
	insertMessage(t, s, now, &c2, ids["A"], 60, "sent")
	insertMessage(t, s, now, &c2, ids["E"], 5, "sent", "converted")
	insertMessage(t, s, now, nil, ids["B"], 1, "sent", "delivered", "read") // transactional
	return ids, c1, c2
}

// matchLetters runs a compiled rule and names the matching fixture contacts.
func matchLetters(t testing.TB, s *models.Store, ids map[string]int64, where string, args []any) string {
	t.Helper()
	var got []int64
	if err := s.DB(context.Background()).Raw("SELECT c.id FROM contacts c WHERE "+where, args...).Scan(&got).Error; err != nil {
		t.Fatalf("run %s %v: %v", where, args, err)
	}
	byID := map[int64]string{}
	for l, id := range ids {
		byID[id] = l
	}
	var letters []string
	for _, id := range got {
		letters = append(letters, byID[id])
	}
	sort.Strings(letters)
	return strings.Join(letters, "")
}
