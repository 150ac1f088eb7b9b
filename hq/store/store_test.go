package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"chancery/hq/store"
	"chancery/shared/protocol"
)

// TestSeedLibraryAfterAnUpgrade: a protocol the agents ship with that HQ
// never published (one a newer release brought) is published at the next
// start; those HQ has are left as they are.
func TestSeedLibraryAfterAnUpgrade(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "hq.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SeedLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	// As an HQ of an older release holds it: without the newest built-in.
	all := protocol.Defaults()
	if _, err := db.SQL().Exec("DELETE FROM publications WHERE doc_id = ?", all[0].ID); err != nil {
		t.Fatal(err)
	}
	before, _ := db.Publications(ctx, "")
	if err := db.SeedLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := db.Publications(ctx, "")
	if len(after) != len(before)+1 || len(after) != len(all) {
		t.Fatalf("%d publications before, %d after; %d built in", len(before), len(after), len(all))
	}
	if err := db.SeedLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.Publications(ctx, ""); len(again) != len(after) {
		t.Fatalf("seeding twice published %d more", len(again)-len(after))
	}
}
