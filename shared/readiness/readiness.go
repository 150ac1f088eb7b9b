// Package readiness turns a mission's answers to the capability framework
// into what people read: a score per area and overall, how far the
// assessment has got, which of the six models the mission shows, and which
// answers claim more than their evidence supports.
//
// # Scoring
//
// Each item is answered with a maturity [Level] from 0 to 4, or marked not
// applicable. An area's score is the weighted mean of its items' levels,
// scaled to 0–100:
//
//	score = 100 × Σ(weight × level) / Σ(weight × 4)
//
// Items marked not applicable leave both sums. Items not yet answered count
// as level 0: readiness that has not been shown is not assumed. The overall
// score applies the same formula to every item of the framework, so it
// weighs areas by how much they hold, not equally.
//
// A model's coverage uses the same formula over the items that evidence it;
// a mean level below 1 (score under 25) is missing, below 2 (under 50) is
// partial, and from "defined" upwards it is present.
package readiness

import (
	"fmt"
	"strings"
	"time"

	"chancery/shared/evidence"
	"chancery/shared/framework"
)

// Level is a maturity level on the 0–4 scale.
type Level int

// The maturity scale.
const (
	Absent    Level = 0
	AdHoc     Level = 1
	Defined   Level = 2
	Practised Level = 3
	Measured  Level = 4
)

// MaxLevel is the top of the scale.
const MaxLevel = Measured

var levelNames = [...]string{"absent", "ad hoc", "defined", "practised", "measured and improving"}

// String names the level as people say it.
func (l Level) String() string {
	if l < 0 || l > MaxLevel {
		return fmt.Sprintf("level %d", int(l))
	}
	return levelNames[l]
}

// Valid reports whether l is on the scale.
func (l Level) Valid() bool { return l >= Absent && l <= MaxLevel }

// Levels lists the scale in order.
func Levels() []Level { return []Level{Absent, AdHoc, Defined, Practised, Measured} }

// MaxEvidence is the longest evidence note accepted, in bytes.
const MaxEvidence = 4000

// Answer is a mission's answer to one checklist item.
type Answer struct {
	ItemID string `json:"item"`
	// Level is meaningful only when NA is false.
	Level Level `json:"level"`
	// NA marks the item as not applicable to this mission.
	NA         bool      `json:"na,omitempty"`
	Evidence   string    `json:"evidence,omitempty"`
	AnsweredBy string    `json:"by"`
	AnsweredAt time.Time `json:"at"`
	// EvidenceOn is the day the evidence dates from (a training's date, a
	// rule's last review); zero means the day of the answer.
	EvidenceOn time.Time `json:"evidence_on,omitzero"`
	// Files are the evidence files kept with the answer.
	Files []evidence.File `json:"files,omitempty"`
}

// Tidy returns the answer as it is kept: the note without surrounding
// space and with plain line ends, no level when not applicable, and the
// evidence date a day at midnight UTC, whatever the clock of whoever
// typed it.
func (a Answer) Tidy() Answer {
	a.Evidence = strings.TrimSpace(strings.ReplaceAll(a.Evidence, "\r\n", "\n"))
	if a.NA {
		a.Level = 0
	}
	if !a.EvidenceOn.IsZero() {
		y, m, d := a.EvidenceOn.Date()
		a.EvidenceOn = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return a
}

// Given returns the answer as by gives it at at, tidied, with the files
// uploaded with it described as its new files (the store adds those it
// kept before). An upload that cannot be kept refuses the answer.
func (a Answer) Given(by string, at time.Time, uploads []evidence.Upload) (Answer, error) {
	a = a.Tidy()
	a.AnsweredBy, a.AnsweredAt = by, at.UTC().Truncate(time.Millisecond)
	files, err := evidence.Describe(uploads, by, a.AnsweredAt)
	a.Files = files
	return a, err
}

// EvidenceDate is the day the answer's evidence dates from: its evidence
// date, or else the day it was answered.
func (a Answer) EvidenceDate() time.Time {
	if !a.EvidenceOn.IsZero() {
		return a.EvidenceOn
	}
	return a.AnsweredAt
}

// Stale reports whether the answer's evidence is older than the item
// allows (its FreshMonths) at now. Not applicable and level 0 claim
// nothing, so they are never stale.
func (a Answer) Stale(it framework.Item, now time.Time) bool {
	if it.FreshMonths == 0 || a.NA || a.Level == Absent {
		return false
	}
	d := a.EvidenceDate()
	return !d.IsZero() && d.AddDate(0, it.FreshMonths, 0).Before(now)
}

// Unsupported reports whether the answer claims level 3 or 4 without any
// evidence.
func (a Answer) Unsupported() bool {
	return !a.NA && a.Level >= Practised && len(trimSpace(a.Evidence)) == 0
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\n' || s[j-1] == '\r' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// Coverage says how well a mission shows one model.
type Coverage string

// Coverage values.
const (
	Missing Coverage = "missing"
	Partial Coverage = "partial"
	Present Coverage = "present"
)

// Score is a weighted score with the counts behind it.
type Score struct {
	// Value is 0–100, rounded down; meaningless when Scored is 0.
	Value int
	// Items is the number of items in scope; Answered of those have an
	// answer (N/A included); NA are marked not applicable.
	Items, Answered, NA int
	// Unsupported counts answers at level 3–4 without evidence.
	Unsupported int

	points, maxPoints int
}

// Scored reports whether any item counts towards the score.
func (s Score) Scored() bool { return s.maxPoints > 0 }

// Progress is the share of items answered, 0–100.
func (s Score) Progress() int {
	if s.Items == 0 {
		return 0
	}
	return s.Answered * 100 / s.Items
}

// MeanLevel is the weighted mean level, 0–4.
func (s Score) MeanLevel() float64 {
	if s.maxPoints == 0 {
		return 0
	}
	return float64(s.points) * float64(MaxLevel) / float64(s.maxPoints)
}

func (s *Score) add(it framework.Item, a Answer, ok bool) {
	s.Items++
	if ok {
		s.Answered++
	}
	if ok && a.NA {
		s.NA++
		return
	}
	s.maxPoints += it.Weight * int(MaxLevel)
	if ok {
		s.points += it.Weight * int(a.Level)
		if a.Unsupported() {
			s.Unsupported++
		}
	}
	s.Value = s.points * 100 / s.maxPoints
}

// ModelCoverage is a model with the mission's coverage of it.
type ModelCoverage struct {
	Model    framework.Model
	Score    Score
	Coverage Coverage
	// Expected says whether the ministry's profile is expected to run the
	// model; one not expected and not present is said so, not raised as
	// a risk.
	Expected bool
}

// AtRisk reports whether the model is lacking where it is expected: the
// risk the framework names for it applies.
func (m ModelCoverage) AtRisk() bool { return m.Expected && m.Coverage != Present }

// AreaScore is an area with its score.
type AreaScore struct {
	Area  framework.Area
	Score Score
}

// Report is everything derived from one set of answers.
type Report struct {
	Overall Score
	Areas   []AreaScore
	Models  []ModelCoverage
}

// Area returns the score of one area.
func (r Report) Area(id string) (Score, bool) {
	for _, a := range r.Areas {
		if a.Area.ID == id {
			return a.Score, true
		}
	}
	return Score{}, false
}

// Carry maps answers given to items of earlier framework versions onto the
// items of f that replace them (see framework.Framework.Renamed). Where an
// old and a new id both have an answer, the more recent one counts.
func Carry(f *framework.Framework, answers map[string]Answer) map[string]Answer {
	if len(f.Renamed) == 0 {
		return answers
	}
	out := make(map[string]Answer, len(answers))
	for id, a := range answers {
		cur, ok := f.Current(id)
		if !ok {
			continue
		}
		if prev, seen := out[cur]; seen && prev.AnsweredAt.After(a.AnsweredAt) {
			continue
		}
		a.ItemID = cur
		out[cur] = a
	}
	return out
}

// Assess computes a mission's report for answers keyed by item id, after
// carrying answers to renamed items over (see Carry). Answers to items the
// framework does not know are ignored.
func Assess(f *framework.Framework, answers map[string]Answer) Report {
	return assess(f, f.Items, Carry(f, answers), "")
}

// AssessMinistry computes the report of headquarters' own assessment, of
// the framework's ministry items, for a ministry of the profile: an item
// not expected of the profile leaves the scores, as not applicable does.
func AssessMinistry(f *framework.Framework, answers map[string]Answer, profile string) Report {
	return assess(f, f.Ministry, answers, profile)
}

func assess(f *framework.Framework, items []framework.Item, answers map[string]Answer, profile string) Report {
	r := Report{}
	areaIdx := map[string]int{}
	for i, a := range f.Areas {
		areaIdx[a.ID] = i
		r.Areas = append(r.Areas, AreaScore{Area: a})
	}
	modelIdx := map[string]int{}
	for i, m := range f.Models {
		modelIdx[m.ID] = i
		r.Models = append(r.Models, ModelCoverage{Model: m, Expected: m.ExpectedOf(profile)})
	}
	for _, it := range items {
		if !it.ExpectedOf(profile) {
			continue
		}
		a, ok := answers[it.ID]
		r.Overall.add(it, a, ok)
		r.Areas[areaIdx[it.Area]].Score.add(it, a, ok)
		for _, m := range it.Models {
			r.Models[modelIdx[m]].Score.add(it, a, ok)
		}
	}
	for i := range r.Models {
		r.Models[i].Coverage = coverageOf(r.Models[i].Score)
	}
	return r
}

func coverageOf(s Score) Coverage {
	switch {
	case !s.Scored() || s.Value < 25:
		return Missing
	case s.Value < 50:
		return Partial
	default:
		return Present
	}
}
