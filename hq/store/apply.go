package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"chancery/shared/changelog"
	"chancery/shared/incident"
	"chancery/shared/readiness"
	"chancery/shared/sqlite"
)

// MaxSkew is how far ahead of HQ's clock a mission's clock may run for an
// empty request to count as news of it.
const MaxSkew = 7 * 24 * time.Hour

// Pouch is a verified pouch's content, ready to be stored: its id, the
// mission that sent it, the range of sequence numbers it carries, its
// changes, its size on the wire and how it arrived ("http 10.0.0.5",
// "import pouch.age", "… carried by FR-LYO").
type Pouch struct {
	ID          string
	Mission     string
	First, Last int64
	// Created is when the mission signed the pouch (its manifest says).
	Created time.Time
	Changes []changelog.Change
	Size    int
	Via     string
	// Audit is the mission's audit chain as the pouch reports it; nil if
	// it reports none (see NoteAudit).
	Audit *AuditMark
}

// Ingest stores the changes of verified pouches and applies, in sequence
// order, every change that follows a mission's last applied one without a
// gap. All of it happens in one transaction, so a crash leaves the pouches
// either wholly taken in or not at all; and since changes are keyed by
// (mission, sequence), taking in the same pouch again, or pouches in any
// order, ends in the same state. It returns, for each pouch, the sequence
// number up to which its mission's changes are now all applied, and HQ's
// reply counter after the batch (see Serial).
//
// Several pouches go in one transaction so that HQ pays for one disk sync
// per batch rather than per pouch when many missions sync at once.
func (d *DB) Ingest(ctx context.Context, ps []Pouch) ([]int64, int64, error) {
	cat, err := d.Catalog(ctx)
	if err != nil {
		return nil, 0, err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	now := d.Now().UTC()
	// news holds, for each mission that told HQ something new, the newest
	// creation time of such a pouch: only those move its "last seen".
	news := map[string]time.Time{}
	for _, p := range ps {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pouches (id, mission, first, last, size, via, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, p.ID, p.Mission, p.First, p.Last, p.Size, p.Via, sqlite.Time(now)); err != nil {
			return nil, 0, err
		}
		if p.Audit != nil {
			if _, err := d.noteAudit(ctx, tx, p.Mission, p.Created, *p.Audit); err != nil {
				return nil, 0, err
			}
		}
		fresh := false
		for _, c := range p.Changes {
			res, err := tx.ExecContext(ctx, `INSERT INTO received (mission, seq, entity, key, op, body, at, pouch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (mission, seq) DO NOTHING`, p.Mission, c.Seq, string(c.Entity), c.Key, string(c.Op), string(c.Body), sqlite.Time(c.At), p.ID)
			if err != nil {
				return nil, 0, err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				fresh = true
			}
		}
		if !fresh && len(p.Changes) == 0 {
			// An empty pouch is a mission asking for news: new evidence of
			// life only if it was signed after every pouch before it.
			var last sqlite.NullTime
			if err := tx.QueryRowContext(ctx, "SELECT last_created FROM missions WHERE code = ?", p.Mission).Scan(&last); err != nil {
				return nil, 0, fmt.Errorf("ingest: mission %s: %w", p.Mission, err)
			}
			// …and within the skew a mission's clock may have: a pouch
			// dated years ahead would otherwise make every later request
			// look old.
			fresh = p.Created.After(time.Time(last)) && p.Created.After(news[p.Mission]) && !p.Created.After(now.Add(MaxSkew))
		}
		// The newest believable creation time: one past the skew is not
		// kept, so that it cannot make later requests look old.
		created := p.Created
		if created.After(now.Add(MaxSkew)) {
			created = time.Time{}
		}
		if prev, seen := news[p.Mission]; fresh && (!seen || created.After(prev)) {
			news[p.Mission] = created
		}
	}
	through := map[string]int64{}
	for _, p := range ps {
		mission := p.Mission
		if _, done := through[mission]; done {
			continue
		}
		var t int64
		if err := tx.QueryRowContext(ctx, "SELECT through FROM missions WHERE code = ?", mission).Scan(&t); err != nil {
			return nil, 0, fmt.Errorf("ingest: mission %s: %w", mission, err)
		}
		next, err := applyFrom(ctx, tx, mission, t, now)
		if err != nil {
			return nil, 0, err
		}
		// An incident's record is whole and stamped: HQ takes it at once,
		// even ahead of a gap, so that an escalation is not held up by the
		// backlog before it.
		for _, p := range ps {
			if p.Mission != mission {
				continue
			}
			for _, c := range p.Changes {
				if c.Seq > next && c.Entity == changelog.EntityIncident {
					if err := apply(ctx, tx, mission, c, now); err != nil {
						return nil, 0, err
					}
				}
			}
		}
		if next != t {
			if err := d.refreshScores(ctx, tx, cat, mission); err != nil {
				return nil, 0, err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE missions SET through = ? WHERE code = ?", next, mission); err != nil {
			return nil, 0, err
		}
		if created, ok := news[mission]; ok {
			if _, err := tx.ExecContext(ctx, `UPDATE missions SET last_seen = ?,
				last_created = CASE WHEN ? IS NOT NULL AND (last_created IS NULL OR last_created < ?) THEN ? ELSE last_created END WHERE code = ?`,
				sqlite.Time(now), sqlite.NullTime(created), sqlite.NullTime(created), sqlite.NullTime(created), mission); err != nil {
				return nil, 0, err
			}
		}
		through[mission] = next
	}
	var serial int64
	if err := tx.QueryRowContext(ctx, "UPDATE hq_serial SET n = n + 1 WHERE id = 1 RETURNING n").Scan(&serial); err != nil {
		return nil, 0, err
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, err
	}
	for _, p := range ps {
		for _, c := range p.Changes {
			if c.Entity == changelog.EntityUpdate {
				d.updates.Delete(p.Mission) // its report changed its state
			}
		}
	}
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = through[p.Mission]
	}
	return out, serial, nil
}

// applyFrom applies the received changes that follow through without a
// gap and returns the new high-water mark.
func applyFrom(ctx context.Context, tx *sql.Tx, mission string, through int64, now time.Time) (int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT seq, entity, key, op, body FROM received WHERE mission = ? AND seq > ? ORDER BY seq", mission, through)
	if err != nil {
		return 0, err
	}
	type ch struct {
		seq             int64
		entity, key, op string
		body            string
	}
	var pending []ch
	for rows.Next() {
		var c ch
		if err := rows.Scan(&c.seq, &c.entity, &c.key, &c.op, &c.body); err != nil {
			rows.Close()
			return 0, err
		}
		if c.seq != through+int64(len(pending))+1 {
			break // a gap: wait for the missing changes
		}
		pending = append(pending, c)
	}
	rows.Close()
	for _, c := range pending {
		if err := apply(ctx, tx, mission, changelog.Change{Seq: c.seq, Entity: changelog.Entity(c.entity), Key: c.key, Op: changelog.Op(c.op), Body: []byte(c.body)}, now); err != nil {
			return 0, fmt.Errorf("apply change %d of %s: %w", c.seq, mission, err)
		}
		through = c.seq
	}
	return through, nil
}

// apply writes one change of a mission's log into HQ's tables. The body
// is read by the mission's own decoder (changelog.Change.Record), so both
// ends agree on what a change means.
func apply(ctx context.Context, tx *sql.Tx, mission string, c changelog.Change, now time.Time) error {
	rec, err := c.Record(now)
	switch {
	case errors.Is(err, changelog.ErrUnknown):
		// A change this HQ does not know yet is kept in received and
		// applied once HQ is upgraded; it does not block the changes
		// after it.
		return nil
	case errors.Is(err, changelog.ErrMismatch) && c.Entity == changelog.EntityAttachment:
		// A file whose bytes are not its hash is not kept: the incident
		// lists it, and HQ shows it as not received, since the mission's
		// signed pouch carried it damaged.
		return nil
	case err != nil:
		return err
	}
	switch r := rec.(type) {
	case readiness.Answer:
		_, err := tx.ExecContext(ctx, `INSERT INTO answers (mission, `+answerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (mission, item_id) DO UPDATE SET level = excluded.level, na = excluded.na, evidence = excluded.evidence,
			answered_by = excluded.answered_by, answered_at = excluded.answered_at, evidence_on = excluded.evidence_on, files = excluded.files`,
			append([]any{mission}, answerArgs(r)...)...)
		return err
	case readiness.Snapshot:
		answers, err := json.Marshal(r.Answers)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO snapshots (mission, id, framework_version, signed_by, signed_at, note, answers) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, mission, r.ID, r.FrameworkVersion, r.SignedBy, sqlite.Time(r.SignedAt), r.Note, string(answers))
		return err
	case changelog.Ack:
		_, err := tx.ExecContext(ctx, "INSERT INTO acks (mission, protocol, version, username, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			mission, r.Protocol, r.Version, r.Username, sqlite.Time(r.At))
		return err
	case incident.Incident:
		return applyIncident(ctx, tx, mission, c.Seq, r, c.Body)
	case incident.AttachmentData:
		_, err := tx.ExecContext(ctx, "INSERT INTO mission_attachments (mission, sha256, size, data) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", mission, r.SHA256, len(r.Data), r.Data)
		return err
	case changelog.UpdateReport:
		return applyUpdateReport(ctx, tx, mission, r)
	}
	return fmt.Errorf("no table for %T", rec)
}

// Answers returns a mission's current answers as HQ holds them.
func (d *DB) Answers(ctx context.Context, mission string) (map[string]readiness.Answer, error) {
	return queryAnswers(ctx, d.sql, "SELECT "+answerCols+" FROM answers WHERE mission = ?", mission)
}

// Snapshots returns a mission's signed-off snapshots, newest first.
func (d *DB) Snapshots(ctx context.Context, mission string) ([]readiness.Snapshot, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT id, framework_version, signed_by, signed_at, note, answers FROM snapshots WHERE mission = ? ORDER BY signed_at DESC, id DESC", mission)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []readiness.Snapshot
	for rows.Next() {
		var s readiness.Snapshot
		var answers string
		if err := rows.Scan(&s.ID, &s.FrameworkVersion, &s.SignedBy, (*sqlite.Time)(&s.SignedAt), &s.Note, &answers); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(answers), &s.Answers)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Received counts the changes held for a mission, applied or not.
func (d *DB) Received(ctx context.Context, mission string) (int, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, "SELECT count(*) FROM received WHERE mission = ?", mission).Scan(&n)
	return n, err
}

// Arrival is how a mission's last pouch came in.
type Arrival struct {
	Via string // "http 10.0.0.5", "http 10.0.0.5 carried by FR-LYO", "file …"
	At  time.Time
}

// Serial returns HQ's reply counter: it grows with every batch of pouches
// taken in, never with the clock.
func (d *DB) Serial(ctx context.Context) (int64, error) {
	var n int64
	err := d.sql.QueryRowContext(ctx, "SELECT n FROM hq_serial WHERE id = 1").Scan(&n)
	return n, err
}

// LastArrival returns how the mission's last pouch came in; the zero
// Arrival if none has.
func (d *DB) LastArrival(ctx context.Context, mission string) (Arrival, error) {
	var a Arrival
	err := d.sql.QueryRowContext(ctx, "SELECT via, received_at FROM pouches WHERE mission = ? ORDER BY rowid DESC LIMIT 1", mission).Scan(&a.Via, (*sqlite.Time)(&a.At))
	if errors.Is(err, sql.ErrNoRows) {
		return Arrival{}, nil
	}
	return a, err
}

// SignOff is when and by whom a mission last signed off.
type SignOff struct {
	ID       string
	SignedBy string
	SignedAt time.Time
}

// LatestSignOffs returns each mission's newest sign-off.
func (d *DB) LatestSignOffs(ctx context.Context) (map[string]SignOff, error) {
	return d.SignOffsOf(ctx, false)
}

// SignOffsOf is LatestSignOffs, only of the missions named when only is
// set.
func (d *DB) SignOffsOf(ctx context.Context, only bool, codes ...string) (map[string]SignOff, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT mission, id, signed_by, max(signed_at) FROM snapshots WHERE `+among("mission", only)+` GROUP BY mission`, codesArg(only, codes)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]SignOff{}
	for rows.Next() {
		var mission string
		var s SignOff
		if err := rows.Scan(&mission, &s.ID, &s.SignedBy, (*sqlite.Time)(&s.SignedAt)); err != nil {
			return nil, err
		}
		out[mission] = s
	}
	return out, rows.Err()
}
