// Package models holds Herald's data: GORM models, the Store that reads and
// writes them, the segment compiler, and the schema migrations. It imports no
// other Herald package; Postgres / SQLite differences are kept inside it.
package models

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"golang.org/x/sync/singleflight"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the SQL database behind a Store.
type Dialect string

// The two databases Herald runs on.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Sentinel errors that handlers map to HTTP status codes.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid")
)

// Store is Herald's access to its database. Every method takes a context
// first; methods that must be atomic run inside Tx.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	creds   *credentialBox
	// apiKeys caches authenticated API keys briefly (apikey_cache.go).
	apiKeys *apiKeyCache
	// health and reasons share expensive counts briefly (shared_counts.go).
	health  *sharedCounts[struct{}, ListHealth]
	reasons *sharedCounts[int64, []ReasonCount]
	// segmentCounts lets concurrent viewers share one stale segment's
	// recount (ListSegmentsCounted).
	segmentCounts *singleflight.Group
}

// Open connects to the database named by a DATABASE_URL (sqlite://PATH or
// postgres://…), without migrating it.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	dialect, dialector, err := dialectorFor(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		SkipDefaultTransaction: true,
		TranslateError:         true,
	})
	if err != nil {
		return nil, fmt.Errorf("models: open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("models: open %s database: %w", dialect, err)
	}
	if dialect == SQLite {
		// WAL lets readers run beside the single writer; a handful of
		// connections is plenty and keeps lock waits short.
		sqlDB.SetMaxOpenConns(4)
	} else {
		// Sixteen connections by default (SetPoolSize, HERALD_DB_CONNS), all
		// kept: a new Postgres backend is cold (its catalog caches and
		// prepared statements are built on first use), so a pool that grows
		// under a burst makes that burst slower, and the slower it gets the
		// more it grows. With 32 a burst of API messages
		// during a broadcast opened ~25 backends at once and its answers
		// took up to 1.5 s; with 16 the send engine is as fast, and three
		// instances stay well under Postgres's default 100 connections.
		// Idle ones are not closed: each would come back cold for the next
		// burst after a quiet spell (a cold backend plans and runs the API's
		// queue statement in ~16 ms, a warm one in ~2 ms).
		sqlDB.SetMaxOpenConns(DefaultPoolSize)
		sqlDB.SetMaxIdleConns(DefaultPoolSize)
	}
	s := &Store{db: db, dialect: dialect, apiKeys: newAPIKeyCache(), health: newSharedCounts[struct{}, ListHealth](),
		reasons: newSharedCounts[int64, []ReasonCount](), segmentCounts: &singleflight.Group{}}
	if err := s.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func dialectorFor(databaseURL string) (Dialect, gorm.Dialector, error) {
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		dsn, err := withoutJIT(databaseURL)
		if err != nil {
			return "", nil, err
		}
		return Postgres, postgres.Open(dsn), nil
	case strings.HasPrefix(databaseURL, "sqlite://"):
		path, query, _ := strings.Cut(strings.TrimPrefix(databaseURL, "sqlite://"), "?")
		if path == "" {
			return "", nil, fmt.Errorf("models: %q names no SQLite file", databaseURL)
		}
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return "", nil, fmt.Errorf("models: create folder for %s: %w", path, err)
			}
		}
		params := url.Values{}
		if query != "" {
			parsed, err := url.ParseQuery(query)
			if err != nil {
				return "", nil, fmt.Errorf("models: parse %q: %w", databaseURL, err)
			}
			params = parsed
		}
		// Immediate transactions take the write lock up front, so two writers
		// wait on busy_timeout instead of failing with SQLITE_BUSY mid-way.
		params.Add("_pragma", "journal_mode(WAL)")
		params.Add("_pragma", "busy_timeout(10000)")
		params.Add("_pragma", "foreign_keys(1)")
		params.Add("_pragma", "synchronous(NORMAL)")
		params.Set("_txlock", "immediate")
		params.Set("_time_format", "sqlite")
		return SQLite, sqlite.Open(path + "?" + params.Encode()), nil
	default:
		return "", nil, fmt.Errorf("models: DATABASE_URL must start with sqlite:// or postgres://, got %q", redactURL(databaseURL))
	}
}

// withoutJIT turns Postgres's JIT compiler off for Herald's connections
// unless the URL sets jit itself. Herald's statements are short and run
// thousands of times; once the planner's estimate of one crosses
// jit_above_cost (a stale estimate after a large launch is enough), every
// call spends 100 ms compiling it: 40 times what the query itself takes.
func withoutJIT(databaseURL string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", fmt.Errorf("models: parse DATABASE_URL %s: %w", redactURL(databaseURL), err)
	}
	q := u.Query()
	if q.Has("jit") {
		return databaseURL, nil
	}
	q.Set("jit", "off")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// redactURL hides a password in a database URL before it reaches a log.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Dialect reports which database the store runs on.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the GORM handle bound to ctx. It is meant for the models
// package itself and for tests; other packages call Store methods.
func (s *Store) DB(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// Ping checks that the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: ping: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("models: ping %s: %w", s.dialect, err)
	}
	return nil
}

// Close releases the database connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// DefaultPoolSize is the Postgres pool of a Store that SetPoolSize did not
// change (HERALD_DB_CONNS defaults to it).
const DefaultPoolSize = 16

// SetPoolSize sets how many Postgres connections the store opens and keeps;
// `herald serve` sets it from HERALD_DB_CONNS. SQLite keeps its own small
// pool: its single writer gains nothing from more.
func (s *Store) SetPoolSize(n int) error {
	if s.dialect != Postgres {
		return nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("models: set pool size: %w", err)
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	return nil
}

// on is the store bound to one connection or transaction.
func (s *Store) on(db *gorm.DB) *Store {
	return &Store{db: db, dialect: s.dialect, creds: s.creds, apiKeys: s.apiKeys, health: s.health, reasons: s.reasons,
		segmentCounts: s.segmentCounts}
}

// Tx runs fn in one transaction: committed when fn returns nil, rolled back
// otherwise. The Store handed to fn works inside the transaction.
//
// On SQLite a transaction that loses a race for the single writer lock
// (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT when its snapshot went stale) is
// rolled back whole, so it is retried a few times before giving up.
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	run := func() error {
		return s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
			return fn(s.on(gtx))
		})
	}
	err := run()
	for attempt := 1; s.dialect == SQLite && attempt <= 5 && isSQLiteBusy(err); attempt++ {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
		}
		err = run()
	}
	return err
}

// isSQLiteBusy tells a lost lock race from a real failure.
func isSQLiteBusy(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "database is locked") || strings.Contains(err.Error(), "SQLITE_BUSY"))
}

// notFound turns gorm's record-not-found into ErrNotFound with context.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("models: %s: %w", what, ErrNotFound)
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("models: %s: %w", what, ErrConflict)
	}
	return fmt.Errorf("models: %s: %w", what, err)
}
