package httpd

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/hq/board"
	"chancery/hq/store"
	"chancery/shared/incident"
	"chancery/shared/problem"
	"chancery/web"
)

var canGuide = []string{RoleAdmin, RoleAnalyst}

func (h *handler) incidentBoard(c echo.Context) error {
	ctx := c.Request().Context()
	all, err := h.Store.Incidents(ctx)
	if err != nil {
		return err
	}
	missions, err := h.Store.Missions(ctx)
	if err != nil {
		return err
	}
	f := board.Filter{Region: c.QueryParam("region"), Kind: c.QueryParam("kind"), OpenOnly: c.QueryParam("open") != ""}
	f.MinSeverity, _ = strconv.Atoi(c.QueryParam("severity"))
	rows := board.Rows(all, missions, f)
	acked, err := h.Store.Acked(ctx)
	if err != nil {
		return err
	}
	esc, nEsc := board.Median(rows, func(r board.Row) time.Duration { return r.ToEscalate })
	cls, nCls := board.Median(rows, func(r board.Row) time.Duration { return r.ToClose })
	return c.Render(http.StatusOK, "incidents", h.page(c, "nav.incidents", struct {
		Rows                []board.Row
		Groups              [][]board.Row
		Filter              board.Filter
		Regions             []string
		Kinds               any
		ToEscalate, ToClose time.Duration
		NEscalated, NClosed int
		Acked               map[string]bool
	}{rows, board.Groups(rows), f, h.regions(c), incident.Kinds, esc, cls, nEsc, nCls, acked}))
}

func (h *handler) reportedIncident(c echo.Context) error {
	return h.renderReported(c, http.StatusOK, "")
}

func (h *handler) renderReported(c echo.Context, status int, failure string) error {
	ctx := c.Request().Context()
	r, err := h.Store.ReportedIncident(ctx, c.Param("mission"), c.Param("id"))
	if err != nil {
		return err
	}
	g, err := h.Store.GuidanceFor(ctx, r.Mission, r.ID, false)
	if err != nil {
		return err
	}
	var shas []string
	for _, a := range r.Attachments {
		shas = append(shas, a.SHA256)
	}
	held, err := h.Store.HasAttachments(ctx, r.Mission, shas)
	if err != nil {
		return err
	}
	u, _ := web.CurrentUser(c)
	typed := ""
	if failure != "" {
		typed = c.FormValue("text")
	}
	var ack *store.Guidance
	for i := range g {
		if g[i].Ack {
			ack = &g[i]
		}
	}
	p := h.page(c, "nav.incidents", struct {
		R           store.Reported
		Guidance    []store.Guidance
		Ack         *store.Guidance
		EscalatedAt *time.Time
		Held        map[string]bool
		CanGuide    bool
		Typed       string // guidance refused, as typed
	}{r, g, ack, r.EscalatedAt, held, has(canGuide, u.Role), typed})
	p.Error = failure
	switch web.Flash(c) {
	case "sent":
		p.Flash = web.T(c, "hq_incident.guidance_sent")
	case "acked":
		p.Flash = web.T(c, "hq_incident.acked_flash")
	}
	return c.Render(status, "incident", p)
}

func (h *handler) guide(c echo.Context) error {
	_, err := h.Store.AddGuidance(c.Request().Context(), web.ActorOf(c), c.Param("mission"), c.Param("id"), c.FormValue("text"))
	if err != nil {
		if problem.CodeOf(err) == problem.Invalid {
			_, msg := web.StatusOf(c, err)
			return h.renderReported(c, http.StatusBadRequest, msg)
		}
		return err
	}
	web.SetFlash(c, "sent")
	return c.Redirect(http.StatusSeeOther, "/incidents/"+url.PathEscape(c.Param("mission"))+"/"+url.PathEscape(c.Param("id")))
}

// ack is the duty officer acknowledging a mission's escalation.
func (h *handler) ack(c echo.Context) error {
	if _, err := h.Store.Acknowledge(c.Request().Context(), web.ActorOf(c), c.Param("mission"), c.Param("id")); err != nil {
		if code := problem.CodeOf(err); code == problem.Conflict {
			_, msg := web.StatusOf(c, err)
			return h.renderReported(c, http.StatusConflict, msg)
		}
		return err
	}
	web.SetFlash(c, "acked")
	return c.Redirect(http.StatusSeeOther, "/incidents/"+url.PathEscape(c.Param("mission"))+"/"+url.PathEscape(c.Param("id")))
}

// lessons is the library of lessons learned from closed incidents,
// searchable by words.
func (h *handler) lessons(c echo.Context) error {
	all, err := h.Store.Incidents(c.Request().Context())
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	words := strings.Fields(strings.ToLower(q))
	var out []store.Reported
	for _, r := range all {
		if r.Lessons == "" {
			continue
		}
		hay := strings.ToLower(r.Title + " " + r.Lessons + " " + string(r.Kind))
		match := true
		for _, w := range words {
			match = match && strings.Contains(hay, w)
		}
		if match {
			out = append(out, r)
		}
	}
	return c.Render(http.StatusOK, "lessons", h.page(c, "incident.lessons", struct {
		Query string
		List  []store.Reported
	}{q, out}))
}

// evidence serves an evidence file that HQ received and checked, so that
// it can never run here: opaque bytes, a download, a sandbox.
func (h *handler) evidence(c echo.Context) error {
	a, data, ok, err := h.Store.Attachment(c.Request().Context(), c.Param("mission"), c.Param("id"), c.Param("sha"))
	if err != nil {
		return err
	}
	if !ok {
		return problem.New(problem.NotFound, "hq_incident.file_not_yet")
	}
	return web.Download(c, a.Name, data)
}
