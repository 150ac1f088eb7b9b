package readiness

import (
	"fmt"
	"time"

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
		return fmt.Errorf("an answer names no checklist item")
	}
	if err := text.Line("the item id", a.ItemID, MaxItemID); err != nil {
		return err
	}
	if !a.NA && !a.Level.Valid() {
		return fmt.Errorf("level %d is not on the scale: choose 0 (absent) to 4 (measured and improving), or not applicable", a.Level)
	}
	if len(a.Evidence) > MaxEvidence {
		return fmt.Errorf("the evidence note is %d bytes; the limit is %d: shorten it, or point to where the full evidence is kept", len(a.Evidence), MaxEvidence)
	}
	if err := text.Block("the evidence note", a.Evidence, MaxEvidence); err != nil {
		return err
	}
	if err := text.Line("the name of who answered", a.AnsweredBy, MaxName); err != nil {
		return err
	}
	if a.AnsweredAt.IsZero() {
		return nil // not yet stamped: the store stamps it
	}
	return text.When("the answer", a.AnsweredAt, now)
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
	if err := text.First(text.Line("the snapshot id", s.ID, MaxItemID),
		text.Line("the name of who signed off", s.SignedBy, MaxName),
		text.Block("the sign-off note", s.Note, MaxNote),
		text.When("the sign-off", s.SignedAt, now)); err != nil {
		return err
	}
	for _, a := range s.Answers {
		if err := a.Check(now); err != nil {
			return fmt.Errorf("snapshot %s: %w", s.ID, err)
		}
	}
	return nil
}
