package httpd

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/hq/readymap"
	"chancery/hq/store"
	"chancery/shared/framework"
	"chancery/shared/i18n"
	"chancery/shared/problem"
	"chancery/shared/readiness"
	"chancery/sync/exchange"
	"chancery/web"
)

type missionRow struct {
	store.Mission
	Overall  int
	Answered int
	Items    int
	Seen     string
	Stale    bool
}

// row is a mission's line in the registry, from its overall score.
func (h *handler) row(m store.Mission, overall readiness.ScoreData) missionRow {
	r := missionRow{Mission: m, Overall: overall.Value, Answered: overall.Answered, Items: overall.Items}
	r.Seen, r.Stale = readymap.Ago(m.LastSeen, h.Store.Now())
	return r
}

// missions lists the registry from the stored scores: two queries
// however many missions there are.
func (h *handler) missions(c echo.Context) error { return h.renderMissions(c, nil) }

// renderMissions shows the registry and the regions; failed, if set, is
// a refused change to the regions, said on the page.
func (h *handler) renderMissions(c echo.Context, failed error) error {
	status, msg := http.StatusOK, ""
	if failed != nil {
		if status, msg = web.StatusOf(c, failed); status >= 500 {
			return failed
		}
	}
	ctx := c.Request().Context()
	regions, err := h.Store.Regions(ctx)
	if err != nil {
		return err
	}
	list, err := h.Store.Missions(ctx)
	if err != nil {
		return err
	}
	scores, err := h.Store.AllScores(ctx)
	if err != nil {
		return err
	}
	rows := make([]missionRow, 0, len(list))
	for _, m := range list {
		rows = append(rows, h.row(m, scores[m.Code].Summary.Overall))
	}
	u, _ := web.CurrentUser(c)
	p := h.page(c, "nav.missions", struct {
		Rows      []missionRow
		Regions   []string
		CanManage bool
	}{rows, regions, has(canManage, u.Role)})
	p.Error = msg
	return c.Render(status, "missions", p)
}

type missionForm struct {
	Code, Name, Country, City, Region, Lat, Lon string
	// Regions is the managed list the region is chosen from; Edit says
	// the form changes a registered mission.
	Regions []string
	Edit    bool
}

func (h *handler) newMission(c echo.Context) error {
	regions, err := h.Store.Regions(c.Request().Context())
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "mission-new", h.page(c, "nav.missions", missionForm{Regions: regions}))
}

// editMission opens a registered mission's details for correction.
func (h *handler) editMission(c echo.Context) error {
	ctx := c.Request().Context()
	m, err := h.Store.Mission(ctx, c.Param("code"))
	if err != nil {
		return err
	}
	regions, err := h.Store.Regions(ctx)
	if err != nil {
		return err
	}
	f := missionForm{Code: m.Code, Name: m.Name, Country: m.Country, City: m.City, Region: m.Region, Regions: regions, Edit: true, Lat: coord(m.Lat), Lon: coord(m.Lon)}
	return c.Render(http.StatusOK, "mission-new", h.page(c, "nav.missions", f))
}

func (h *handler) addMission(c echo.Context) error    { return h.saveMission(c, false) }
func (h *handler) updateMission(c echo.Context) error { return h.saveMission(c, true) }

// saveMission registers a mission from the form, or, with edit, saves a
// registered one's details. Its region must be on HQ's list, so that a
// slip of the keyboard cannot make a new one; a refused form comes back
// as typed.
func (h *handler) saveMission(c echo.Context, edit bool) error {
	ctx := c.Request().Context()
	regions, err := h.Store.Regions(ctx)
	if err != nil {
		return err
	}
	f := missionForm{Code: strings.ToUpper(strings.TrimSpace(c.FormValue("code"))), Name: c.FormValue("name"), Country: c.FormValue("country"),
		City: c.FormValue("city"), Region: c.FormValue("region"), Lat: c.FormValue("lat"), Lon: c.FormValue("lon"), Regions: regions, Edit: edit}
	save, done := h.Store.AddMission, "mission_new.not_registered"
	if edit {
		f.Code = c.Param("code")
		save, done = h.Store.UpdateMission, "mission_new.not_changed"
	}
	m := store.Mission{Code: f.Code, Name: f.Name, Country: f.Country, City: f.City, Region: f.Region}
	if m.Lat, err = optFloat(f.Lat); err == nil {
		m.Lon, err = optFloat(f.Lon)
	}
	if err == nil && f.Region != "" && !slices.Contains(regions, f.Region) {
		err = problem.New(problem.Invalid, "mission_new.no_such_region", "Region", f.Region)
	}
	if err == nil {
		err = save(ctx, web.ActorOf(c), m)
	}
	if err != nil {
		if code := problem.CodeOf(err); code == problem.Invalid || code == problem.Conflict {
			status, msg := web.StatusOf(c, err)
			p := h.page(c, "nav.missions", f)
			p.Error = web.T(c, done, "Why", msg)
			return c.Render(status, "mission-new", p)
		}
		return err
	}
	if edit {
		web.SetFlash(c, "edited")
	}
	return c.Redirect(http.StatusSeeOther, "/missions/"+m.Code)
}

func (h *handler) addRegion(c echo.Context) error {
	if err := h.Store.AddRegion(c.Request().Context(), web.ActorOf(c), c.FormValue("name")); err != nil {
		return h.renderMissions(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/missions#regions")
}

func (h *handler) removeRegion(c echo.Context) error {
	if err := h.Store.RemoveRegion(c.Request().Context(), web.ActorOf(c), c.Param("name")); err != nil {
		return h.renderMissions(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/missions#regions")
}

func optFloat(s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, problem.New(problem.Invalid, "mission_new.bad_coord", "Value", s)
	}
	return &v, nil
}

type missionData struct {
	Row     missionRow
	Trends  []trend
	Signals store.Signals
	Report  readiness.Report
	// Framework is the version the mission has applied and is scored
	// against; Newest, HQ's newest.
	Framework, Newest int
	Items             []itemRow
	Snapshots         []readiness.Snapshot
	Received          int
	Arrival           store.Arrival
	CanManage         bool
	Code              string
	Expires           time.Time
	Fingerprint       string // of HQ's signing key, shown beside a code
	// Audit is the mission's audit chain as its pouches report it.
	Audit store.AuditState
}

type itemRow struct {
	ID, Area, Question string
	Answer             readiness.Answer
	Answered           bool
	// Stale is evidence older than the item allows; Fresh is how long it
	// allows, in months.
	Stale bool
	Fresh int
}

func (h *handler) mission(c echo.Context) error {
	return h.renderMission(c, "", time.Time{})
}

func (h *handler) renderMission(c echo.Context, code string, expires time.Time) error {
	return h.renderMissionStatus(c, http.StatusOK, code, expires, "")
}

func (h *handler) renderMissionStatus(c echo.Context, status int, code string, expires time.Time, failure string) error {
	ctx := c.Request().Context()
	m, err := h.Store.Mission(ctx, c.Param("code"))
	if err != nil {
		return err
	}
	answers, err := h.Store.Answers(ctx, m.Code)
	if err != nil {
		return err
	}
	snaps, err := h.Store.Snapshots(ctx, m.Code)
	if err != nil {
		return err
	}
	n, err := h.Store.Received(ctx, m.Code)
	if err != nil {
		return err
	}
	arrival, err := h.Store.LastArrival(ctx, m.Code)
	if err != nil {
		return err
	}
	cat, err := h.Store.Catalog(ctx)
	if err != nil {
		return err
	}
	audit, err := h.Store.AuditOf(ctx, m.Code)
	if err != nil {
		return err
	}
	f := cat.Of(m).In(web.Lang(c))
	u, _ := web.CurrentUser(c)
	report := readiness.Assess(f, answers)
	d := missionData{Row: h.row(m, readiness.Summarize(f, report).Overall), Report: report, Framework: f.Version, Newest: cat.Framework().Version, Snapshots: snaps, Received: n, Arrival: arrival, CanManage: has(canManage, u.Role), Code: code, Expires: expires, Fingerprint: exchange.Fingerprint(h.Store.HQSigningPublic()), Audit: audit}
	for _, it := range f.Items {
		a, ok := answers[it.ID]
		d.Items = append(d.Items, itemRow{it.ID, it.Area, it.Question, a, ok, ok && a.Stale(it, h.Store.Now()), it.FreshMonths})
	}
	d.Trends = trends(web.P(c), f, snaps, d.Report)
	sig, err := h.Store.IncidentSignals(ctx)
	if err != nil {
		return err
	}
	d.Signals = sig[m.Code]
	p := h.page(c, "nav.missions", d)
	if code != "" {
		p.Flash = web.T(c, "mission.code_issued")
	}
	if web.Flash(c) == "edited" {
		p.Flash = web.T(c, "mission.saved")
	}
	if web.Flash(c) == "revoked" {
		p.Flash = web.T(c, "mission.revoked_flash")
	}
	p.Error = failure
	return c.Render(status, "mission", p)
}

// confirmed checks the typed confirmation of a destructive action: the
// mission's code, typed again. Without it, the page says so and nothing
// changes.
func (h *handler) confirmed(c echo.Context, what string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(c.FormValue("confirm")), c.Param("code")) {
		return true, nil
	}
	return false, h.renderMissionStatus(c, http.StatusBadRequest, "", time.Time{}, "To "+what+", type the mission's code, "+c.Param("code")+", in the box beside the button. Nothing was changed.")
}

func (h *handler) issueCode(c echo.Context) error {
	code, expires, err := h.Store.IssueCode(c.Request().Context(), web.ActorOf(c), c.Param("code"))
	if err != nil {
		return err
	}
	return h.renderMission(c, code, expires)
}

func (h *handler) revoke(c echo.Context) error {
	if ok, err := h.confirmed(c, "revoke it"); !ok {
		return err
	}
	if err := h.Store.Revoke(c.Request().Context(), web.ActorOf(c), c.Param("code")); err != nil {
		return err
	}
	web.SetFlash(c, "revoked")
	return c.Redirect(http.StatusSeeOther, "/missions/"+c.Param("code"))
}

// reinstate takes a revoked mission back: it enrolls again, with new
// keys, by the code shown.
func (h *handler) reinstate(c echo.Context) error {
	code, expires, err := h.Store.Reinstate(c.Request().Context(), web.ActorOf(c), c.Param("code"))
	if err != nil {
		return err
	}
	return h.renderMission(c, code, expires)
}

// rekey revokes a mission's keys and issues a code to enroll again.
func (h *handler) rekey(c echo.Context) error {
	if ok, err := h.confirmed(c, "revoke its keys"); !ok {
		return err
	}
	code, expires, err := h.Store.ResetKeys(c.Request().Context(), web.ActorOf(c), c.Param("code"))
	if err != nil {
		return err
	}
	return h.renderMission(c, code, expires)
}

// trend is an area's score at each sign-off, oldest first, and now, drawn
// as a small chart with its axis, dates and values (see trends).
type trend struct {
	Area     string
	Name     string
	Points   string
	Dots     []trendDot
	Signoffs int
	// Says is the whole series in words, for screen readers.
	Says string
	// From labels the time axis's start: the first sign-off.
	From string
	// Now is the latest value, written at LabelX, LabelY beside its point.
	Now            int
	LabelX, LabelY float64
}

// trendDot is one point of a trend: a sign-off, or now.
type trendDot struct {
	X, Y  float64
	Value int
	When  string
}

// The trend chart's plot, in its 260 × 76 box: scores 0–100 from y 62
// up to 8, sign-offs spread from x 34 to 248.
const (
	trendLeft, trendRight = 34.0, 248.0
	trendTop, trendBottom = 8.0, 62.0
)

// trends draws each area's score over the signed-off snapshots (newest
// first in snaps) and the current assessment.
func trends(p *i18n.Printer, f *framework.Framework, snaps []readiness.Snapshot, now readiness.Report) []trend {
	reports := make([]readiness.Report, 0, len(snaps)+1)
	var dates []string
	for i := len(snaps) - 1; i >= 0; i-- {
		reports = append(reports, readiness.Assess(f, snaps[i].AnswerMap()))
		dates = append(dates, p.Day(snaps[i].SignedAt))
	}
	reports = append(reports, now)
	dates = append(dates, p.T("mission.now"))
	out := make([]trend, len(f.Areas))
	for a := range f.Areas {
		values := make([]int, len(reports))
		for i, r := range reports {
			values[i] = r.Areas[a].Score.Value
		}
		out[a] = drawTrend(p, f.Areas[a].ID, f.Areas[a].Name, len(snaps), values, dates)
	}
	return out
}

// drawTrend places a series of scores, oldest first, on a trend chart;
// id names it and name says it for screen readers.
func drawTrend(p interface {
	T(string, ...any) string
}, id, name string, signoffs int, values []int, dates []string) trend {
	var pts, words []string
	t := trend{Area: id, Signoffs: signoffs, From: dates[0]}
	for i, v := range values {
		x := trendRight
		if len(values) > 1 {
			x = trendLeft + float64(i)*(trendRight-trendLeft)/float64(len(values)-1)
		}
		y := trendBottom - float64(v)*(trendBottom-trendTop)/100
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		t.Dots = append(t.Dots, trendDot{X: x, Y: y, Value: v, When: dates[i]})
		words = append(words, p.T("mission.dot", "Value", v, "When", dates[i]))
	}
	t.Points = strings.Join(pts, " ")
	last := t.Dots[len(t.Dots)-1]
	t.Now, t.LabelX, t.LabelY = last.Value, last.X-4, last.Y-5
	t.Says = name + ": " + strings.Join(words, ", ")
	t.Name = name
	return t
}
