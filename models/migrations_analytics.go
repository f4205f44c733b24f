package models

// analyticsMigrations are the schema changes of the analytics feature, versions 600–699.
//
// 600 lets events carry a client idempotency key and remember what they
// were attributed to: the message and campaign, and how (attribution is
// "conversion" for the event that converted a message and "revenue" for a
// later event that only adds revenue to it). One conversion per message is
// enforced by a partial unique index, so two racing events cannot both
// convert it. Holdout rows were never sent, so their conversions live in
// holdout_conversions (one per held-out row: a contact held out of two
// campaigns counts for both) and in two campaign_stats counters the uplift
// is computed from. The read_at and tapped_at indexes bound the engagement heatmap's scan
// to the period it shows.
var analyticsMigrations = []migration{
	{Version: 600, Name: "analytics_attribution", Up: `
ALTER TABLE events ADD COLUMN idempotency_key TEXT;
ALTER TABLE events ADD COLUMN message_id BIGINT REFERENCES messages(id) ON DELETE SET NULL;
ALTER TABLE events ADD COLUMN campaign_id BIGINT REFERENCES campaigns(id) ON DELETE SET NULL;
ALTER TABLE events ADD COLUMN attribution TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX events_idempotency ON events (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX events_one_conversion ON events (message_id) WHERE attribution = 'conversion';
CREATE INDEX events_campaign_time ON events (campaign_id, occurred_at) WHERE campaign_id IS NOT NULL;
CREATE INDEX events_time ON events (occurred_at);
CREATE TABLE holdout_conversions (
	message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
	event_id BIGINT REFERENCES events(id) ON DELETE SET NULL,
	converted_at {{ts}} NOT NULL,
	revenue {{money}} NOT NULL DEFAULT 0,
	created_at {{ts}} NOT NULL
);
CREATE INDEX holdout_conversions_campaign ON holdout_conversions (campaign_id);
ALTER TABLE campaign_stats ADD COLUMN holdout_converted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaign_stats ADD COLUMN holdout_revenue {{money}} NOT NULL DEFAULT 0;
CREATE INDEX messages_read_at ON messages (read_at) WHERE read_at IS NOT NULL;
CREATE INDEX messages_tapped_at ON messages (tapped_at) WHERE tapped_at IS NOT NULL`},
}
