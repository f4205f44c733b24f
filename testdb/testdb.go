// Package testdb gives tests real, empty, migrated databases: a SQLite file
// in the test's temp folder and a fresh schema in the Postgres named by
// TEST_DATABASE_URL. Each call makes its own, so tests run in parallel and
// concurrent runs never collide. Under CI=true a missing Postgres fails the
// test instead of skipping it.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/heraldhq/herald/models"
)

// DefaultPostgresURL is used when TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DB is one test database.
type DB struct {
	Name  string // "sqlite" or "postgres", for subtest names
	URL   string // DATABASE_URL that opens it (for starting a server process)
	Store *models.Store
}

// PostgresURL returns the Postgres server tests use.
func PostgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// All returns a migrated SQLite database and a migrated Postgres schema.
// Use it for table tests that must hold on both databases:
//
//	for _, db := range testdb.All(t) { t.Run(db.Name, func(t *testing.T) { … }) }
func All(t testing.TB) []DB {
	t.Helper()
	return []DB{SQLite(t), Postgres(t)}
}

// SQLite returns a migrated database in a file under t.TempDir().
func SQLite(t testing.TB) DB {
	t.Helper()
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "herald.db")
	return open(t, "sqlite", dbURL)
}

// Postgres returns a migrated, empty schema of its own in the test Postgres,
// dropped when the test ends.
func Postgres(t testing.TB) DB {
	t.Helper()
	dbURL, err := NewPostgresSchema(t)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testdb: Postgres is required under CI: %v", err)
		}
		t.Skipf("testdb: no Postgres (%v); set TEST_DATABASE_URL", err)
	}
	return open(t, "postgres", dbURL)
}

// NewPostgresSchema creates an empty schema and returns a DATABASE_URL whose
// search_path points at it. The schema is dropped at cleanup.
func NewPostgresSchema(t testing.TB) (string, error) {
	t.Helper()
	base := PostgresURL()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", redact(base), err)
	}
	defer conn.Close(ctx)
	schema := "t_" + randomHex(8)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Logf("testdb: drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("testdb: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", redact(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	// Named after the schema, so a benchmark can find its own backends.
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func open(t testing.TB, name, dbURL string) DB {
	t.Helper()
	ctx := context.Background()
	store, err := models.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("testdb: open %s: %v", name, err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatalf("testdb: migrate %s: %v", name, err)
	}
	return DB{Name: name, URL: dbURL, Store: store}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
