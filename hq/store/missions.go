package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/enroll"
	"chancery/shared/problem"
	"chancery/shared/readiness"
	"chancery/shared/sqlite"
)

// Mission is a registry entry.
type Mission struct {
	Code, Name, Country, City, Region string
	Lat, Lon                          *float64
	State                             string
	Demo                              bool
	CreatedAt                         time.Time
	LastSeen                          *time.Time
	Through                           int64
	// Framework is the framework version the mission reported it has in
	// force; 0 before it reported one (see Catalog.Of).
	Framework int
}

var codeRE = regexp.MustCompile(`^[A-Z]{2}-[A-Z0-9]{2,8}$`)

// CheckMission validates a registry entry.
func CheckMission(m Mission) error {
	switch {
	case !codeRE.MatchString(m.Code):
		return problem.New(problem.Invalid, "mission.bad_code")
	case strings.TrimSpace(m.Name) == "" || utf8.RuneCountInString(m.Name) > 120:
		return problem.New(problem.Invalid, "mission.bad_name")
	case len(m.Country) > 80 || len(m.City) > 80 || len(m.Region) > 80:
		return problem.New(problem.Invalid, "mission.bad_place")
	case m.Lat != nil && (*m.Lat < -90 || *m.Lat > 90), m.Lon != nil && (*m.Lon < -180 || *m.Lon > 180):
		return problem.New(problem.Invalid, "mission.bad_coords")
	}
	return nil
}

// AddMission registers a mission.
func (d *DB) AddMission(ctx context.Context, by account.Actor, m Mission) error {
	if err := CheckMission(m); err != nil {
		return err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO missions (code, name, country, city, region, lat, lon, demo, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Code, strings.TrimSpace(m.Name), m.Country, m.City, m.Region, m.Lat, m.Lon, m.Demo, sqlite.Time(d.Now()))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return problem.New(problem.Conflict, "mission.exists", "Code", m.Code)
		}
		return err
	}
	if err := keepRegion(ctx, tx, m.Region); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, by, "mission.add", m.Code, m.Name); err != nil {
		return err
	}
	return tx.Commit()
}

// keepRegion puts a mission's region on the list, if it is not there: a
// mission registered from the command line names its region freely.
func keepRegion(ctx context.Context, tx *sql.Tx, region string) error {
	if region == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO regions (name) VALUES (?)", region)
	return err
}

const missionCols = "code, name, country, city, region, lat, lon, state, demo, created_at, last_seen, through, framework"

func scanMission(r interface{ Scan(...any) error }) (Mission, error) {
	var m Mission
	var seen sqlite.NullTime
	if err := r.Scan(&m.Code, &m.Name, &m.Country, &m.City, &m.Region, &m.Lat, &m.Lon, &m.State, &m.Demo, (*sqlite.Time)(&m.CreatedAt), &seen, &m.Through, &m.Framework); err != nil {
		return m, err
	}
	m.LastSeen = seen.Ptr()
	return m, nil
}

// Missions lists the registry by code.
func (d *DB) Missions(ctx context.Context) ([]Mission, error) {
	return d.MissionsOf(ctx, false)
}

// MissionsOf is Missions, only those named when only is set.
func (d *DB) MissionsOf(ctx context.Context, only bool, codes ...string) ([]Mission, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT "+missionCols+" FROM missions WHERE "+among("code", only)+" ORDER BY code", codesArg(only, codes)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Mission
	for rows.Next() {
		m, err := scanMission(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Mission returns one mission.
func (d *DB) Mission(ctx context.Context, code string) (Mission, error) {
	m, err := scanMission(d.sql.QueryRowContext(ctx, "SELECT "+missionCols+" FROM missions WHERE code = ?", code))
	if errors.Is(err, sql.ErrNoRows) {
		return m, problem.New(problem.NotFound, "mission.none", "Code", code)
	}
	return m, err
}

// CodeTTL is how long an enrollment code stays valid: long enough to
// reach a mission by a slow channel, short enough that a lost code goes
// stale.
const CodeTTL = 7 * 24 * time.Hour

// IssueCode makes a one-time enrollment code for a mission not yet
// enrolled, replacing any unused one. The code is returned once; HQ keeps
// only the key derived from it (enroll.Key). An enrolled mission moves to
// new keys only by a re-enrollment code (ResetKeys), never by this one.
func (d *DB) IssueCode(ctx context.Context, by account.Actor, mission string) (string, time.Time, error) {
	return d.issueCode(ctx, by, mission, "enroll")
}

func (d *DB) issueCode(ctx context.Context, by account.Actor, mission, purpose string) (string, time.Time, error) {
	m, err := d.Mission(ctx, mission)
	if err != nil {
		return "", time.Time{}, err
	}
	if m.State == "revoked" {
		return "", time.Time{}, problem.New(problem.Conflict, "mission.is_revoked", "Code", mission)
	}
	code := enroll.NewCode()
	expires := d.Now().Add(CodeTTL)
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	defer tx.Rollback()
	if purpose == "enroll" {
		active, err := hasActiveKey(ctx, tx, mission)
		if err != nil {
			return "", time.Time{}, err
		}
		if active {
			return "", time.Time{}, problem.New(problem.Conflict, "mission.enrolled_already", "Code", mission)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM enroll_codes WHERE mission = ? AND used_at IS NULL", mission); err != nil {
		return "", time.Time{}, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO enroll_codes (code_hash, mission, expires_at, purpose) VALUES (?, ?, ?, ?)", enroll.Key(code), mission, expires.Unix(), purpose); err != nil {
		return "", time.Time{}, err
	}
	what := "enrollment code"
	if purpose == "rekey" {
		what = "re-enrollment code"
	}
	if err := account.Audit(ctx, tx, by, "mission.code", mission, what+", expires "+expires.UTC().Format(time.RFC3339)); err != nil {
		return "", time.Time{}, err
	}
	return code, expires, tx.Commit()
}

func hasActiveKey(ctx context.Context, tx *sql.Tx, mission string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM mission_keys WHERE mission = ? AND state = 'active'", mission).Scan(&n)
	return n > 0, err
}

// errBadCode is the one answer to a wrong, used or expired code.
var errBadCode = problem.New(problem.Forbidden, "enroll.bad_code")

// MaxClaim bounds how much of a request's claimed mission code the audit
// log keeps: a failed enrollment is logged, and its text is the caller's.
const MaxClaim = 16

// NewKey is a key pair a mission registers: the id its pouches name the
// key by, the Ed25519 key that signs them and the age recipient HQ seals
// its replies to.
type NewKey struct {
	ID        string
	Signing   ed25519.PublicKey
	Recipient *age.X25519Recipient
}

// EnrollMission spends a one-time code on a mission's keys: they become
// its active keys and any it had are retired. The code is found by proves,
// which reports whether the request was made with the code whose key
// (enroll.Key) it is given; claimed, if not empty, is the mission the
// request names, and only its code is tried. A mission with an active key
// takes only a re-enrollment code. It returns the mission enrolled and the
// key of the code spent, with which the answer is authenticated.
func (d *DB) EnrollMission(ctx context.Context, claimed string, proves func(codeKey []byte) bool, key NewKey, remote string) (Mission, []byte, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return Mission{}, nil, err
	}
	defer tx.Rollback()
	now := d.Now()
	var codeKey []byte
	var mission, purpose string
	err = func() error {
		rows, err := tx.QueryContext(ctx, `SELECT code_hash, mission, purpose FROM enroll_codes
			WHERE used_at IS NULL AND expires_at >= ? AND (? = '' OR mission = ?)`, now.Unix(), claimed, claimed)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k []byte
			var m, p string
			if err := rows.Scan(&k, &m, &p); err != nil {
				return err
			}
			if proves(k) {
				codeKey, mission, purpose = k, m, p
				return nil
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return Mission{}, nil, err
	}
	refuse := func(why string) (Mission, []byte, error) {
		// The transaction holds the write lock: end it before the audit
		// entry is written on its own.
		tx.Rollback()
		claim := claimed
		if utf8.RuneCountInString(claim) > MaxClaim {
			claim = string([]rune(claim)[:MaxClaim]) + "…"
		}
		if err := account.Audit(ctx, d.sql, account.Actor{Username: "mission:" + claim, Remote: remote}, "enroll.fail", claim, why); err != nil {
			return Mission{}, nil, err
		}
		return Mission{}, nil, errBadCode
	}
	if codeKey == nil {
		return refuse("bad code")
	}
	m, err := scanMission(tx.QueryRowContext(ctx, "SELECT "+missionCols+" FROM missions WHERE code = ?", mission))
	if err != nil {
		return Mission{}, nil, err
	}
	if m.State == "revoked" {
		return refuse("mission revoked")
	}
	if purpose != "rekey" {
		active, err := hasActiveKey(ctx, tx, mission)
		if err != nil {
			return Mission{}, nil, err
		}
		if active {
			return refuse("enrolled already: a plain code cannot replace its keys")
		}
	}
	var known int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM mission_keys WHERE key_id = ?", key.ID).Scan(&known); err != nil {
		return Mission{}, nil, err
	}
	if known > 0 {
		return Mission{}, nil, problem.New(problem.Conflict, "enroll.key_reused")
	}
	steps := []struct {
		q    string
		args []any
	}{
		{"UPDATE enroll_codes SET used_at = ? WHERE code_hash = ?", []any{now.Unix(), codeKey}},
		{"UPDATE mission_keys SET state = 'retired' WHERE mission = ? AND state = 'active'", []any{mission}},
		{"INSERT INTO mission_keys (mission, key_id, signing_key, age_recipient, state, created_at) VALUES (?, ?, ?, ?, 'active', ?)",
			[]any{mission, key.ID, []byte(key.Signing), key.Recipient.String(), sqlite.Time(now)}},
		{"UPDATE missions SET state = 'enrolled' WHERE code = ?", []any{mission}},
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return Mission{}, nil, err
		}
	}
	detail := "key " + key.ID
	if purpose == "rekey" {
		detail = "re-enrollment, key " + key.ID
	}
	if err := account.Audit(ctx, tx, account.Actor{Username: "mission:" + mission, Remote: remote}, "enroll", mission, detail); err != nil {
		return Mission{}, nil, err
	}
	m.State = "enrolled"
	return m, codeKey, tx.Commit()
}

// Key states.
const (
	KeyActive  = "active"  // speaks for the mission
	KeyRetired = "retired" // replaced by a rotation: its pouches are authentic, and ingest decides what they may still do
	KeyRevoked = "revoked" // revoked by HQ, or its mission was
)

// ErrNoKey is the answer for a key HQ never registered.
var ErrNoKey = errors.New("no such key")

// MissionKey returns a mission's registered key by id and its state (see
// KeyActive). A revoked mission's keys are all revoked.
func (d *DB) MissionKey(site, keyID string) (ed25519.PublicKey, string, error) {
	var key []byte
	var state, mstate string
	err := d.sql.QueryRow(`SELECT k.signing_key, k.state, m.state FROM mission_keys k JOIN missions m ON m.code = k.mission
		WHERE k.mission = ? AND k.key_id = ?`, site, keyID).Scan(&key, &state, &mstate)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("%w: %s has no key %s", ErrNoKey, site, keyID)
	}
	if err != nil {
		return nil, "", err
	}
	if mstate == "revoked" {
		state = KeyRevoked
	}
	return ed25519.PublicKey(key), state, nil
}

// Rekey replaces a mission's active key, the one with id from, by a new
// one. Replaying it is harmless: if the new key is already active, nothing
// changes.
func (d *DB) Rekey(ctx context.Context, mission, from string, key NewKey, remote string) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	newID := key.ID
	var state string
	err = tx.QueryRowContext(ctx, "SELECT state FROM mission_keys WHERE mission = ? AND key_id = ?", mission, newID).Scan(&state)
	switch {
	case err == nil && state == "active":
		return nil
	case err == nil:
		return problem.New(problem.Forbidden, "rotate.not_new", "Key", newID, "Code", mission, "State", state)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if err := tx.QueryRowContext(ctx, "SELECT state FROM mission_keys WHERE mission = ? AND key_id = ?", mission, from).Scan(&state); err != nil || state != "active" {
		return problem.New(problem.Forbidden, "rotate.not_active", "Code", mission)
	}
	stamp := sqlite.Time(d.Now())
	if _, err := tx.ExecContext(ctx, "UPDATE mission_keys SET state = 'retired' WHERE mission = ? AND key_id = ?", mission, from); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO mission_keys (mission, key_id, signing_key, age_recipient, state, created_at) VALUES (?, ?, ?, ?, 'active', ?)",
		mission, newID, []byte(key.Signing), key.Recipient.String(), stamp); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, account.Actor{Username: "mission:" + mission, Remote: remote}, "mission.rekey", mission, from+" → "+newID); err != nil {
		return err
	}
	return tx.Commit()
}

// ResetKeys revokes every key of a mission and issues a new enrollment
// code: the mission enrolls again, with new keys. It is how HQ rotates a
// mission's keys when it suspects them.
func (d *DB) ResetKeys(ctx context.Context, by account.Actor, mission string) (string, time.Time, error) {
	if _, err := d.Mission(ctx, mission); err != nil {
		return "", time.Time{}, err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE mission_keys SET state = 'revoked' WHERE mission = ?", mission); err != nil {
		return "", time.Time{}, err
	}
	if err := account.Audit(ctx, tx, by, "mission.keys.revoke", mission, "re-enrollment required"); err != nil {
		return "", time.Time{}, err
	}
	if err := d.rotatePeerKey(ctx, tx); err != nil {
		return "", time.Time{}, err
	}
	if err := tx.Commit(); err != nil {
		return "", time.Time{}, err
	}
	d.withdrawn.forget()
	d.peerKey.forget()
	return d.issueCode(ctx, by, mission, "rekey")
}

// Reinstate undoes Revoke the only safe way: the mission enrolls again,
// with new keys, by the code it returns (a re-enrollment code for a
// mission that had keys, an enrollment code for one that never
// enrolled). Its old keys stay revoked.
func (d *DB) Reinstate(ctx context.Context, by account.Actor, mission string) (string, time.Time, error) {
	m, err := d.Mission(ctx, mission)
	if err != nil {
		return "", time.Time{}, err
	}
	if m.State != "revoked" {
		return "", time.Time{}, problem.New(problem.Conflict, "mission.not_revoked", "Code", mission)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	defer tx.Rollback()
	var keys int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM mission_keys WHERE mission = ?", mission).Scan(&keys); err != nil {
		return "", time.Time{}, err
	}
	state, purpose := "new", "enroll"
	if keys > 0 {
		state, purpose = "enrolled", "rekey"
	}
	if _, err := tx.ExecContext(ctx, "UPDATE missions SET state = ? WHERE code = ?", state, mission); err != nil {
		return "", time.Time{}, err
	}
	if err := account.Audit(ctx, tx, by, "mission.reinstate", mission, "to enroll again with new keys"); err != nil {
		return "", time.Time{}, err
	}
	if err := tx.Commit(); err != nil {
		return "", time.Time{}, err
	}
	return d.issueCode(ctx, by, mission, purpose)
}

// Recipient returns the age recipient of a mission's active key, to seal
// replies to.
func (d *DB) Recipient(ctx context.Context, mission string) (*age.X25519Recipient, error) {
	var s string
	err := d.sql.QueryRowContext(ctx, "SELECT age_recipient FROM mission_keys WHERE mission = ? AND state = 'active'", mission).Scan(&s)
	if err != nil {
		return nil, fmt.Errorf("mission %s has no active key: %w", mission, err)
	}
	return age.ParseX25519Recipient(s)
}

// Revoke revokes a mission: its keys stop being accepted at once.
func (d *DB) Revoke(ctx context.Context, by account.Actor, mission string) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE missions SET state = 'revoked' WHERE code = ?", mission)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.New(problem.NotFound, "mission.none", "Code", mission)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE mission_keys SET state = 'revoked' WHERE mission = ?", mission); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM enroll_codes WHERE mission = ?", mission); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, by, "mission.revoke", mission, ""); err != nil {
		return err
	}
	if err := d.rotatePeerKey(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	d.withdrawn.forget()
	d.peerKey.forget()
	return nil
}

// PutDemo registers a demo mission with its answers and sign-offs in one
// transaction, unless the code is taken; it reports whether it added it.
// Demo records go straight into the records: they have no change log.
func (d *DB) PutDemo(ctx context.Context, m Mission, answers []readiness.Answer, snapshots []readiness.Snapshot, seen time.Time) (bool, error) {
	if err := CheckMission(m); err != nil {
		return false, err
	}
	cat, err := d.Catalog(ctx)
	if err != nil {
		return false, err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO missions (code, name, country, city, region, lat, lon, demo, created_at, last_seen, framework)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT (code) DO NOTHING`,
		m.Code, m.Name, m.Country, m.City, m.Region, m.Lat, m.Lon, sqlite.Time(d.Now()), sqlite.Time(seen), m.Framework)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if err := keepRegion(ctx, tx, m.Region); err != nil {
		return false, err
	}
	for _, a := range answers {
		body, _ := json.Marshal(a)
		if err := apply(ctx, tx, m.Code, changelog.Change{Entity: changelog.EntityAnswer, Key: a.ItemID, Op: changelog.OpPut, Body: body}, d.Now()); err != nil {
			return false, err
		}
	}
	for _, s := range snapshots {
		body, _ := json.Marshal(s)
		if err := apply(ctx, tx, m.Code, changelog.Change{Entity: changelog.EntitySnapshot, Key: s.ID, Op: changelog.OpPut, Body: body}, d.Now()); err != nil {
			return false, err
		}
	}
	if err := d.refreshScores(ctx, tx, cat, m.Code); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// CardDue reports whether the card of a mission's key is old enough to
// renew (older than after), and if so records it as renewed now: the
// caller puts a fresh card in the reply. The usual answer is a read.
func (d *DB) CardDue(ctx context.Context, mission, keyID string, after time.Duration) (bool, error) {
	now := d.Now()
	var issued sqlite.Time
	err := d.sql.QueryRowContext(ctx, "SELECT coalesce(card_issued, created_at) FROM mission_keys WHERE mission = ? AND key_id = ? AND state = 'active'", mission, keyID).Scan(&issued)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil || now.Sub(time.Time(issued)) < after {
		return false, err
	}
	_, err = d.sql.ExecContext(ctx, "UPDATE mission_keys SET card_issued = ? WHERE mission = ? AND key_id = ?", sqlite.Time(now), mission, keyID)
	return err == nil, err
}

// WithdrawnKeys are the ids of missions' signing keys that are no longer
// active (revoked, or retired by a rotation) while a card issued for them
// may still be within ttl: missions refuse those cards from their peers.
func (d *DB) WithdrawnKeys(ctx context.Context, ttl time.Duration) ([]string, error) {
	return d.withdrawn.get(d.Now(), func() ([]string, error) { return d.readWithdrawn(ctx, ttl) })
}

func (d *DB) readWithdrawn(ctx context.Context, ttl time.Duration) ([]string, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT key_id FROM mission_keys WHERE state != 'active' AND coalesce(card_issued, created_at) > ? ORDER BY key_id",
		sqlite.Time(d.Now().Add(-ttl)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// AuditMark is a mission's audit chain as its pouch reports it (see
// pouch.AuditMark).
type AuditMark struct {
	Entries int64
	Head    string
	At      int64
	AtHash  string
}

// AuditState is what HQ knows of a mission's audit chain.
type AuditState struct {
	Entries int64
	// Problem says how the chain differs from what HQ saw before; empty
	// while it only ever grew. Once found it stays.
	Problem string
}

// NoteAudit checks a mission's audit mark against what HQ last heard and
// keeps it. The chain may only grow: fewer entries than before, or a
// different hash at the entry HQ held, means the mission's history was
// rewritten; HQ keeps the finding, shows it on the mission's page and
// audits it. A mark from a pouch made before the last one heard (a
// replay, a late peer) is passed over, and so is one of the same second
// with fewer entries. It returns how many entries HQ
// holds now.
func (d *DB) NoteAudit(ctx context.Context, mission string, created time.Time, m AuditMark) (int64, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n, err := d.noteAudit(ctx, tx, mission, created, m)
	if err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// noteAudit is NoteAudit within tx: Ingest runs it for each pouch in the
// transaction that takes the pouch in.
func (d *DB) noteAudit(ctx context.Context, tx *sql.Tx, mission string, created time.Time, m AuditMark) (int64, error) {
	var entries int64
	var head, problem string
	var last sqlite.NullTime
	if err := tx.QueryRowContext(ctx, "SELECT audit_entries, audit_head, audit_created, audit_problem FROM missions WHERE code = ?", mission).Scan(&entries, &head, &last, &problem); err != nil {
		return 0, err
	}
	// Pouch dates are whole seconds: within the second of the last mark
	// heard, a mark with fewer entries may be an older pouch of that
	// second, and is not taken for entries removed.
	same := created.Equal(time.Time(last))
	if !time.Time(last).IsZero() && created.Before(time.Time(last)) || same && m.Entries < entries {
		return entries, nil
	}
	if m.Entries == entries && m.Head == head {
		return entries, nil // nothing new: nothing to write
	}
	found := ""
	switch {
	case entries > 0 && m.Entries < entries:
		found = fmt.Sprintf("The mission's audit log now holds %d entries, fewer than the %d HQ saw on %s: entries were removed, or the mission was restored from an older backup.",
			m.Entries, entries, time.Time(last).UTC().Format("2 January 2006 15:04 MST"))
	case entries > 0 && m.At == entries && m.AtHash != head:
		found = fmt.Sprintf("The mission's audit history up to entry %d is not the one HQ saw on %s: an entry was changed, removed or moved.",
			entries, time.Time(last).UTC().Format("2 January 2006 15:04 MST"))
	}
	if found != "" && problem == "" {
		problem = found
		if err := account.Audit(ctx, tx, account.System, "mission-audit-rewritten", mission, found); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE missions SET audit_entries = ?, audit_head = ?, audit_created = ?, audit_problem = ? WHERE code = ?",
		m.Entries, m.Head, sqlite.Time(created), problem, mission); err != nil {
		return 0, err
	}
	return m.Entries, nil
}

// AuditOf is what HQ knows of a mission's audit chain.
func (d *DB) AuditOf(ctx context.Context, mission string) (AuditState, error) {
	var s AuditState
	err := d.sql.QueryRowContext(ctx, "SELECT audit_entries, audit_problem FROM missions WHERE code = ?", mission).Scan(&s.Entries, &s.Problem)
	return s, err
}

// AuditAt is how many entries of a mission's audit chain HQ holds.
func (d *DB) AuditAt(ctx context.Context, mission string) (int64, error) {
	s, err := d.AuditOf(ctx, mission)
	return s.Entries, err
}

// The peer key is the key missions seal what they tell each other on
// their shared network with (see chancery/sync/relay): HQ hands it to
// every mission in its receipts, so that a node that has the network's
// gossip key but no place at HQ reads nothing of its peers. It is made
// anew whenever a mission, or a mission's keys, are revoked: the revoked
// holder reads nothing said after its peers next hear from HQ.

// PeerKey is the peer key in force, as "epoch.key" (the key in base64);
// made at the first call.
func (d *DB) PeerKey(ctx context.Context) (string, error) {
	return d.peerKey.get(d.Now(), func() (string, error) { return d.readPeerKey(ctx) })
}

func (d *DB) readPeerKey(ctx context.Context) (string, error) {
	var v string
	err := d.sql.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'peer_key'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		tx, err := d.sql.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		defer tx.Rollback()
		if err := d.rotatePeerKey(ctx, tx); err != nil {
			return "", err
		}
		if err := tx.Commit(); err != nil {
			return "", err
		}
		return d.readPeerKey(ctx)
	}
	if err != nil {
		return "", err
	}
	return d.box.Open(v)
}

func (d *DB) rotatePeerKey(ctx context.Context, tx *sql.Tx) error {
	var v sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'peer_key'").Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	epoch := 0
	if v.Valid {
		old, err := d.box.Open(v.String)
		if err != nil {
			return err
		}
		e, _, _ := strings.Cut(old, ".")
		epoch, _ = strconv.Atoi(e)
	}
	k := make([]byte, 32)
	rand.Read(k)
	next := fmt.Sprintf("%d.%s", epoch+1, base64.StdEncoding.EncodeToString(k))
	_, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('peer_key', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", d.box.Seal(next))
	return err
}
