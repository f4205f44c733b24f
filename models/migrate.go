package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// migration is one versioned schema change. Up is written once for both
// databases with the column-type tokens below; PostgresOnly and SQLiteOnly
// hold statements that exist on one side only (GIN indexes, for example).
// Statements are separated by a semicolon at the end of a line.
type migration struct {
	Version      int
	Name         string
	Up           string
	PostgresOnly string
	SQLiteOnly   string
}

// Version ranges keep parallel work from colliding: 1-99 core,
// 100 whatsapp, 200 contacts, 300 segments, 400 templates, 500 campaigns,
// 600 analytics, 700 transactional.
func allMigrations() []migration {
	all := slices.Concat(coreMigrations, whatsappMigrations, contactsMigrations, segmentsMigrations,
		templatesMigrations, campaignsMigrations, analyticsMigrations, transactionalMigrations)
	slices.SortFunc(all, func(a, b migration) int { return a.Version - b.Version })
	return all
}

// tokens maps the dialect-neutral column types used in migrations.
var tokens = map[Dialect]*strings.Replacer{
	Postgres: strings.NewReplacer(
		"{{id}}", "BIGSERIAL PRIMARY KEY",
		"{{ts}}", "TIMESTAMPTZ",
		"{{json}}", "JSONB",
		"{{blob}}", "BYTEA",
		"{{money}}", "NUMERIC(14,2)",
		"{{now}}", "now()",
	),
	SQLite: strings.NewReplacer(
		"{{id}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
		"{{ts}}", "DATETIME",
		"{{json}}", "TEXT",
		"{{blob}}", "BLOB",
		"{{money}}", "REAL",
		"{{now}}", "CURRENT_TIMESTAMP",
	),
}

// statements renders a migration for one dialect.
func (m migration) statements(d Dialect) []string {
	text := m.Up
	switch d {
	case Postgres:
		text += ";\n" + m.PostgresOnly
	case SQLite:
		text += ";\n" + m.SQLiteOnly
	}
	text = tokens[d].Replace(text)
	var out []string
	for _, stmt := range strings.Split(text, ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

// migrationLockID is the Postgres advisory lock key that serialises
// migrations when several instances start at once.
const migrationLockID = 7_262_001

// Migrate applies every migration newer than the database's version, each in
// its own transaction, and returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	db := s.db.WithContext(ctx)
	if s.dialect == Postgres {
		// A session-level lock must be released on the same connection, so
		// pin one connection for the whole run.
		conn, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("models: migrate: %w", err)
		}
		c, err := conn.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("models: migrate: %w", err)
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
			return nil, fmt.Errorf("models: migrate: take lock: %w", err)
		}
		defer c.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID) //nolint:errcheck // released with the connection anyway
	}
	if err := db.Exec(tokens[s.dialect].Replace(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at {{ts}} NOT NULL)`)).Error; err != nil {
		return nil, fmt.Errorf("models: migrate: create schema_migrations: %w", err)
	}
	var applied []int
	if err := db.Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
		return nil, fmt.Errorf("models: migrate: read versions: %w", err)
	}
	var done []int
	for _, m := range allMigrations() {
		if slices.Contains(applied, m.Version) {
			continue
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			for _, stmt := range m.statements(s.dialect) {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%w\nin statement: %s", err, stmt)
				}
			}
			return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.Version, m.Name, time.Now().UTC()).Error
		})
		if err != nil {
			return done, fmt.Errorf("models: migration %d %s: %w", m.Version, m.Name, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// SchemaVersion returns the newest applied migration, 0 for an empty database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	err := s.db.WithContext(ctx).Raw("SELECT MAX(version) FROM schema_migrations").Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("models: schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// LatestSchemaVersion is the version Migrate brings a database to.
func LatestSchemaVersion() int {
	all := allMigrations()
	return all[len(all)-1].Version
}
