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
// recipients' recent sends are read through messages_contact.
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
}
