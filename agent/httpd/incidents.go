package httpd

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/i18n"
	"chancery/shared/incident"
	"chancery/shared/problem"
	"chancery/web"
)

// canDecide are the roles that take the decisions the escalation pathway
// gives the head of mission: respond, wait, escalate, coordinate, close.
var canDecide = []string{RoleAdmin, RoleHead}

func (h *handler) incidents(c echo.Context) error {
	list, err := h.Store.Incidents(c.Request().Context(), 300)
	if err != nil {
		return err
	}
	u, _ := web.CurrentUser(c)
	return c.Render(http.StatusOK, "incidents", h.page(c, "incidents.title", struct {
		List      []incident.Incident
		CanRecord bool
	}{list, has(canAnswer, u.Role)}))
}

type incidentForm struct {
	Title, Kind, Summary, Platforms, Languages, Links, Reach, FirstSeen string
	Severity                                                            int
}

type formData struct {
	Form       incidentForm
	Kinds      any
	Severities any
}

func (h *handler) newIncident(c echo.Context) error {
	return c.Render(http.StatusOK, "incident-new", h.page(c, "incident_new.title", formData{incidentForm{Severity: 2, Kind: "viral-rumour"}, incident.Kinds, incident.Severities}))
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (h *handler) createIncident(c echo.Context) error {
	f := incidentForm{Title: c.FormValue("title"), Kind: c.FormValue("kind"), Summary: c.FormValue("summary"), Platforms: c.FormValue("platforms"),
		Languages: c.FormValue("languages"), Links: c.FormValue("links"), Reach: c.FormValue("reach"), FirstSeen: c.FormValue("first_seen")}
	f.Severity, _ = strconv.Atoi(c.FormValue("severity"))
	in := incident.Incident{Title: strings.TrimSpace(f.Title), Kind: incident.Kind(f.Kind), Severity: incident.Severity(f.Severity),
		Summary: strings.TrimSpace(f.Summary), Platforms: splitList(f.Platforms), Languages: splitList(f.Languages), Links: splitList(f.Links)}
	var err error
	if f.Reach != "" {
		if in.Reach, err = strconv.Atoi(strings.ReplaceAll(f.Reach, ",", "")); err != nil {
			err = problem.New(problem.Invalid, "incident_new.bad_reach")
		}
	}
	if err == nil && f.FirstSeen != "" {
		t, perr := time.Parse("2006-01-02T15:04", f.FirstSeen)
		if perr != nil {
			err = problem.New(problem.Invalid, "incident_new.bad_seen")
		}
		in.FirstSeen = t.UTC()
	}
	if err == nil {
		in, err = h.Store.CreateIncident(c.Request().Context(), web.ActorOf(c), in)
	}
	if err != nil {
		status, msg := web.StatusOf(c, err)
		if status >= 500 {
			return err
		}
		p := h.page(c, "incident_new.title", formData{f, incident.Kinds, incident.Severities})
		p.Error = msg
		return c.Render(status, "incident-new", p)
	}
	return c.Redirect(http.StatusSeeOther, "/incidents/"+url.PathEscape(in.ID))
}

type move struct {
	To       incident.Status
	Verb     string
	When     string // from the escalation protocol in force
	Who      string
	Allowed  bool
	Decision bool // a decision of the head of mission
}

type incidentData struct {
	In        incident.Incident
	Delivery  *uplink.Delivery
	Kind      string
	Severity  string
	Moves     []move
	CanRecord bool
	// Typed is a decision refused, as the person typed it: shown again,
	// so that nothing typed is lost.
	Typed struct{ To, Reason, Lessons string }
}

// incident shows an incident, its timeline, and the decisions open from
// where it stands, each beside what the escalation protocol says of it.
func (h *handler) incident(c echo.Context) error {
	return h.renderIncident(c, http.StatusOK, "")
}

func (h *handler) renderIncident(c echo.Context, status int, failure string) error {
	ctx := c.Request().Context()
	in, err := h.Store.Incident(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	u, _ := web.CurrentUser(c)
	d := incidentData{In: in, CanRecord: has(canAnswer, u.Role)}
	if failure != "" {
		d.Typed.To, d.Typed.Reason, d.Typed.Lessons = c.FormValue("to"), c.FormValue("reason"), c.FormValue("lessons")
	}
	if esc, err := h.Store.Delivery(ctx, in.ID); err != nil {
		return err
	} else if esc != nil {
		seq, err := h.Store.IncidentSeq(ctx, in.ID)
		if err != nil {
			return err
		}
		st, err := h.Link.Status(ctx)
		if err != nil {
			return err
		}
		var received time.Time
		if esc.State == store.DeliveryReceived {
			received = esc.At
		}
		dl := st.DeliveryOf(seq, received, h.nextSync())
		d.Delivery = &dl
	}
	for _, k := range incident.Kinds {
		if k.Kind == in.Kind {
			d.Kind = k.Label
		}
	}
	for _, s := range incident.Severities {
		if s.Severity == in.Severity {
			d.Severity = s.Label + ": " + s.Definition
		}
	}
	guide := h.guidance(c)
	for _, to := range incident.Next(in.Status) {
		decision := to != incident.Monitoring && to != incident.Flagged
		m := move{To: to, Verb: to.Verb(), Decision: decision, Allowed: has(canAnswer, u.Role) && (!decision || has(canDecide, u.Role))}
		if g, ok := guide[to]; ok {
			m.When, m.Who = g[0], g[1]
		}
		d.Moves = append(d.Moves, m)
	}
	p := h.page(c, in.ID, d)
	p.Error = failure
	if web.Flash(c) == "escalated" {
		p.Flash = web.T(c, "incident.escalated_flash")
	}
	return c.Render(status, "incident", p)
}

// guidance reads, from the crisis escalation protocol in force, when each
// step applies and who decides: the row of its table that names the step.
func (h *handler) guidance(c echo.Context) map[incident.Status][2]string {
	out := map[incident.Status][2]string{}
	versions, err := h.Store.Versions(c.Request().Context(), "crisis-escalation")
	if err != nil {
		return out
	}
	// The pathway's table names each step in its first column, in bold,
	// in the words of the language the protocol is read in.
	doc, lang := versions[0].In(web.Lang(c))
	p := i18n.For(lang)
	label := map[incident.Status]string{}
	for _, s := range incident.Statuses {
		if s != incident.Closed {
			label[s] = p.T("pathway." + string(s))
		}
	}
	for _, line := range strings.Split(doc.Body, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		for s, l := range label {
			if strings.TrimSpace(cells[1]) == "**"+l+"**" {
				out[s] = [2]string{strings.TrimSpace(cells[2]), strings.TrimSpace(cells[3])}
			}
		}
	}
	return out
}

func (h *handler) moveIncident(c echo.Context) error {
	to := incident.Status(c.FormValue("to"))
	u, _ := web.CurrentUser(c)
	if to != incident.Monitoring && to != incident.Flagged && !has(canDecide, u.Role) {
		return problem.New(problem.Forbidden, "incident.heads_only", "Move", i18n.Key("incident_verb."+string(to)))
	}
	in, err := h.Store.MoveIncident(c.Request().Context(), web.ActorOf(c), c.Param("id"), to, c.FormValue("reason"), c.FormValue("lessons"))
	if err != nil {
		if problem.CodeOf(err) == problem.Invalid {
			_, msg := web.StatusOf(c, err)
			return h.renderIncident(c, http.StatusBadRequest, msg)
		}
		return err
	}
	target := "/incidents/" + url.PathEscape(in.ID)
	if to == incident.Escalated {
		// Escalation does not wait for the schedule, nor for a sync busy
		// with a backlog: HQ must know now.
		if h.Urgent != nil {
			h.Urgent()
		} else {
			h.SyncNow()
		}
		web.SetFlash(c, "escalated")
	}
	return c.Redirect(http.StatusSeeOther, target)
}

func (h *handler) attach(c echo.Context) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return problem.New(problem.Invalid, "incident.no_file_chosen")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, incident.MaxAttachment+1))
	if err != nil {
		return err
	}
	if _, err := h.Store.AddAttachment(c.Request().Context(), web.ActorOf(c), c.Param("id"), fh.Filename, data); err != nil {
		if problem.CodeOf(err) == problem.Invalid {
			_, msg := web.StatusOf(c, err)
			return h.renderIncident(c, http.StatusBadRequest, msg)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/incidents/"+url.PathEscape(c.Param("id"))+"#evidence")
}

// attachment serves an evidence file so that it can never run here: as a
// download of opaque bytes, in a sandbox, whatever it contains.
func (h *handler) attachment(c echo.Context) error {
	a, data, err := h.Store.Attachment(c.Request().Context(), c.Param("id"), c.Param("sha"))
	if err != nil {
		return err
	}
	return web.Download(c, a.Name, data)
}
