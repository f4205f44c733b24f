package models

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// skipLocked is FOR UPDATE SKIP LOCKED, for Postgres work queues.
func skipLocked() clause.Locking {
	return clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}
}

// gormExpr is a raw SQL expression in an update map.
func gormExpr(sql string, args ...any) clause.Expr {
	return gorm.Expr(sql, args...)
}
