package readymap

import (
	"slices"

	"chancery/shared/framework"
	"chancery/shared/readiness"
)

// Question is a question a ministry asks across its missions, answered
// from one checklist item: a mission lacks the capability when its answer
// is below "defined" or missing. Not applicable is not lacking.
type Question struct {
	ID   string
	Text string
	Item string
	// Shows says what the evidence of a mission that has it tells, such as
	// who the owner is.
	Shows string
}

// Questions are the gap view's questions, from the domain's capability
// audit.
var Questions = []Question{
	{"narrative-pathway", "Which missions lack a crisis escalation pathway for narrative risks?", "NAR-02", "the pathway in force"},
	{"narrative-owner", "Who decides, mission by mission, whether to answer a narrative publicly?", "GOV-04", "who decides"},
	{"ai-owner", "Who owns AI risk where?", "GOV-05", "the owner"},
	{"synthetic-media", "Which missions' protocols do not cover synthetic media and impersonation?", "NAR-04", "the protocol sections"},
	{"ai-rules", "Which missions have no written rules for using AI tools?", "AI-01", "the rules in force"},
	{"sensitive-data", "Where do staff not know what must never go into an AI tool?", "AI-03", "the rule"},
	{"data-location", "Which missions do not know where their data is stored and under which law?", "SOV-03", "the data map"},
	{"lessons", "Which missions do not capture and reuse lessons from narrative crises?", "NAR-07", "the lessons kept"},
	{"mission-parity", "Which missions lack the guidance, training, tools or escalation pathways their peers have?", "MIS-05", "what they hold"},
	{"accounts", "Which missions' official accounts are not inventoried and secured?", "MIS-07", "the inventory"},
}

// Items lists the checklist items the questions ask about, under every
// id they have in the framework versions given (a renamed item's answers
// may be stored under its old id or its new one).
func Items(versions ...*framework.Framework) []string {
	var out []string
	for _, q := range Questions {
		out = append(out, q.Item)
		for _, f := range versions {
			if id, ok := f.Current(q.Item); ok && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// Row is one mission in the answer to a question.
type Row struct {
	Mission  Mission
	Answer   readiness.Answer
	Answered bool
	Lacking  bool
}

// GapAnswer is a question answered across the missions.
type GapAnswer struct {
	Question Question
	Lacking  []Row
	Having   []Row
	NA       int
	// NotAsked counts the missions whose framework version has no item
	// that answers the question: they are neither lacking nor having.
	NotAsked int
	// NotAssessed counts the missions that have answered nothing yet.
	NotAssessed int
	// Frameworks lists the versions of the missions compared (lacking or
	// having), oldest first; more than one is said on the page.
	Frameworks []int
}

// Mixed reports whether the answer compares missions on different
// framework versions.
func (g GapAnswer) Mixed() bool { return len(g.Frameworks) > 1 }

// Gaps answers every question over the missions given (the map's, or a
// filtered selection).
func Gaps(ms []Mission) []GapAnswer {
	out := make([]GapAnswer, len(Questions))
	for i, q := range Questions {
		out[i].Question = q
		var compared []Mission
		for _, m := range ms {
			if !m.Assessed() {
				out[i].NotAssessed++
				continue
			}
			item, asked := m.Against.Current(q.Item)
			if !asked {
				out[i].NotAsked++
				continue
			}
			compared = append(compared, m)
			a, ok := m.Answers[item]
			r := Row{Mission: m, Answer: a, Answered: ok}
			switch {
			case ok && a.NA:
				out[i].NA++
				continue
			case !ok || a.Level < readiness.Defined:
				r.Lacking = true
				out[i].Lacking = append(out[i].Lacking, r)
			default:
				out[i].Having = append(out[i].Having, r)
			}
		}
		out[i].Frameworks = versions(compared)
	}
	return out
}
