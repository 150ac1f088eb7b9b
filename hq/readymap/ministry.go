package readymap

import (
	"slices"
	"time"

	"chancery/hq/store"
	"chancery/shared/framework"
	"chancery/shared/readiness"
)

// Ministry is headquarters' own assessment, of the framework's ministry
// items, judged for the ministry's profile: shown beside the missions'.
type Ministry struct {
	Profile string
	Report  readiness.Report
	Answers map[string]readiness.Answer
	// SignOff is the latest of SignOffs, newest first; nil when HQ never
	// signed off.
	SignOff  *store.MinistrySignOff
	SignOffs []store.MinistrySignOff
	// Stale lists the items whose evidence is older than they allow.
	Stale []string
}

// Assessed reports whether HQ has answered anything of its own.
func (m Ministry) Assessed() bool { return m.Report.Overall.Answered > 0 }

// HQAnswer is HQ's answer to one ministry item, as a question shows it.
type HQAnswer struct {
	Item     framework.Item
	Answer   readiness.Answer
	Answered bool
	// Expected says whether the ministry's profile is expected to have
	// the capability; Lacking, that it is expected and below "defined".
	Expected, Lacking, Stale bool
}

// Rubric says what HQ's level means for the item, "" without a rubric.
func (h HQAnswer) Rubric() string {
	if h.Answered && !h.Answer.NA && int(h.Answer.Level) < len(h.Item.Rubric) {
		return h.Item.Rubric[h.Answer.Level]
	}
	return ""
}

// BuildMinistry judges HQ's answers for the profile.
func BuildMinistry(f *framework.Framework, answers map[string]readiness.Answer, profile string, signoffs []store.MinistrySignOff, now time.Time) Ministry {
	m := Ministry{Profile: profile, Answers: answers, SignOffs: signoffs, Report: readiness.AssessMinistry(f, answers, profile)}
	if len(signoffs) > 0 {
		m.SignOff = &signoffs[0]
	}
	for _, it := range f.Ministry {
		if a, ok := answers[it.ID]; ok && a.Stale(it, now) {
			m.Stale = append(m.Stale, it.ID)
		}
	}
	return m
}

// Answer returns HQ's answer to a ministry item of f.
func (m Ministry) Answer(f *framework.Framework, id string, now time.Time) (HQAnswer, bool) {
	it, err := f.MinistryItem(id)
	if err != nil {
		return HQAnswer{}, false
	}
	a, ok := m.Answers[id]
	h := HQAnswer{Item: it, Answer: a, Answered: ok, Expected: it.ExpectedOf(m.Profile)}
	h.Lacking = h.Expected && (!ok || (!a.NA && a.Level < readiness.Defined))
	h.Stale = ok && a.Stale(it, now)
	return h, true
}

// SixQuestions are the sources of the framework that are the six
// questions every ministry should be able to answer, in order.
var SixQuestions = []string{"q-1", "q-2", "q-3", "q-4", "q-5", "q-6"}

// SixAnswer is one of the six questions answered for the whole ministry:
// from HQ's own items that address it, and from the missions' answers to
// theirs, each with the missions that lack it.
type SixAnswer struct {
	Source   framework.Source
	HQ       []HQAnswer
	Missions []ItemAnswer
}

// ItemAnswer is one mission item answered across the missions.
type ItemAnswer struct {
	Item framework.Item
	GapAnswer
}

// LackingHQ counts HQ's expected items that are lacking.
func (s SixAnswer) LackingHQ() int {
	n := 0
	for _, h := range s.HQ {
		if h.Lacking {
			n++
		}
	}
	return n
}

// LackingMissions counts the missions that lack any of the question's
// items.
func (s SixAnswer) LackingMissions() int {
	seen := map[string]bool{}
	for _, it := range s.Missions {
		for _, r := range it.Lacking {
			seen[r.Mission.Code] = true
		}
	}
	return len(seen)
}

// ModelAnswer is a model judged for the whole ministry: at HQ for its
// profile, and across the missions.
type ModelAnswer struct {
	Model framework.Model
	HQ    readiness.ModelCoverage
	ModelGap
}

// AtRisk reports whether the ministry lacks the model where it is
// expected: at HQ, or at a mission.
func (m ModelAnswer) AtRisk() bool { return m.HQ.AtRisk() || (m.HQ.Expected && m.Missing > 0) }

// Six answers the six questions and "which model is missing, and what
// risk does that create" from HQ's assessment and the missions'.
func Six(f *framework.Framework, hq Ministry, ms []Mission, now time.Time) ([]SixAnswer, []ModelAnswer) {
	var out []SixAnswer
	for _, id := range SixQuestions {
		i := slices.IndexFunc(f.Sources, func(s framework.Source) bool { return s.ID == id })
		if i < 0 {
			continue
		}
		sa := SixAnswer{Source: f.Sources[i]}
		for _, it := range f.Ministry {
			if slices.Contains(it.Addresses, id) {
				h, _ := hq.Answer(f, it.ID, now)
				sa.HQ = append(sa.HQ, h)
			}
		}
		for _, it := range f.Items {
			if slices.Contains(it.Addresses, id) {
				sa.Missions = append(sa.Missions, ItemAnswer{Item: it, GapAnswer: Across(ms, it.ID)})
			}
		}
		out = append(out, sa)
	}
	gaps := modelGaps(f, ms)
	var models []ModelAnswer
	for _, mc := range hq.Report.Models {
		ma := ModelAnswer{Model: mc.Model, HQ: mc}
		if i := slices.IndexFunc(gaps, func(g ModelGap) bool { return g.Model.ID == mc.Model.ID }); i >= 0 {
			ma.ModelGap = gaps[i]
		}
		models = append(models, ma)
	}
	// The models at risk first, the most missed among them first.
	slices.SortStableFunc(models, func(a, b ModelAnswer) int {
		if a.AtRisk() != b.AtRisk() {
			if a.AtRisk() {
				return -1
			}
			return 1
		}
		return b.Missing - a.Missing
	})
	return out, models
}
