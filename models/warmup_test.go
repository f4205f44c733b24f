package models_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/heraldhq/herald/testdb"
)

// TestWarmPool: on Postgres every connection of the pool is opened and has
// run the API's queue statement (pgx prepared it there), and nothing the
// warm-up wrote is kept; on SQLite it does nothing.
func TestWarmPool(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			warmed, err := db.Store.WarmPool(ctx, "warm-test", 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			sqlDB, err := db.Store.DB(ctx).DB()
			if err != nil {
				t.Fatal(err)
			}
			if db.Name == "sqlite" {
				if warmed != 0 {
					t.Fatalf("SQLite: warmed %d connections, want none", warmed)
				}
				return
			}
			size := sqlDB.Stats().MaxOpenConnections
			if warmed != size {
				t.Fatalf("warmed %d connections, want the pool's %d", warmed, size)
			}
			if open := sqlDB.Stats().OpenConnections; open != size {
				t.Fatalf("%d connections open after the warm-up, want all %d kept", open, size)
			}
			// Hold every connection at once, so each is a different backend,
			// and ask each whether it has the queue statement prepared.
			func() {
				conns := make([]*sql.Conn, 0, size)
				defer func() {
					for _, c := range conns {
						_ = c.Close()
					}
				}()
				for range size {
					c, err := sqlDB.Conn(ctx)
					if err != nil {
						t.Fatal(err)
					}
					conns = append(conns, c)
				}
				for i, c := range conns {
					var n int
					// The patterns are parameters: this query is prepared too, and
					// its own text must not match them.
					if err := c.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE $1 AND statement LIKE $2`,
						"%INSERT INTO contacts%", "%INSERT INTO messages%").Scan(&n); err != nil {
						t.Fatal(err)
					}
					if n == 0 {
						t.Errorf("connection %d of %d never ran the queue statement", i+1, size)
					}
				}
			}()
			for _, table := range []string{"senders", "templates", "api_keys", "contacts", "consent_events", "messages"} {
				var n int64
				if err := db.Store.DB(ctx).Raw("SELECT COUNT(*) FROM " + table).Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("%s: %d rows left by the warm-up, want none", table, n)
				}
			}
		})
	}
}

// TestWarmPoolSizedPool: a pool resized with SetPoolSize is warmed whole,
// and only SQLite ignores the size.
func TestWarmPoolSizedPool(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			sqlDB, err := db.Store.DB(ctx).DB()
			if err != nil {
				t.Fatal(err)
			}
			before := sqlDB.Stats().MaxOpenConnections
			if err := db.Store.SetPoolSize(5); err != nil {
				t.Fatal(err)
			}
			warmed, err := db.Store.WarmPool(ctx, "warm-test", 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			want, wantWarmed := 5, 5
			if db.Name == "sqlite" {
				want, wantWarmed = before, 0
			}
			if got := sqlDB.Stats().MaxOpenConnections; got != want {
				t.Fatalf("pool of %d connections, want %d", got, want)
			}
			if warmed != wantWarmed {
				t.Fatalf("warmed %d connections, want %d", warmed, wantWarmed)
			}
		})
	}
}
