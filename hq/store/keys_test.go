package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chancery/hq/store"
)

// HQ's private keys are kept sealed under its key file: the database
// alone opens neither, and a database from before is sealed when opened.
func TestHQKeysSealedAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hq.db")
	d, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	want := d.HQSigningPublic()
	var id, seed string
	d.SQL().QueryRowContext(ctx, "SELECT (SELECT value FROM meta WHERE key = 'hq_identity'), (SELECT value FROM meta WHERE key = 'hq_signing_seed')").Scan(&id, &seed)
	if strings.Contains(id, "AGE-SECRET-KEY") || !strings.HasPrefix(id, "sealed1:") || !strings.HasPrefix(seed, "sealed1:") {
		t.Fatalf("HQ's keys are kept as %q and %q", id, seed)
	}
	d.Close()
	d, err = store.Open(ctx, path)
	if err != nil || d.HQSigningPublic() != want {
		t.Fatalf("reopened: %v", err)
	}
	d.Close()
	elsewhere := filepath.Join(t.TempDir(), "hq.db")
	b, _ := os.ReadFile(path)
	os.WriteFile(elsewhere, b, 0o600)
	if _, err := store.Open(ctx, elsewhere); err == nil || !strings.Contains(err.Error(), "key file") {
		t.Fatalf("HQ's database opened without its key file: %v", err)
	}
}
