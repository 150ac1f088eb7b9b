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
	cat, err := d.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	out, stale, err := d.readScores(ctx, cat)
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
	out, _, err = d.readScores(ctx, cat)
	return out, err
}

func (d *DB) readScores(ctx context.Context, cat *Catalog) (map[string]Scores, []string, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT m.code, m.framework, s.summary, s.last_change FROM missions m LEFT JOIN mission_scores s ON s.mission = m.code`)
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
		if !summary.Valid || json.Unmarshal([]byte(summary.String), &s.Summary) != nil || s.Summary.Framework != cat.Of(m).Version {
			stale = append(stale, code)
			continue
		}
		s.LastChange = last.Ptr()
		out[code] = s
	}
	return out, stale, rows.Err()
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
