package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"chancery/shared/readiness"
	"chancery/shared/sqlite"
)

// Scores are a mission's scores as the readiness map reads them.
type Scores struct {
	Summary readiness.Summary
	// LastChange is when the newest answer was given.
	LastChange *time.Time
}

// refreshScores recomputes a mission's scores from its answers, inside the
// transaction that changed them, against the framework version the
// mission has: items it cannot see never count against it.
func (d *DB) refreshScores(ctx context.Context, tx *sql.Tx, cat *Catalog, mission string) error {
	var m Mission
	m.Code = mission
	if err := tx.QueryRowContext(ctx, "SELECT framework FROM missions WHERE code = ?", mission).Scan(&m.Framework); err != nil {
		return err
	}
	f := cat.Of(m)
	rows, err := tx.QueryContext(ctx, "SELECT item_id, level, na, evidence, answered_at FROM answers WHERE mission = ?", mission)
	if err != nil {
		return err
	}
	answers := map[string]readiness.Answer{}
	var last time.Time
	for rows.Next() {
		var a readiness.Answer
		if err := rows.Scan(&a.ItemID, &a.Level, &a.NA, &a.Evidence, (*sqlite.Time)(&a.AnsweredAt)); err != nil {
			rows.Close()
			return err
		}
		answers[a.ItemID] = a
		if a.AnsweredAt.After(last) {
			last = a.AnsweredAt
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	b, _ := json.Marshal(readiness.Summarize(f, readiness.Assess(f, answers)))
	_, err = tx.ExecContext(ctx, `INSERT INTO mission_scores (mission, summary, last_change) VALUES (?, ?, ?)
		ON CONFLICT (mission) DO UPDATE SET summary = excluded.summary, last_change = excluded.last_change`, mission, string(b), sqlite.NullTime(last))
	return err
}

// AllScores returns every mission's scores. Scores computed under another
// framework version than the mission's (it applied a new one, or HQ's
// scoring changed) are computed again first.
func (d *DB) AllScores(ctx context.Context) (map[string]Scores, error) {
	return d.ScoresOf(ctx, false)
}

// ScoresOf is AllScores of the missions named, when only is set.
func (d *DB) ScoresOf(ctx context.Context, only bool, codes ...string) (map[string]Scores, error) {
	cat, err := d.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	out, stale, err := d.readScores(ctx, cat, only, codes)
	if err != nil || len(stale) == 0 {
		return out, err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, m := range stale {
		if err := d.refreshScores(ctx, tx, cat, m); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	out, _, err = d.readScores(ctx, cat, only, codes)
	return out, err
}

func (d *DB) readScores(ctx context.Context, cat *Catalog, only bool, codes []string) (map[string]Scores, []string, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT m.code, m.framework, s.summary, s.last_change FROM missions m LEFT JOIN mission_scores s ON s.mission = m.code
		WHERE `+among("m.code", only), codesArg(only, codes)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out := map[string]Scores{}
	var stale []string
	for rows.Next() {
		var m Mission
		var summary sql.NullString
		var last sqlite.NullTime
		if err := rows.Scan(&m.Code, &m.Framework, &summary, &last); err != nil {
			return nil, nil, err
		}
		code := m.Code
		var s Scores
		if !summary.Valid || !d.decodeSummary(code, summary.String, &s.Summary) || s.Summary.Framework != cat.Of(m).Version {
			stale = append(stale, code)
			continue
		}
		s.LastChange = last.Ptr()
		out[code] = s
	}
	return out, stale, rows.Err()
}

// decodedSummary is a mission's scores with the text they were read from.
type decodedSummary struct {
	text string
	s    readiness.Summary
}

// decodeSummary decodes a mission's stored scores, or takes them as last
// decoded when their text is the same.
func (d *DB) decodeSummary(code, text string, into *readiness.Summary) bool {
	if v, ok := d.summaries.Load(code); ok && v.(decodedSummary).text == text {
		*into = v.(decodedSummary).s
		return true
	}
	var s readiness.Summary
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return false
	}
	d.summaries.Store(code, decodedSummary{text, s})
	*into = s
	return true
}

// AnswersTo returns every mission's answers to the given items, keyed by
// mission and item: what the gap view needs, and no more.
func (d *DB) AnswersTo(ctx context.Context, items []string) (map[string]map[string]readiness.Answer, error) {
	b, _ := json.Marshal(items)
	rows, err := d.sql.QueryContext(ctx, `SELECT mission, `+answerCols+` FROM answers
		WHERE item_id IN (SELECT value FROM json_each(?))`, string(b))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]readiness.Answer{}
	for rows.Next() {
		var mission string
		a, err := scanAnswer(rows, &mission)
		if err != nil {
			return nil, err
		}
		if out[mission] == nil {
			out[mission] = map[string]readiness.Answer{}
		}
		out[mission][a.ItemID] = a
	}
	return out, rows.Err()
}

// MapVersion is the readiness map's version: it moves on with every write
// to what the map is built from (see migration 0116), so a map built at
// one version is the map as long as the version stays.
func (d *DB) MapVersion(ctx context.Context) (int64, error) {
	var v int64
	err := d.sql.QueryRowContext(ctx, "SELECT v FROM map_version WHERE id = 1").Scan(&v)
	return v, err
}

// MapChanges returns the map's version and the missions whose rows of the
// map changed since version since; all is true when the change concerns
// every mission (a publication, a mission's code changed) or goes back
// further than HQ notes, and the whole map must be built again.
func (d *DB) MapChanges(ctx context.Context, since int64) (v int64, missions []string, all bool, err error) {
	tx, err := d.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, nil, false, err
	}
	defer tx.Rollback()
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT (SELECT v FROM map_version WHERE id = 1), (SELECT min(v) FROM map_changes)").Scan(&v, &oldest); err != nil {
		return 0, nil, false, err
	}
	if v == since {
		return v, nil, false, nil
	}
	if v < since || !oldest.Valid || oldest.Int64 > since+1 {
		return v, nil, true, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT mission FROM map_changes WHERE v > ? AND v <= ?", since, v)
	if err != nil {
		return 0, nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var m sql.NullString
		if err := rows.Scan(&m); err != nil {
			return 0, nil, false, err
		}
		if !m.Valid {
			return v, nil, true, nil
		}
		missions = append(missions, m.String)
	}
	return v, missions, false, rows.Err()
}

// among is the SQL condition that a column is one of codes (given as the
// JSON of the list), or true when only is false.
func among(col string, only bool) string {
	if !only {
		return "1"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// codesArg is codes as among's argument, if there are any.
func codesArg(only bool, codes []string) []any {
	if !only {
		return nil
	}
	b, _ := json.Marshal(codes)
	return []any{string(b)}
}

// LastSeen returns when each mission was last heard of, nil for never:
// what the map reads afresh each time, since every exchange moves it.
func (d *DB) LastSeen(ctx context.Context) (map[string]*time.Time, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT code, last_seen FROM missions")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*time.Time{}
	for rows.Next() {
		var code string
		var seen sqlite.NullTime
		if err := rows.Scan(&code, &seen); err != nil {
			return nil, err
		}
		out[code] = seen.Ptr()
	}
	return out, rows.Err()
}
