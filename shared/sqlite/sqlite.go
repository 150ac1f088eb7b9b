// Package sqlite opens Chancery's SQLite databases the one way they are
// opened: durable settings on every pooled connection, an integrity check
// at start, and embedded forward-only migrations.
//
// The pragmas sit in the DSN, not in a one-off statement, because
// database/sql opens connections lazily and each must carry them:
// foreign keys on, WAL journal, synchronous FULL (a committed transaction
// survives power loss), a busy timeout, and IMMEDIATE write transactions
// so that two writers queue instead of failing halfway.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go driver, registered as "sqlite"

	"chancery/shared/problem"
)

// DSN returns the data source name for the database file at path.
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// MaxConns bounds the connections to one database. SQLite serves its
// readers in parallel under WAL, and a handful per core keeps them busy.
const MaxConns = 32

// Open opens (creating if needed) the database at path, checks its
// settings and integrity, and applies the migrations of sources as
// [Migrate] orders them.
func Open(ctx context.Context, path string, sources ...fs.FS) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data folder: %w", err)
	}
	db, err := sql.Open(driverName, DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Opening a connection runs every pragma again and parses every
	// statement afresh. Under a burst (a thousand missions syncing at
	// once) an unbounded pool opened one per request and closed them
	// after, and the parsing took most of the time: a bounded pool, kept
	// open, makes requests wait their turn for a connection instead. No
	// code holds one connection while asking for another, so the bound
	// cannot deadlock.
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	if err := check(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	// The files hold the program's records and keys: its own to read,
	// however they were created or copied in.
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("sqlite: make %s private: %w", f, err)
		}
	}
	if err := Migrate(ctx, db, sources...); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return db, nil
}

// check reads the settings back, since a DSN typo is silently ignored by
// SQLite, and runs quick_check.
func check(ctx context.Context, db *sql.DB) error {
	var mode string
	var sync, fk int
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return fmt.Errorf("read synchronous: %w", err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	if mode != "wal" || sync != 2 || fk != 1 {
		return fmt.Errorf("settings not in force (journal_mode=%s synchronous=%d foreign_keys=%d)", mode, sync, fk)
	}
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("database is damaged (%s); restore it from a backup", strings.Join(problems, "; "))
	}
	return nil
}

type migration struct {
	name string
	src  fs.FS
}

// Migrate applies the migrations of each source in turn: every .sql file
// of the first source in name order, then those of the second, and so on.
// Each file runs once, in a transaction of its own, and its name is
// recorded in the migrations table.
//
// The rule that keeps fresh and upgraded databases alike: a source lists
// the sources it builds on before it (the accounts before a program's own
// tables), and a migration may rely only on earlier files of its own
// source and on sources listed before it. A fresh database runs a source
// whole before the next; an upgraded one runs a new file of an early
// source after the later sources' older files; under the rule both end
// with the same schema, which [Schema] lets a test check. File names are
// unique across sources, since the table records the bare name.
func Migrate(ctx context.Context, db *sql.DB, sources ...fs.FS) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	var all []migration
	seen := map[string]bool{}
	for _, src := range sources {
		names, err := fs.Glob(src, "*.sql") // sorted by name
		if err != nil {
			return err
		}
		for _, n := range names {
			if seen[n] {
				return fmt.Errorf("migration %s appears in two sources", n)
			}
			seen[n] = true
			all = append(all, migration{n, src})
		}
	}
	for _, m := range all {
		if err := apply(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}

// Schema returns the database's tables, indexes and triggers as their
// CREATE statements in name order, with the bookkeeping of migrations
// left out: two databases with equal Schema have the same structure.
func Schema(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, `SELECT type, name, coalesce(sql, '') FROM sqlite_schema
		WHERE name NOT LIKE 'sqlite_%' AND name != 'migrations' ORDER BY type, name`)
	if err != nil {
		return "", fmt.Errorf("sqlite: read schema: %w", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			return "", fmt.Errorf("sqlite: read schema: %w", err)
		}
		fmt.Fprintf(&b, "%s %s\n%s\n\n", typ, name, text)
	}
	return b.String(), rows.Err()
}

func apply(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM migrations WHERE name = ?", m.name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(m.src, m.name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
		m.name, Time(time.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// Backup writes a consistent copy of the live database to path with
// VACUUM INTO; copying the files of a database in use is not safe.
func Backup(ctx context.Context, db *sql.DB, path string) error {
	if _, err := os.Stat(path); err == nil {
		return errors.New("sqlite: backup target already exists")
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// ErrFull is what a write that found the disk full is answered with: a
// problem people can act on, not a bare 500. The transaction it ended
// changed nothing; once there is room, everything goes on.
var ErrFull = problem.New(problem.Unavailable, "error.disk_full")

// IsFull reports whether err is SQLite's "database or disk is full".
func IsFull(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == sqliteFull
}

const sqliteFull = 13 // SQLITE_FULL
