package readymap

import (
	"slices"

	"chancery/shared/framework"
	"chancery/shared/readiness"
)

// Question is a question a ministry asks across its missions, answered
// from one checklist item: a mission lacks the capability when its answer
// is below "defined" or missing. Not applicable is not lacking. Ministry
// names the items of HQ's own assessment on the same matter, shown beside.
type Question struct {
	ID   string
	Text string
	Item string
	// Shows says what the evidence of a mission that has it tells, such as
	// who the owner is.
	Shows    string
	Ministry []string
}

// Questions are the gap view's questions, from the domain's capability
// audit: together they reach every item of the sovereignty area and each
// item the six questions turn on.
var Questions = []Question{
	{"model-today", "Which missions have not said which models of digital diplomacy they practise?", "STR-02", "the models practised", []string{"MIN-STR-02"}},
	{"narrative-pathway", "Which missions lack a crisis escalation pathway for narrative risks?", "NAR-02", "the pathway in force", []string{"MIN-NAR-01"}},
	{"narrative-owner", "Who decides, mission by mission, whether to answer a narrative publicly?", "GOV-04", "who decides", []string{"MIN-NAR-01"}},
	{"ai-owner", "Who owns AI risk where?", "GOV-05", "the owner", []string{"MIN-AI-01"}},
	{"ai-cell", "Where does no cross-functional group coordinate AI use, governance, vendors and training?", "GOV-06", "the group", []string{"MIN-AI-02", "MIN-GOV-02"}},
	{"synthetic-media", "Which missions' protocols do not cover synthetic media and impersonation?", "NAR-04", "the protocol sections", nil},
	{"ai-rules", "Which missions have no written rules for using AI tools?", "AI-01", "the rules in force", []string{"MIN-AI-01"}},
	{"sensitive-data", "Where do staff not know what must never go into an AI tool?", "AI-03", "the rule", nil},
	{"tool-inventory", "Which missions keep no inventory of the tools, platforms and vendors they depend on?", "SOV-01", "the inventory", []string{"MIN-SOV-01"}},
	{"vendor-risk", "Where are the risks of depending on critical vendors not understood?", "SOV-02", "the risks and exit plans", nil},
	{"data-location", "Which missions do not know where their data is stored and under which law?", "SOV-03", "the data map", []string{"MIN-SOV-02"}},
	{"partnerships", "Which missions have not identified the partnerships that bear on sovereignty in their host country?", "SOV-04", "the partnerships", nil},
	{"sovereignty-check", "Where are new tools and data flows adopted without a sovereignty check?", "SOV-05", "the check", []string{"MIN-SOV-01"}},
	{"lessons", "Which missions do not capture and reuse lessons from narrative crises?", "NAR-07", "the lessons kept", []string{"MIN-MIS-02"}},
	{"campaign-lessons", "Which missions' campaigns do not feed what the ministry learns?", "MIS-08", "what was learned", []string{"MIN-MIS-02"}},
	{"mission-parity", "Which missions lack the guidance, training, tools or escalation pathways their peers have?", "MIS-05", "what they hold", []string{"MIN-MIS-01"}},
	{"accounts", "Which missions' official accounts are not inventoried and secured?", "MIS-07", "the inventory", nil},
}

// Items lists the checklist items the gap view and the six questions ask
// about, under every id they have in the framework versions given (a
// renamed item's answers may be stored under its old id or its new one).
func Items(versions ...*framework.Framework) []string {
	var out []string
	add := func(id string) {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
		for _, f := range versions {
			if cur, ok := f.Current(id); ok && !slices.Contains(out, cur) {
				out = append(out, cur)
			}
		}
	}
	for _, q := range Questions {
		add(q.Item)
	}
	for _, f := range versions {
		for _, it := range f.Items {
			if slices.ContainsFunc(it.Addresses, func(s string) bool { return slices.Contains(SixQuestions, s) }) {
				add(it.ID)
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
		out[i] = Across(ms, q.Item)
		out[i].Question = q
	}
	return out
}

// Across answers, over the missions given, which lack the capability of
// one item (by its id in HQ's newest version) and which have it.
func Across(ms []Mission, item string) GapAnswer {
	var g GapAnswer
	var compared []Mission
	for _, m := range ms {
		if !m.Assessed() {
			g.NotAssessed++
			continue
		}
		id, asked := m.Against.Current(item)
		if !asked {
			g.NotAsked++
			continue
		}
		compared = append(compared, m)
		a, ok := m.Answers[id]
		r := Row{Mission: m, Answer: a, Answered: ok}
		switch {
		case ok && a.NA:
			g.NA++
			continue
		case !ok || a.Level < readiness.Defined:
			r.Lacking = true
			g.Lacking = append(g.Lacking, r)
		default:
			g.Having = append(g.Having, r)
		}
	}
	g.Frameworks = versions(compared)
	return g
}
