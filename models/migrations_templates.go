package models

// templatesMigrations are the schema changes of the templates feature, versions 400–499.
var templatesMigrations = []migration{}
