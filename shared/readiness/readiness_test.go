package readiness_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"chancery/shared/framework"
	"chancery/shared/readiness"
)

// small is a framework small enough to score by hand.
func small(t *testing.T) *framework.Framework {
	t.Helper()
	f, err := framework.Parse([]byte(`{
	  "version": 1, "title": "test",
	  "areas": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}],
	  "models": [{"id": "m1", "name": "M1", "risk": "r1"}, {"id": "m2", "name": "M2", "risk": "r2"}],
	  "sources": [],
	  "items": [
	    {"id": "A1", "area": "a", "models": ["m1"], "question": "q", "guidance": "g", "evidence": "e", "weight": 3},
	    {"id": "A2", "area": "a", "models": ["m1", "m2"], "question": "q", "guidance": "g", "evidence": "e", "weight": 1},
	    {"id": "B1", "area": "b", "models": ["m2"], "question": "q", "guidance": "g", "evidence": "e", "weight": 2}
	  ]}`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func lv(l readiness.Level, evidence string) readiness.Answer {
	return readiness.Answer{Level: l, Evidence: evidence}
}

func TestAssess(t *testing.T) {
	na := readiness.Answer{NA: true}
	tests := []struct {
		name    string
		answers map[string]readiness.Answer
		// want: area a, area b, overall, m1, m2 scores, and coverage of m1, m2
		a, b, overall, m1, m2 int
		c1, c2                readiness.Coverage
		progress, unsupp      int
	}{
		{
			name: "nothing answered counts as absent",
			a:    0, b: 0, overall: 0, m1: 0, m2: 0,
			c1: readiness.Missing, c2: readiness.Missing,
		},
		{
			// a: (3×4 + 1×0)/(4×4) = 12/16 = 75; b: 2×2/8 = 50
			// overall: (12+0+4)/(24) = 66; m1 = a = 75; m2: (0+4)/(4+8) = 33
			name:    "weights",
			answers: map[string]readiness.Answer{"A1": lv(4, "plan"), "A2": lv(0, ""), "B1": lv(2, "")},
			a:       75, b: 50, overall: 66, m1: 75, m2: 33,
			c1: readiness.Present, c2: readiness.Partial, progress: 100,
		},
		{
			// A2 N/A leaves the sums: a = 3×1/12 = 25; overall (3+0)/(12+8)=15
			// m1 = 25 (partial), m2 = B1 unanswered = 0 (missing)
			name:    "not applicable is left out",
			answers: map[string]readiness.Answer{"A1": lv(1, ""), "A2": na},
			a:       25, b: 0, overall: 15, m1: 25, m2: 0,
			c1: readiness.Partial, c2: readiness.Missing, progress: 66,
		},
		{
			// every item of m2 N/A: nothing to score, model missing
			name:    "all not applicable",
			answers: map[string]readiness.Answer{"A1": lv(3, ""), "A2": na, "B1": na},
			a:       75, b: 0, overall: 75, m1: 75, m2: 0,
			c1: readiness.Present, c2: readiness.Missing, progress: 100, unsupp: 1,
		},
		{
			name:    "answers to unknown items are ignored",
			answers: map[string]readiness.Answer{"ZZ": lv(4, "x")},
			c1:      readiness.Missing, c2: readiness.Missing,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := readiness.Assess(small(t), tt.answers)
			a, _ := r.Area("a")
			b, _ := r.Area("b")
			got := []int{a.Value, b.Value, r.Overall.Value, r.Models[0].Score.Value, r.Models[1].Score.Value}
			want := []int{tt.a, tt.b, tt.overall, tt.m1, tt.m2}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("scores (a, b, overall, m1, m2) = %v, want %v", got, want)
					break
				}
			}
			if r.Models[0].Coverage != tt.c1 || r.Models[1].Coverage != tt.c2 {
				t.Errorf("coverage = %s, %s; want %s, %s", r.Models[0].Coverage, r.Models[1].Coverage, tt.c1, tt.c2)
			}
			if r.Overall.Progress() != tt.progress {
				t.Errorf("progress = %d, want %d", r.Overall.Progress(), tt.progress)
			}
			if r.Overall.Unsupported != tt.unsupp {
				t.Errorf("unsupported = %d, want %d", r.Overall.Unsupported, tt.unsupp)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		a    readiness.Answer
		want bool
	}{
		{lv(2, ""), false},
		{lv(3, ""), true},
		{lv(4, "  \n\t"), true},
		{lv(4, "minutes of 3 May"), false},
		{readiness.Answer{NA: true, Level: 4}, false},
	}
	for _, tt := range tests {
		if got := tt.a.Unsupported(); got != tt.want {
			t.Errorf("%+v.Unsupported() = %v, want %v", tt.a, got, tt.want)
		}
	}
}

func TestBuiltinAllMeasured(t *testing.T) {
	f := framework.Builtin()
	answers := map[string]readiness.Answer{}
	for _, it := range f.Items {
		answers[it.ID] = lv(readiness.Measured, "evidence")
	}
	r := readiness.Assess(f, answers)
	if r.Overall.Value != 100 || r.Overall.Progress() != 100 {
		t.Fatalf("all measured: overall %d, progress %d", r.Overall.Value, r.Overall.Progress())
	}
	for _, m := range r.Models {
		if m.Coverage != readiness.Present {
			t.Errorf("model %s is %s", m.Model.ID, m.Coverage)
		}
	}
}

func TestVersionMapping(t *testing.T) {
	f, err := framework.Parse([]byte(`{
	  "version": 2, "title": "test",
	  "areas": [{"id": "a", "name": "A"}],
	  "models": [{"id": "m1", "name": "M1", "risk": "r1"}],
	  "sources": [],
	  "items": [
	    {"id": "A1", "area": "a", "models": ["m1"], "question": "q", "guidance": "g", "evidence": "e", "weight": 1},
	    {"id": "A2", "area": "a", "models": ["m1"], "question": "q", "guidance": "g", "evidence": "e", "weight": 1}
	  ],
	  "renamed": {"OLD-1": "A1", "OLD-9": "A2"}}`))
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	// A mission still on version 1 answered OLD-1 and OLD-9; another part
	// of it already answered A2 on version 2, more recently than OLD-9.
	answers := map[string]readiness.Answer{
		"OLD-1": {ItemID: "OLD-1", Level: 4, AnsweredAt: day(1)},
		"OLD-9": {ItemID: "OLD-9", Level: 0, AnsweredAt: day(1)},
		"A2":    {ItemID: "A2", Level: 2, AnsweredAt: day(5)},
		"GONE":  {ItemID: "GONE", Level: 4, AnsweredAt: day(9)},
	}
	r := readiness.Assess(f, answers)
	// (4 + 2) / 8 = 75: OLD-1 counts as A1, A2's newer answer wins over
	// OLD-9's, and an id neither current nor renamed is left out.
	if r.Overall.Value != 75 || r.Overall.Answered != 2 {
		t.Fatalf("overall %d with %d answered; want 75 with 2", r.Overall.Value, r.Overall.Answered)
	}
	if _, err := framework.Parse([]byte(strings.Replace(string(mustJSON(t, f)), `"OLD-1":"A1"`, `"OLD-1":"A7"`, 1))); err == nil ||
		!strings.Contains(err.Error(), `renamed item OLD-1 points to “A7”, which is not an item of this version`) {
		t.Fatalf("mapping to a missing item: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSummaryRoundTrip(t *testing.T) {
	f := framework.Builtin()
	answers := map[string]readiness.Answer{
		"NAR-02": {Level: 4, Evidence: "x"}, "AI-01": {Level: 3}, "MIS-04": {NA: true}, "STR-01": {Level: 1},
	}
	want := readiness.Assess(f, answers)
	b, _ := json.Marshal(readiness.Summarize(f, want))
	var s readiness.Summary
	json.Unmarshal(b, &s)
	got, ok := s.Report(f)
	if !ok {
		t.Fatal("summary refused under its own framework")
	}
	if got.Overall != want.Overall || got.Overall.MeanLevel() != want.Overall.MeanLevel() {
		t.Fatalf("overall %+v, want %+v", got.Overall, want.Overall)
	}
	for i := range want.Areas {
		if got.Areas[i].Score != want.Areas[i].Score || got.Areas[i].Area.ID != want.Areas[i].Area.ID {
			t.Fatalf("area %d differs", i)
		}
	}
	for i := range want.Models {
		if got.Models[i].Coverage != want.Models[i].Coverage || got.Models[i].Score != want.Models[i].Score {
			t.Fatalf("model %d differs", i)
		}
	}
	s.Framework = 99
	if _, ok := s.Report(f); ok {
		t.Fatal("a summary from another framework version was accepted")
	}
}

// Evidence older than the item allows is stale; the evidence date counts
// when given, the day of the answer otherwise.
func TestStaleEvidence(t *testing.T) {
	f := framework.Builtin()
	training, _ := f.Item("AI-02") // twelve months
	if training.FreshMonths != 12 {
		t.Fatalf("AI-02 fresh for %d months, want 12", training.FreshMonths)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a := readiness.Answer{ItemID: "AI-02", Level: readiness.Practised, AnsweredAt: now.AddDate(0, -1, 0), EvidenceOn: now.AddDate(0, -13, 0)}
	if !a.Stale(training, now) {
		t.Error("training evidence of 13 months ago is not flagged")
	}
	a.EvidenceOn = now.AddDate(0, -11, 0)
	if a.Stale(training, now) {
		t.Error("training evidence of 11 months ago is flagged")
	}
	a.EvidenceOn = time.Time{}
	a.AnsweredAt = now.AddDate(-2, 0, 0)
	if !a.Stale(training, now) {
		t.Error("an answer of two years ago without an evidence date is not stale")
	}
	a.NA = true
	if a.Stale(training, now) {
		t.Error("not applicable claims nothing and cannot be stale")
	}
	strategy, _ := f.Item("STR-05") // no limit
	if (readiness.Answer{Level: readiness.Measured, AnsweredAt: now.AddDate(-9, 0, 0)}).Stale(strategy, now) {
		t.Error("an item without a freshness rule flagged stale")
	}
}

// The ministry profile decides which of HQ's items count and which models
// are a risk when missing.
func TestMinistryProfile(t *testing.T) {
	f := framework.Builtin()
	answers := map[string]readiness.Answer{}
	for _, it := range f.Ministry {
		answers[it.ID] = readiness.Answer{ItemID: it.ID, Level: readiness.Defined}
	}
	answers["MIN-GOV-01"] = readiness.Answer{ItemID: "MIN-GOV-01", Level: readiness.Absent} // no directorate
	large := readiness.AssessMinistry(f, answers, framework.Large)
	small := readiness.AssessMinistry(f, answers, framework.Small)
	if large.Overall.Items == small.Overall.Items {
		t.Fatalf("both profiles expect %d items", large.Overall.Items)
	}
	if small.Overall.Value != 50 {
		t.Errorf("small ministry scores %d, want 50: a directorate is not expected of it", small.Overall.Value)
	}
	if large.Overall.Value >= 50 {
		t.Errorf("large ministry without a directorate scores %d, want under 50", large.Overall.Value)
	}
	var envoy readiness.ModelCoverage
	for _, m := range small.Models {
		if m.Model.ID == "tech-ambassador" {
			envoy = m
		}
	}
	if envoy.Expected || envoy.AtRisk() {
		t.Errorf("a small ministry is judged at risk for lacking a tech envoy: %+v", envoy)
	}
	for _, m := range large.Models {
		if m.Model.ID == "tech-ambassador" && !m.Expected {
			t.Error("a large ministry is not expected to have a tech envoy")
		}
	}
}
