package models

// campaignsMigrations are the schema changes of the campaigns feature, versions 500–599.
var campaignsMigrations = []migration{}
