package store_test

import (
	"testing"

	"chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/sqlite/sqlitetest"
)

// A database upgraded from any earlier set of migrations has the schema
// of a fresh one, whichever source gained files since.
func TestMigrationsUpgradeLikeFresh(t *testing.T) {
	sqlitetest.CheckUpgrades(t, account.Migrations, store.Migrations)
}
