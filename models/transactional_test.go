package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// TestCreateTransactionalQueues checks CreateTransactional on both
// dialects (Postgres queues in one statement, SQLite in a transaction):
// contacts created or found, consent recorded only when stated and changed,
// suppressed contacts refused with nothing queued, idempotent duplicates
// answered with the first message, one-time passwords sealed.
func TestCreateTransactionalQueues(t *testing.T) {
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s := db.Store
			if err := s.UseCredentialKey(make([]byte, 32)); err != nil {
				t.Fatal(err)
			}
			tmpl := &models.Template{Name: "order", Language: "en_US", Category: "UTILITY", Status: models.TemplateApproved, Body: "Order {{1}}",
				Buttons: "[]", Variables: "{}"}
			if err := s.CreateTemplate(ctx, tmpl); err != nil {
				t.Fatal(err)
			}
			k, _, err := s.CreateAPIKey(ctx, "k", models.RoleMarketer, nil)
			if err != nil {
				t.Fatal(err)
			}
			count := func(q string, args ...any) int64 {
				t.Helper()
				var n int64
				if err := s.DB(ctx).Raw(q, args...).Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n
			}
			yes, no := true, false
			in := func(phone string, consent *bool, key, secret string) models.NewTransactional {
				return models.NewTransactional{APIKeyID: k.ID, IdempotencyKey: key, Phone: phone, Country: "BR", Timezone: "America/Sao_Paulo",
					TransactionalConsent: consent, TemplateID: tmpl.ID, Category: "UTILITY", Params: `{"body":["A-1"]}`, Secret: secret}
			}
			now := time.Now().UTC()

			// A new number with consent stated: contact, consent event, row.
			m, created, err := s.CreateTransactional(ctx, in("+5511900000001", &yes, "", ""), now)
			if err != nil || !created || m.ID == 0 || m.Status != models.MessagePending {
				t.Fatalf("new contact: %+v %v %v", m, created, err)
			}
			if n := count("SELECT COUNT(*) FROM messages WHERE id = ? AND priority = ? AND status = 'pending' AND contact_id IS NOT NULL",
				m.ID, models.TransactionalPriority); n != 1 {
				t.Fatalf("ledger row missing: %d", n)
			}
			events := func(phone string) int64 {
				return count("SELECT COUNT(*) FROM consent_events e JOIN contacts c ON c.id = e.contact_id WHERE c.phone = ? AND e.kind = 'transactional'", phone)
			}
			if n := events("+5511900000001"); n != 1 {
				t.Fatalf("%d consent events for a new contact with stated consent, want 1", n)
			}
			// The same consent again records nothing; a change updates and records.
			if _, _, err := s.CreateTransactional(ctx, in("+5511900000001", &yes, "", ""), now); err != nil {
				t.Fatal(err)
			}
			if n := events("+5511900000001"); n != 1 {
				t.Fatalf("%d consent events after the same consent, want 1", n)
			}
			if _, _, err := s.CreateTransactional(ctx, in("+5511900000001", &no, "", ""), now); err != nil {
				t.Fatal(err)
			}
			if n := events("+5511900000001"); n != 2 {
				t.Fatalf("%d consent events after a change, want 2", n)
			}
			if n := count("SELECT COUNT(*) FROM contacts WHERE phone = ? AND transactional_opt_in = ?", "+5511900000001", false); n != 1 {
				t.Fatal("the changed consent was not stored")
			}
			// Unstated consent on a new number: opted in, no event.
			if _, _, err := s.CreateTransactional(ctx, in("+5511900000002", nil, "", ""), now); err != nil {
				t.Fatal(err)
			}
			if n := events("+5511900000002"); n != 0 {
				t.Fatalf("%d consent events without a stated consent", n)
			}
			if n := count("SELECT COUNT(*) FROM contacts WHERE phone = ? AND transactional_opt_in = ?", "+5511900000002", true); n != 1 {
				t.Fatal("a new contact is not transactional-opted-in by default")
			}

			// A suppressed contact: refused, nothing queued, consent untouched.
			if err := s.DB(ctx).Exec(`INSERT INTO contacts (phone, reachability, created_at, updated_at) VALUES ('+5511900000003', 'blocked', ?, ?)`, now, now).Error; err != nil {
				t.Fatal(err)
			}
			before := count("SELECT COUNT(*) FROM messages")
			if _, _, err := s.CreateTransactional(ctx, in("+5511900000003", &yes, "", ""), now); !errors.Is(err, models.ErrContactSuppressed) {
				t.Fatalf("blocked contact: %v, want ErrContactSuppressed", err)
			}
			if n := count("SELECT COUNT(*) FROM messages"); n != before {
				t.Fatal("a message was queued to a blocked contact")
			}
			if n := events("+5511900000003"); n != 0 {
				t.Fatal("consent recorded for a blocked contact")
			}

			// Idempotency: the second call gets the first message.
			first, created, err := s.CreateTransactional(ctx, in("+5511900000004", nil, "key-1", ""), now)
			if err != nil || !created {
				t.Fatalf("first keyed call: %v %v", created, err)
			}
			again, created, err := s.CreateTransactional(ctx, in("+5511900000004", nil, "key-1", ""), now)
			if err != nil || created || again.ID != first.ID {
				t.Fatalf("repeat: %+v %v %v, want message %d not created", again, created, err, first.ID)
			}

			// A one-time password is sealed, and opens again.
			otp, _, err := s.CreateTransactional(ctx, in("+5511900000005", nil, "", "482913"), now)
			if err != nil {
				t.Fatal(err)
			}
			if code, err := s.MessageSecret(ctx, otp.ID); err != nil || code != "482913" {
				t.Fatalf("secret: %q %v", code, err)
			}

			// Concurrent calls to one new number: one contact, every message queued.
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _, errs[i] = s.CreateTransactional(ctx, in("+5511900000006", &yes, fmt.Sprint("c-", i), ""), now)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if c := count("SELECT COUNT(*) FROM messages WHERE to_phone = ?", "+5511900000006"); c != n {
				t.Fatalf("%d messages queued to the new number, want %d", c, n)
			}
			if c := count("SELECT COUNT(*) FROM contacts WHERE phone = ?", "+5511900000006"); c != 1 {
				t.Fatalf("%d contacts for one number", c)
			}
		})
	}
}
