package models

// whatsappMigrations are the schema changes of the whatsapp feature, versions 100–199.
var whatsappMigrations = []migration{}
