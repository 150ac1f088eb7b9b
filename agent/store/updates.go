package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/framework"
	"chancery/shared/problem"
	"chancery/shared/protocol"
	"chancery/shared/sqlite"
)

// UpdateState is where the mission stands with HQ's releases.
type UpdateState struct {
	// Version and Expires are the release in force.
	Version int64
	Expires time.Time
	// Error is why the last release was refused, if it was; Failed is
	// that release's version (-1 if none was), Failures how many times in
	// a row it was refused, and RetryAt when it may be tried again.
	Error    string
	Failed   int64
	Failures int
	RetryAt  time.Time
}

// Update returns where the mission stands with HQ's releases.
func (d *DB) Update(ctx context.Context) (UpdateState, error) {
	return readUpdate(ctx, d.sql)
}

func readUpdate(ctx context.Context, q queryer) (UpdateState, error) {
	var s UpdateState
	err := q.QueryRowContext(ctx, "SELECT version, expires, error, failed_version, failures, retry_at FROM update_state WHERE id = 1").
		Scan(&s.Version, (*sqlite.NullTime)(&s.Expires), &s.Error, &s.Failed, &s.Failures, (*sqlite.NullTime)(&s.RetryAt))
	if errors.Is(err, sql.ErrNoRows) {
		return UpdateState{Failed: -1}, nil
	}
	if err != nil {
		return s, fmt.Errorf("read the release state: %w", err)
	}
	return s, nil
}

func writeUpdate(ctx context.Context, tx *sql.Tx, s UpdateState) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO update_state (id, version, expires, error, failed_version, failures, retry_at) VALUES (1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, expires = excluded.expires, error = excluded.error,
		failed_version = excluded.failed_version, failures = excluded.failures, retry_at = excluded.retry_at`,
		s.Version, sqlite.NullTime(s.Expires), s.Error, s.Failed, s.Failures, sqlite.NullTime(s.RetryAt))
	return err
}

// HasProtocol reports whether the library holds a version of a protocol.
func (d *DB) HasProtocol(ctx context.Context, id string, version int) (bool, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, "SELECT count(*) FROM protocols WHERE id = ? AND version = ?", id, version).Scan(&n)
	return n > 0, err
}

// ApplyUpdate puts a verified release in force in one transaction: its
// new documents, its version and expiry, and a report for HQ in the
// change log. A document older than the one in force refuses the whole
// release.
func (d *DB) ApplyUpdate(ctx context.Context, version int64, expires time.Time, docs []protocol.Document, frameworks [][]byte, report any) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := d.Now().UTC()
	for _, doc := range docs {
		if err := doc.Check(); err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM protocols WHERE id = ?", doc.ID).Scan(&cur); err != nil {
			return err
		}
		if doc.Version <= cur {
			return problem.New(problem.Conflict, "update.protocol_not_newer", "ID", doc.ID, "Version", doc.Version, "Current", cur)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO protocols (id, version, title, category, body, note, issued_at, received_at, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			doc.ID, doc.Version, doc.Title, doc.Category, doc.Body, doc.Note, sqlite.Time(doc.Issued), sqlite.Time(now), texts(doc)); err != nil {
			return err
		}
		if err := index(ctx, tx, doc); err != nil {
			return err
		}
		if err := account.Audit(ctx, tx, account.Actor{Username: "HQ", Remote: "update"}, "protocol.install", doc.ID, fmt.Sprintf("version %d", doc.Version)); err != nil {
			return err
		}
	}
	for _, body := range frameworks {
		f, err := framework.Parse(body)
		if err != nil {
			return problem.Errorf(problem.Invalid, "%s", err)
		}
		var held int
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM frameworks").Scan(&held); err != nil {
			return err
		}
		if inForce := max(held, framework.Builtin().Version); f.Version <= inForce {
			return problem.New(problem.Conflict, "update.framework_not_newer", "Version", f.Version, "Current", inForce)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO frameworks (version, body, received_at) VALUES (?, ?, ?)", f.Version, string(body), sqlite.Time(now)); err != nil {
			return err
		}
		if err := account.Audit(ctx, tx, account.Actor{Username: "HQ", Remote: "update"}, "framework.install", fmt.Sprintf("version %d", f.Version), ""); err != nil {
			return err
		}
	}
	if err := writeUpdate(ctx, tx, UpdateState{Version: version, Expires: expires, Failed: -1}); err != nil {
		return err
	}
	if report != nil {
		if err := appendChange(ctx, tx, changelog.EntityUpdate, strconv.FormatInt(version, 10), report, now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// HasFramework reports whether the mission holds a framework version.
func (d *DB) HasFramework(ctx context.Context, version int) (bool, error) {
	if version <= framework.Builtin().Version {
		return true, nil
	}
	var n int
	err := d.sql.QueryRowContext(ctx, "SELECT count(*) FROM frameworks WHERE version = ?", version).Scan(&n)
	return n > 0, err
}

// RefuseUpdate records that a release was refused and why, for the
// people at the mission (a banner) and for HQ: report goes into the change
// log the first time the release is refused, and again only if it is
// refused for another reason. The release may be tried again after
// backoff(n), n being how many times in a row it was refused. The release
// in force stays as it is. It says whether report was logged.
func (d *DB) RefuseUpdate(ctx context.Context, version int64, reason string, backoff func(failures int) time.Duration, report any) (bool, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	st, err := readUpdate(ctx, tx)
	if err != nil {
		return false, err
	}
	again := st.Failed == version
	first := !again || st.Error != reason
	if again {
		st.Failures++
	} else {
		st.Failures = 1
	}
	st.Error, st.Failed, st.RetryAt = reason, version, d.Now().Add(backoff(st.Failures))
	if err := writeUpdate(ctx, tx, st); err != nil {
		return false, err
	}
	if !first {
		return false, tx.Commit()
	}
	if err := appendChange(ctx, tx, changelog.EntityUpdate, strconv.FormatInt(version, 10), report, d.Now()); err != nil {
		return false, err
	}
	if err := account.Audit(ctx, tx, account.Actor{Username: "HQ", Remote: "update"}, "update.refused", strconv.FormatInt(version, 10), reason); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// KeepDocuments stores release documents by their SHA-256 (hex), as
// received; one already held is left as it is.
func (d *DB) KeepDocuments(ctx context.Context, docs map[string][]byte) error {
	for sum, body := range docs {
		if _, err := d.sql.ExecContext(ctx, "INSERT INTO documents (sha256, body) VALUES (?, ?) ON CONFLICT DO NOTHING", sum, body); err != nil {
			return err
		}
	}
	return nil
}

// Document returns a release document by its SHA-256 (hex); nil if none
// is held.
func (d *DB) Document(ctx context.Context, sum string) ([]byte, error) {
	var body []byte
	err := d.sql.QueryRowContext(ctx, "SELECT body FROM documents WHERE sha256 = ?", sum).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return body, err
}
