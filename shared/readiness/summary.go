package readiness

import "chancery/shared/framework"

// Summary is a Report without the framework's texts: the numbers alone,
// small enough to store for every mission and to read back by the
// thousand. Report turns it back into a Report.
type Summary struct {
	Framework int         `json:"f"`
	Overall   ScoreData   `json:"o"`
	Areas     []ScoreData `json:"a"`
	Models    []ScoreData `json:"m"`
}

// ScoreData is a Score's numbers.
type ScoreData struct {
	Value, Items, Answered, NA, Unsupported, Points, MaxPoints int
}

func (s Score) data() ScoreData {
	return ScoreData{s.Value, s.Items, s.Answered, s.NA, s.Unsupported, s.points, s.maxPoints}
}

func (d ScoreData) score() Score {
	return Score{Value: d.Value, Items: d.Items, Answered: d.Answered, NA: d.NA, Unsupported: d.Unsupported, points: d.Points, maxPoints: d.MaxPoints}
}

// Summarize keeps a report's numbers.
func Summarize(f *framework.Framework, r Report) Summary {
	s := Summary{Framework: f.Version, Overall: r.Overall.data()}
	for _, a := range r.Areas {
		s.Areas = append(s.Areas, a.Score.data())
	}
	for _, m := range r.Models {
		s.Models = append(s.Models, m.Score.data())
	}
	return s
}

// Report expands a summary made under f back into a report. It returns
// false if the summary was made under another framework version, whose
// areas and models may differ: the caller assesses the answers again.
func (s Summary) Report(f *framework.Framework) (Report, bool) {
	if s.Framework != f.Version || len(s.Areas) != len(f.Areas) || len(s.Models) != len(f.Models) {
		return Report{}, false
	}
	r := Report{Overall: s.Overall.score(), Areas: make([]AreaScore, len(f.Areas)), Models: make([]ModelCoverage, len(f.Models))}
	for i, a := range f.Areas {
		r.Areas[i] = AreaScore{Area: a, Score: s.Areas[i].score()}
	}
	for i, m := range f.Models {
		sc := s.Models[i].score()
		r.Models[i] = ModelCoverage{Model: m, Score: sc, Coverage: coverageOf(sc), Expected: true} // a mission is judged on every model
	}
	return r, true
}
