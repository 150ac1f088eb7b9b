package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/framework"
	"chancery/shared/problem"
	"chancery/shared/protocol"
	"chancery/shared/sqlite"
)

// Kinds of publication. They are the names a release gives its
// documents' kinds (exchange.KindProtocol, exchange.KindFramework), so
// a publication's kind travels as it is.
const (
	KindProtocol  = "protocol"
	KindFramework = "framework"
)

// Publication is one published version of a document.
type Publication struct {
	Seq  int64
	Kind string // KindProtocol or KindFramework
	Doc  protocol.Document
	// Body is the document's JSON as published: the bytes a release's
	// hash and length are of.
	Body []byte
	// Framework is the framework the body holds, for a publication of
	// the framework; nil for a protocol.
	Framework   *framework.Framework
	Scope       string
	Builtin     bool
	PublishedAt time.Time
	PublishedBy string
}

// Scope values: "all", "region:NAME", "missions:A,B".

// InScope reports whether a scope includes a mission.
func InScope(scope string, m Mission) bool {
	switch {
	case scope == "all":
		return true
	case strings.HasPrefix(scope, "region:"):
		return m.Region == strings.TrimPrefix(scope, "region:")
	case strings.HasPrefix(scope, "missions:"):
		for _, c := range strings.Split(strings.TrimPrefix(scope, "missions:"), ",") {
			if strings.TrimSpace(c) == m.Code {
				return true
			}
		}
	}
	return false
}

// CheckScope validates a scope written by a protocol owner.
func CheckScope(scope string) error {
	switch {
	case scope == "all":
		return nil
	case strings.HasPrefix(scope, "region:") && len(scope) > len("region:"):
		return nil
	case strings.HasPrefix(scope, "missions:"):
		for _, c := range strings.Split(strings.TrimPrefix(scope, "missions:"), ",") {
			if !codeRE.MatchString(strings.TrimSpace(c)) {
				return problem.New(problem.Invalid, "scope.bad_code", "Code", strings.TrimSpace(c))
			}
		}
		return nil
	}
	return problem.New(problem.Invalid, "scope.bad")
}

// SeedLibrary publishes each protocol every agent ships with, once: at
// HQ's first start, and, after an upgrade that brings a new one, at the
// next start, so that HQ's library and the agents' agree.
func (d *DB) SeedLibrary(ctx context.Context) error {
	for _, doc := range protocol.Defaults() {
		var n int
		if err := d.sql.QueryRowContext(ctx, "SELECT count(*) FROM publications WHERE kind = ? AND doc_id = ?", KindProtocol, doc.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := d.publish(ctx, account.System, doc, "all", true); err != nil {
			return err
		}
	}
	return nil
}

// Publish publishes a new version of a protocol to the missions in scope.
// Its version is one more than the last published.
func (d *DB) Publish(ctx context.Context, by account.Actor, doc protocol.Document, scope string) (Publication, error) {
	if err := CheckScope(scope); err != nil {
		return Publication{}, err
	}
	return d.publish(ctx, by, doc, scope, false)
}

// publish writes a protocol's next version; builtin ones keep the version
// they ship with.
func (d *DB) publish(ctx context.Context, by account.Actor, doc protocol.Document, scope string, builtin bool) (Publication, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return Publication{}, err
	}
	defer tx.Rollback()
	now := d.Now().UTC()
	if !builtin {
		var last int
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM publications WHERE kind = ? AND doc_id = ?", KindProtocol, doc.ID).Scan(&last); err != nil {
			return Publication{}, err
		}
		doc.Version = last + 1
		doc.Issued = now.Truncate(time.Second)
		if err := doc.Check(); err != nil {
			return Publication{}, err
		}
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return Publication{}, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO publications (kind, doc_id, version, body, scope, builtin, published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		KindProtocol, doc.ID, doc.Version, string(body), scope, builtin, sqlite.Time(now), by.Username)
	if err != nil {
		return Publication{}, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return Publication{}, err
	}
	if err := account.Audit(ctx, tx, by, "publish", doc.ID, fmt.Sprintf("version %d to %s", doc.Version, scope)); err != nil {
		return Publication{}, err
	}
	return Publication{Seq: seq, Kind: KindProtocol, Doc: doc, Body: body, Scope: scope, Builtin: builtin, PublishedAt: now, PublishedBy: by.Username}, tx.Commit()
}

const pubCols = "seq, kind, body, scope, builtin, published_at, published_by"

func scanPub(r interface{ Scan(...any) error }) (Publication, error) {
	var p Publication
	var body string
	if err := r.Scan(&p.Seq, &p.Kind, &body, &p.Scope, &p.Builtin, (*sqlite.Time)(&p.PublishedAt), &p.PublishedBy); err != nil {
		return p, err
	}
	p.Body = []byte(body)
	if p.Kind == KindFramework {
		f, err := framework.Parse(p.Body)
		if err != nil {
			return p, fmt.Errorf("the published framework (publication %d) in the database is damaged: %w", p.Seq, err)
		}
		p.Framework, p.Doc = f, frameworkDoc(f)
		return p, nil
	}
	return p, json.Unmarshal(p.Body, &p.Doc)
}

// Publications lists every publication, newest first, optionally of one
// document.
func (d *DB) Publications(ctx context.Context, docID string) ([]Publication, error) {
	q := "SELECT " + pubCols + " FROM publications"
	args := []any{}
	if docID != "" {
		q += " WHERE doc_id = ?"
		args = append(args, docID)
	}
	rows, err := d.sql.QueryContext(ctx, q+" ORDER BY seq DESC", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Publication
	for rows.Next() {
		p, err := scanPub(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UpdateState is where a mission stands with HQ's releases.
type UpdateState struct {
	SentVersion, AppliedVersion, FailedVersion int64
	SentAt, SentExpires, AppliedAt, FailedAt   *time.Time
	FailedReason                               string
}

// MissionUpdate returns a mission's update state. Every reply asks, so it
// is kept in memory, and forgotten when the mission reports on a release.
func (d *DB) MissionUpdate(ctx context.Context, mission string) (UpdateState, error) {
	if st, ok := d.updates.Load(mission); ok {
		return st.(UpdateState), nil
	}
	all, err := d.missionUpdates(ctx, "WHERE mission = ?", mission)
	if err == nil {
		d.updates.Store(mission, all[mission])
	}
	return all[mission], err
}

// MissionUpdates returns every mission's update state.
func (d *DB) MissionUpdates(ctx context.Context) (map[string]UpdateState, error) {
	return d.missionUpdates(ctx, "")
}

func (d *DB) missionUpdates(ctx context.Context, where string, args ...any) (map[string]UpdateState, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT mission, sent_version, sent_at, sent_expires, applied_version, applied_at, failed_version, failed_at, failed_reason FROM mission_updates `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]UpdateState{}
	for rows.Next() {
		var m string
		var s UpdateState
		var sentAt, sentExp, appliedAt, failedAt sqlite.NullTime
		if err := rows.Scan(&m, &s.SentVersion, &sentAt, &sentExp, &s.AppliedVersion, &appliedAt, &s.FailedVersion, &failedAt, &s.FailedReason); err != nil {
			return nil, err
		}
		s.SentAt, s.SentExpires, s.AppliedAt, s.FailedAt = sentAt.Ptr(), sentExp.Ptr(), appliedAt.Ptr(), failedAt.Ptr()
		out[m] = s
	}
	return out, rows.Err()
}

// Sending notes that HQ's reply to a mission carries release Version,
// valid until Expires.
type Sending struct {
	Mission string
	Version int64
	Expires time.Time
}

// Sent records the releases HQ's replies carry, in one transaction.
func (d *DB) Sent(ctx context.Context, notes ...Sending) error {
	now := sqlite.Time(d.Now())
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, n := range notes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mission_updates (mission, sent_version, sent_at, sent_expires) VALUES (?, ?, ?, ?)
		ON CONFLICT (mission) DO UPDATE SET sent_version = excluded.sent_version, sent_at = excluded.sent_at, sent_expires = excluded.sent_expires`,
			n.Mission, n.Version, now, sqlite.Time(n.Expires)); err != nil {
			return err
		}
	}
	err = tx.Commit()
	for _, n := range notes {
		d.updates.Delete(n.Mission)
	}
	return err
}

// applyUpdateReport records a mission's report on a release.
func applyUpdateReport(ctx context.Context, tx *sql.Tx, mission string, r changelog.UpdateReport) error {
	at := sqlite.Time(r.At)
	if _, err := tx.ExecContext(ctx, "INSERT INTO mission_updates (mission) VALUES (?) ON CONFLICT DO NOTHING", mission); err != nil {
		return err
	}
	var err error
	switch r.Status {
	case changelog.UpdateApplied:
		_, err = tx.ExecContext(ctx, "UPDATE mission_updates SET applied_version = max(applied_version, ?), applied_at = ? WHERE mission = ?", r.Release, at, mission)
		if err == nil && r.Framework > 0 {
			// Reports apply in the mission's sequence order: the last one
			// says which framework the mission has now.
			_, err = tx.ExecContext(ctx, "UPDATE missions SET framework = ? WHERE code = ?", r.Framework, mission)
		}
	case changelog.UpdateFailed:
		_, err = tx.ExecContext(ctx, "UPDATE mission_updates SET failed_version = ?, failed_at = ?, failed_reason = ? WHERE mission = ?", r.Release, at, r.Reason, mission)
	default:
		err = errors.New("unknown update status " + r.Status)
	}
	return err
}

// AckCounts returns, per mission, how many people acknowledged a version.
func (d *DB) AckCounts(ctx context.Context, protocolID string, version int) (map[string]int, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT mission, count(*) FROM acks WHERE protocol = ? AND version = ? GROUP BY mission", protocolID, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var m string
		var n int
		if err := rows.Scan(&m, &n); err != nil {
			return nil, err
		}
		out[m] = n
	}
	return out, rows.Err()
}

// PublishFramework publishes a new version of the capability framework.
// Its version must be above the one in force, and every item of earlier
// versions that it drops must be mapped in its renamed list, or the
// answers to it would silently stop counting. What is stored, hashed and
// sent is the framework's canonical encoding, not the bytes given.
func (d *DB) PublishFramework(ctx context.Context, by account.Actor, body []byte, scope string) (Publication, error) {
	if err := CheckScope(scope); err != nil {
		return Publication{}, err
	}
	f, err := framework.Parse(body)
	if err == nil {
		err = f.Publishable()
	}
	if err != nil {
		return Publication{}, problem.Errorf(problem.Invalid, "%s", err)
	}
	body = f.Encode()
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return Publication{}, err
	}
	defer tx.Rollback()
	cur := framework.Builtin()
	var last sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT body FROM publications WHERE kind = ? ORDER BY version DESC LIMIT 1", KindFramework).Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Publication{}, err
	}
	if last.Valid {
		got, err := framework.Parse([]byte(last.String))
		if err != nil {
			return Publication{}, fmt.Errorf("the published framework in the database is damaged: %w", err)
		}
		if got.Version > cur.Version {
			cur = got
		}
	}
	if err := CheckSuccessor(cur, f); err != nil {
		return Publication{}, err
	}
	now := d.Now().UTC()
	res, err := tx.ExecContext(ctx, `INSERT INTO publications (kind, doc_id, version, body, scope, builtin, published_at, published_by) VALUES (?, 'framework', ?, ?, ?, 0, ?, ?)`,
		KindFramework, f.Version, string(body), scope, sqlite.Time(now), by.Username)
	if err != nil {
		return Publication{}, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return Publication{}, err
	}
	if err := account.Audit(ctx, tx, by, "publish", "framework", fmt.Sprintf("version %d to %s", f.Version, scope)); err != nil {
		return Publication{}, err
	}
	if err := tx.Commit(); err != nil {
		return Publication{}, err
	}
	return Publication{Seq: seq, Kind: KindFramework, Doc: frameworkDoc(f), Body: body, Framework: f, Scope: scope, PublishedAt: now, PublishedBy: by.Username}, nil
}

// CheckSuccessor checks that next may follow cur, the version in force:
// its version is above, and each of cur's items is kept or renamed.
func CheckSuccessor(cur, next *framework.Framework) error {
	if next.Version <= cur.Version {
		return problem.New(problem.Conflict, "publish.framework_not_above", "Version", next.Version, "Current", cur.Version)
	}
	for _, it := range cur.Items {
		if _, ok := next.Current(it.ID); !ok {
			return problem.New(problem.Invalid, "publish.item_dropped", "Item", it.ID, "Version", cur.Version, "Next", next.Version)
		}
	}
	return nil
}

// frameworkDoc describes a framework version for the library's pages.
func frameworkDoc(f *framework.Framework) protocol.Document {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s, version %d\n\n%d checklist items in %d areas, evidencing %d models.\n", f.Title, f.Version, len(f.Items), len(f.Areas), len(f.Models))
	if len(f.Renamed) > 0 {
		b.WriteString("\n## Items renamed from earlier versions\n\n")
		for old, id := range f.Renamed {
			fmt.Fprintf(&b, "- %s → %s\n", old, id)
		}
	}
	return protocol.Document{ID: "framework", Title: "Capability framework", Category: "Capability framework", Version: f.Version, Body: b.String()}
}
