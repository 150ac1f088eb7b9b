package readiness

import (
	"fmt"
	"time"

	"chancery/shared/evidence"
	"chancery/shared/problem"
	"chancery/shared/text"
)

// Limits on the records of an assessment.
const (
	MaxItemID  = 40
	MaxName    = 64 // a username, as accounts allow, with room
	MaxNote    = 1000
	MaxAnswers = 1000 // in one snapshot: far more than any framework has items
)

// Check validates an answer as any site receives it: at the mission when a
// person saves it, at HQ when the mission's change arrives. Whether the
// item is in the framework in force is the caller's to check. now is the
// reader's clock.
func (a Answer) Check(now time.Time) error {
	if a.ItemID == "" {
		return problem.New(problem.Invalid, "check.no_item")
	}
	if err := text.Line("field.item_id", a.ItemID, MaxItemID); err != nil {
		return err
	}
	if !a.NA && !a.Level.Valid() {
		return problem.New(problem.Invalid, "check.level", "Level", int(a.Level))
	}
	if len(a.Evidence) > MaxEvidence {
		return problem.New(problem.Invalid, "check.evidence", "N", len(a.Evidence), "Max", MaxEvidence)
	}
	if err := text.Block("field.evidence_note", a.Evidence, MaxEvidence); err != nil {
		return err
	}
	if err := text.Line("field.answered_by", a.AnsweredBy, MaxName); err != nil {
		return err
	}
	if err := evidence.CheckAll(a.Files); err != nil {
		return err
	}
	if !a.EvidenceOn.IsZero() {
		if err := text.When("field.evidence_on", a.EvidenceOn, now); err != nil {
			return err
		}
		// A day ahead leaves room for time zones; evidence of a later day
		// does not exist yet.
		if a.EvidenceOn.After(now.Add(48 * time.Hour)) {
			return problem.New(problem.Invalid, "check.evidence_future", "Day", a.EvidenceOn.Format(time.DateOnly))
		}
	}
	if a.AnsweredAt.IsZero() {
		return nil // not yet stamped: the store stamps it
	}
	return text.When("field.answer", a.AnsweredAt, now)
}

// Check validates a signed-off snapshot and each of its answers.
func (s Snapshot) Check(now time.Time) error {
	switch {
	case s.ID == "":
		return fmt.Errorf("a snapshot has no id")
	case s.FrameworkVersion < 1:
		return fmt.Errorf("snapshot %s names no framework version", s.ID)
	case len(s.Answers) > MaxAnswers:
		return fmt.Errorf("snapshot %s has %d answers; the most is %d", s.ID, len(s.Answers), MaxAnswers)
	}
	if err := text.First(text.Line("field.snapshot_id", s.ID, MaxItemID),
		text.Line("field.signed_by", s.SignedBy, MaxName),
		text.Block("field.signoff_note", s.Note, MaxNote),
		text.When("field.signoff", s.SignedAt, now)); err != nil {
		return err
	}
	for _, a := range s.Answers {
		if err := a.Check(now); err != nil {
			return fmt.Errorf("snapshot %s: %w", s.ID, err)
		}
	}
	return nil
}
