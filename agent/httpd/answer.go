package httpd

import (
	"chancery/web"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"chancery/shared/problem"
	"chancery/shared/readiness"
)

// answer saves one checklist answer from the area page's form.
func (h *handler) answer(c echo.Context) error {
	f, err := h.framework(c)
	if err != nil {
		return err
	}
	it, err := f.Item(c.Param("item"))
	if err != nil {
		return problem.New(problem.Invalid, "answer.no_item", "Item", c.Param("item"), "Version", f.Version)
	}
	a := readiness.Answer{ItemID: it.ID, Evidence: c.FormValue("evidence")}
	switch lv := c.FormValue("level"); lv {
	case "na":
		a.NA = true
	case "":
		return h.renderArea(c, it.Area, http.StatusBadRequest, &a, "Choose a maturity level, or not applicable.")
	default:
		n, err := strconv.Atoi(lv)
		if err != nil {
			return h.renderArea(c, it.Area, http.StatusBadRequest, &a, "The level must be a number from 0 to 4, or not applicable.")
		}
		a.Level = readiness.Level(n)
	}
	if _, err := h.Store.SaveAnswer(c.Request().Context(), web.ActorOf(c), a); err != nil {
		if problem.CodeOf(err) == problem.Invalid {
			return h.renderArea(c, it.Area, http.StatusBadRequest, &a, problem.MessageIn(err, web.P(c)))
		}
		return err
	}
	web.SetFlash(c, "saved:"+it.ID)
	return c.Redirect(http.StatusSeeOther, "/areas/"+it.Area+"#"+it.ID)
}
