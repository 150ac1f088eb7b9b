package account_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"chancery/shared/account"
	"chancery/shared/sqlite"
)

// BenchmarkAuditMark20k: what every pouch costs a mission whose audit log
// holds 20,000 entries (years of logins and settings): the whole chain
// recomputed from its entries.
func BenchmarkAuditMark20k(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "a.db"), account.Migrations)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, _ := db.BeginTx(ctx, nil)
	for i := range 20000 {
		if err := account.Audit(ctx, tx, account.Actor{Username: "amira", Remote: "10.0.0.7"}, "login", "amira", fmt.Sprintf("session %d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if n, _, at, err := account.AuditMark(ctx, db, 10000); err != nil || n != 20000 || at == "" {
			b.Fatal(n, err)
		}
	}
}
