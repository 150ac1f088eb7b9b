// Package readymap builds headquarters' readiness map: for every mission
// its scores by area, the models it shows or lacks, its evidence gaps, its
// sign-off, and how fresh all of that is; then the roll-ups by region and
// the gaps across the ministry.
//
// A mission that has gone quiet is stale, and stale is shown as stale,
// never as ready: its scores are as old as its last sync.
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
	Report readiness.Report
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

// Region is the roll-up of the missions of one region.
type Region struct {
	Name     string `json:"name"`
	Missions int    `json:"missions"`
	Stale    int    `json:"stale"`
	// Overall and Areas are means over the region's missions, rounded
	// down; Areas follow the framework's order.
	Overall int   `json:"overall"`
	Areas   []int `json:"areas"`
}

// ModelGap counts, for one model, the missions that lack it or show it
// only partly.
type ModelGap struct {
	Model            framework.Model
	Missing, Partial int
}

// Map is the whole picture.
type Map struct {
	Framework *framework.Framework
	Built     time.Time
	Missions  []Mission
	Regions   []Region
	Models    []ModelGap
}

// Inputs is what the map is built from.
type Inputs struct {
	Framework *framework.Framework
	Missions  []store.Mission
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
		answers := readiness.Carry(f, in.Answers[ms.Code])
		v := Mission{Mission: ms, Answers: answers}
		sc, stored := in.Scores[ms.Code]
		if stored {
			v.Report, stored = sc.Summary.Report(f)
			v.LastChange = sc.LastChange
		}
		if !stored {
			v.Report = readiness.Assess(f, answers)
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
	return m
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

func regions(f *framework.Framework, ms []Mission) []Region {
	by := map[string]*Region{}
	sums := map[string][]int{}
	for _, m := range ms {
		name := cmp.Or(m.Mission.Region, "No region")
		r := by[name]
		if r == nil {
			r = &Region{Name: name}
			by[name] = r
			sums[name] = make([]int, len(f.Areas)+1)
		}
		r.Missions++
		if m.Stale {
			r.Stale++
		}
		s := sums[name]
		s[0] += m.Report.Overall.Value
		for i, a := range m.Report.Areas {
			s[i+1] += a.Score.Value
		}
	}
	var out []Region
	for name, r := range by {
		s := sums[name]
		r.Overall = s[0] / r.Missions
		for i := range f.Areas {
			r.Areas = append(r.Areas, s[i+1]/r.Missions)
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Region) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func modelGaps(f *framework.Framework, ms []Mission) []ModelGap {
	out := make([]ModelGap, len(f.Models))
	for i, md := range f.Models {
		out[i].Model = md
	}
	for _, m := range ms {
		for i, c := range m.Report.Models {
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
