package httpd

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"chancery/hq/readymap"
	"chancery/hq/store"
	"chancery/shared/framework"
	"chancery/shared/problem"
	"chancery/shared/readiness"
	"chancery/web"
)

// Who answers HQ's own assessment, and who signs it off.
var (
	canAssess = []string{RoleAdmin, RoleAnalyst}
	canSign   = []string{RoleAdmin}
)

// ministryFramework is the framework HQ assesses itself against: the
// newest version, or the built-in one when the newest was published
// before ministry items existed.
func ministryFramework(cat *store.Catalog) *framework.Framework {
	if f := cat.Framework(); len(f.Ministry) > 0 {
		return f
	}
	return framework.Builtin()
}

// loadMinistry reads HQ's own assessment, judged for the ministry's
// profile, against f.
func (h *handler) loadMinistry(ctx context.Context, f *framework.Framework) (readymap.Ministry, store.Profile, error) {
	prof, err := h.Store.Profile(ctx)
	if err != nil {
		return readymap.Ministry{}, prof, err
	}
	answers, err := h.Store.MinistryAnswers(ctx)
	if err != nil {
		return readymap.Ministry{}, prof, err
	}
	signoffs, err := h.Store.MinistrySignOffs(ctx)
	if err != nil {
		return readymap.Ministry{}, prof, err
	}
	return readymap.BuildMinistry(f, answers, prof.Profile, signoffs, h.Store.Now()), prof, nil
}

type ministryArea struct {
	Area  framework.Area
	Score readiness.Score
	Items []web.ItemView
}

type ministryData struct {
	Ministry            readymap.Ministry
	Profile             store.Profile
	Profiles            []string
	Areas               []ministryArea
	SignOffs            []store.MinistrySignOff
	Version             int
	CanSign, CanProfile bool
}

func (h *handler) ministryPage(c echo.Context) error {
	return h.renderMinistry(c, http.StatusOK, nil, "")
}

// renderMinistry shows HQ's checklist. When failed is set, that answer was
// refused with message msg: it is shown as typed, with msg beside it.
func (h *handler) renderMinistry(c echo.Context, status int, failed *readiness.Answer, msg string) error {
	ctx := c.Request().Context()
	cat, err := h.Store.Catalog(ctx)
	if err != nil {
		return err
	}
	f := ministryFramework(cat).In(web.Lang(c))
	m, prof, err := h.loadMinistry(ctx, f)
	if err != nil {
		return err
	}
	u, _ := web.CurrentUser(c)
	d := ministryData{Ministry: m, Profile: prof, Profiles: framework.Profiles, SignOffs: m.SignOffs, Version: f.Version,
		CanSign: has(canSign, u.Role), CanProfile: has(canManage, u.Role)}
	flash, saved := web.Flash(c), ""
	if k, ok := strings.CutPrefix(flash, "saved:"); ok && failed == nil {
		saved = k
	}
	for _, a := range f.Areas {
		score, _ := m.Report.Area(a.ID)
		ma := ministryArea{Area: a, Score: score}
		for _, it := range f.MinistryIn(a.ID) {
			ans, ok := m.Answers[it.ID]
			v := web.NewItemView(f, it, ans, ok, h.Store.Now())
			v.Action, v.FilesURL, v.ProtocolURL = "/ministry/answers/"+it.ID, "/ministry/answers/"+it.ID+"/files/", "/library/"
			v.CanAnswer, v.CSRF = has(canAssess, u.Role), web.CSRFToken(c)
			if !it.ExpectedOf(prof.Profile) {
				v.NotExpected = web.T(c, "ministry.not_expected", "Profile", web.T(c, "profile."+prof.Profile))
			}
			if failed != nil && failed.ItemID == it.ID {
				v.Refused(*failed, c.FormValue("level") != "", msg)
			}
			if it.ID == saved {
				v.Saved = web.P(c).HTML("ministry.saved", "Item", it.ID, "Score", m.Report.Overall.Value)
			}
			ma.Items = append(ma.Items, v)
		}
		if len(ma.Items) > 0 {
			d.Areas = append(d.Areas, ma)
		}
	}
	p := h.page(c, "ministry.title", d)
	switch {
	case failed != nil:
		p.Error = web.T(c, "answer.not_saved", "Item", failed.ItemID, "Text", msg)
	case msg != "":
		p.Error = msg
	}
	switch flash {
	case "signed":
		p.Flash = web.T(c, "ministry.signed")
	case "profile":
		p.Flash = web.T(c, "ministry.profile_set", "Profile", web.T(c, "profile."+prof.Profile))
	}
	return c.Render(status, "ministry", p)
}

// ministryAnswer saves one of HQ's answers from the checklist's form.
func (h *handler) ministryAnswer(c echo.Context) error {
	ctx := c.Request().Context()
	cat, err := h.Store.Catalog(ctx)
	if err != nil {
		return err
	}
	f := ministryFramework(cat)
	it, err := f.MinistryItem(c.Param("item"))
	if err != nil {
		return problem.New(problem.Invalid, "answer.no_item", "Item", c.Param("item"), "Version", f.Version)
	}
	a, uploads, msg := web.ReadAnswer(c, it.ID)
	if msg != "" {
		return h.renderMinistry(c, http.StatusBadRequest, &a, msg)
	}
	if _, err := h.Store.SaveMinistryAnswer(ctx, web.ActorOf(c), f, a, uploads...); err != nil {
		if problem.CodeOf(err) == problem.Invalid {
			return h.renderMinistry(c, http.StatusBadRequest, &a, problem.MessageIn(err, web.P(c)))
		}
		return err
	}
	web.SetFlash(c, "saved:"+it.ID)
	return c.Redirect(http.StatusSeeOther, "/ministry#"+it.ID)
}

// ministryFile serves an evidence file of HQ's answers: a download of
// opaque bytes, in a sandbox.
func (h *handler) ministryFile(c echo.Context) error {
	f, data, err := h.Store.MinistryFile(c.Request().Context(), c.Param("item"), c.Param("sha"))
	if err != nil {
		return err
	}
	return web.Download(c, f.Name, data)
}

// missionAnswerFile serves an evidence file of a mission's answer, once
// it has arrived.
func (h *handler) missionAnswerFile(c echo.Context) error {
	f, data, ok, err := h.Store.MissionAnswerFile(c.Request().Context(), c.Param("code"), c.Param("item"), c.Param("sha"))
	if err != nil {
		return err
	}
	if !ok {
		return problem.New(problem.NotFound, "answer.file_not_yet")
	}
	return web.Download(c, f.Name, data)
}

func (h *handler) ministrySignOff(c echo.Context) error {
	ctx := c.Request().Context()
	cat, err := h.Store.Catalog(ctx)
	if err != nil {
		return err
	}
	if _, err := h.Store.SignOffMinistry(ctx, web.ActorOf(c), ministryFramework(cat), c.FormValue("note")); err != nil {
		if problem.CodeOf(err) == problem.Invalid {
			return h.renderMinistry(c, http.StatusBadRequest, nil, problem.MessageIn(err, web.P(c)))
		}
		return err
	}
	web.SetFlash(c, "signed")
	return c.Redirect(http.StatusSeeOther, "/ministry#signoff")
}

func (h *handler) setProfile(c echo.Context) error {
	if err := h.Store.SetProfile(c.Request().Context(), web.ActorOf(c), c.FormValue("profile")); err != nil {
		return err
	}
	web.SetFlash(c, "profile")
	return c.Redirect(http.StatusSeeOther, "/ministry")
}
