package httpd

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/agent/store"
	"chancery/shared/incident"
	"chancery/shared/problem"
	"chancery/shared/readiness"
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
	a := readiness.Answer{ItemID: it.ID, Evidence: c.FormValue("evidence")}
	if on := c.FormValue("evidence_on"); on != "" {
		t, err := time.Parse(time.DateOnly, on)
		if err != nil {
			return h.renderArea(c, it.Area, http.StatusBadRequest, &a, web.T(c, "answer.bad_date"))
		}
		a.EvidenceOn = t
	}
	switch lv := c.FormValue("level"); lv {
	case "na":
		a.NA = true
	case "":
		return h.renderArea(c, it.Area, http.StatusBadRequest, &a, web.T(c, "answer.no_level"))
	default:
		n, err := strconv.Atoi(lv)
		if err != nil {
			return h.renderArea(c, it.Area, http.StatusBadRequest, &a, web.T(c, "answer.bad_level"))
		}
		a.Level = readiness.Level(n)
	}
	uploads, err := web.Uploads(c, "file", incident.MaxAttachment)
	if err != nil {
		return h.renderArea(c, it.Area, http.StatusBadRequest, &a, problem.MessageIn(err, web.P(c)))
	}
	var ups []store.Upload
	for _, u := range uploads {
		ups = append(ups, store.Upload{Name: u.Name, Data: u.Data})
	}
	if _, err := h.Store.SaveAnswer(c.Request().Context(), web.ActorOf(c), a, ups...); err != nil {
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
