package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"chancery/shared/account"
	"chancery/shared/evidence"
	"chancery/shared/framework"
	"chancery/shared/problem"
	"chancery/shared/readiness"
	"chancery/shared/sqlite"
)

// answerCols are the columns of an answer, a mission's or HQ's own.
const answerCols = "item_id, level, na, evidence, answered_by, answered_at, evidence_on, files"

func answerArgs(a readiness.Answer) []any {
	return []any{a.ItemID, a.Level, a.NA, a.Evidence, a.AnsweredBy, sqlite.Time(a.AnsweredAt), sqlite.NullTime(a.EvidenceOn), evidence.List(a.Files)}
}

// scanAnswer reads answerCols, after the columns given first.
func scanAnswer(r interface{ Scan(...any) error }, first ...any) (readiness.Answer, error) {
	var a readiness.Answer
	err := r.Scan(append(first, &a.ItemID, &a.Level, &a.NA, &a.Evidence, &a.AnsweredBy, (*sqlite.Time)(&a.AnsweredAt),
		(*sqlite.NullTime)(&a.EvidenceOn), (*evidence.List)(&a.Files))...)
	return a, err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryAnswers(ctx context.Context, q querier, query string, args ...any) (map[string]readiness.Answer, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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

// MissionAnswerFile returns an evidence file of a mission's answer, if HQ
// has received it (false if not yet).
func (d *DB) MissionAnswerFile(ctx context.Context, mission, item, sha string) (evidence.File, []byte, bool, error) {
	answers, err := d.Answers(ctx, mission)
	if err != nil {
		return evidence.File{}, nil, false, err
	}
	for _, f := range answers[item].Files {
		if f.SHA256 != sha {
			continue
		}
		var data []byte
		// Only a file this mission's own signed change brought.
		err := d.sql.QueryRowContext(ctx, "SELECT data FROM mission_attachments WHERE mission = ? AND sha256 = ?", mission, sha).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return f, nil, false, nil
		}
		return f, data, err == nil, err
	}
	return evidence.File{}, nil, false, problem.New(problem.NotFound, "answer.no_such_file", "Item", item)
}

// DefaultProfile is the profile of a ministry that has not set one: the
// middle, until HQ says otherwise.
const DefaultProfile = framework.Mid

// Profile is the ministry's profile, with who set it and when (empty
// for the default).
type Profile struct {
	Profile string
	SetBy   string
	SetAt   time.Time
}

// Profile returns the ministry's profile.
func (d *DB) Profile(ctx context.Context) (Profile, error) {
	var p Profile
	err := d.sql.QueryRowContext(ctx, "SELECT profile, set_by, set_at FROM ministry WHERE id = 1").Scan(&p.Profile, &p.SetBy, (*sqlite.Time)(&p.SetAt))
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{Profile: DefaultProfile}, nil
	}
	return p, err
}

// SetProfile sets the ministry's profile: large, mid or small.
func (d *DB) SetProfile(ctx context.Context, by account.Actor, profile string) error {
	if !slices.Contains(framework.Profiles, profile) {
		return problem.New(problem.Invalid, "ministry.bad_profile", "Profile", profile, "Profiles", strings.Join(framework.Profiles, ", "))
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO ministry (id, profile, set_by, set_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, set_by = excluded.set_by, set_at = excluded.set_at`,
		profile, by.Username, sqlite.Time(d.Now().UTC())); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, by, "ministry.profile", profile, ""); err != nil {
		return err
	}
	return tx.Commit()
}

// MinistryAnswers returns HQ's own answers, keyed by item id.
func (d *DB) MinistryAnswers(ctx context.Context) (map[string]readiness.Answer, error) {
	return queryAnswers(ctx, d.sql, "SELECT "+answerCols+" FROM ministry_answers")
}

// SaveMinistryAnswer records HQ's answer to one of the framework's
// ministry items, with the evidence files uploaded beside it; the files
// it kept before stay with it. It is checked as a mission's answer is.
func (d *DB) SaveMinistryAnswer(ctx context.Context, by account.Actor, f *framework.Framework, a readiness.Answer, uploads ...evidence.Upload) (readiness.Answer, error) {
	if _, err := f.MinistryItem(a.ItemID); err != nil {
		return a, problem.New(problem.Invalid, "answer.no_item", "Item", a.ItemID, "Version", f.Version)
	}
	a, err := a.Given(by.Username, d.Now(), uploads)
	if err != nil {
		return a, err
	}
	files := a.Files
	if err := a.Check(d.Now()); err != nil {
		return a, err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return a, err
	}
	defer tx.Rollback()
	cur, err := scanAnswer(tx.QueryRowContext(ctx, "SELECT "+answerCols+" FROM ministry_answers WHERE item_id = ?", a.ItemID))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return a, err
	}
	a.Files = evidence.Add(cur.Files, files...)
	for i, ef := range files {
		if _, err := tx.ExecContext(ctx, "INSERT INTO ministry_files (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", ef.SHA256, ef.Size, uploads[i].Data); err != nil {
			return a, err
		}
	}
	if err := evidence.CheckAll(a.Files); err != nil {
		return a, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ministry_answers (`+answerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (item_id) DO UPDATE SET level = excluded.level, na = excluded.na, evidence = excluded.evidence,
		answered_by = excluded.answered_by, answered_at = excluded.answered_at, evidence_on = excluded.evidence_on, files = excluded.files`,
		answerArgs(a)...); err != nil {
		return a, err
	}
	what := fmt.Sprintf("level %d", a.Level)
	if a.NA {
		what = "not applicable"
	}
	if len(files) > 0 {
		what += fmt.Sprintf(", %d file(s) added", len(files))
	}
	if err := account.Audit(ctx, tx, by, "ministry.answer", a.ItemID, what); err != nil {
		return a, err
	}
	return a, tx.Commit()
}

// MinistryFile returns an evidence file of one of HQ's answers, checking
// its hash.
func (d *DB) MinistryFile(ctx context.Context, item, sha string) (evidence.File, []byte, error) {
	answers, err := d.MinistryAnswers(ctx)
	if err != nil {
		return evidence.File{}, nil, err
	}
	for _, f := range answers[item].Files {
		if f.SHA256 != sha {
			continue
		}
		var data []byte
		if err := d.sql.QueryRowContext(ctx, "SELECT data FROM ministry_files WHERE sha256 = ?", sha).Scan(&data); err != nil {
			return f, nil, err
		}
		if !f.Matches(data) {
			return f, nil, fmt.Errorf("evidence file %s of %s is damaged", sha, item)
		}
		return f, data, nil
	}
	return evidence.File{}, nil, problem.New(problem.NotFound, "answer.no_such_file", "Item", item)
}

// MinistrySignOff is HQ's assessment as it was signed off.
type MinistrySignOff struct {
	ID               int64
	FrameworkVersion int
	Profile          string
	SignedBy         string
	SignedAt         time.Time
	Note             string
	Answers          map[string]readiness.Answer
}

// SignOffMinistry freezes HQ's current assessment, as a head of mission
// signs off a mission's.
func (d *DB) SignOffMinistry(ctx context.Context, by account.Actor, f *framework.Framework, note string) (MinistrySignOff, error) {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > readiness.MaxNote || !utf8.ValidString(note) {
		return MinistrySignOff{}, problem.New(problem.Invalid, "snapshot.note_too_long", "Max", readiness.MaxNote)
	}
	prof, err := d.Profile(ctx)
	if err != nil {
		return MinistrySignOff{}, err
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return MinistrySignOff{}, err
	}
	defer tx.Rollback()
	answers, err := queryAnswers(ctx, tx, "SELECT "+answerCols+" FROM ministry_answers")
	if err != nil {
		return MinistrySignOff{}, err
	}
	if len(answers) == 0 {
		return MinistrySignOff{}, problem.New(problem.Invalid, "ministry.nothing_to_sign")
	}
	s := MinistrySignOff{FrameworkVersion: f.Version, Profile: prof.Profile, SignedBy: by.Username, SignedAt: d.Now().UTC().Truncate(time.Second), Note: note, Answers: answers}
	b, _ := json.Marshal(answers)
	res, err := tx.ExecContext(ctx, `INSERT INTO ministry_signoffs (framework_version, profile, signed_by, signed_at, note, answers) VALUES (?, ?, ?, ?, ?, ?)`,
		s.FrameworkVersion, s.Profile, s.SignedBy, sqlite.Time(s.SignedAt), s.Note, string(b))
	if err != nil {
		return s, err
	}
	if s.ID, err = res.LastInsertId(); err != nil {
		return s, err
	}
	if err := account.Audit(ctx, tx, by, "ministry.signoff", fmt.Sprint(s.ID), fmt.Sprintf("%d answers", len(answers))); err != nil {
		return s, err
	}
	return s, tx.Commit()
}

// MinistrySignOffs returns HQ's sign-offs, newest first.
func (d *DB) MinistrySignOffs(ctx context.Context) ([]MinistrySignOff, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT id, framework_version, profile, signed_by, signed_at, note, answers FROM ministry_signoffs ORDER BY id DESC")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MinistrySignOff
	for rows.Next() {
		var s MinistrySignOff
		var answers string
		if err := rows.Scan(&s.ID, &s.FrameworkVersion, &s.Profile, &s.SignedBy, (*sqlite.Time)(&s.SignedAt), &s.Note, &answers); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(answers), &s.Answers); err != nil {
			return nil, fmt.Errorf("ministry sign-off %d is damaged: %w", s.ID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
