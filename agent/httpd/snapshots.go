package httpd

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/shared/i18n"
	"chancery/shared/readiness"
	"chancery/web"
)

func (h *handler) signOff(c echo.Context) error {
	s, err := h.Store.SignOff(c.Request().Context(), web.ActorOf(c), c.FormValue("note"))
	if err != nil {
		return err
	}
	web.SetFlash(c, "signed")
	return c.Redirect(http.StatusSeeOther, "/snapshots/"+url.PathEscape(s.ID))
}

type snapshotRow struct {
	ID       string
	SignedAt time.Time
	SignedBy string
	Note     string
	Overall  int
}

func (h *handler) snapshots(c echo.Context) error {
	list, err := h.Store.Snapshots(c.Request().Context())
	if err != nil {
		return err
	}
	f, err := h.framework(c)
	if err != nil {
		return err
	}
	rows := make([]snapshotRow, 0, len(list))
	for _, s := range list {
		r := readiness.Assess(f, s.AnswerMap())
		rows = append(rows, snapshotRow{s.ID, s.SignedAt, s.SignedBy, s.Note, r.Overall.Value})
	}
	return c.Render(http.StatusOK, "snapshots", h.page(c, "nav.snapshots", struct{ List []snapshotRow }{rows}))
}

type areaDiff struct {
	Name             string
	Then, Now, Delta int
}

type itemDiff struct {
	ID, Area, Question string
	Then, Now          string
}

type snapshotData struct {
	Snapshot                readiness.Snapshot
	Areas                   []areaDiff
	OverallThen, OverallNow int
	Changed                 []itemDiff
}

func describe(p *i18n.Printer, a readiness.Answer, ok bool) string {
	switch {
	case !ok:
		return p.T("area.not_answered")
	case a.NA:
		return p.T("level.na")
	}
	return fmt.Sprintf("%d %s", int(a.Level), p.T(fmt.Sprintf("level.%d", int(a.Level))))
}

// snapshot shows a signed-off assessment beside the current one.
func (h *handler) snapshot(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := h.Store.Snapshot(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	now, err := h.Store.Answers(ctx)
	if err != nil {
		return err
	}
	f, err := h.framework(c)
	if err != nil {
		return err
	}
	then, now := readiness.Carry(f, s.AnswerMap()), readiness.Carry(f, now)
	rThen, rNow := readiness.Assess(f, then), readiness.Assess(f, now)
	d := snapshotData{Snapshot: s, OverallThen: rThen.Overall.Value, OverallNow: rNow.Overall.Value}
	for i, a := range rThen.Areas {
		n := rNow.Areas[i].Score.Value
		d.Areas = append(d.Areas, areaDiff{a.Area.Name, a.Score.Value, n, n - a.Score.Value})
	}
	for _, it := range f.Items {
		a, aok := then[it.ID]
		b, bok := now[it.ID]
		if dt, dn := describe(web.P(c), a, aok), describe(web.P(c), b, bok); dt != dn || a.Evidence != b.Evidence {
			d.Changed = append(d.Changed, itemDiff{it.ID, it.Area, it.Question, dt, dn})
		}
	}
	p := h.page(c, "nav.snapshots", d)
	if web.Flash(c) == "signed" {
		p.Flash = web.T(c, "snapshot.signed")
	}
	return c.Render(http.StatusOK, "snapshot", p)
}
