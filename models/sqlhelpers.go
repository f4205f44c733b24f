package models

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// gormExpr is a raw SQL expression in an update map.
func gormExpr(sql string, args ...any) clause.Expr {
	return gorm.Expr(sql, args...)
}
