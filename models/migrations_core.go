package models

// coreMigrations create the backbone every feature shares: users and keys,
// senders, contacts and their events, segments, templates, campaigns and the
// per-recipient sending ledger with its status history, and the durable
// webhook inbox. Feature work adds columns and tables in later migrations.
var coreMigrations = []migration{
	{Version: 1, Name: "core", Up: `
CREATE TABLE users (
	id {{id}},
	email TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('admin', 'marketer', 'viewer')),
	last_login_at {{ts}},
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL
);
CREATE TABLE api_keys (
	id {{id}},
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	key_hash TEXT NOT NULL UNIQUE,
	role TEXT NOT NULL CHECK (role IN ('admin', 'marketer', 'viewer')),
	created_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
	last_used_at {{ts}},
	revoked_at {{ts}},
	created_at {{ts}} NOT NULL
);
CREATE TABLE login_attempts (
	id {{id}},
	email TEXT NOT NULL,
	ip TEXT NOT NULL,
	succeeded BOOLEAN NOT NULL,
	created_at {{ts}} NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, created_at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, created_at);
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value {{json}} NOT NULL,
	updated_at {{ts}} NOT NULL
);
CREATE TABLE senders (
	id {{id}},
	name TEXT NOT NULL,
	phone_number_id TEXT NOT NULL UNIQUE,
	waba_id TEXT NOT NULL,
	display_phone TEXT NOT NULL DEFAULT '',
	api_url TEXT NOT NULL DEFAULT '',
	api_version TEXT NOT NULL DEFAULT '',
	token_enc {{blob}},
	app_secret_enc {{blob}},
	verify_token_enc {{blob}},
	quality_rating TEXT NOT NULL DEFAULT 'UNKNOWN',
	messaging_limit_tier TEXT NOT NULL DEFAULT '',
	throughput_mps INTEGER NOT NULL DEFAULT 80,
	status TEXT NOT NULL DEFAULT 'active',
	status_reason TEXT NOT NULL DEFAULT '',
	is_default BOOLEAN NOT NULL DEFAULT FALSE,
	last_checked_at {{ts}},
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL
);
CREATE TABLE contacts (
	id {{id}},
	external_id TEXT,
	phone TEXT NOT NULL UNIQUE,
	wa_id TEXT NOT NULL DEFAULT '',
	first_name TEXT NOT NULL DEFAULT '',
	last_name TEXT NOT NULL DEFAULT '',
	email TEXT NOT NULL DEFAULT '',
	country TEXT NOT NULL DEFAULT '',
	timezone TEXT NOT NULL DEFAULT '',
	language TEXT NOT NULL DEFAULT '',
	tags {{json}} NOT NULL DEFAULT '[]',
	lifecycle_stage TEXT NOT NULL DEFAULT '',
	marketing_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
	marketing_opt_in_source TEXT NOT NULL DEFAULT '',
	marketing_opt_in_at {{ts}},
	transactional_opt_in BOOLEAN NOT NULL DEFAULT TRUE,
	reachability TEXT NOT NULL DEFAULT 'reachable'
		CHECK (reachability IN ('reachable', 'unreachable', 'blocked', 'opted_out')),
	reachability_reason TEXT NOT NULL DEFAULT '',
	reachability_at {{ts}},
	last_active_at {{ts}},
	total_orders INTEGER NOT NULL DEFAULT 0,
	total_spent {{money}} NOT NULL DEFAULT 0,
	attributes {{json}} NOT NULL DEFAULT '{}',
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL
);
CREATE UNIQUE INDEX contacts_external_id ON contacts (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX contacts_country ON contacts (country);
CREATE INDEX contacts_lifecycle ON contacts (lifecycle_stage);
CREATE INDEX contacts_last_active ON contacts (last_active_at);
CREATE INDEX contacts_created ON contacts (created_at);
CREATE INDEX contacts_reachability ON contacts (reachability);
CREATE TABLE consent_events (
	id {{id}},
	contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('marketing', 'transactional')),
	granted BOOLEAN NOT NULL,
	source TEXT NOT NULL DEFAULT '',
	created_at {{ts}} NOT NULL
);
CREATE INDEX consent_events_contact ON consent_events (contact_id, created_at);
CREATE TABLE events (
	id {{id}},
	contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	value {{money}},
	currency TEXT NOT NULL DEFAULT '',
	properties {{json}} NOT NULL DEFAULT '{}',
	occurred_at {{ts}} NOT NULL,
	created_at {{ts}} NOT NULL
);
CREATE INDEX events_contact_name_time ON events (contact_id, name, occurred_at);
CREATE INDEX events_name_time ON events (name, occurred_at);
CREATE TABLE segments (
	id {{id}},
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL DEFAULT 'dynamic' CHECK (kind IN ('dynamic', 'static')),
	rules {{json}} NOT NULL DEFAULT '{"all":[]}',
	created_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL
);
CREATE TABLE segment_members (
	segment_id BIGINT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
	contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	PRIMARY KEY (segment_id, contact_id)
);
CREATE INDEX segment_members_contact ON segment_members (contact_id);
CREATE TABLE templates (
	id {{id}},
	waba_id TEXT NOT NULL DEFAULT '',
	meta_id TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL,
	language TEXT NOT NULL,
	category TEXT NOT NULL CHECK (category IN ('MARKETING', 'UTILITY', 'AUTHENTICATION')),
	parameter_format TEXT NOT NULL DEFAULT 'POSITIONAL',
	status TEXT NOT NULL DEFAULT 'DRAFT',
	status_reason TEXT NOT NULL DEFAULT '',
	quality TEXT NOT NULL DEFAULT 'UNKNOWN',
	header {{json}},
	body TEXT NOT NULL,
	footer TEXT NOT NULL DEFAULT '',
	buttons {{json}} NOT NULL DEFAULT '[]',
	variables {{json}} NOT NULL DEFAULT '{}',
	archived_at {{ts}},
	synced_at {{ts}},
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL,
	UNIQUE (waba_id, name, language)
);
CREATE TABLE campaigns (
	id {{id}},
	name TEXT NOT NULL,
	kind TEXT NOT NULL DEFAULT 'broadcast',
	status TEXT NOT NULL DEFAULT 'draft',
	status_reason TEXT NOT NULL DEFAULT '',
	sender_id BIGINT REFERENCES senders(id) ON DELETE SET NULL,
	template_id BIGINT REFERENCES templates(id) ON DELETE SET NULL,
	template_values {{json}} NOT NULL DEFAULT '{}',
	segment_ids {{json}} NOT NULL DEFAULT '[]',
	exclude_segment_ids {{json}} NOT NULL DEFAULT '[]',
	schedule {{json}} NOT NULL DEFAULT '{"type":"now"}',
	respect_quiet_hours BOOLEAN NOT NULL DEFAULT TRUE,
	frequency_cap BOOLEAN NOT NULL DEFAULT TRUE,
	deadline {{ts}},
	holdout_percent INTEGER NOT NULL DEFAULT 0,
	variants {{json}} NOT NULL DEFAULT '[]',
	attribution_days INTEGER NOT NULL DEFAULT 3,
	conversion_events {{json}} NOT NULL DEFAULT '["purchase"]',
	reentry_days INTEGER NOT NULL DEFAULT 30,
	next_run_at {{ts}},
	launched_at {{ts}},
	completed_at {{ts}},
	created_by_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL
);
CREATE INDEX campaigns_status_next ON campaigns (status, next_run_at);
CREATE TABLE campaign_runs (
	id {{id}},
	campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
	scheduled_for {{ts}} NOT NULL,
	status TEXT NOT NULL DEFAULT 'snapshotting',
	targeted INTEGER NOT NULL DEFAULT 0,
	created_at {{ts}} NOT NULL,
	completed_at {{ts}},
	UNIQUE (campaign_id, scheduled_for)
);
CREATE TABLE messages (
	id {{id}},
	campaign_id BIGINT REFERENCES campaigns(id) ON DELETE CASCADE,
	run_id BIGINT REFERENCES campaign_runs(id) ON DELETE CASCADE,
	contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
	sender_id BIGINT REFERENCES senders(id) ON DELETE SET NULL,
	template_id BIGINT REFERENCES templates(id) ON DELETE SET NULL,
	variant INTEGER NOT NULL DEFAULT 0,
	to_phone TEXT NOT NULL DEFAULT '',
	category TEXT NOT NULL DEFAULT 'MARKETING',
	priority INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT 'pending',
	status_reason TEXT NOT NULL DEFAULT '',
	send_after {{ts}} NOT NULL,
	expires_at {{ts}},
	claimed_by TEXT NOT NULL DEFAULT '',
	claimed_at {{ts}},
	attempts INTEGER NOT NULL DEFAULT 0,
	wamid TEXT,
	error_code INTEGER NOT NULL DEFAULT 0,
	params {{json}} NOT NULL DEFAULT '{}',
	idempotency_key TEXT,
	api_key_id BIGINT REFERENCES api_keys(id) ON DELETE SET NULL,
	callback_url TEXT NOT NULL DEFAULT '',
	sent_at {{ts}},
	delivered_at {{ts}},
	read_at {{ts}},
	tapped_at {{ts}},
	converted_at {{ts}},
	failed_at {{ts}},
	revenue {{money}} NOT NULL DEFAULT 0,
	cost {{money}} NOT NULL DEFAULT 0,
	pricing_category TEXT NOT NULL DEFAULT '',
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL
);
CREATE UNIQUE INDEX messages_run_contact ON messages (run_id, contact_id) WHERE run_id IS NOT NULL AND contact_id IS NOT NULL;
CREATE UNIQUE INDEX messages_wamid ON messages (wamid) WHERE wamid IS NOT NULL;
CREATE UNIQUE INDEX messages_idempotency ON messages (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX messages_due ON messages (status, priority, send_after);
CREATE INDEX messages_campaign_status ON messages (campaign_id, status);
CREATE INDEX messages_contact ON messages (contact_id, created_at);
CREATE TABLE message_events (
	id {{id}},
	message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	status TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT '',
	error_code INTEGER NOT NULL DEFAULT 0,
	occurred_at {{ts}} NOT NULL,
	created_at {{ts}} NOT NULL
);
CREATE INDEX message_events_message ON message_events (message_id, occurred_at);
CREATE TABLE webhook_inbox (
	id {{id}},
	source TEXT NOT NULL DEFAULT 'whatsapp',
	body {{blob}} NOT NULL,
	received_at {{ts}} NOT NULL,
	processed_at {{ts}},
	attempts INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_inbox_pending ON webhook_inbox (processed_at, id);
CREATE TABLE links (
	id {{id}},
	code TEXT NOT NULL UNIQUE,
	message_id BIGINT REFERENCES messages(id) ON DELETE CASCADE,
	url TEXT NOT NULL,
	created_at {{ts}} NOT NULL
)`,
		PostgresOnly: `
CREATE INDEX contacts_tags ON contacts USING GIN (tags jsonb_path_ops);
CREATE INDEX contacts_attributes ON contacts USING GIN (attributes jsonb_path_ops)`,
	},
}
