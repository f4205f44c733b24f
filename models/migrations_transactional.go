package models

// transactionalMigrations are the schema changes of the transactional feature, versions 700–799.
//
// 700 adds to the ledger what API messages need beyond a broadcast row: the
// sealed one-time password (cleared once the message left the queue), the
// last ledger status a callback was queued for (a partial index finds the
// rows whose status moved since, so the callback worker polls cheaply), and
// an index for the Transactional page; plus the durable outbox of signed
// status callbacks with their retry schedule.
var transactionalMigrations = []migration{
	{Version: 700, Name: "transactional_messages", Up: `
ALTER TABLE messages ADD COLUMN secret_enc {{blob}};
ALTER TABLE messages ADD COLUMN notified_status TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_transactional ON messages (created_at) WHERE campaign_id IS NULL AND priority > 0;
CREATE INDEX messages_secret ON messages (id) WHERE secret_enc IS NOT NULL;
CREATE INDEX messages_callback_due ON messages (id) WHERE callback_url <> '' AND notified_status <> status;
CREATE TABLE callback_deliveries (
	id {{id}},
	message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	url TEXT NOT NULL,
	event TEXT NOT NULL,
	payload TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at {{ts}},
	delivered_at {{ts}},
	failed_at {{ts}},
	last_error TEXT NOT NULL DEFAULT '',
	last_status INTEGER NOT NULL DEFAULT 0,
	created_at {{ts}} NOT NULL,
	UNIQUE (message_id, event)
);
CREATE INDEX callback_deliveries_due ON callback_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL`},
}
