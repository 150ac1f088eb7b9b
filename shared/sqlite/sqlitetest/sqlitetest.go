// Package sqlitetest checks a program's migrations against the rule of
// [sqlite.Migrate]: a database upgraded from any earlier release ends
// with the same schema as a fresh one.
package sqlitetest

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"chancery/shared/sqlite"
)

// CheckUpgrades builds a fresh database from sources, then, for each
// source and each point in its history (none of its files, its first
// file, its first two…), a database migrated with that source cut short
// and the others whole, which it then upgrades to all of sources. Every
// upgraded schema must equal the fresh one. A cut that cannot be opened
// at all (a later source needs a file the cut leaves out) is a mix no
// release ever shipped, and is passed over.
func CheckUpgrades(t testing.TB, sources ...fs.FS) {
	t.Helper()
	ctx := context.Background()
	fresh := schemaOf(t, filepath.Join(t.TempDir(), "fresh.db"), sources)
	for i, src := range sources {
		names, err := fs.Glob(src, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for k := range len(names) {
			older := slices.Clone(sources)
			older[i] = firstFiles(t, src, names[:k])
			path := filepath.Join(t.TempDir(), "upgraded.db")
			db, err := sqlite.Open(ctx, path, older...)
			if err != nil {
				t.Logf("source %d cut before %s: %v (not a shipped mix)", i, names[k], err)
				continue
			}
			db.Close()
			if got := schemaOf(t, path, sources); got != fresh {
				t.Errorf("a database with source %d cut before %s, then upgraded, differs from a fresh one:\n--- upgraded\n%s\n--- fresh\n%s", i, names[k], got, fresh)
			}
		}
	}
}

func schemaOf(t testing.TB, path string, sources []fs.FS) string {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sources...)
	if err != nil {
		t.Fatalf("open %s: %v", filepath.Base(path), err)
	}
	defer db.Close()
	s, err := sqlite.Schema(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func firstFiles(t testing.TB, src fs.FS, names []string) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	for _, n := range names {
		b, err := fs.ReadFile(src, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = &fstest.MapFile{Data: b}
	}
	return out
}
