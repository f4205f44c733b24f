package models

import (
	"context"
	"fmt"
	"hash/fnv"
)

// WithLeaderLock runs fn only if no other Herald instance holds the lock
// named name, and reports whether fn ran. On Postgres it is a
// transaction-scoped advisory lock, released when fn returns or the
// connection dies; SQLite serves a single instance, so fn always runs.
func (s *Store) WithLeaderLock(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	if s.dialect != Postgres {
		return true, fn(ctx)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("herald-leader/" + name))
	key := int64(h.Sum64())
	sqlDB, err := s.db.DB()
	if err != nil {
		return false, fmt.Errorf("models: leader lock %s: %w", name, err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("models: leader lock %s: %w", name, err)
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
		return false, fmt.Errorf("models: leader lock %s: %w", name, err)
	}
	if !got {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) //nolint:errcheck // the lock also ends with the session
	return true, fn(ctx)
}

// ledgerWritersLock is the advisory lock key shared by every transaction that
// writes ledger rows for existing contacts and taken alone by erasure.
const ledgerWritersLock = 7_262_510

// lockLedgerWriters is taken (shared) by a transaction about to insert
// ledger rows that copy a contact's id and phone, before it reads the
// contacts. The ledger has no foreign key to contacts on Postgres (see
// migration 510), so erasure takes the same lock exclusively instead: it
// waits for the writers in flight to commit, whose rows it then anonymises,
// and writers that start later no longer see the erased contacts. SQLite
// has one writer at a time and keeps its foreign keys.
func (s *Store) lockLedgerWriters(ctx context.Context, exclusive bool) error {
	if s.dialect != Postgres {
		return nil
	}
	q := "SELECT pg_advisory_xact_lock_shared(?)"
	if exclusive {
		q = "SELECT pg_advisory_xact_lock(?)"
	}
	if err := s.db.WithContext(ctx).Exec(q, ledgerWritersLock).Error; err != nil {
		return fmt.Errorf("models: ledger writers lock: %w", err)
	}
	return nil
}
