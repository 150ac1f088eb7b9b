package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"testing/fstest"

	"chancery/shared/sqlite"
)

// The connections keep their prepared statements: the same text run
// again, inside its own loop, in and out of transactions, past the
// cache's bound, after a failure and after a schema change, still gives
// what SQLite holds.
func TestKeptStatementsGiveWhatTheDatabaseHolds(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"), fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x INTEGER PRIMARY KEY, y TEXT NOT NULL) STRICT;")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // every statement on one connection
	const ins = "INSERT INTO a (x, y) VALUES (?, ?)"
	for i := range 5 {
		if _, err := db.ExecContext(ctx, ins, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A failure leaves the kept statement usable.
	if _, err := db.ExecContext(ctx, ins, 1, "again"); err == nil {
		t.Fatal("a duplicate key was accepted")
	}
	if _, err := db.ExecContext(ctx, ins, 5, "v5"); err != nil {
		t.Fatal(err)
	}

	// The same query nested in its own rows, inside a transaction.
	const sel = "SELECT y FROM a WHERE x >= ? ORDER BY x"
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, sel, 4)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []string
	for rows.Next() {
		var y string
		rows.Scan(&y)
		outer = append(outer, y)
		in, err := tx.QueryContext(ctx, sel, 5)
		if err != nil {
			t.Fatal(err)
		}
		for in.Next() {
			in.Scan(&y)
			inner = append(inner, y)
		}
		in.Close()
	}
	rows.Close()
	tx.Rollback()
	if fmt.Sprint(outer, inner) != "[v4 v5] [v5 v5]" {
		t.Fatalf("nested reads gave %v and %v", outer, inner)
	}

	// More distinct statements than the cache keeps.
	for i := range 600 {
		var n int
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) + %d FROM a", i)).Scan(&n); err != nil || n != 6+i {
			t.Fatalf("statement %d: %d, %v", i, n, err)
		}
	}

	// A column added after the statement was kept is seen.
	const all = "SELECT * FROM a WHERE x = 0"
	var x int
	var y string
	if err := db.QueryRowContext(ctx, all).Scan(&x, &y); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ALTER TABLE a ADD COLUMN z TEXT NOT NULL DEFAULT 'zed'"); err != nil {
		t.Fatal(err)
	}
	var z string
	if err := db.QueryRowContext(ctx, all).Scan(&x, &y, &z); err != nil || z != "zed" {
		t.Fatalf("after the schema changed: %q, %v", z, err)
	}
}
