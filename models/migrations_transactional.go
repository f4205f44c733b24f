package models

// transactionalMigrations are the schema changes of the transactional feature, versions 700–799.
var transactionalMigrations = []migration{}
