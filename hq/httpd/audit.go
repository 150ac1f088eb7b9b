package httpd

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/hq/readymap"
	"chancery/hq/store"
	"chancery/shared/framework"
	"chancery/shared/readiness"
	"chancery/web"
)

// The capability audit: the six questions answered for the whole
// ministry, and the printable report a director takes to a board, for
// the ministry and for one mission.

type questionsData struct {
	Profile  string
	HQ       readymap.Ministry
	Six      []readymap.SixAnswer
	Models   []readymap.ModelAnswer
	Missions int
	Assessed int
}

// audit gathers what the six questions and the ministry's report read:
// the map with the answers the questions ask about, HQ's own assessment,
// and the framework both are read in.
func (h *handler) audit(ctx context.Context, lang string) (*readymap.Map, *framework.Framework, readymap.Ministry, error) {
	m, err := h.loadMap(ctx, true, lang)
	if err != nil {
		return nil, nil, readymap.Ministry{}, err
	}
	cat, err := h.Store.Catalog(ctx)
	if err != nil {
		return nil, nil, readymap.Ministry{}, err
	}
	f := ministryFramework(cat).In(lang)
	hq, _, err := h.loadMinistry(ctx, f)
	return m, f, hq, err
}

func assessed(ms []readymap.Mission) int {
	n := 0
	for _, m := range ms {
		if m.Assessed() {
			n++
		}
	}
	return n
}

func (h *handler) questionsPage(c echo.Context) error {
	m, f, hq, err := h.audit(c.Request().Context(), web.Lang(c))
	if err != nil {
		return err
	}
	six, models := readymap.Six(f, hq, m.Missions, h.Store.Now())
	return c.Render(http.StatusOK, "questions", h.page(c, "questions.title", questionsData{
		Profile: hq.Profile, HQ: hq, Six: six, Models: models, Missions: len(m.Missions), Assessed: assessed(m.Missions)}))
}

// The report's charts are drawn on the server as SVG, so that they print
// as they show and need no script.
const (
	barLeft  = 190.0 // where the bars start, after the area's name
	barScale = 3.0   // pixels per point: 100 is 300 px
	barRow   = 34.0  // height of one area's pair of bars
)

// areaBar is an area with two scores side by side: the subject's (A) and
// what it is compared with (B); nil is not assessed.
type areaBar struct {
	Name     string
	A, B     *int
	Y        float64
	AW, BW   float64
	AY, BY   float64
	TextY    float64
	AX, BX   float64 // where a value is written
	Absent   bool
	AreaID   string
	ALabelOK bool
}

func bars(areas []framework.Area, a, b func(string) *int) ([]areaBar, float64) {
	var out []areaBar
	for i, ar := range areas {
		y := 8 + float64(i)*barRow
		r := areaBar{Name: ar.Name, AreaID: ar.ID, A: a(ar.ID), B: b(ar.ID), Y: y, AY: y, BY: y + 13, TextY: y + 15}
		if r.A != nil {
			r.AW = float64(*r.A) * barScale
			r.AX = barLeft + r.AW + 4
		}
		if r.B != nil {
			r.BW = float64(*r.B) * barScale
			r.BX = barLeft + r.BW + 4
		}
		out = append(out, r)
	}
	return out, 8 + float64(len(areas))*barRow + 18
}

// modelRow is a model as the report judges it.
type modelRow struct {
	Model    framework.Model
	Coverage readiness.Coverage
	Expected bool
	AtRisk   bool
	// Missing, Partial and Of count missions, in the ministry's report.
	Missing, Partial, Of int
	// MissW, PartW, PresW are the widths of the missions' shares, out of
	// 200 px.
	MissW, PartW, PresW float64
}

// questionRow is one of the six questions with its short answer and the
// lines behind it.
type questionRow struct {
	ID     string
	Answer string
	Lines  []string
}

type gapRow struct {
	ID, Text    string
	Lacking, Of int
}

// action is one thing to do next, ranked by the weight of what is lacking
// and how many it is lacking for.
type action struct {
	Where, Item, Question, Next string
	score                       int
}

type reportData struct {
	Mission         *store.Mission // nil: the ministry's report
	Subject         string
	Generated       time.Time
	Profile         string
	Version         int
	Missions        int
	Assessed, Stale int
	Overall         *int
	Bars            []areaBar
	BarsHeight      float64
	ALabel, BLabel  string
	Models          []modelRow
	Questions       []questionRow
	Trends          []trend
	Gaps            []gapRow
	Actions         []action
	HQAssessed      bool
	HQOverall       int
	SignedBy        string
	SignedAt        *time.Time
}

func intp(v int) *int { return &v }

// meanOf gives an area's mean score over the assessed missions whose
// framework version has it, nil when none has.
func meanOf(ms []readymap.Mission) func(area string) *int {
	return func(area string) *int {
		var sum, n int
		for _, m := range ms {
			if m.Assessed() && m.HasArea(area) {
				sum += m.Area(area)
				n++
			}
		}
		if n == 0 {
			return nil
		}
		return intp(sum / n)
	}
}

func (h *handler) ministryReport(c echo.Context) error {
	ctx := c.Request().Context()
	lang := web.Lang(c)
	m, f, hq, err := h.audit(ctx, lang)
	if err != nil {
		return err
	}
	p := web.P(c)
	now := h.Store.Now()
	d := reportData{Subject: h.page(c, "", nil).Site, Generated: now, Profile: hq.Profile, Version: f.Version, Missions: len(m.Missions),
		Assessed: assessed(m.Missions), HQAssessed: hq.Assessed(), HQOverall: hq.Report.Overall.Value,
		ALabel: p.T("report.hq"), BLabel: p.T("report.missions_mean")}
	for _, ms := range m.Missions {
		if ms.Stale {
			d.Stale++
		}
	}
	if hq.SignOff != nil {
		d.SignedBy, d.SignedAt = hq.SignOff.SignedBy, &hq.SignOff.SignedAt
	}
	hqArea := func(area string) *int {
		s, ok := hq.Report.Area(area)
		if !ok || s.Items == 0 || !hq.Assessed() {
			return nil
		}
		return intp(s.Value)
	}
	d.Bars, d.BarsHeight = bars(f.Areas, hqArea, meanOf(m.Missions))
	six, models := readymap.Six(f, hq, m.Missions, now)
	for _, ma := range models {
		r := modelRow{Model: ma.Model, Coverage: ma.HQ.Coverage, Expected: ma.HQ.Expected, AtRisk: ma.AtRisk(), Missing: ma.Missing, Partial: ma.Partial, Of: ma.Of}
		if ma.Of > 0 {
			r.MissW = 200 * float64(ma.Missing) / float64(ma.Of)
			r.PartW = 200 * float64(ma.Partial) / float64(ma.Of)
			r.PresW = 200 - r.MissW - r.PartW
		}
		d.Models = append(d.Models, r)
	}
	for _, s := range six {
		q := questionRow{ID: s.Source.ID, Answer: p.T("questions.answer", "HQ", s.LackingHQ(), "HQItems", len(s.HQ), "Missions", s.LackingMissions(), "Of", d.Assessed)}
		for _, a := range s.HQ {
			q.Lines = append(q.Lines, hqLine(p, a))
		}
		for _, it := range s.Missions {
			q.Lines = append(q.Lines, p.T("report.item_across", "Item", it.Item.ID, "Question", it.Item.Question, "Lacking", len(it.Lacking), "Of", len(it.Lacking)+len(it.Having)))
		}
		d.Questions = append(d.Questions, q)
	}
	for _, g := range readymap.Gaps(m.Missions) {
		d.Gaps = append(d.Gaps, gapRow{ID: g.Question.ID, Text: p.T("gap." + g.Question.ID + ".text"), Lacking: len(g.Lacking), Of: len(g.Lacking) + len(g.Having)})
	}
	slices.SortStableFunc(d.Gaps, func(a, b gapRow) int { return cmp.Compare(b.Lacking, a.Lacking) })
	// Actions: HQ's expected items below "defined", then the mission
	// items most missions lack, weighted.
	for _, it := range f.Ministry {
		a, ok := hq.Answer(f, it.ID, now)
		if !ok || !a.Lacking {
			continue
		}
		d.Actions = append(d.Actions, action{Where: p.T("report.at_hq"), Item: it.ID, Question: it.Question, Next: next(it, a.Answer, a.Answered),
			score: it.Weight * 4 * max(d.Assessed, 1)})
	}
	for _, it := range f.Items {
		g := readymap.Across(m.Missions, it.ID)
		if len(g.Lacking) == 0 {
			continue
		}
		d.Actions = append(d.Actions, action{Where: p.T("report.at_missions", "Count", len(g.Lacking)), Item: it.ID, Question: it.Question,
			Next: next(it, readiness.Answer{}, false), score: it.Weight * len(g.Lacking)})
	}
	slices.SortStableFunc(d.Actions, func(a, b action) int { return cmp.Compare(b.score, a.score) })
	d.Actions = d.Actions[:min(len(d.Actions), 8)]
	// Trends: HQ's overall score at each of its sign-offs, and now.
	if len(hq.SignOffs) > 0 {
		d.Trends = append(d.Trends, ministryTrend(p, f, hq.SignOffs, hq.Report))
	}
	return c.Render(http.StatusOK, "report", h.page(c, "report.title", d))
}

// next says what the item's next level looks like, from its rubric: the
// level above the answer, and at least "defined".
func next(it framework.Item, a readiness.Answer, answered bool) string {
	lv := readiness.Defined
	if answered && !a.NA && a.Level >= readiness.Defined && a.Level < readiness.MaxLevel {
		lv = a.Level + 1
	}
	if int(lv) < len(it.Rubric) {
		return it.Rubric[lv]
	}
	return ""
}

func hqLine(p interface {
	T(string, ...any) string
}, a readymap.HQAnswer) string {
	switch {
	case !a.Expected:
		return p.T("report.hq_not_expected", "Item", a.Item.ID, "Question", a.Item.Question)
	case !a.Answered:
		return p.T("report.hq_unanswered", "Item", a.Item.ID, "Question", a.Item.Question)
	case a.Answer.NA:
		return p.T("report.hq_na", "Item", a.Item.ID, "Question", a.Item.Question)
	}
	return p.T("report.hq_level", "Item", a.Item.ID, "Question", a.Item.Question, "Level", int(a.Answer.Level), "Rubric", rubricOf(a.Item, a.Answer.Level))
}

func rubricOf(it framework.Item, l readiness.Level) string {
	if int(l) < len(it.Rubric) {
		return it.Rubric[l]
	}
	return ""
}

// ministryTrend draws HQ's overall score at each of its sign-offs and now.
func ministryTrend(p interface {
	T(string, ...any) string
	Day(time.Time) string
}, f *framework.Framework, signoffs []store.MinistrySignOff, now readiness.Report) trend {
	var values []int
	var dates []string
	for i := len(signoffs) - 1; i >= 0; i-- {
		values = append(values, readiness.AssessMinistry(f, signoffs[i].Answers, signoffs[i].Profile).Overall.Value)
		dates = append(dates, p.Day(signoffs[i].SignedAt))
	}
	values = append(values, now.Overall.Value)
	dates = append(dates, p.T("mission.now"))
	return drawTrend(p, "overall", p.T("report.hq_overall"), len(signoffs), values, dates)
}

func (h *handler) missionReport(c echo.Context) error {
	ctx := c.Request().Context()
	lang := web.Lang(c)
	ms, err := h.Store.Mission(ctx, c.Param("code"))
	if err != nil {
		return err
	}
	// The mission is compared with the means of the map HQ keeps; of HQ's
	// own assessment only its profile is said.
	m, err := h.loadMap(ctx, false, lang)
	if err != nil {
		return err
	}
	prof, err := h.Store.Profile(ctx)
	if err != nil {
		return err
	}
	answers, err := h.Store.Answers(ctx, ms.Code)
	if err != nil {
		return err
	}
	snaps, err := h.Store.Snapshots(ctx, ms.Code)
	if err != nil {
		return err
	}
	cat, err := h.Store.Catalog(ctx)
	if err != nil {
		return err
	}
	f := cat.Of(ms).In(lang)
	answers = readiness.Carry(f, answers)
	rep := readiness.Assess(f, answers)
	p := web.P(c)
	now := h.Store.Now()
	d := reportData{Mission: &ms, Subject: ms.Code + " " + ms.Name, Generated: now, Profile: prof.Profile, Version: f.Version,
		Missions: len(m.Missions), Assessed: assessed(m.Missions), ALabel: ms.Code, BLabel: p.T("report.missions_mean")}
	if rep.Overall.Answered > 0 {
		d.Overall = intp(rep.Overall.Value)
	}
	if len(snaps) > 0 {
		d.SignedBy, d.SignedAt = snaps[0].SignedBy, &snaps[0].SignedAt
	}
	mine := func(area string) *int {
		s, ok := rep.Area(area)
		if !ok || rep.Overall.Answered == 0 {
			return nil
		}
		return intp(s.Value)
	}
	d.Bars, d.BarsHeight = bars(f.Areas, mine, meanOf(m.Missions))
	for _, mc := range rep.Models {
		d.Models = append(d.Models, modelRow{Model: mc.Model, Coverage: mc.Coverage, Expected: true, AtRisk: mc.Coverage != readiness.Present})
	}
	for _, id := range readymap.SixQuestions {
		q := questionRow{ID: id}
		lacking, of := 0, 0
		for _, it := range f.Items {
			if !slices.Contains(it.Addresses, id) {
				continue
			}
			a, ok := answers[it.ID]
			of++
			switch {
			case !ok:
				lacking++
				q.Lines = append(q.Lines, p.T("report.mission_unanswered", "Item", it.ID, "Question", it.Question))
			case a.NA:
				q.Lines = append(q.Lines, p.T("report.hq_na", "Item", it.ID, "Question", it.Question))
			default:
				if a.Level < readiness.Defined {
					lacking++
				}
				q.Lines = append(q.Lines, p.T("report.hq_level", "Item", it.ID, "Question", it.Question, "Level", int(a.Level), "Rubric", rubricOf(it, a.Level)))
			}
		}
		q.Answer = p.T("report.mission_six", "Lacking", lacking, "Of", of)
		d.Questions = append(d.Questions, q)
	}
	for _, it := range f.Items {
		a, ok := answers[it.ID]
		if ok && (a.NA || a.Level >= readiness.Defined) {
			if ok && a.Stale(it, now) {
				d.Stale++
			}
			continue
		}
		d.Gaps = append(d.Gaps, gapRow{ID: it.ID, Text: it.Question})
		d.Actions = append(d.Actions, action{Where: it.ID, Item: it.ID, Question: it.Question, Next: next(it, a, ok), score: it.Weight * (4 - int(a.Level))})
	}
	slices.SortStableFunc(d.Actions, func(a, b action) int { return cmp.Compare(b.score, a.score) })
	d.Actions = d.Actions[:min(len(d.Actions), 8)]
	if len(snaps) > 0 {
		d.Trends = trends(p, f, snaps, rep)
	}
	return c.Render(http.StatusOK, "report", h.page(c, "report.title", d))
}
