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

type itemView struct {
	Item        framework.Item
	Models      []string
	Answer      readiness.Answer
	Answered    bool
	Unsupported bool
	Error       string
	// Saved says the person has just saved this item: the page says so
	// beside it, with the new scores.
	Saved bool
}

type areaData struct {
	Area       framework.Area
	Score      readiness.Score
	Items      []itemView
	Levels     []readiness.Level
	Overall    readiness.Score
	CanAnswer  bool
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
	d := areaData{Area: area, Score: score, Overall: report.Overall, Levels: readiness.Levels(), CanAnswer: has(canAnswer, u.Role)}
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
		v := itemView{Item: it, Answer: a, Answered: answered, Unsupported: answered && a.Unsupported()}
		for _, m := range it.Models {
			if model, ok := f.Model(m); ok {
				v.Models = append(v.Models, model.Name)
			}
		}
		if failed != nil && failed.ItemID == it.ID {
			// Shown as typed, so that nothing typed is lost.
			v.Answer.Evidence = failed.Evidence
			if c.FormValue("level") != "" {
				v.Answer.Level, v.Answer.NA, v.Answered = failed.Level, failed.NA, true
			}
			v.Error = msg
		}
		v.Saved = it.ID == saved
		d.Items = append(d.Items, v)
	}
	p := h.page(c, area.Name, d)
	if failed != nil {
		p.Error = "Your answer to " + failed.ItemID + " was not saved: " + msg
	}
	return c.Render(status, "area", p)
}
