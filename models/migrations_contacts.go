package models

// contactsMigrations are the schema changes of the contacts feature, versions 200–299.
var contactsMigrations = []migration{}
