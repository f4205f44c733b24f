package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// seedContacts creates n contacts with phones +5511900000000+i; even ones
// are tagged "even" and live in BR, odd ones in PT.
func seedContacts(t *testing.T, s *models.Store, n int) []*models.Contact {
	t.Helper()
	var out []*models.Contact
	for i := range n {
		c := &models.Contact{Phone: fmt.Sprintf("+55119%08d", i), FirstName: fmt.Sprintf("Person%d", i),
			Email: fmt.Sprintf("p%d@example.com", i), Country: "BR", TransactionalOptIn: true}
		if i%2 == 0 {
			c.Tags = []string{"even"}
		} else {
			c.Country = "PT"
		}
		if err := s.CreateContact(context.Background(), c, "test"); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func TestContactSearchAndFilters(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			seedContacts(t, s, 6)
			tests := []struct {
				name string
				f    models.ContactFilter
				want int
			}{
				{"all", models.ContactFilter{}, 6},
				{"name, any case", models.ContactFilter{Q: "person3"}, 1},
				{"e-mail part", models.ContactFilter{Q: "p4@exa"}, 1},
				{"phone digits with formatting", models.ContactFilter{Q: "(11) 9000-00005"}, 1},
				{"tag", models.ContactFilter{Tag: "EVEN"}, 3},
				{"country", models.ContactFilter{Country: "pt"}, 3},
				{"tag and country", models.ContactFilter{Tag: "even", Country: "PT"}, 0},
				{"like wildcards are literal", models.ContactFilter{Q: "%"}, 0},
				{"reachability", models.ContactFilter{Reachability: models.ReachabilityOptedOut}, 0},
			}
			for _, tt := range tests {
				rows, err := s.ListContacts(ctx, tt.f, 0, 50)
				if err != nil {
					t.Fatal(err)
				}
				n, exact, err := s.CountContacts(ctx, tt.f, 100)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != tt.want || n != int64(tt.want) || !exact {
					t.Errorf("%s: %d rows, count %d (exact %v); want %d", tt.name, len(rows), n, exact, tt.want)
				}
			}
			if n, exact, _ := s.CountContacts(ctx, models.ContactFilter{Tag: "even"}, 2); n != 2 || exact {
				t.Errorf("capped count %d exact %v, want 2 and not exact", n, exact)
			}
			page2, _ := s.ListContacts(ctx, models.ContactFilter{}, 4, 4)
			if len(page2) != 2 || page2[0].FirstName != "Person1" {
				t.Errorf("second page %v, want Person1 and Person0", page2)
			}
		})
	}
}

func TestBulkActionsOnSelectionAndFilter(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			cs := seedContacts(t, s, 6)
			count := func(f models.ContactFilter) int64 {
				n, _, err := s.CountContacts(ctx, f, 1000)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			// Tag on a selection, twice: the second time changes nothing.
			sel := models.ContactSelection{IDs: []int64{cs[1].ID, cs[2].ID}}
			if n, err := s.BulkContacts(ctx, sel, models.BulkTag{Tag: "VIP "}); err != nil || n != 2 {
				t.Fatalf("tag: %d, %v", n, err)
			}
			if n, _ := s.BulkContacts(ctx, sel, models.BulkTag{Tag: "vip"}); n != 0 {
				t.Errorf("tagging again changed %d contacts", n)
			}
			c2, _ := s.Contact(ctx, cs[2].ID)
			if !slices.Equal(c2.Tags, []string{"even", "vip"}) {
				t.Errorf("tags %v, want even, vip", c2.Tags)
			}
			// Untag every contact matching a filter.
			all := models.ContactSelection{All: true, Filter: models.ContactFilter{Tag: "even"}}
			if n, err := s.BulkContacts(ctx, all, models.BulkUntag{Tag: "vip"}); err != nil || n != 1 {
				t.Errorf("untag on filter: %d, %v; want 1", n, err)
			}
			if got := count(models.ContactFilter{Tag: "vip"}); got != 1 {
				t.Errorf("vip left on %d contacts, want 1", got)
			}
			// Opt out the PT contacts: consent withdrawn and recorded.
			if err := s.SetConsent(ctx, cs[1].ID, models.ConsentMarketing, true, "form"); err != nil {
				t.Fatal(err)
			}
			pt := models.ContactSelection{All: true, Filter: models.ContactFilter{Country: "PT"}}
			if n, err := s.BulkContacts(ctx, pt, models.BulkSuppress{Reachability: models.ReachabilityOptedOut, Reason: "asked"}); err != nil || n != 3 {
				t.Fatalf("opt out: %d, %v", n, err)
			}
			c1, _ := s.Contact(ctx, cs[1].ID)
			if c1.Reachability != models.ReachabilityOptedOut || c1.MarketingOptIn || c1.ReachabilityAt == nil {
				t.Errorf("after opt-out: %s opt-in %v at %v", c1.Reachability, c1.MarketingOptIn, c1.ReachabilityAt)
			}
			h, _ := s.ConsentHistory(ctx, cs[1].ID)
			if len(h) != 2 || h[0].Granted {
				t.Errorf("consent history %+v, want grant then withdrawal", h)
			}
			// Delete every contact matching a filter.
			if n, err := s.BulkContacts(ctx, all, models.BulkDelete{}); err != nil || n != 3 {
				t.Errorf("delete on filter: %d, %v", n, err)
			}
			if got := count(models.ContactFilter{}); got != 3 {
				t.Errorf("%d contacts left, want 3", got)
			}
			// An empty selection does nothing.
			if n, err := s.BulkContacts(ctx, models.ContactSelection{}, models.BulkDelete{}); err != nil || n != 0 {
				t.Errorf("empty selection: %d, %v", n, err)
			}
		})
	}
}

func TestEraseContactKeepsAnonymousMessages(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			cs := seedContacts(t, s, 2)
			victim, other := cs[0], cs[1]
			now := time.Now().UTC()
			gdb := s.DB(ctx)
			if err := gdb.Exec("INSERT INTO campaigns (name, created_at, updated_at) VALUES ('Oct sale', ?, ?)", now, now).Error; err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if err := gdb.Exec(`INSERT INTO messages (campaign_id, contact_id, to_phone, status, params, send_after, created_at, updated_at)
					VALUES ((SELECT id FROM campaigns LIMIT 1), ?, ?, 'delivered', '{"first_name":"x"}', ?, ?, ?)`, c.ID, c.Phone, now, now, now).Error; err != nil {
					t.Fatal(err)
				}
				if err := gdb.Exec("INSERT INTO events (contact_id, name, occurred_at, created_at) VALUES (?, 'purchase', ?, ?)", c.ID, now, now).Error; err != nil {
					t.Fatal(err)
				}
				if err := s.SetConsent(ctx, c.ID, models.ConsentMarketing, true, "test"); err != nil {
					t.Fatal(err)
				}
			}
			msgs, err := s.ContactMessages(ctx, victim.ID, 10)
			if err != nil || len(msgs) != 1 || msgs[0].CampaignName != "Oct sale" || msgs[0].Status != "delivered" {
				t.Fatalf("message history %+v, %v", msgs, err)
			}
			if err := s.DeleteContact(ctx, victim.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Contact(ctx, victim.ID); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("contact still there: %v", err)
			}
			var left struct{ Events, Consent, Messages, Anonymous int64 }
			gdb.Raw("SELECT COUNT(*) FROM events WHERE contact_id = ?", victim.ID).Scan(&left.Events)
			gdb.Raw("SELECT COUNT(*) FROM consent_events WHERE contact_id = ?", victim.ID).Scan(&left.Consent)
			gdb.Raw("SELECT COUNT(*) FROM messages WHERE to_phone = ?", victim.Phone).Scan(&left.Messages)
			gdb.Raw("SELECT COUNT(*) FROM messages WHERE contact_id IS NULL AND to_phone = '' AND params = '{}'").Scan(&left.Anonymous)
			if left.Events != 0 || left.Consent != 0 || left.Messages != 0 || left.Anonymous != 1 {
				t.Errorf("after erasure %+v; want no events, consent or phone, one anonymous message", left)
			}
			if msgs, _ := s.ContactMessages(ctx, other.ID, 10); len(msgs) != 1 {
				t.Errorf("the other contact's messages were touched: %+v", msgs)
			}
			if err := s.DeleteContact(ctx, victim.ID); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("second delete: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestErasureWaitsForALedgerWriter: on Postgres the ledger has no foreign
// key to contacts, so erasure must wait for a transaction that is writing a
// message for the contact (holding the row FOR KEY SHARE, as the queueing
// statement does) and then anonymise that message too.
func TestErasureWaitsForALedgerWriter(t *testing.T) {
	t.Parallel()
	db := testdb.Postgres(t)
	ctx := context.Background()
	s := db.Store
	victim := seedContacts(t, s, 1)[0]
	locked, release := make(chan struct{}), make(chan struct{})
	writer := make(chan error, 1)
	go func() {
		writer <- s.Tx(ctx, func(tx *models.Store) error {
			gdb := tx.DB(ctx)
			if err := gdb.Exec("SELECT 1 FROM contacts WHERE id = ? FOR KEY SHARE", victim.ID).Error; err != nil {
				return err
			}
			now := time.Now().UTC()
			if err := gdb.Exec(`INSERT INTO messages (contact_id, to_phone, status, params, send_after, created_at, updated_at)
				VALUES (?, ?, 'pending', '{"code":"1"}', ?, ?, ?)`, victim.ID, victim.Phone, now, now, now).Error; err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	erased := make(chan error, 1)
	go func() { erased <- s.DeleteContact(ctx, victim.ID) }()
	select {
	case err := <-erased:
		t.Fatalf("erasure finished (%v) while a message for the contact was being written", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-writer; err != nil {
		t.Fatal(err)
	}
	if err := <-erased; err != nil {
		t.Fatal(err)
	}
	var left struct{ Linked, Phone int64 }
	s.DB(ctx).Raw("SELECT COUNT(*) FILTER (WHERE contact_id IS NOT NULL) AS linked, COUNT(*) FILTER (WHERE to_phone <> '') AS phone FROM messages").Scan(&left)
	if left.Linked != 0 || left.Phone != 0 {
		t.Errorf("after erasure %d messages still name the contact and %d its phone", left.Linked, left.Phone)
	}
}

func TestContactUpdateRecordsConsentAndSuppressionList(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			c := seedContacts(t, s, 1)[0]
			dup := &models.Contact{Phone: c.Phone}
			if err := s.CreateContact(ctx, dup, "x"); !errors.Is(err, models.ErrConflict) {
				t.Errorf("duplicate phone: %v, want ErrConflict", err)
			}
			c.MarketingOptIn, c.FirstName = true, "Renamed"
			if err := s.UpdateContact(ctx, c, "edited by ana"); err != nil {
				t.Fatal(err)
			}
			got, _ := s.Contact(ctx, c.ID)
			if got.FirstName != "Renamed" || !got.MarketingOptIn || got.MarketingOptInSource != "edited by ana" {
				t.Errorf("after update %+v", got)
			}
			if h, _ := s.ConsentHistory(ctx, c.ID); len(h) != 1 || !h[0].Granted || h[0].Source != "edited by ana" {
				t.Errorf("consent history %+v", h)
			}
			updated, added, err := s.SuppressPhones(ctx, []string{c.Phone, "+5511955550000", c.Phone}, models.ReachabilityOptedOut, "shop list")
			if err != nil || updated != 1 || added != 1 {
				t.Fatalf("suppress: updated %d added %d err %v; want 1, 1", updated, added, err)
			}
			got, _ = s.Contact(ctx, c.ID)
			if got.Reachability != models.ReachabilityOptedOut || got.MarketingOptIn || got.ReachabilityReason != "shop list" {
				t.Errorf("after suppression %+v", got)
			}
			added2, err := s.ContactByPhone(ctx, "+5511955550000")
			if err != nil || !added2.Suppressed() {
				t.Errorf("unknown number not kept as suppressed: %+v %v", added2, err)
			}
			if err := s.Suppress(ctx, c.ID, "nonsense", ""); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("bad reachability: %v", err)
			}
		})
	}
}

// TestSearchContactsAgreesWithPlainQueries checks the planned search (the
// newest contacts first, then the older ones through the index) against
// the plain ListContacts and CountContacts, with windows small enough that
// every split of a page and of a count between the two halves happens.
func TestSearchContactsAgreesWithPlainQueries(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			seedContacts(t, s, 40)
			filters := []models.ContactFilter{
				{}, {Q: "person1"}, {Q: "person3"}, {Q: "PERSON"}, {Q: "example"}, {Q: "p2@"}, {Q: "39"},
				{Q: "(11) 9000-0003"}, {Q: "xyz"}, {Q: "pe"}, {Q: "%"}, {Q: "person", Tag: "even"},
				{Q: "person1", Country: "PT"}, {Tag: "even"}, {Country: "PT"},
			}
			for _, f := range filters {
				all, err := s.ListContacts(ctx, f, 0, 501)
				if err != nil {
					t.Fatal(err)
				}
				for _, window := range []int{1, 5, 7, 100} {
					for _, countCap := range []int64{2, 5, 1000} {
						for _, pg := range []struct{ offset, limit int }{{0, 4}, {3, 4}, {10, 51}, {35, 4}, {0, 51}} {
							res, err := s.SearchContactsWindow(ctx, f, pg.offset, pg.limit, countCap, window)
							if err != nil {
								t.Fatalf("%+v: %v", f, err)
							}
							want := all[min(pg.offset, len(all)):min(pg.offset+pg.limit, len(all))]
							var got, wantIDs []int64
							for _, c := range res.Rows {
								got = append(got, c.ID)
							}
							for _, c := range want {
								wantIDs = append(wantIDs, c.ID)
							}
							n := int64(len(all))
							wantTotal, wantExact := min(n, countCap), n <= countCap
							if !slices.Equal(got, wantIDs) || res.Total != wantTotal || res.Exact != wantExact {
								t.Errorf("%+v window %d cap %d page %+v: ids %v total %d exact %v; want %v, %d, %v",
									f, window, countCap, pg, got, res.Total, res.Exact, wantIDs, wantTotal, wantExact)
							}
						}
					}
				}
			}
		})
	}
}
