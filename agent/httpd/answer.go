package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/shared/problem"
	"chancery/web"
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
	a, uploads, msg := web.ReadAnswer(c, it.ID)
	if msg != "" {
		return h.renderArea(c, it.Area, http.StatusBadRequest, &a, msg)
	}
	if _, err := h.Store.SaveAnswer(c.Request().Context(), web.ActorOf(c), a, uploads...); err != nil {
		if problem.CodeOf(err) == problem.Invalid {
			return h.renderArea(c, it.Area, http.StatusBadRequest, &a, problem.MessageIn(err, web.P(c)))
		}
		return err
	}
	web.SetFlash(c, "saved:"+it.ID)
	return c.Redirect(http.StatusSeeOther, "/areas/"+it.Area+"#"+it.ID)
}

// answerFile serves an answer's evidence file as the incident files are:
// a download of opaque bytes, in a sandbox, whatever it contains.
func (h *handler) answerFile(c echo.Context) error {
	f, data, err := h.Store.AnswerFile(c.Request().Context(), c.Param("item"), c.Param("sha"))
	if err != nil {
		return err
	}
	return web.Download(c, f.Name, data)
}
