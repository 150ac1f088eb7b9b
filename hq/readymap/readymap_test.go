package readymap_test

import (
	"testing"
	"time"

	"chancery/hq/readymap"
	"chancery/hq/store"
	"chancery/shared/framework"
	"chancery/shared/readiness"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := now.Add(-d); return &t }

// fixture: Paris is fresh and strong on the narrative pathway; Berlin
// answered but has been quiet for three days; Nairobi never synced.
func fixture() *readymap.Map {
	ans := func(l readiness.Level, ev string, ago time.Duration) readiness.Answer {
		return readiness.Answer{Level: l, Evidence: ev, AnsweredAt: now.Add(-ago)}
	}
	return readymap.Build(readymap.Inputs{
		Framework: framework.Builtin(),
		Missions: []store.Mission{
			{Code: "FR-PAR", Name: "Paris", Region: "Europe", LastSeen: at(10 * time.Minute)},
			{Code: "DE-BER", Name: "Berlin", Region: "Europe", LastSeen: at(72 * time.Hour)},
			{Code: "KE-NBO", Name: "Nairobi", Region: "Africa"},
		},
		Answers: map[string]map[string]readiness.Answer{
			"FR-PAR": {"NAR-02": ans(4, "Pathway v3", 2*time.Hour), "GOV-05": ans(3, "Deputy head of mission", 5*time.Hour), "MIS-07": {NA: true, AnsweredAt: now.Add(-time.Hour)}},
			"DE-BER": {"NAR-02": ans(1, "", 80*time.Hour)},
		},
		SignOffs: map[string]store.SignOff{"FR-PAR": {ID: "s1", SignedBy: "hom", SignedAt: now.Add(-24 * time.Hour)}},
		Now:      now,
	})
}

func TestBuild(t *testing.T) {
	m := fixture()
	got := map[string]readymap.Mission{}
	for _, v := range m.Missions {
		got[v.Code] = v
	}
	par, ber, nbo := got["FR-PAR"], got["DE-BER"], got["KE-NBO"]
	// Narrative: NAR-02 weighs 3 of 22; Paris 3×4/88 = 13, Berlin 3×1/88 = 3.
	// Governance: GOV-05 weighs 3 of 19; Paris 3×3/76 = 11.
	// Overall: the framework weighs 113; Paris (12+9)/452 = 4.
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"Paris narrative", par.Area("narrative"), 13},
		{"Paris governance", par.Area("governance"), 11},
		{"Paris overall", par.Report.Overall.Value, 4},
		{"Berlin narrative", ber.Area("narrative"), 3},
		{"Nairobi overall", nbo.Report.Overall.Value, 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if par.Stale || !ber.Stale || !nbo.Stale {
		t.Errorf("stale: Paris %v, Berlin %v, Nairobi %v; want false, true, true", par.Stale, ber.Stale, nbo.Stale)
	}
	if par.Seen != "10 min ago" || ber.Seen != "3 days ago" || nbo.Seen != "never" || par.Changed != "1 h ago" {
		t.Errorf("freshness: %q %q %q, changed %q", par.Seen, ber.Seen, nbo.Seen, par.Changed)
	}
	if par.SignOff == nil || par.SignOff.SignedBy != "hom" || ber.SignOff != nil {
		t.Errorf("sign-offs: %+v %+v", par.SignOff, ber.SignOff)
	}
	// Regions, alphabetical: Africa (Nairobi), Europe (Paris, Berlin:
	// narrative (13+3)/2 = 8, one of two stale).
	if len(m.Regions) != 2 || m.Regions[1].Name != "Europe" || m.Regions[1].Missions != 2 || m.Regions[1].Stale != 1 || m.Regions[1].Areas[3] == nil || *m.Regions[1].Areas[3] != 8 {
		t.Errorf("regions: %+v", m.Regions)
	}
	// Every model is missing at both assessed missions (their scores are
	// far below "ad hoc"); Nairobi, which answered nothing, is not judged.
	if m.Models[0].Missing != 2 || m.Models[0].Of != 2 {
		t.Errorf("model gaps: %+v", m.Models[0])
	}
	// Not assessed is not 0: Nairobi is on the map, but in no mean.
	if nbo.Assessed() || !par.Assessed() || !ber.Assessed() {
		t.Errorf("assessed: Paris %v, Berlin %v, Nairobi %v", par.Assessed(), ber.Assessed(), nbo.Assessed())
	}
	if africa := m.Regions[0]; africa.Missions != 1 || africa.Assessed != 0 || africa.Overall != nil || africa.Areas[0] != nil {
		t.Errorf("a region with no mission assessed has means: %+v", africa)
	}
}

func TestSelect(t *testing.T) {
	m := fixture()
	codes := func(ms []readymap.Mission) (s []string) {
		for _, v := range ms {
			s = append(s, v.Code)
		}
		return s
	}
	for _, c := range []struct {
		f    readymap.Filter
		want string
	}{
		{readymap.Filter{}, "[DE-BER FR-PAR KE-NBO]"},
		{readymap.Filter{Region: "Europe"}, "[DE-BER FR-PAR]"},
		{readymap.Filter{Freshness: "stale"}, "[DE-BER KE-NBO]"},
		{readymap.Filter{Freshness: "fresh"}, "[FR-PAR]"},
		{readymap.Filter{Sort: "narrative", Desc: true}, "[FR-PAR DE-BER KE-NBO]"},
		{readymap.Filter{Min: 1}, "[FR-PAR]"},
		{readymap.Filter{Sort: "seen"}, "[KE-NBO DE-BER FR-PAR]"},
	} {
		if got := fmtList(codes(m.Select(c.f))); got != c.want {
			t.Errorf("%+v: %s, want %s", c.f, got, c.want)
		}
	}
}

func fmtList(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}

func TestGaps(t *testing.T) {
	m := fixture()
	gaps := readymap.Gaps(m.Missions)
	byID := map[string]readymap.GapAnswer{}
	for _, g := range gaps {
		byID[g.Question.ID] = g
	}
	// Narrative pathway: Paris has it (4); Berlin is ad hoc, so lacks
	// it; Nairobi never answered anything: not assessed, not lacking.
	np := byID["narrative-pathway"]
	if len(np.Having) != 1 || np.Having[0].Mission.Code != "FR-PAR" || len(np.Lacking) != 1 || np.NotAssessed != 1 {
		t.Fatalf("narrative pathway: having %d, lacking %d, not assessed %d", len(np.Having), len(np.Lacking), np.NotAssessed)
	}
	// Who owns AI risk: Paris names its owner in the evidence.
	ai := byID["ai-owner"]
	if len(ai.Having) != 1 || ai.Having[0].Answer.Evidence != "Deputy head of mission" {
		t.Fatalf("AI owner: %+v", ai.Having)
	}
	// Not applicable is neither having nor lacking; Berlin, assessed but
	// silent on the item, lacks it.
	acc := byID["accounts"]
	if acc.NA != 1 || len(acc.Lacking) != 1 || len(acc.Having) != 0 || acc.NotAssessed != 1 {
		t.Fatalf("accounts: %+v", acc)
	}
}

// A region whose assessed missions stand on different framework versions
// lists both, oldest first; a mission that answered nothing adds neither
// its version nor a zero to the means.
func TestRegionAcrossVersions(t *testing.T) {
	newer := framework.Builtin()
	older := *newer
	older.Version = newer.Version - 1
	m := readymap.Build(readymap.Inputs{
		Framework: newer,
		FrameworkOf: func(ms store.Mission) *framework.Framework {
			if ms.Code == "IT-ROM" {
				return &older
			}
			return newer
		},
		Missions: []store.Mission{
			{Code: "FR-PAR", Region: "Europe"},
			{Code: "IT-ROM", Region: "Europe"},
			{Code: "ES-MAD", Region: "Europe"},
		},
		Answers: map[string]map[string]readiness.Answer{
			"FR-PAR": {"NAR-02": {Level: 4, Evidence: "Pathway v3", AnsweredAt: now}},
			"IT-ROM": {"NAR-02": {Level: 2, Evidence: "Draft", AnsweredAt: now}},
		},
		Now: now,
	})
	if len(m.Regions) != 1 {
		t.Fatalf("regions: %+v", m.Regions)
	}
	eu := m.Regions[0]
	// Narrative: NAR-02 weighs 3 of 22; Paris 3×4/88 = 13, Rome 3×2/88 = 6.
	if eu.Missions != 3 || eu.Assessed != 2 || !eu.Mixed() || eu.Frameworks[0] != older.Version || eu.Frameworks[1] != newer.Version ||
		eu.Areas[3] == nil || *eu.Areas[3] != (13+6)/2 {
		t.Errorf("Europe: %+v (narrative %v)", eu, eu.Areas[3])
	}
}
