package models

// segmentsMigrations are the schema changes of the segments feature, versions 300–399.
//
// 300 caches each segment's last count for the list page and adds the
// indexes segment conditions lean on: number ranges, language and time zone,
// engagement lookups per contact and campaign. Core already indexes country,
// lifecycle, last_active_at, created_at, reachability, tags and attributes
// (GIN, Postgres) and events by (contact, name, time) and (name, time).
var segmentsMigrations = []migration{
	{Version: 300, Name: "segments_counts_and_indexes", Up: `
ALTER TABLE segments ADD COLUMN match_count BIGINT;
ALTER TABLE segments ADD COLUMN reachable_count BIGINT;
ALTER TABLE segments ADD COLUMN counted_at {{ts}};
CREATE INDEX contacts_total_spent ON contacts (total_spent);
CREATE INDEX contacts_total_orders ON contacts (total_orders);
CREATE INDEX contacts_language ON contacts (language);
CREATE INDEX contacts_timezone ON contacts (timezone);
CREATE INDEX messages_contact_campaign ON messages (contact_id, campaign_id)`,
		// The reachable count filters on these two; a partial index keeps
		// "reachable and opted in" cheap to read on its own.
		PostgresOnly: `
CREATE INDEX contacts_marketable ON contacts (id) WHERE reachability = 'reachable' AND marketing_opt_in`,
	},
}
