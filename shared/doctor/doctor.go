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
	"chancery/shared/i18n"
	"chancery/shared/problem"
)

// Report writes each check's outcome as it is found, in P's language
// (English if nil).
type Report struct {
	W        io.Writer
	P        *i18n.Printer
	problems int
}

func (r *Report) p() *i18n.Printer {
	if r.P == nil {
		return i18n.English()
	}
	return r.P
}

// OK says a check found nothing wrong: the catalog message key, with its
// parameters.
func (r *Report) OK(name, key string, args ...any) {
	fmt.Fprintf(r.W, "%-8s %-10s %s\n", r.p().T("doctor.ok"), name, r.p().T(key, args...))
}

// Problem says what a check found, and what to do about it.
func (r *Report) Problem(name, key string, args ...any) {
	r.problems++
	fmt.Fprintf(r.W, "%-8s %-10s %s\n", r.p().T("doctor.problem"), name, r.p().T(key, args...))
}

// ErrProblems is the outcome of a report that found something.
var ErrProblems = errors.New("the doctor found problems; each says what to do")

// End sums up: nil if nothing was found.
func (r *Report) End() error {
	if r.problems == 0 {
		fmt.Fprintln(r.W, r.p().T("doctor.nothing"))
		return nil
	}
	fmt.Fprintln(r.W, r.p().T("doctor.found", "Count", r.problems))
	return ErrProblems
}

// Open says what an error opening the database means: a damaged file
// is named as such, with what to do.
func Open(err error) error {
	m := err.Error()
	if strings.Contains(m, "malformed") || strings.Contains(m, "not a database") || strings.Contains(m, "corrupt") {
		return problem.New(problem.Invalid, "doctor.damaged_open", "Why", m)
	}
	return err
}

// Integrity runs SQLite's integrity check on db.
func Integrity(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return problem.New(problem.Invalid, "doctor.unchecked", "Why", err)
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
		return problem.New(problem.Invalid, "doctor.unchecked", "Why", err)
	}
	if len(found) > 0 {
		if len(found) > 3 {
			found = append(found[:3], "…")
		}
		return problem.New(problem.Invalid, "doctor.damaged", "Why", strings.Join(found, "; "))
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
		r.Problem("disk", "doctor.disk_unread", "Data", data, "Why", err)
	case free < health.MinFree:
		r.Problem("disk", "doctor.disk_low", "Free", fmt.Sprint(free>>20), "Data", data, "Clutter", i18n.Key(clutter), "Min", fmt.Sprint(health.MinFree>>20), "Stops", i18n.Key(stops))
	default:
		r.OK("disk", "doctor.disk_ok", "Free", fmt.Sprint(free>>20))
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
			r.Problem("backup", "doctor.no_schedule", "Dir", dir, "ByHand", byHand)
		} else {
			r.Problem("backup", "doctor.no_backup_yet", "Dir", dir, "Schedule", b.Schedule)
		}
		return
	}
	newest := kept[len(kept)-1]
	fi, err := os.Stat(newest)
	if err != nil {
		r.Problem("backup", "doctor.error", "Why", err)
		return
	}
	if age := time.Since(fi.ModTime()); age > 48*time.Hour {
		r.Problem("backup", "doctor.backup_old", "Newest", newest, "Days", fmt.Sprint(int(age.Hours()/24)))
		return
	}
	r.OK("backup", "doctor.backup_ok", "Newest", filepath.Base(newest), "Age", r.p().Span(time.Since(fi.ModTime())))
}
