// Package readymap builds headquarters' readiness map: for every mission
// its scores by area, the models it shows or lacks, its evidence gaps, its
// sign-off, and how fresh all of that is; then the roll-ups by region and
// the gaps across the ministry.
//
// A mission that has gone quiet is stale, and stale is shown as stale,
// never as ready: its scores are as old as its last sync. A mission that
// has answered nothing is not assessed, never 0, and is left out of every
// mean; a revoked one leaves the map and is listed apart.
package readymap

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"chancery/hq/store"
	"chancery/shared/framework"
	"chancery/shared/readiness"
)

// StaleAfter is how long after its last sync a mission counts as stale: a
// mission that syncs every 15 minutes and has not been heard of for a day
// has a problem worth showing.
const StaleAfter = 24 * time.Hour

// Mission is one mission on the map.
type Mission struct {
	store.Mission
	// Against is the framework version the mission is assessed against:
	// the one it has applied, which may be older than HQ's newest.
	Against *framework.Framework
	Report  readiness.Report
	// Answers are the mission's answers, carried onto the framework's
	// current items.
	Answers map[string]readiness.Answer
	// SignOff is the latest sign-off, if any.
	SignOff *store.SignOff
	// LastChange is the time of the most recent answer.
	LastChange *time.Time
	Stale      bool
	// Seen and Changed say how long ago, in words.
	Seen, Changed string
}

// Area returns the mission's score in an area.
func (m Mission) Area(id string) int {
	s, _ := m.Report.Area(id)
	return s.Value
}

// Assessed reports whether the mission has answered anything: one that
// has not is "not assessed", which is not the same as scoring 0.
func (m Mission) Assessed() bool { return m.Report.Overall.Answered > 0 }

// HasArea reports whether the mission's framework version has an area.
func (m Mission) HasArea(id string) bool {
	_, ok := m.Report.Area(id)
	return ok
}

// Region is the roll-up of the missions of one region.
type Region struct {
	Name     string `json:"name"`
	Missions int    `json:"missions"`
	// Assessed of the Missions have answered anything; only they count
	// in the means.
	Assessed int `json:"assessed"`
	Stale    int `json:"stale"`
	// Overall and Areas are means over the region's assessed missions,
	// rounded down, nil when none is; Areas follow the framework's
	// order, each over the assessed missions whose framework version has
	// the area.
	Overall *int   `json:"overall"`
	Areas   []*int `json:"areas"`
	// Frameworks lists the framework versions its missions are assessed
	// against, oldest first: more than one means the means compare
	// missions on different versions.
	Frameworks []int `json:"frameworks"`
}

// Mixed reports whether the region's means compare missions on
// different framework versions.
func (r Region) Mixed() bool { return len(r.Frameworks) > 1 }

// ModelGap counts, for one model, the missions that lack it or show it
// only partly.
type ModelGap struct {
	Model            framework.Model
	Missing, Partial int
	// Of is how many missions were judged: the assessed ones.
	Of int
}

// Map is the whole picture.
type Map struct {
	// Framework is HQ's newest version: the map's columns are its areas.
	Framework *framework.Framework
	Built     time.Time
	// Missions are the missions on the map; Revoked, those HQ revoked,
	// which are on no map, grid or mean.
	Missions []Mission
	Revoked  []store.Mission
	Regions  []Region
	Models   []ModelGap
	// Frameworks lists the versions the missions are assessed against,
	// oldest first.
	Frameworks []int
}

// Mixed reports whether the map compares missions on different framework
// versions.
func (m *Map) Mixed() bool { return len(m.Frameworks) > 1 }

// Inputs is what the map is built from.
type Inputs struct {
	// Framework is HQ's newest version; FrameworkOf, if set, gives the
	// version each mission is assessed against (else Framework).
	Framework   *framework.Framework
	FrameworkOf func(store.Mission) *framework.Framework
	Missions    []store.Mission
	// Scores are the missions' stored scores. A mission without them is
	// assessed from its Answers.
	Scores map[string]store.Scores
	// Answers may hold only some items (those the gap view asks about)
	// for missions whose Scores are given.
	Answers  map[string]map[string]readiness.Answer
	SignOffs map[string]store.SignOff
	Now      time.Time
}

// Build computes the map.
func Build(in Inputs) *Map {
	f := in.Framework
	m := &Map{Framework: f, Built: in.Now}
	for _, ms := range in.Missions {
		if ms.State == "revoked" {
			m.Revoked = append(m.Revoked, ms)
			continue
		}
		mf := f
		if in.FrameworkOf != nil {
			mf = in.FrameworkOf(ms)
		}
		answers := readiness.Carry(mf, in.Answers[ms.Code])
		v := Mission{Mission: ms, Against: mf, Answers: answers}
		sc, stored := in.Scores[ms.Code]
		if stored {
			v.Report, stored = sc.Summary.Report(mf)
			v.LastChange = sc.LastChange
		}
		if !stored {
			v.Report = readiness.Assess(mf, answers)
			for _, a := range answers {
				if v.LastChange == nil || a.AnsweredAt.After(*v.LastChange) {
					t := a.AnsweredAt
					v.LastChange = &t
				}
			}
		}
		if s, ok := in.SignOffs[ms.Code]; ok {
			v.SignOff = &s
		}
		v.Seen, v.Stale = Ago(ms.LastSeen, in.Now)
		v.Changed, _ = Ago(v.LastChange, in.Now)
		m.Missions = append(m.Missions, v)
	}
	m.Regions = regions(f, m.Missions)
	m.Models = modelGaps(f, m.Missions)
	m.Frameworks = versions(m.Missions)
	return m
}

// Patch returns m with the rows of the missions named built again from
// in, which holds those missions as they are now (a mission named that in
// does not hold is gone), and the regions, models and framework versions
// worked out again over every row. in's framework is m's.
func (m *Map) Patch(in Inputs, codes []string) *Map {
	fresh := Build(in)
	named := make(map[string]bool, len(codes))
	for _, c := range codes {
		named[c] = true
	}
	out := *m
	out.Built = in.Now
	out.Missions = make([]Mission, 0, len(m.Missions)+len(fresh.Missions))
	for _, v := range m.Missions {
		if !named[v.Code] {
			out.Missions = append(out.Missions, v)
		}
	}
	out.Missions = append(out.Missions, fresh.Missions...)
	slices.SortFunc(out.Missions, func(a, b Mission) int { return strings.Compare(a.Code, b.Code) })
	out.Revoked = nil
	for _, r := range m.Revoked {
		if !named[r.Code] {
			out.Revoked = append(out.Revoked, r)
		}
	}
	out.Revoked = append(out.Revoked, fresh.Revoked...)
	slices.SortFunc(out.Revoked, func(a, b store.Mission) int { return strings.Compare(a.Code, b.Code) })
	out.Regions = regions(m.Framework, out.Missions)
	out.Models = modelGaps(m.Framework, out.Missions)
	out.Frameworks = versions(out.Missions)
	return &out
}

// At returns the map as it reads at now, each mission last seen at seen
// (those it does not name as they were): the same missions and scores,
// with how long ago each was seen, which are stale, and the regions'
// counts of stale missions worked out again. A map kept while nothing it
// was built from changed is read through At, since time alone makes a
// mission stale.
func (m *Map) At(now time.Time, seen map[string]*time.Time) *Map {
	out := *m
	out.Built = now
	out.Missions = slices.Clone(m.Missions)
	for i := range out.Missions {
		v := &out.Missions[i]
		if t, ok := seen[v.Code]; ok {
			v.Mission.LastSeen = t
		}
		v.Seen, v.Stale = Ago(v.Mission.LastSeen, now)
		v.Changed, _ = Ago(v.LastChange, now)
	}
	out.Regions = regions(m.Framework, out.Missions)
	return &out
}

// versions lists the framework versions that missions are assessed
// against, oldest first.
func versions(ms []Mission) []int {
	var out []int
	for _, m := range ms {
		if !slices.Contains(out, m.Against.Version) {
			out = append(out, m.Against.Version)
		}
	}
	slices.Sort(out)
	return out
}

// Ago says how long ago t was, in words, and whether that is stale.
func Ago(t *time.Time, now time.Time) (string, bool) {
	if t == nil {
		return "never", true
	}
	d := now.Sub(*t)
	var s string
	switch {
	case d < time.Minute:
		s = "just now"
	case d < time.Hour:
		s = fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h ago", int(d.Hours()))
	default:
		s = fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
	return s, d > StaleAfter
}

// regions rolls the missions up by region in one pass, each mission read
// in place: at ten thousand missions, copying each into its region's list
// (and again into every mean) was most of the time of reading the map.
func regions(f *framework.Framework, ms []Mission) []Region {
	type sums struct {
		r              Region
		overall        int
		areas, answers []int
	}
	by := map[string]*sums{}
	for i := range ms {
		m := &ms[i]
		name := cmp.Or(m.Mission.Region, "No region")
		s := by[name]
		if s == nil {
			s = &sums{r: Region{Name: name}, areas: make([]int, len(f.Areas)), answers: make([]int, len(f.Areas))}
			by[name] = s
		}
		s.r.Missions++
		if m.Stale {
			s.r.Stale++
		}
		if m.Report.Overall.Answered == 0 { // not assessed: in no mean
			continue
		}
		s.r.Assessed++
		if !slices.Contains(s.r.Frameworks, m.Against.Version) {
			s.r.Frameworks = append(s.r.Frameworks, m.Against.Version)
		}
		s.overall += m.Report.Overall.Value
		for k, a := range f.Areas {
			if v, ok := m.Report.Area(a.ID); ok {
				s.areas[k] += v.Value
				s.answers[k]++
			}
		}
	}
	meanOf := func(sum, n int) *int {
		if n == 0 {
			return nil
		}
		v := sum / n
		return &v
	}
	out := make([]Region, 0, len(by))
	for _, s := range by {
		r := s.r
		slices.Sort(r.Frameworks)
		r.Overall = meanOf(s.overall, r.Assessed)
		for k := range f.Areas {
			r.Areas = append(r.Areas, meanOf(s.areas[k], s.answers[k]))
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Region) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func modelGaps(f *framework.Framework, ms []Mission) []ModelGap {
	out := make([]ModelGap, len(f.Models))
	judged := 0
	for _, m := range ms {
		if m.Assessed() {
			judged++
		}
	}
	for i, md := range f.Models {
		out[i].Model, out[i].Of = md, judged
	}
	for _, m := range ms {
		if !m.Assessed() {
			continue
		}
		for _, c := range m.Report.Models {
			i := slices.IndexFunc(out, func(g ModelGap) bool { return g.Model.ID == c.Model.ID })
			if i < 0 {
				continue // a model the newest version no longer has
			}
			switch c.Coverage {
			case readiness.Missing:
				out[i].Missing++
			case readiness.Partial:
				out[i].Partial++
			}
		}
	}
	// The model missing most often first.
	slices.SortStableFunc(out, func(a, b ModelGap) int { return cmp.Compare(b.Missing, a.Missing) })
	return out
}
