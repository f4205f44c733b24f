package models

import "strings"

// contactsMigrations are the schema changes of the contacts feature, versions 200–299.
var contactsMigrations = []migration{
	{Version: 200, Name: "contact imports", Up: `
CREATE TABLE imports (
	id {{id}},
	file_name TEXT NOT NULL,
	file_path TEXT NOT NULL,
	file_size BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT 'draft'
		CHECK (status IN ('draft', 'queued', 'running', 'done', 'failed')),
	status_reason TEXT NOT NULL DEFAULT '',
	mode TEXT NOT NULL DEFAULT 'upsert' CHECK (mode IN ('upsert', 'create', 'update')),
	mapping {{json}} NOT NULL DEFAULT '{}',
	overwrite {{json}} NOT NULL DEFAULT '[]',
	tags {{json}} NOT NULL DEFAULT '[]',
	default_country TEXT NOT NULL DEFAULT '',
	consent TEXT NOT NULL DEFAULT '' CHECK (consent IN ('', 'granted', 'revoked')),
	rows_total INTEGER NOT NULL DEFAULT 0,
	rows_imported INTEGER NOT NULL DEFAULT 0,
	rows_updated INTEGER NOT NULL DEFAULT 0,
	rows_unchanged INTEGER NOT NULL DEFAULT 0,
	rows_skipped INTEGER NOT NULL DEFAULT 0,
	rows_rejected INTEGER NOT NULL DEFAULT 0,
	bytes_read BIGINT NOT NULL DEFAULT 0,
	line_done INTEGER NOT NULL DEFAULT 0,
	claimed_by TEXT NOT NULL DEFAULT '',
	claimed_at {{ts}},
	started_at {{ts}},
	finished_at {{ts}},
	created_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
	api_key_id BIGINT REFERENCES api_keys(id) ON DELETE SET NULL,
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL
);
CREATE INDEX imports_status ON imports (status, claimed_at);
CREATE INDEX imports_created ON imports (created_at);
CREATE TABLE import_errors (
	id {{id}},
	import_id BIGINT NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
	line INTEGER NOT NULL,
	message TEXT NOT NULL,
	raw TEXT NOT NULL DEFAULT ''
);
CREATE INDEX import_errors_import ON import_errors (import_id, line)`,
		// The search box matches any part of name, e-mail or phone. A trigram
		// GIN index over one expression keeps "%ana%" fast at a million rows.
		// pg_trgm is a trusted extension (any database owner may create it);
		// where it cannot be created, or already lives in another schema, the
		// block adapts instead of failing, and search falls back to a scan.
		PostgresOnly: trigramIndexBlock,
	},
	// A Postgres import writes with two connections, each owning the phones
	// of one hash partition (jobs/imports.go); each partition's last
	// committed line is kept here as a JSON array, line_done being the
	// smallest, so a resumed import skips exactly the rows already written.
	{Version: 210, Name: "import partitions", Up: `
ALTER TABLE imports ADD COLUMN part_lines TEXT`},
}

// contactSearchExpr is the text the search box matches; queries must use the
// same expression for the trigram index to apply.
const contactSearchExpr = `(first_name || ' ' || last_name || ' ' || email || ' ' || phone)`

// trigramIndexBlock is one DO statement; its inner statements end with "; "
// (not a line break) because migrations split statements on ";\n".
var trigramIndexBlock = strings.Join([]string{
	`DO $$ DECLARE ext_schema text; BEGIN`,
	`BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public; EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'pg_trgm unavailable: %', SQLERRM; END;`,
	`SELECT n.nspname INTO ext_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';`,
	`IF ext_schema IS NOT NULL THEN EXECUTE format('CREATE INDEX contacts_search ON contacts USING GIN (` + strings.ReplaceAll(contactSearchExpr, "'", "''") + ` %I.gin_trgm_ops)', ext_schema); END IF;`,
	`END $$`,
}, " ")
