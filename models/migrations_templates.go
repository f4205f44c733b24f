package models

// templatesMigrations are the schema changes of the templates feature, versions 400–499.
var templatesMigrations = []migration{
	{Version: 400, Name: "templates_lookup_indexes", Up: `
CREATE INDEX templates_status ON templates (status, updated_at);
CREATE INDEX templates_meta_id ON templates (waba_id, meta_id);
CREATE INDEX templates_name_language ON templates (name, language);
CREATE INDEX links_message ON links (message_id)`},
}
