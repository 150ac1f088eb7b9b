package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"chancery/shared/account"
	"chancery/shared/i18n"
	"chancery/shared/incident"
	"chancery/shared/problem"
	"chancery/shared/sqlite"
)

// applyIncident keeps the latest record of a mission's incident. Records
// are whole and stamped, so an older one arriving late changes nothing.
// It also marks HQ guidance delivered once the mission's timeline shows it.
func applyIncident(ctx context.Context, tx *sql.Tx, mission string, seq int64, in incident.Incident, body []byte) error {
	// The record of the later change wins, whatever the mission's clock
	// said when it made them.
	_, err := tx.ExecContext(ctx, `INSERT INTO incidents (mission, id, title, kind, severity, status, first_seen, escalated_at, closed_at, updated_at, lessons, body, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (mission, id) DO UPDATE SET title = excluded.title, kind = excluded.kind, severity = excluded.severity, status = excluded.status,
			first_seen = excluded.first_seen, escalated_at = excluded.escalated_at, closed_at = excluded.closed_at, updated_at = excluded.updated_at,
			lessons = excluded.lessons, body = excluded.body, seq = excluded.seq
		WHERE excluded.seq >= incidents.seq`,
		mission, in.ID, in.Title, string(in.Kind), int(in.Severity), string(in.Status), sqlite.Time(in.FirstSeen),
		sqlite.NullOf(in.EscalatedAt), sqlite.NullOf(in.ClosedAt), sqlite.Time(in.UpdatedAt), in.Lessons, string(body), seq)
	if err != nil {
		return err
	}
	for _, e := range in.Timeline {
		if e.HQ && e.GuidanceID != "" {
			if _, err := tx.ExecContext(ctx, "UPDATE guidance SET delivered = 1 WHERE id = ? AND mission = ?", e.GuidanceID, mission); err != nil {
				return err
			}
		}
	}
	return nil
}

// Reported is an incident as HQ holds it, with its mission.
type Reported struct {
	incident.Incident
	Mission string
}

// Incidents returns the missions' incidents, open ones first.
func (d *DB) Incidents(ctx context.Context) ([]Reported, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT mission, body FROM incidents ORDER BY status = 'closed', severity DESC, updated_at DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Reported
	for rows.Next() {
		var r Reported
		var body string
		if err := rows.Scan(&r.Mission, &body); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(body), &r.Incident); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReportedIncident returns one mission's incident.
func (d *DB) ReportedIncident(ctx context.Context, mission, id string) (Reported, error) {
	var body string
	err := d.sql.QueryRowContext(ctx, "SELECT body FROM incidents WHERE mission = ? AND id = ?", mission, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return Reported{}, problem.New(problem.NotFound, "hq_incident.none_held", "ID", id, "Mission", mission)
	}
	if err != nil {
		return Reported{}, err
	}
	r := Reported{Mission: mission}
	return r, json.Unmarshal([]byte(body), &r.Incident)
}

// Guidance is HQ's guidance on an incident, waiting for or delivered to
// the mission.
type Guidance struct {
	ID, Mission, Incident, Text, By string
	At                              time.Time
	Delivered                       bool
	// Ack marks HQ's acknowledgement of the escalation.
	Ack bool
}

// Acked lists the incidents HQ has acknowledged, as "mission/id".
func (d *DB) Acked(ctx context.Context) (map[string]bool, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT mission, incident FROM guidance WHERE ack = 1")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var m, id string
		if err := rows.Scan(&m, &id); err != nil {
			return nil, err
		}
		out[m+"/"+id] = true
	}
	return out, rows.Err()
}

// AddGuidance records HQ's guidance on a mission's incident; it travels
// to the mission with its next exchange and joins the incident's
// timeline there.
func (d *DB) AddGuidance(ctx context.Context, by account.Actor, mission, id, text string) (Guidance, error) {
	return d.addGuidance(ctx, by, mission, id, text, false)
}

// Acknowledge records that HQ has the mission's escalation and is on it;
// the acknowledgement travels like guidance, once per incident.
func (d *DB) Acknowledge(ctx context.Context, by account.Actor, mission, id string) (Guidance, error) {
	r, err := d.ReportedIncident(ctx, mission, id)
	if err != nil {
		return Guidance{}, err
	}
	if r.Status != incident.Escalated && r.Status != incident.Coordinating {
		return Guidance{}, problem.New(problem.Conflict, "hq_incident.not_escalated", "ID", id, "Status", i18n.Key("incident_status."+string(r.Status)))
	}
	prior, err := d.GuidanceFor(ctx, mission, id, false)
	if err != nil {
		return Guidance{}, err
	}
	for _, g := range prior {
		if g.Ack {
			return g, nil // once is enough
		}
	}
	return d.addGuidance(ctx, by, mission, id, "HQ has the escalation and is on it: the duty officer, "+by.Username+", acknowledged it.", true)
}

func (d *DB) addGuidance(ctx context.Context, by account.Actor, mission, id, text string, ack bool) (Guidance, error) {
	text = strings.TrimSpace(text)
	if text == "" || utf8.RuneCountInString(text) > incident.MaxText || !utf8.ValidString(text) {
		return Guidance{}, problem.New(problem.Invalid, "hq_incident.guidance_size", "Max", incident.MaxText)
	}
	if _, err := d.ReportedIncident(ctx, mission, id); err != nil {
		return Guidance{}, err
	}
	g := Guidance{ID: "G-" + randomID(), Mission: mission, Incident: id, Text: text, By: by.Username, At: d.Now().UTC().Truncate(time.Second), Ack: ack}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return g, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO guidance (id, mission, incident, text, by, at, ack) VALUES (?, ?, ?, ?, ?, ?, ?)", g.ID, mission, id, text, g.By, sqlite.Time(g.At), ack); err != nil {
		return g, err
	}
	action := "incident.guidance"
	if ack {
		action = "incident.ack"
	}
	if err := account.Audit(ctx, tx, by, action, mission+" "+id, ""); err != nil {
		return g, err
	}
	if err := tx.Commit(); err != nil {
		return g, err
	}
	d.guidanceWaiting.Store(mission, true)
	return g, nil
}

// PendingGuidance returns the guidance waiting for a mission. Every reply
// asks, so the missions with guidance waiting are known in memory and the
// others cost no query.
func (d *DB) PendingGuidance(ctx context.Context, mission string) ([]Guidance, error) {
	if _, waiting := d.guidanceWaiting.Load(mission); !waiting {
		return nil, nil
	}
	g, err := d.GuidanceFor(ctx, mission, "", true)
	if err == nil && len(g) == 0 {
		d.guidanceWaiting.Delete(mission)
	}
	return g, err
}

// loadGuidanceWaiting fills, at start, the set of missions with guidance
// waiting.
func (d *DB) loadGuidanceWaiting(ctx context.Context) error {
	rows, err := d.sql.QueryContext(ctx, "SELECT DISTINCT mission FROM guidance WHERE delivered = 0")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return err
		}
		d.guidanceWaiting.Store(m, true)
	}
	return rows.Err()
}

// GuidanceFor returns the guidance on incidents of a mission; pending
// only, or all of it for one incident.
func (d *DB) GuidanceFor(ctx context.Context, mission, id string, pendingOnly bool) ([]Guidance, error) {
	q := "SELECT id, mission, incident, text, by, at, delivered, ack FROM guidance WHERE mission = ?"
	args := []any{mission}
	if id != "" {
		q += " AND incident = ?"
		args = append(args, id)
	}
	if pendingOnly {
		q += " AND delivered = 0"
	}
	rows, err := d.sql.QueryContext(ctx, q+" ORDER BY at", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Guidance
	for rows.Next() {
		var g Guidance
		if err := rows.Scan(&g.ID, &g.Mission, &g.Incident, &g.Text, &g.By, (*sqlite.Time)(&g.At), &g.Delivered, &g.Ack); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Attachment returns an evidence file of a mission's incident, if HQ has
// received it (false if not yet).
func (d *DB) Attachment(ctx context.Context, mission, id, sha string) (incident.Attachment, []byte, bool, error) {
	r, err := d.ReportedIncident(ctx, mission, id)
	if err != nil {
		return incident.Attachment{}, nil, false, err
	}
	for _, a := range r.Attachments {
		if a.SHA256 != sha {
			continue
		}
		var data []byte
		// Only a file this mission's own signed change brought: another
		// mission's file of the same hash is not this incident's evidence.
		err := d.sql.QueryRowContext(ctx, "SELECT data FROM mission_attachments WHERE mission = ? AND sha256 = ?", mission, sha).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return a, nil, false, nil
		}
		return a, data, err == nil, err
	}
	return incident.Attachment{}, nil, false, problem.New(problem.NotFound, "hq_incident.no_such_file", "ID", id, "Mission", mission)
}

// HasAttachments reports which of the given evidence files HQ holds from
// the mission.
func (d *DB) HasAttachments(ctx context.Context, mission string, shas []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, s := range shas {
		var n int
		if err := d.sql.QueryRowContext(ctx, "SELECT count(*) FROM mission_attachments WHERE mission = ? AND sha256 = ?", mission, s).Scan(&n); err != nil {
			return nil, err
		}
		out[s] = n > 0
	}
	return out, nil
}

// Signals are a mission's narrative-resilience signals, from its
// incidents: how fast it escalates and whether it learns.
type Signals struct {
	Reported, Open, Escalated, Closed, WithLessons int
	// MedianToEscalate runs from first seen to escalation.
	MedianToEscalate time.Duration
}

// LessonsShare is the share of closed incidents with lessons, 0–100.
func (s Signals) LessonsShare() int {
	if s.Closed == 0 {
		return 0
	}
	return s.WithLessons * 100 / s.Closed
}

// IncidentSignals returns every mission's signals, from the incident
// columns alone.
func (d *DB) IncidentSignals(ctx context.Context) (map[string]Signals, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT mission, status, first_seen, escalated_at, closed_at IS NOT NULL, lessons != '' FROM incidents`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Signals{}
	waits := map[string][]time.Duration{}
	for rows.Next() {
		var mission, status string
		var first sqlite.Time
		var escalated sqlite.NullTime
		var closed, lessons bool
		if err := rows.Scan(&mission, &status, &first, &escalated, &closed, &lessons); err != nil {
			return nil, err
		}
		s := out[mission]
		s.Reported++
		if closed {
			s.Closed++
			if lessons {
				s.WithLessons++
			}
		} else {
			s.Open++
		}
		if e := escalated.Ptr(); e != nil {
			s.Escalated++
			waits[mission] = append(waits[mission], e.Sub(time.Time(first)))
		}
		out[mission] = s
	}
	for m, ws := range waits {
		slices.Sort(ws)
		s := out[m]
		if len(ws)%2 == 1 {
			s.MedianToEscalate = ws[len(ws)/2]
		} else {
			s.MedianToEscalate = (ws[len(ws)/2-1] + ws[len(ws)/2]) / 2
		}
		out[m] = s
	}
	return out, rows.Err()
}
