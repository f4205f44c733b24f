package models

// segmentsMigrations are the schema changes of the segments feature, versions 300–399.
var segmentsMigrations = []migration{}
