package models

// analyticsMigrations are the schema changes of the analytics feature, versions 600–699.
var analyticsMigrations = []migration{}
