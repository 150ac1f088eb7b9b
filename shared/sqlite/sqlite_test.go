package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"chancery/shared/sqlite"
)

func TestOpenAppliesSettingsAndMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "x.db")
	m := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER) STRICT;")},
		"0002_b.sql": {Data: []byte("INSERT INTO a VALUES (1);")},
	}
	for range 2 {
		db, err := sqlite.Open(ctx, path, m)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		db.QueryRow("SELECT count(*) FROM a").Scan(&n)
		if n != 1 {
			t.Fatalf("rows = %d: a migration ran twice", n)
		}
		// Every pooled connection has the settings, not only the first.
		conns := []any{}
		for range 3 {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var fk, sync int
			c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk)
			c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync)
			if fk != 1 || sync != 2 {
				t.Fatalf("connection without settings: foreign_keys=%d synchronous=%d", fk, sync)
			}
			conns = append(conns, c)
		}
		db.Close()
	}
}

func TestBrokenMigrationChangesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	m := fstest.MapFS{"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER); CREATE TABLE oops (")}}
	if _, err := sqlite.Open(ctx, path, m); err == nil || !strings.Contains(err.Error(), "0001_a.sql") {
		t.Fatalf("broken migration: %v", err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'a'").Scan(&n)
	if n != 0 {
		t.Fatal("half of a failed migration was kept")
	}
}

func TestDamagedFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	os.WriteFile(path, []byte(strings.Repeat("not a database ", 400)), 0o600)
	if _, err := sqlite.Open(context.Background(), path); err == nil {
		t.Fatal("a file that is not a database was opened")
	}
}
