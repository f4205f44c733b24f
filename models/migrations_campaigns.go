package models

// campaignsMigrations are the schema changes of the campaigns feature, versions 500–599.
//
// 500 adds per-campaign delivery overrides, the funnel counters kept in step
// with the ledger (campaign_stats), the live-instance heartbeat the throttle
// divides a sender's rate by, and the indexes the send workers lean on:
// a partial index over due rows in claim order, and lookups by status for
// the rescuer and by sender and send time for the messaging-limit tier.
// Every ledger row is updated three times on its way out (claimed, sending,
// sent), and each update of an indexed column writes every index anew, so
// the core messages_due index, which the partial claim index replaces, goes;
// recipients' recent sends are read through messages_contact (since 510:
// messages_contact_campaign).
var campaignsMigrations = []migration{
	{Version: 500, Name: "campaigns_delivery_engine", Up: `
ALTER TABLE campaigns ADD COLUMN quiet_start TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN quiet_end TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN timezone TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE TABLE campaign_stats (
	campaign_id BIGINT PRIMARY KEY REFERENCES campaigns(id) ON DELETE CASCADE,
	targeted BIGINT NOT NULL DEFAULT 0,
	skipped_opted_out BIGINT NOT NULL DEFAULT 0,
	skipped_unreachable BIGINT NOT NULL DEFAULT 0,
	skipped_blocked BIGINT NOT NULL DEFAULT 0,
	skipped_no_consent BIGINT NOT NULL DEFAULT 0,
	skipped_us_marketing BIGINT NOT NULL DEFAULT 0,
	skipped_frequency_capped BIGINT NOT NULL DEFAULT 0,
	skipped_other BIGINT NOT NULL DEFAULT 0,
	holdout BIGINT NOT NULL DEFAULT 0,
	queued BIGINT NOT NULL DEFAULT 0,
	sent BIGINT NOT NULL DEFAULT 0,
	delivered BIGINT NOT NULL DEFAULT 0,
	read BIGINT NOT NULL DEFAULT 0,
	tapped BIGINT NOT NULL DEFAULT 0,
	converted BIGINT NOT NULL DEFAULT 0,
	failed BIGINT NOT NULL DEFAULT 0,
	unknown BIGINT NOT NULL DEFAULT 0,
	expired BIGINT NOT NULL DEFAULT 0,
	cancelled BIGINT NOT NULL DEFAULT 0,
	revenue {{money}} NOT NULL DEFAULT 0,
	cost {{money}} NOT NULL DEFAULT 0,
	updated_at {{ts}} NOT NULL
);
CREATE TABLE instances (
	id TEXT PRIMARY KEY,
	seen_at {{ts}} NOT NULL
);
CREATE INDEX messages_pending_due ON messages (priority DESC, send_after) WHERE status = 'pending';
CREATE INDEX messages_inflight ON messages (status, claimed_at) WHERE status IN ('claimed', 'sending');
DROP INDEX messages_due;
CREATE INDEX messages_sender_sent ON messages (sender_id, sent_at) WHERE sent_at IS NOT NULL`},
	// 510 makes the ledger cheaper to write, which launch (1M rows in one
	// INSERT … SELECT) and every send (three updates a message) pay for.
	// On Postgres the ledger's foreign keys go: each checked every inserted
	// row with a SELECT … FOR KEY SHARE, which for contact_id locked, and so
	// rewrote, every recipient's contacts row — two thirds of a launch. Their
	// actions are kept in code instead: erasing a contact clears contact_id
	// in the statement that anonymises its messages (under a lock that waits
	// for ledger writers, see lockLedgerWriters), only draft campaigns (no
	// ledger rows) are deleted, and senders and templates are archived, never
	// deleted. SQLite keeps its keys (no launch target there).
	// Each update of a ledger row that changes an indexed column writes an
	// entry into every index the row is in, three times per message, so two
	// indexes go: (contact_id, created_at), as (contact_id, campaign_id)
	// serves every lookup by contact, and (campaign_id, status), folded with
	// the once-per-run guarantee (run_id, contact_id) into one unique index
	// (campaign_id, run_id, contact_id): a run belongs to one campaign, so the
	// guarantee is the same, and lookups by campaign use its prefix (what is
	// left to send is counted in campaign_stats, not read from the ledger).
	{Version: 510, Name: "lighter_ledger_writes", Up: `
DROP INDEX messages_contact;
DROP INDEX messages_campaign_status;
DROP INDEX messages_run_contact;
CREATE UNIQUE INDEX messages_campaign_run_contact ON messages (campaign_id, run_id, contact_id)`,
		PostgresOnly: `
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_campaign_id_fkey,
	DROP CONSTRAINT IF EXISTS messages_run_id_fkey,
	DROP CONSTRAINT IF EXISTS messages_contact_id_fkey,
	DROP CONSTRAINT IF EXISTS messages_sender_id_fkey,
	DROP CONSTRAINT IF EXISTS messages_template_id_fkey`},
	// The campaign page's "errors by reason" read every ledger row of the
	// campaign through (campaign_id, run_id, contact_id): 100 ms and more at
	// 1M recipients, on each view. Only rows that ended without being sent
	// are in this index, a few percent of a healthy campaign, and those rows
	// are written once more at most, so it costs the send path little.
	{Version: 520, Name: "campaign_reasons_index", Up: `
CREATE INDEX messages_campaign_reasons ON messages (campaign_id, status, status_reason)
	WHERE status IN ('failed', 'skipped', 'unknown', 'expired')`},
}
