package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"chancery/shared/sqlite"
	"chancery/shared/sqlite/sqlitetest"
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

// A source's migrations run after those of the sources before it, whatever
// their names: here the program's file sorts before the accounts' it
// builds on, which a merge by name would run first and fail.
func TestMigrationsRunSourceBySource(t *testing.T) {
	ctx := context.Background()
	accounts := fstest.MapFS{"0001_users.sql": {Data: []byte("CREATE TABLE users (id INTEGER PRIMARY KEY) STRICT;")}}
	program := fstest.MapFS{"0000_notes.sql": {Data: []byte("CREATE TABLE notes (user_id INTEGER REFERENCES users(id)) STRICT; INSERT INTO users VALUES (7);")}}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"), accounts, program)
	if err != nil {
		t.Fatalf("sources in order: %v", err)
	}
	db.Close()
}

// An upgrade that brings a new accounts migration after the program's
// tables exist ends with the schema a fresh database has.
func TestUpgradedSchemaEqualsFresh(t *testing.T) {
	accounts := fstest.MapFS{
		"0001_users.sql":      {Data: []byte("CREATE TABLE users (id INTEGER PRIMARY KEY) STRICT;")},
		"0002_users_mail.sql": {Data: []byte("ALTER TABLE users ADD COLUMN mail TEXT NOT NULL DEFAULT '';")},
	}
	program := fstest.MapFS{
		"0100_notes.sql":       {Data: []byte("CREATE TABLE notes (user_id INTEGER REFERENCES users(id)) STRICT;")},
		"0101_notes_index.sql": {Data: []byte("CREATE INDEX notes_user ON notes(user_id);")},
	}
	sqlitetest.CheckUpgrades(t, accounts, program)
}

// The check sees a migration whose result depends on when it runs.
func TestUpgradeCheckCatchesOrderDependence(t *testing.T) {
	accounts := fstest.MapFS{
		"0001_users.sql": {Data: []byte("CREATE TABLE users (id INTEGER PRIMARY KEY) STRICT;")},
		// Breaks the rule: it reaches into the program's table, which a
		// fresh database has not made yet when accounts run.
		"0002_touch.sql": {Data: []byte("CREATE TABLE IF NOT EXISTS notes (x TEXT);")},
	}
	program := fstest.MapFS{"0100_notes.sql": {Data: []byte("CREATE TABLE IF NOT EXISTS notes (user_id INTEGER) STRICT;")}}
	rec := &recorder{TB: t}
	sqlitetest.CheckUpgrades(rec, accounts, program)
	if !rec.failed {
		t.Fatal("an order-dependent migration passed the upgrade check")
	}
}

type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestTimeRoundTripsAndSortsAsText(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "x.db"), fstest.MapFS{
		"0001_t.sql": {Data: []byte("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, maybe TEXT) STRICT;")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := time.Date(2026, 12, 1, 10, 0, 5, 0, time.FixedZone("CET", 3600))
	times := []time.Time{base.Add(500 * time.Millisecond), base, base.Add(time.Nanosecond), base.Add(-time.Second)}
	for i, at := range times {
		var maybe *time.Time
		if i%2 == 0 {
			maybe = &at
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO t (id, at, maybe) VALUES (?, ?, ?)", i, sqlite.Time(at), sqlite.NullOf(maybe)); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.QueryContext(ctx, "SELECT id, at, maybe FROM t ORDER BY at")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var order []int
	for rows.Next() {
		var id int
		var at sqlite.Time
		var maybe sqlite.NullTime
		if err := rows.Scan(&id, &at, &maybe); err != nil {
			t.Fatal(err)
		}
		if !time.Time(at).Equal(times[id]) {
			t.Errorf("row %d: read %v, wrote %v", id, time.Time(at), times[id])
		}
		if (maybe.Ptr() != nil) != (id%2 == 0) {
			t.Errorf("row %d: NULL read as %v", id, maybe.Ptr())
		}
		order = append(order, id)
	}
	if want := []int{3, 1, 2, 0}; !slices.Equal(order, want) {
		t.Errorf("text order = %v, want time order %v", order, want)
	}
	// Rows written in plain RFC 3339 before the one layout still read.
	var old sqlite.Time
	if err := old.Scan("2025-03-04T05:06:07Z"); err != nil || time.Time(old).Year() != 2025 {
		t.Errorf("RFC 3339 row: %v, %v", time.Time(old), err)
	}
	// Text that is no time is an error, not a zero time.
	if err := db.QueryRowContext(ctx, "SELECT 'yesterday'").Scan(&old); err == nil {
		t.Error("'yesterday' scanned as a time")
	}
}

// A database file is its program's alone, however it was created: one
// copied in readable by all is made private when opened.
func TestDatabaseFilesArePrivate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Chmod(path, 0o644)
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range []string{path, path + "-wal"} {
		st, err := os.Stat(f)
		if err != nil {
			continue
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", filepath.Base(f), st.Mode().Perm())
		}
	}
}
