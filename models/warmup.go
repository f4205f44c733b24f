package models

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// errWarmUpDone ends a warm-up transaction: everything it wrote is rolled
// back.
var errWarmUpDone = errors.New("warm-up done")

// WarmPool opens every connection of the Postgres pool and, on each, runs
// the statements of one API message, from the send lookup to its recorded
// outcome, in a transaction it rolls back. A new Postgres backend is cold:
// the first time it plans and runs the API's queue statement it loads the
// catalog entries of two tables and thirty indexes, their foreign-key
// checks and the statement's plan (~16–22 ms on a slow 2-core machine,
// against ~2 ms warm), and pgx prepares each statement once per connection.
// Without this, the first burst of API messages after a start pays that on
// every connection it touches. Run it before the server takes traffic and
// before the job runner starts: it holds all the pool's connections at once
// so each one is warmed, and gives up after timeout. Nothing it writes is
// kept; the sequences it draws from leave gaps. On SQLite it does nothing.
func (s *Store) WarmPool(ctx context.Context, instance string, timeout time.Duration) (warmed int, err error) {
	if s.dialect != Postgres {
		return 0, nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return 0, fmt.Errorf("models: warm pool: %w", err)
	}
	n := sqlDB.Stats().MaxOpenConnections
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Each goroutine keeps its connection until all are warmed, so the pool
	// hands every goroutine a different one.
	release := make(chan struct{})
	var ready, done sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			reported := false
			errs[i] = s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
				err := s.on(conn).warmConnection(ctx, instance)
				ready.Done()
				reported = true
				select {
				case <-release:
				case <-ctx.Done():
				}
				return err
			})
			if !reported {
				ready.Done()
			}
		}()
	}
	ready.Wait()
	close(release)
	done.Wait()
	for _, e := range errs {
		if e == nil {
			warmed++
		} else if err == nil {
			err = e
		}
	}
	if err != nil {
		return warmed, fmt.Errorf("models: warm pool (%d of %d connections warmed): %w", warmed, n, err)
	}
	return warmed, nil
}

// warmConnection runs one API message's statements on this connection in
// a transaction that is rolled back: a sender, a template and an API key of
// its own, the send lookup, the queue statement (claimed for instance, as
// the API queues for its own priority lane), the lane's reads, the sending
// mark and the outcome.
func (s *Store) warmConnection(ctx context.Context, instance string) error {
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	tag := "warmup_" + hex.EncodeToString(buf)
	err := s.Tx(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		now := time.Now().UTC()
		// The sender is inserted directly: SaveSender would make the first
		// sender the default and clear the flag on every other, a row lock
		// the warm-ups of all connections would queue on.
		var senderID int64
		if err := db.Raw(`INSERT INTO senders (name, phone_number_id, waba_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			tag, tag, tag, now, now).Scan(&senderID).Error; err != nil {
			return fmt.Errorf("sender: %w", err)
		}
		tmpl := &Template{WABAID: tag, Name: tag, Language: "en_US", Category: "UTILITY", Status: TemplateApproved, Body: "Order {{1}} shipped."}
		if err := tx.CreateTemplate(ctx, tmpl); err != nil {
			return err
		}
		key, _, err := tx.CreateAPIKey(ctx, tag, RoleMarketer, nil)
		if err != nil {
			return err
		}
		// +999 is no country's calling code: no real contact has the number.
		// The digits are random, so instances starting together do not wait
		// on each other's uncommitted contact.
		phone := fmt.Sprintf("+999%08d", binary.BigEndian.Uint32(buf)%100_000_000)
		if _, err := tx.LookupSend(ctx, tag, "en_US", phone); err != nil {
			return err
		}
		consent := true
		msg, _, err := tx.CreateTransactional(ctx, NewTransactional{APIKeyID: key.ID, IdempotencyKey: tag, SenderID: &senderID, TemplateID: tmpl.ID,
			Phone: phone, Country: "", Timezone: "UTC", Category: "UTILITY", Params: `{"body":["W-1"]}`,
			TransactionalConsent: &consent, ClaimFor: instance}, now)
		if err != nil {
			return err
		}
		if msg.Claimed == nil || msg.Claimed.ContactID == nil {
			return fmt.Errorf("message %d was not queued claimed", msg.ID)
		}
		contact := []int64{*msg.Claimed.ContactID}
		if _, err := tx.ContactHistories(ctx, contact, now.AddDate(0, 0, -7), now.Add(-6*time.Second)); err != nil {
			return err
		}
		if _, err := tx.SendContacts(ctx, contact); err != nil {
			return err
		}
		if _, err := tx.MarkSending(ctx, instance, []int64{msg.ID}, nil); err != nil {
			return err
		}
		if err := tx.RecordOutcomes(ctx, []SendOutcome{{ID: msg.ID, Status: MessageSent, WAMID: "wamid." + tag, At: now}}); err != nil {
			return err
		}
		return errWarmUpDone
	})
	if errors.Is(err, errWarmUpDone) {
		return nil
	}
	return err
}
