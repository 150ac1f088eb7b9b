// Package health is what a program checks before it says it is ready to
// serve: that its database takes a write, that its keys are loaded, and
// that its disk has room. Each check says what is wrong in words an
// operator can act on.
package health

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"time"

	"chancery/shared/sqlite"
)

// Check is one thing a program needs to serve.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Result is a check's outcome.
type Result struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Run runs the checks, each within a few seconds, and reports whether all
// passed.
func Run(ctx context.Context, checks []Check) ([]Result, bool) {
	ok := true
	var out []Result
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Run(cctx)
		cancel()
		r := Result{Name: c.Name, OK: err == nil}
		if err != nil {
			r.Error, ok = err.Error(), false
		}
		out = append(out, r)
	}
	return out, ok
}

// Writable checks that the database takes a write and commits it: one
// row of the table health, written again each time.
func Writable(db *sql.DB) Check {
	return Check{Name: "database", Run: func(ctx context.Context) error {
		if _, err := db.ExecContext(ctx, "INSERT INTO health (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at", sqlite.Time(time.Now())); err != nil {
			if sqlite.IsFull(err) {
				return fmt.Errorf("the disk is full: free some space; what was saved is safe (%v)", err)
			}
			return fmt.Errorf("the database takes no write: check that its disk is mounted read-write and healthy (%v)", err)
		}
		return nil
	}}
}

// DiskOf is Disk for the folder of db's main file.
func DiskOf(db *sql.DB) Check {
	return Check{Name: "disk", Run: func(ctx context.Context) error {
		var seq int
		var name, file string
		if err := db.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
			return fmt.Errorf("cannot find the database's file: %v", err)
		}
		return Disk(filepath.Dir(file)).Run(ctx)
	}}
}

// MinFree is the free space below which a program is not ready: room
// for a few large pouches and a backup's working copy.
const MinFree = 64 << 20

// Disk checks that the disk holding dir has MinFree bytes free.
func Disk(dir string) Check {
	return Check{Name: "disk", Run: func(ctx context.Context) error {
		free, err := Free(dir)
		if err != nil {
			return fmt.Errorf("cannot read the free space of %s: %v", dir, err)
		}
		if free < MinFree {
			return fmt.Errorf("only %d MB free on the disk of %s: free some space (at least %d MB)", free>>20, dir, MinFree>>20)
		}
		return nil
	}}
}
