package models

// whatsappMigrations are the schema changes of the whatsapp feature, versions 100–199.
var whatsappMigrations = []migration{
	{Version: 100, Name: "webhook inbox lease", Up: `
ALTER TABLE webhook_inbox ADD COLUMN claimed_until {{ts}}`},
}
