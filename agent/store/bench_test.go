package store_test

import (
	"context"
	"strconv"
	"testing"

	"chancery/shared/readiness"
)

// BenchmarkSaveAnswer is one answer saved: record, change and audit entry
// in one transaction, synced to disk (synchronous FULL).
func BenchmarkSaveAnswer(b *testing.B) {
	db := MustOpen(b)
	ctx := context.Background()
	items := fwInForce(b, db).Items
	i := 0
	for b.Loop() {
		i++
		a := readiness.Answer{ItemID: items[i%len(items)].ID, Level: readiness.Level(i % 5), Evidence: "e" + strconv.Itoa(i)}
		if _, err := db.SaveAnswer(ctx, staff, a); err != nil {
			b.Fatal(err)
		}
	}
}
