// Package doctor is the frame of the programs' doctor commands: a list
// of checks, each either fine or a problem that says what to do, and an
// exit status that says whether any was found.
package doctor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"chancery/shared/backup"
	"chancery/shared/health"
)

// Report writes each check's outcome as it is found.
type Report struct {
	W        io.Writer
	problems int
}

// OK says a check found nothing wrong.
func (r *Report) OK(name, format string, args ...any) {
	fmt.Fprintf(r.W, "ok       %-10s %s\n", name, fmt.Sprintf(format, args...))
}

// Problem says what a check found, and what to do about it.
func (r *Report) Problem(name, format string, args ...any) {
	r.problems++
	fmt.Fprintf(r.W, "PROBLEM  %-10s %s\n", name, fmt.Sprintf(format, args...))
}

// ErrProblems is the outcome of a report that found something.
var ErrProblems = errors.New("the doctor found problems; each says what to do")

// End sums up: nil if nothing was found.
func (r *Report) End() error {
	if r.problems == 0 {
		fmt.Fprintln(r.W, "Nothing wrong found.")
		return nil
	}
	fmt.Fprintf(r.W, "%d problem(s) found.\n", r.problems)
	return ErrProblems
}

// Open says what an error opening the database means: a damaged file
// is named as such, with what to do.
func Open(err error) string {
	m := err.Error()
	if strings.Contains(m, "malformed") || strings.Contains(m, "not a database") || strings.Contains(m, "corrupt") {
		return fmt.Sprintf("the database does not open (%s): it is damaged; stop the program and restore the last backup (restore keeps the damaged file beside it)", m)
	}
	return m
}

// Integrity runs SQLite's integrity check on db.
func Integrity(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("the database cannot be checked (%v): it is damaged; restore the last backup", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			found = append(found, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("the database cannot be checked (%v): it is damaged; restore the last backup", err)
	}
	if len(found) > 0 {
		if len(found) > 3 {
			found = append(found[:3], "…")
		}
		return fmt.Errorf("the database is damaged (%s): stop the program and restore the last backup (restore keeps the damaged file beside it)", strings.Join(found, "; "))
	}
	return nil
}

// Disk says whether the disk of the data folder has room: below
// health.MinFree the program stops taking work (stops is what it stops
// doing, such as "the agent stops taking work"); clutter names what may be
// cleared.
func (r *Report) Disk(data, clutter, stops string) {
	free, err := health.Free(data)
	switch {
	case err != nil:
		r.Problem("disk", "cannot read the free space of %s (%v): check that the data folder exists", data, err)
	case free < health.MinFree:
		r.Problem("disk", "only %d MB free on the disk of %s: free some space (%s); below %d MB %s", free>>20, data, clutter, health.MinFree>>20, stops)
	default:
		r.OK("disk", "%d MB free", free>>20)
	}
}

// Backups says how old the newest scheduled backup is: b's folder (or
// data's backups folder) holds them, named by prefix; by hand is the
// command that takes one without a schedule.
func (r *Report) Backups(b backup.Config, data, prefix, byHand string) {
	dir := b.Dir
	if dir == "" {
		dir = filepath.Join(data, "backups")
	}
	kept, _ := backup.Kept(dir, prefix)
	if len(kept) == 0 {
		if b.Schedule == "" {
			r.Problem("backup", "no scheduled backups in %s: set backup-schedule and backup-recipient, or take them by hand (%s) and keep them off this machine", dir, byHand)
		} else {
			r.Problem("backup", "no backup in %s yet although backup-schedule is %q: the program's log says why a backup failed", dir, b.Schedule)
		}
		return
	}
	newest := kept[len(kept)-1]
	fi, err := os.Stat(newest)
	if err != nil {
		r.Problem("backup", "%v", err)
		return
	}
	if age := time.Since(fi.ModTime()); age > 48*time.Hour {
		r.Problem("backup", "the newest backup, %s, is %d days old: check that the schedule runs (the program's log says why a backup failed)", newest, int(age.Hours()/24))
		return
	}
	r.OK("backup", "newest %s, %s old", filepath.Base(newest), time.Since(fi.ModTime()).Round(time.Minute))
}
