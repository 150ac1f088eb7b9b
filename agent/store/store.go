// Package store is the mission's database: one SQLite file holding the
// accounts, the current assessment, the signed-off snapshots, the audit
// log and the change log.
//
// Every change to a record the mission owns goes through a method here
// that writes the record, appends a [changelog.Change] carrying its new
// state, and appends an audit entry, all in one transaction: either all
// three are on disk or none is. [DB.Apply] replays changes, so a copy of
// the log rebuilds the same records elsewhere.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/clock"
	"chancery/shared/evidence"
	"chancery/shared/framework"
	"chancery/shared/incident"
	"chancery/shared/problem"
	"chancery/shared/readiness"
	"chancery/shared/secret"
	"chancery/shared/sqlite"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are this store's own tables. They build on
// [account.Migrations], which [Open] applies first.
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// DB is an open mission database.
type DB struct {
	sql  *sql.DB
	path string
	// fw is the framework in force, as last read (see Framework).
	fw atomic.Pointer[inForce]
	// Now is the clock; tests set it.
	Now func() time.Time
	// box seals the private keys kept in the link record.
	box *secret.Box
}

// Open opens or creates the database at path and brings its schema up to
// date. The mission's private keys are sealed under the key file beside
// it (KeyFile), made at first use.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWithKeyFile(ctx, path, KeyFile(path))
}

// KeyFile is where the key file of the database at path is by default.
func KeyFile(path string) string { return filepath.Join(filepath.Dir(path), "keys.key") }

// OpenWithKeyFile is Open with the key file elsewhere (another disk, a
// systemd credential). It is made if it does not exist only while the
// database holds no sealed key yet.
func OpenWithKeyFile(ctx context.Context, path, keyFile string) (*DB, error) {
	db, err := sqlite.Open(ctx, path, account.Migrations, Migrations)
	if err != nil {
		return nil, err
	}
	var sealed int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM link WHERE key_current LIKE 'sealed1:%'").Scan(&sealed); err != nil {
		db.Close()
		return nil, err
	}
	box, err := secret.Load(keyFile, sealed == 0)
	if err != nil {
		db.Close()
		return nil, err
	}
	d := &DB{sql: db, path: path, Now: clock.Now, box: box}
	// Keys kept in the clear by an older version are sealed now.
	if err := d.UpdateLink(ctx, func(*Link) error { return nil }); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := d.Framework(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.sql.Close() }

// Path returns the database file's path.
func (d *DB) Path() string { return d.path }

// SQL returns the underlying handle, for the account service.
func (d *DB) SQL() *sql.DB { return d.sql }

// inForce is the framework in force and the newest version stored when
// it was read.
type inForce struct {
	stored int
	f      *framework.Framework
}

// Framework returns the capability framework in force: the newest of the
// built-in one and those HQ has sent. An update may put a new one in force
// while pages are served, in this process or another (a reply imported by
// hand): one small query tells, and the framework is read again.
func (d *DB) Framework(ctx context.Context) (*framework.Framework, error) {
	return d.framework(ctx, d.sql)
}

func (d *DB) framework(ctx context.Context, q queryer) (*framework.Framework, error) {
	var stored int
	if err := q.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM frameworks").Scan(&stored); err != nil {
		return nil, err
	}
	if c := d.fw.Load(); c != nil && c.stored == stored {
		return c.f, nil
	}
	f := framework.Builtin()
	if stored > f.Version {
		var body string
		if err := q.QueryRowContext(ctx, "SELECT body FROM frameworks WHERE version = ?", stored).Scan(&body); err != nil {
			return nil, err
		}
		got, err := framework.Parse([]byte(body))
		if err != nil {
			return nil, fmt.Errorf("the framework HQ sent, stored in the database, is damaged: %w", err)
		}
		f = got
	}
	d.fw.Store(&inForce{stored: stored, f: f})
	return f, nil
}

// queryer is a database handle or a transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Audit records an action that changed no mission record, such as an
// enrollment or a sync by hand.
func (d *DB) Audit(ctx context.Context, by account.Actor, action, target, detail string) error {
	return account.Audit(ctx, d.sql, by, action, target, detail)
}

const answerCols = "item_id, level, na, evidence, answered_by, answered_at, evidence_on, files"

func scanAnswer(r interface{ Scan(...any) error }) (readiness.Answer, error) {
	var a readiness.Answer
	if err := r.Scan(&a.ItemID, &a.Level, &a.NA, &a.Evidence, &a.AnsweredBy, (*sqlite.Time)(&a.AnsweredAt),
		(*sqlite.NullTime)(&a.EvidenceOn), (*evidence.List)(&a.Files)); err != nil {
		return a, err
	}
	return a, nil
}

// Answers returns the current assessment, keyed by item id.
func (d *DB) Answers(ctx context.Context) (map[string]readiness.Answer, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT "+answerCols+" FROM answers")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]readiness.Answer{}
	for rows.Next() {
		a, err := scanAnswer(rows)
		if err != nil {
			return nil, err
		}
		out[a.ItemID] = a
	}
	return out, rows.Err()
}

// CheckAnswer returns an Invalid problem if the answer cannot be stored.
func (d *DB) CheckAnswer(ctx context.Context, a readiness.Answer) error {
	f, err := d.Framework(ctx)
	if err != nil {
		return err
	}
	if _, err := f.Item(a.ItemID); err != nil {
		return problem.New(problem.Invalid, "answer.no_item", "Item", a.ItemID, "Version", f.Version)
	}
	// The rules HQ holds the answer to when it arrives there.
	if err := a.Check(d.Now()); err != nil {
		return err
	}
	return nil
}

// SaveAnswer records an answer to one item, with the evidence files
// uploaded beside it; the files it kept before stay with it. Saving an
// answer identical to the current one, with no file, changes nothing and
// logs nothing.
func (d *DB) SaveAnswer(ctx context.Context, by account.Actor, a readiness.Answer, uploads ...evidence.Upload) (readiness.Answer, error) {
	a, err := a.Given(by.Username, d.Now(), uploads)
	if err != nil {
		return a, err
	}
	files := a.Files
	if err := d.CheckAnswer(ctx, a); err != nil {
		return a, err
	}

	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return a, err
	}
	defer tx.Rollback()
	cur, err := scanAnswer(tx.QueryRowContext(ctx, "SELECT "+answerCols+" FROM answers WHERE item_id = ?", a.ItemID))
	switch {
	case err == nil && cur.Level == a.Level && cur.NA == a.NA && cur.Evidence == a.Evidence && cur.EvidenceOn.Equal(a.EvidenceOn) && len(files) == 0:
		return cur, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return a, err
	}
	a.Files = evidence.Add(cur.Files, files...)
	if err := evidence.CheckAll(a.Files); err != nil {
		return a, err
	}
	if err := putAnswer(ctx, tx, a); err != nil {
		return a, err
	}
	if err := appendChange(ctx, tx, changelog.EntityAnswer, a.ItemID, a, a.AnsweredAt); err != nil {
		return a, err
	}
	for i, f := range files {
		if _, err := tx.ExecContext(ctx, "INSERT INTO attachments (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", f.SHA256, f.Size, uploads[i].Data); err != nil {
			return a, err
		}
		// The file travels as a change of its own, after the answer
		// that names it.
		if err := appendChange(ctx, tx, changelog.EntityAttachment, f.SHA256, evidence.Data{Item: a.ItemID, SHA256: f.SHA256, Name: f.Name, Data: uploads[i].Data}, a.AnsweredAt); err != nil {
			return a, err
		}
	}
	what := fmt.Sprintf("level %d", a.Level)
	if a.NA {
		what = "not applicable"
	}
	if len(files) > 0 {
		what += fmt.Sprintf(", %d file(s) added", len(files))
	}
	if err := account.Audit(ctx, tx, by, "answer", a.ItemID, what); err != nil {
		return a, err
	}
	return a, tx.Commit()
}

// fileBytes reads the bytes of an evidence file of of (an incident or an
// item), checking them against its hash.
func (d *DB) fileBytes(ctx context.Context, f evidence.File, of string) ([]byte, error) {
	var data []byte
	if err := d.sql.QueryRowContext(ctx, "SELECT data FROM attachments WHERE sha256 = ?", f.SHA256).Scan(&data); err != nil {
		return nil, err
	}
	if !f.Matches(data) {
		return nil, fmt.Errorf("evidence file %s of %s is damaged", f.SHA256, of)
	}
	return data, nil
}

// AnswerFile returns an evidence file of an answer, checking its hash.
func (d *DB) AnswerFile(ctx context.Context, item, sha string) (evidence.File, []byte, error) {
	a, err := scanAnswer(d.sql.QueryRowContext(ctx, "SELECT "+answerCols+" FROM answers WHERE item_id = ?", item))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return evidence.File{}, nil, err
	}
	for _, f := range a.Files {
		if f.SHA256 != sha {
			continue
		}
		data, err := d.fileBytes(ctx, f, item)
		return f, data, err
	}
	return evidence.File{}, nil, problem.New(problem.NotFound, "answer.no_such_file", "Item", item)
}

func putAnswer(ctx context.Context, tx *sql.Tx, a readiness.Answer) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO answers (`+answerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (item_id) DO UPDATE SET level = excluded.level, na = excluded.na, evidence = excluded.evidence,
		answered_by = excluded.answered_by, answered_at = excluded.answered_at, evidence_on = excluded.evidence_on, files = excluded.files`,
		a.ItemID, a.Level, a.NA, a.Evidence, a.AnsweredBy, sqlite.Time(a.AnsweredAt), sqlite.NullTime(a.EvidenceOn), evidence.List(a.Files))
	return err
}

// appendChange adds a change to the log under the next sequence number:
// after the last change, or after the floor a reconciled restore set.
// The write transaction is IMMEDIATE (see package sqlite), so no other
// writer can take the same number.
func appendChange(ctx context.Context, tx *sql.Tx, e changelog.Entity, key string, body any, at time.Time) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO changes (seq, entity, key, op, body, at)
		VALUES ((SELECT max(coalesce(max(seq), 0), coalesce((SELECT seq_floor FROM link WHERE id = 1), 0)) + 1 FROM changes), ?, ?, ?, ?, ?)`,
		string(e), key, string(changelog.OpPut), string(b), sqlite.Time(at))
	if err != nil {
		return fmt.Errorf("append change: %w", err)
	}
	return nil
}

// MaxNote is the longest sign-off note accepted, in characters: the
// limit HQ holds a snapshot to.
const MaxNote = readiness.MaxNote

// SignOff freezes the current assessment as a snapshot.
func (d *DB) SignOff(ctx context.Context, by account.Actor, note string) (readiness.Snapshot, error) {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxNote || !utf8.ValidString(note) {
		return readiness.Snapshot{}, problem.New(problem.Invalid, "snapshot.note_too_long", "Max", MaxNote)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return readiness.Snapshot{}, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT "+answerCols+" FROM answers ORDER BY item_id")
	if err != nil {
		return readiness.Snapshot{}, err
	}
	var answers []readiness.Answer
	for rows.Next() {
		a, err := scanAnswer(rows)
		if err != nil {
			rows.Close()
			return readiness.Snapshot{}, err
		}
		answers = append(answers, a)
	}
	rows.Close()
	if len(answers) == 0 {
		return readiness.Snapshot{}, problem.New(problem.Conflict, "snapshot.nothing")
	}
	f, err := d.framework(ctx, tx)
	if err != nil {
		return readiness.Snapshot{}, err
	}
	now := d.Now().UTC().Truncate(time.Second)
	s := readiness.Snapshot{
		ID:               now.Format("20060102T150405Z") + "-" + randomHex(3),
		FrameworkVersion: f.Version,
		SignedBy:         by.Username,
		SignedAt:         now,
		Note:             note,
		Answers:          answers,
	}
	if err := putSnapshot(ctx, tx, s); err != nil {
		return s, err
	}
	if err := appendChange(ctx, tx, changelog.EntitySnapshot, s.ID, s, now); err != nil {
		return s, err
	}
	if err := account.Audit(ctx, tx, by, "signoff", s.ID, fmt.Sprintf("%d answers", len(answers))); err != nil {
		return s, err
	}
	return s, tx.Commit()
}

func putSnapshot(ctx context.Context, tx *sql.Tx, s readiness.Snapshot) error {
	b, err := json.Marshal(s.Answers)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO snapshots (id, framework_version, signed_by, signed_at, note, answers)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		s.ID, s.FrameworkVersion, s.SignedBy, sqlite.Time(s.SignedAt), s.Note, string(b))
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Snapshots lists the signed-off snapshots, newest first.
func (d *DB) Snapshots(ctx context.Context) ([]readiness.Snapshot, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT id, framework_version, signed_by, signed_at, note, answers FROM snapshots ORDER BY signed_at DESC, id DESC")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []readiness.Snapshot
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// LatestSnapshot returns the newest snapshot, and false if there is none.
func (d *DB) LatestSnapshot(ctx context.Context) (readiness.Snapshot, bool, error) {
	s, err := scanSnapshot(d.sql.QueryRowContext(ctx, "SELECT id, framework_version, signed_by, signed_at, note, answers FROM snapshots ORDER BY signed_at DESC, id DESC LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	return s, err == nil, err
}

// Snapshot returns one snapshot.
func (d *DB) Snapshot(ctx context.Context, id string) (readiness.Snapshot, error) {
	s, err := scanSnapshot(d.sql.QueryRowContext(ctx, "SELECT id, framework_version, signed_by, signed_at, note, answers FROM snapshots WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, problem.New(problem.NotFound, "snapshot.none", "ID", id)
	}
	return s, err
}

func scanSnapshot(r interface{ Scan(...any) error }) (readiness.Snapshot, error) {
	var s readiness.Snapshot
	var answers string
	if err := r.Scan(&s.ID, &s.FrameworkVersion, &s.SignedBy, (*sqlite.Time)(&s.SignedAt), &s.Note, &answers); err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(answers), &s.Answers); err != nil {
		return s, fmt.Errorf("snapshot %s: %w", s.ID, err)
	}
	return s, nil
}

// Changes returns up to limit changes with a sequence number above after,
// in order, stamped with the mission's code as their site.
func (d *DB) Changes(ctx context.Context, after int64, limit int) ([]changelog.Change, error) {
	l, err := d.Link(ctx)
	if err != nil {
		return nil, err
	}
	site := l.Mission
	rows, err := d.sql.QueryContext(ctx, "SELECT seq, entity, key, op, body, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []changelog.Change
	for rows.Next() {
		var c changelog.Change
		var body sql.NullString
		if err := rows.Scan(&c.Seq, &c.Entity, &c.Key, &c.Op, &body, (*sqlite.Time)(&c.At)); err != nil {
			return nil, err
		}
		c.Site = site
		c.Body = json.RawMessage(body.String)
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastSeq returns the highest sequence number in the change log.
func (d *DB) LastSeq(ctx context.Context) (int64, error) {
	var n int64
	err := d.sql.QueryRowContext(ctx, "SELECT max(coalesce((SELECT max(seq) FROM changes), 0), coalesce((SELECT seq_floor FROM link WHERE id = 1), 0))").Scan(&n)
	return n, err
}

// Apply replays changes from another copy of a mission's log into this
// database's records, in one transaction. It is idempotent: a change
// applied twice leaves the records as applying it once. It writes records
// only; the changes stay the log of the site that made them.
func (d *DB) Apply(ctx context.Context, changes []changelog.Change) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, c := range changes {
		if err := applyOne(ctx, tx, c, d.Now()); err != nil {
			return fmt.Errorf("apply change %d (%s %s): %w", c.Seq, c.Entity, c.Key, err)
		}
	}
	return tx.Commit()
}

func applyOne(ctx context.Context, tx *sql.Tx, c changelog.Change, now time.Time) error {
	rec, err := c.Record(now)
	if err != nil {
		return err
	}
	switch r := rec.(type) {
	case readiness.Answer:
		return putAnswer(ctx, tx, r)
	case readiness.Snapshot:
		return putSnapshot(ctx, tx, r)
	case changelog.Ack:
		_, err := tx.ExecContext(ctx, "INSERT INTO acks (protocol, version, username, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
			r.Protocol, r.Version, r.Username, sqlite.Time(r.At))
		return err
	case changelog.UpdateReport:
		return nil // a report to HQ; no record of the mission's to rebuild
	case incident.AttachmentData:
		_, err := tx.ExecContext(ctx, "INSERT INTO attachments (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", r.SHA256, len(r.Data), r.Data)
		return err
	case incident.Incident:
		_, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, status, severity, updated_at, body) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, severity = excluded.severity, updated_at = excluded.updated_at, body = excluded.body`,
			r.ID, r.Status, r.Severity, sqlite.Time(r.UpdatedAt), string(c.Body))
		return err
	}
	return fmt.Errorf("no table for %T", rec)
}
