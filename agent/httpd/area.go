package httpd

import (
	"chancery/web"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"chancery/shared/framework"
	"chancery/shared/problem"
	"chancery/shared/readiness"
)

type areaData struct {
	Area       framework.Area
	Score      readiness.Score
	Items      []web.ItemView
	Overall    readiness.Score
	Prev, Next *framework.Area
}

func (h *handler) area(c echo.Context) error {
	return h.renderArea(c, c.Param("area"), http.StatusOK, nil, "")
}

// renderArea shows an area's items. When failed is set, that answer was
// refused with message msg: it is shown as the person typed it, with the
// message beside it, and nothing was saved.
func (h *handler) renderArea(c echo.Context, areaID string, status int, failed *readiness.Answer, msg string) error {
	f, err := h.framework(c)
	if err != nil {
		return err
	}
	area, ok := f.Area(areaID)
	if !ok {
		return problem.New(problem.NotFound, "area.no_area", "Area", areaID)
	}
	answers, err := h.Store.Answers(c.Request().Context())
	if err != nil {
		return err
	}
	// Answers given under an earlier framework version count for the items
	// that replace them.
	answers = readiness.Carry(f, answers)
	report := readiness.Assess(f, answers)
	score, _ := report.Area(area.ID)
	u, _ := web.CurrentUser(c)
	d := areaData{Area: area, Score: score, Overall: report.Overall}
	saved := ""
	if k := web.Flash(c); strings.HasPrefix(k, "saved:") && failed == nil {
		saved = strings.TrimPrefix(k, "saved:")
	}
	for i, a := range f.Areas {
		if a.ID == area.ID {
			if i > 0 {
				d.Prev = &f.Areas[i-1]
			}
			if i+1 < len(f.Areas) {
				d.Next = &f.Areas[i+1]
			}
		}
	}
	for _, it := range f.ItemsIn(area.ID) {
		a, answered := answers[it.ID]
		v := web.NewItemView(f, it, a, answered, h.Store.Now())
		v.Action, v.FilesURL, v.ProtocolURL = "/answers/"+it.ID, "/answers/"+it.ID+"/files/", "/protocols/"
		v.CanAnswer, v.CSRF = has(canAnswer, u.Role), web.CSRFToken(c)
		if failed != nil && failed.ItemID == it.ID {
			v.Refused(*failed, c.FormValue("level") != "", msg)
		}
		if it.ID == saved {
			v.Saved = web.P(c).HTML("area.saved", "Item", it.ID, "Area", area.Name, "Score", score.Value, "Overall", report.Overall.Value)
		}
		d.Items = append(d.Items, v)
	}
	p := h.page(c, area.Name, d)
	if failed != nil {
		p.Error = web.T(c, "answer.not_saved", "Item", failed.ItemID, "Text", msg)
	}
	return c.Render(status, "area", p)
}
