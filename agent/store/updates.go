package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"chancery/shared/changelog"
	"chancery/shared/framework"
	"chancery/shared/problem"
	"chancery/shared/protocol"
	"chancery/web/account"
)

// Settings that record the updates from HQ in force.
const (
	MetaUpdateVersion = "update_version" // the release in force
	MetaUpdateExpires = "update_expires" // when it expires (RFC 3339)
	MetaUpdateError   = "update_error"   // why the last release was refused, if it was
)

// UpdateState is the release in force.
type UpdateState struct {
	Version int64
	Expires time.Time
	Error   string
}

// Update returns the release in force.
func (d *DB) Update(ctx context.Context) (UpdateState, error) {
	var s UpdateState
	v, err := d.Meta(ctx, MetaUpdateVersion, "0")
	if err != nil {
		return s, err
	}
	s.Version, _ = strconv.ParseInt(v, 10, 64)
	e, _ := d.Meta(ctx, MetaUpdateExpires, "")
	s.Expires, _ = time.Parse(time.RFC3339, e)
	s.Error, _ = d.Meta(ctx, MetaUpdateError, "")
	return s, nil
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
			return problem.Errorf(problem.Invalid, "%s", err)
		}
		var cur int
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM protocols WHERE id = ?", doc.ID).Scan(&cur); err != nil {
			return err
		}
		if doc.Version <= cur {
			return problem.Errorf(problem.Conflict, "protocol %s version %d is not newer than the version in force (%d)", doc.ID, doc.Version, cur)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO protocols (id, version, title, category, body, note, issued_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			doc.ID, doc.Version, doc.Title, doc.Category, doc.Body, doc.Note, doc.Issued.UTC().Format(time.RFC3339), now.Format(time.RFC3339)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM protocols_fts WHERE id = ?", doc.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO protocols_fts (id, title, body) VALUES (?, ?, ?)", doc.ID, doc.Title, doc.Body); err != nil {
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
		if f.Version <= d.Framework().Version {
			return problem.Errorf(problem.Conflict, "framework version %d is not newer than the version in force (%d)", f.Version, d.Framework().Version)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO frameworks (version, body, received_at) VALUES (?, ?, ?)", f.Version, string(body), now.Format(time.RFC3339)); err != nil {
			return err
		}
		if err := account.Audit(ctx, tx, account.Actor{Username: "HQ", Remote: "update"}, "framework.install", fmt.Sprintf("version %d", f.Version), ""); err != nil {
			return err
		}
	}
	for k, v := range map[string]string{MetaUpdateVersion: strconv.FormatInt(version, 10), MetaUpdateExpires: expires.UTC().Format(time.RFC3339), MetaUpdateError: ""} {
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", k, v); err != nil {
			return err
		}
	}
	if report != nil {
		if err := appendChange(ctx, tx, changelog.EntityUpdate, strconv.FormatInt(version, 10), report, now); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if len(frameworks) > 0 {
		return d.loadFramework(ctx)
	}
	return nil
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

// RefuseUpdate records why a release was refused, for the people at the
// mission (a banner) and for HQ (a report in the change log).
func (d *DB) RefuseUpdate(ctx context.Context, version int64, reason string, report any) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", MetaUpdateError, reason); err != nil {
		return err
	}
	if err := appendChange(ctx, tx, changelog.EntityUpdate, strconv.FormatInt(version, 10), report, d.Now()); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, account.Actor{Username: "HQ", Remote: "update"}, "update.refused", strconv.FormatInt(version, 10), reason); err != nil {
		return err
	}
	return tx.Commit()
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
