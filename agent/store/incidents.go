package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/evidence"
	"chancery/shared/incident"
	"chancery/shared/problem"
	"chancery/shared/sqlite"
)

// CreateIncident records a new incident, at the monitoring step.
func (d *DB) CreateIncident(ctx context.Context, by account.Actor, in incident.Incident) (incident.Incident, error) {
	now := d.Now().UTC().Truncate(time.Second)
	// Five random bytes: ids stay short to read out on a phone call, and
	// a mission would need millions of incidents a day to see two alike.
	in.ID = "INC-" + now.Format("20060102") + "-" + strings.ToUpper(randomHex(5))
	in.Status, in.CreatedBy, in.CreatedAt, in.UpdatedAt = incident.Monitoring, by.Username, now, now
	if in.FirstSeen.IsZero() {
		in.FirstSeen = now
	}
	in.Timeline = []incident.Entry{{At: now, By: by.Username, To: incident.Monitoring, Reason: incident.CreatedReason}}
	if err := in.Check(d.Now()); err != nil {
		return in, problem.New(problem.Invalid, "incident.not_recorded", "Why", err)
	}
	return in, d.createIncident(ctx, by, in)
}

// createIncident writes a new incident, its change and its audit entry in
// one transaction.
func (d *DB) createIncident(ctx context.Context, by account.Actor, in incident.Incident) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO incidents (id, status, severity, updated_at, body) VALUES (?, ?, ?, ?, ?)", in.ID, in.Status, in.Severity, sqlite.Time(in.UpdatedAt), string(body)); err != nil {
		return err
	}
	if err := appendChange(ctx, tx, changelog.EntityIncident, in.ID, json.RawMessage(body), in.UpdatedAt); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, by, "incident.create", in.ID, string(in.Status)); err != nil {
		return err
	}
	return tx.Commit()
}

// errUnchanged tells updateIncident that the change found nothing to do.
var errUnchanged = errors.New("unchanged")

// updateIncident reads an incident, changes it with change and writes it
// back with its change-log entry and audit line, all in one write
// transaction: two people acting on one incident at once each see the
// other's work, and neither is lost. change may write more in tx (the
// rows that go with it) and returns errUnchanged when there is nothing to
// do.
func (d *DB) updateIncident(ctx context.Context, by account.Actor, id, action string, change func(tx *sql.Tx, in *incident.Incident) error) (incident.Incident, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return incident.Incident{}, err
	}
	defer tx.Rollback()
	in, err := readIncident(ctx, tx, id)
	if err != nil {
		return in, err
	}
	if err := change(tx, &in); errors.Is(err, errUnchanged) {
		return in, nil
	} else if err != nil {
		return in, err
	}
	if err := in.Check(d.Now()); err != nil {
		return in, problem.New(problem.Invalid, "incident.move_not_recorded", "Why", err)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return in, err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE incidents SET status = ?, severity = ?, updated_at = ?, body = ? WHERE id = ?", in.Status, in.Severity, sqlite.Time(in.UpdatedAt), string(body), in.ID); err != nil {
		return in, err
	}
	if err := appendChange(ctx, tx, changelog.EntityIncident, in.ID, json.RawMessage(body), in.UpdatedAt); err != nil {
		return in, err
	}
	if err := account.Audit(ctx, tx, by, action, in.ID, string(in.Status)); err != nil {
		return in, err
	}
	return in, tx.Commit()
}

// Incident returns one incident.
func (d *DB) Incident(ctx context.Context, id string) (incident.Incident, error) {
	return readIncident(ctx, d.sql, id)
}

func readIncident(ctx context.Context, q queryer, id string) (incident.Incident, error) {
	var body string
	err := q.QueryRowContext(ctx, "SELECT body FROM incidents WHERE id = ?", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return incident.Incident{}, problem.New(problem.NotFound, "incident.none", "ID", id)
	}
	if err != nil {
		return incident.Incident{}, err
	}
	var in incident.Incident
	return in, json.Unmarshal([]byte(body), &in)
}

// Incidents lists incidents for the log's page: open ones first, most
// severe first, then closed ones, most recent first. Only the fields the
// list shows are read, straight from the stored JSON.
func (d *DB) Incidents(ctx context.Context, limit int) ([]incident.Incident, error) {
	return d.listIncidents(ctx, "ORDER BY status = 'closed', severity DESC, updated_at DESC LIMIT ?", limit)
}

// AwaitingDecision lists the incidents flagged for the head of mission:
// staff have done what is theirs, and the next step is a decision.
func (d *DB) AwaitingDecision(ctx context.Context) ([]incident.Incident, error) {
	return d.listIncidents(ctx, "WHERE status = ? ORDER BY severity DESC, updated_at", string(incident.Flagged))
}

// listIncidents reads the fields the lists show, straight from the
// stored JSON, for the rows that rest (a WHERE and ORDER BY) picks.
func (d *DB) listIncidents(ctx context.Context, rest string, args ...any) ([]incident.Incident, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, json_extract(body, '$.title'), json_extract(body, '$.kind'), severity, status, updated_at
		FROM incidents `+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []incident.Incident
	for rows.Next() {
		var in incident.Incident
		if err := rows.Scan(&in.ID, &in.Title, &in.Kind, &in.Severity, &in.Status, (*sqlite.Time)(&in.UpdatedAt)); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// MoveIncident records a decision on the pathway.
func (d *DB) MoveIncident(ctx context.Context, by account.Actor, id string, to incident.Status, reason, lessons string) (incident.Incident, error) {
	if utf8.RuneCountInString(reason) > incident.MaxText || utf8.RuneCountInString(lessons) > incident.MaxText {
		return incident.Incident{}, problem.New(problem.Invalid, "incident.text_too_long", "Max", incident.MaxText)
	}
	return d.updateIncident(ctx, by, id, "incident."+string(to), func(tx *sql.Tx, in *incident.Incident) error {
		if err := in.Move(to, by.Username, reason, lessons, d.Now().UTC().Truncate(time.Second)); err != nil {
			return problem.New(problem.Invalid, "incident.move_not_recorded", "Why", err)
		}
		if to != incident.Escalated {
			return nil
		}
		// The escalation goes to HQ ahead of everything waiting.
		_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (incident, state, at) VALUES (?, ?, NULL)
			ON CONFLICT (incident) DO UPDATE SET state = excluded.state, at = NULL`, in.ID, DeliveryQueued)
		return err
	})
}

// Delivery of an escalated incident to HQ.
const (
	DeliveryQueued   = "queued"
	DeliverySent     = "sent"
	DeliveryReceived = "received"
)

// Delivery is how far an escalated incident has got towards HQ: queued,
// sent or received, and when it got there.
type Delivery struct {
	State string
	At    time.Time
}

// String reads as the incident page shows it: "sent 2026-12-01T10:00:00Z".
func (d Delivery) String() string {
	if d.At.IsZero() {
		return d.State
	}
	return d.State + " " + d.At.UTC().Format(time.RFC3339)
}

// Delivery returns how far an escalated incident has got towards HQ; nil
// when it was never escalated.
func (d *DB) Delivery(ctx context.Context, id string) (*Delivery, error) {
	var v Delivery
	err := d.sql.QueryRowContext(ctx, "SELECT state, at FROM deliveries WHERE incident = ?", id).Scan(&v.State, (*sqlite.NullTime)(&v.At))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// IncidentSeq is the number of the incident's latest change: the one
// whose delivery to HQ its page shows.
func (d *DB) IncidentSeq(ctx context.Context, id string) (int64, error) {
	var seq sql.NullInt64
	err := d.sql.QueryRowContext(ctx, "SELECT max(seq) FROM changes WHERE entity = ? AND key = ?", string(changelog.EntityIncident), id).Scan(&seq)
	return seq.Int64, err
}

// SetDelivery records how far an escalation has got, with the time.
func (d *DB) SetDelivery(ctx context.Context, id, state string) error {
	_, err := d.sql.ExecContext(ctx, `INSERT INTO deliveries (incident, state, at) VALUES (?, ?, ?)
		ON CONFLICT (incident) DO UPDATE SET state = excluded.state, at = excluded.at`, id, state, sqlite.Time(d.Now()))
	return err
}

// Urgent lists the escalated incidents not yet received by HQ, with the
// latest change of each: what goes to HQ first.
func (d *DB) Urgent(ctx context.Context) ([]changelog.Change, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT incident FROM deliveries WHERE state != ? ORDER BY incident", DeliveryReceived)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []changelog.Change
	for _, id := range ids {
		var seq int64
		err := d.sql.QueryRowContext(ctx, "SELECT max(seq) FROM changes WHERE entity = ? AND key = ?", string(changelog.EntityIncident), id).Scan(&seq)
		if err != nil {
			return nil, err
		}
		cs, err := d.Changes(ctx, seq-1, 1)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// AddAttachment keeps an evidence file with an incident. The file is
// stored under its hash; its type is sniffed for information and never
// used to serve it.
func (d *DB) AddAttachment(ctx context.Context, by account.Actor, id, name string, data []byte) (incident.Incident, error) {
	a, err := evidence.New(name, data, by.Username, d.Now())
	if err != nil {
		return incident.Incident{}, err
	}
	return d.updateIncident(ctx, by, id, "incident.attach", func(tx *sql.Tx, in *incident.Incident) error {
		in.Attachments = append(in.Attachments, a)
		in.UpdatedAt = a.At
		if _, err := tx.ExecContext(ctx, "INSERT INTO attachments (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", a.SHA256, a.Size, data); err != nil {
			return err
		}
		// The file travels as a change of its own.
		return appendChange(ctx, tx, changelog.EntityAttachment, a.SHA256, incident.AttachmentData{Incident: id, SHA256: a.SHA256, Name: a.Name, Data: data}, a.At)
	})
}

// Attachment returns an evidence file of an incident, checking its hash.
func (d *DB) Attachment(ctx context.Context, id, sha string) (incident.Attachment, []byte, error) {
	in, err := d.Incident(ctx, id)
	if err != nil {
		return incident.Attachment{}, nil, err
	}
	for _, a := range in.Attachments {
		if a.SHA256 != sha {
			continue
		}
		data, err := d.fileBytes(ctx, a, id)
		return a, data, err
	}
	return incident.Attachment{}, nil, problem.New(problem.NotFound, "incident.no_such_file", "ID", id)
}

// AddGuidance adds HQ's guidance to an incident's timeline, unless it is
// there already. The incident's change then tells HQ it arrived.
func (d *DB) AddGuidance(ctx context.Context, id, guidanceID, by, text string, at time.Time, ack bool) error {
	_, err := d.updateIncident(ctx, account.Actor{Username: "HQ", Remote: "guidance"}, id, "incident.guidance", func(_ *sql.Tx, in *incident.Incident) error {
		for _, e := range in.Timeline {
			if e.GuidanceID == guidanceID {
				return errUnchanged
			}
		}
		in.Timeline = append(in.Timeline, incident.Entry{At: at.UTC(), By: "HQ (" + by + ")", To: in.Status, Reason: text, HQ: true, GuidanceID: guidanceID, Ack: ack})
		in.UpdatedAt = d.Now().UTC().Truncate(time.Second)
		return nil
	})
	return err
}
