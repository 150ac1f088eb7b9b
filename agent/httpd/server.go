// Package httpd is the agent's web interface: Echo handlers over the
// mission database, one file per page or action, as methods on a small
// handler struct. Pages are rendered on the server and work without
// JavaScript: forms post and redirect.
package httpd

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/account"
	"chancery/shared/framework"
	"chancery/shared/health"
	"chancery/shared/incident"
	"chancery/sync/relay"
	"chancery/web"
)

// The agent's roles, most powerful first.
const (
	RoleAdmin  = "admin"  // manages accounts; can do everything below
	RoleHead   = "head"   // the head of mission: signs off assessments
	RoleStaff  = "staff"  // answers the checklist
	RoleViewer = "viewer" // reads only
)

// Roles lists the agent's roles.
var Roles = []string{RoleAdmin, RoleHead, RoleStaff, RoleViewer}

// Who may do what.
var (
	canAnswer  = []string{RoleAdmin, RoleHead, RoleStaff}
	canSignOff = []string{RoleAdmin, RoleHead}
	canAudit   = []string{RoleAdmin, RoleHead}
	canManage  = []string{RoleAdmin}
)

// MaxBody caps a request body. The largest form is an answer with a
// 4,000-byte evidence note.
const MaxBody = 64 << 10

// Server holds what the handlers need.
type Server struct {
	Store    *store.DB
	Accounts *account.Service
	Logger   *slog.Logger
	// SiteName is shown in the header of every page.
	SiteName string
	// Link is the mission's link to HQ; SyncNow asks for a sync at once.
	Link    *uplink.Link
	SyncNow func()
	// NextSync, if set, says when the next scheduled sync is due, and
	// SyncEvery is the time between two: the delivery states and the
	// banner for an unreachable HQ use them.
	NextSync  func() time.Time
	SyncEvery time.Duration
	// Urgent, if set, sends escalations at once, beside any sync running;
	// without it an escalation asks for a sync.
	Urgent func()
	// Peers are the missions on a shared network; nil when alone.
	Peers *relay.Node
	// Relay is the API through which peers hand over pouches to carry
	// and fetch HQ's replies; nil when alone.
	Relay *relay.Server
	// TLSFingerprint is the SHA-256 of the HTTPS certificate the
	// interface is served with, shown for staff to check; empty over HTTP.
	TLSFingerprint string
	// AccessLog, if set, gets a line for every request.
	AccessLog *slog.Logger
	// Language is the language of pages for a browser that asks for none
	// Chancery speaks; "" is English.
	Language string
}

type handler struct {
	*Server
	web  *web.Auth
	site *web.Site
}

// Handler builds the Echo instance that serves the interface.
func (s *Server) Handler() (*echo.Echo, error) {
	pages, err := web.Parse("agent", nil)
	if err != nil {
		return nil, err
	}
	site := &web.Site{Pages: pages, Logger: s.Logger, Name: s.SiteName, Language: s.Language, Metrics: s.metrics(), AccessLog: s.AccessLog,
		Footer: func(c echo.Context) string {
			f, err := s.Store.Framework(c.Request().Context())
			if err != nil {
				return ""
			}
			return web.T(c, "footer.framework", "Version", strconv.Itoa(f.Version))
		},
		BodyLimit:   MaxBody,
		LargeBodies: map[string]int64{"/incidents/": incident.MaxAttachment + 64<<10, "/answers/": incident.MaxAttachment + 64<<10, relay.PathPouches: relay.MaxPouch},
		Ready: []health.Check{health.Writable(s.Store.SQL()), health.DiskOf(s.Store.SQL()), {Name: "keys", Run: func(ctx context.Context) error {
			// The link record holds the mission's keys, sealed: reading it
			// opens them with the key file.
			_, err := s.Store.Link(ctx)
			return err
		}}},
		Nav: []web.NavItem{
			{Href: "/", Label: "nav.readiness"},
			{Href: "/snapshots", Label: "nav.snapshots"},
			{Href: "/incidents", Label: "nav.incidents", CountSays: "nav.need_decision", CountRoles: canDecide, Count: func(c echo.Context) int {
				waiting, _ := s.Store.AwaitingDecision(c.Request().Context())
				return len(waiting)
			}},
			{Href: "/protocols", Label: "nav.protocols"},
			{Href: "/sync", Label: "nav.sync"},
			{Href: "/peers", Label: "nav.peers"},
			{Href: "/users", Label: "nav.users", Roles: canManage},
			{Href: "/audit", Label: "nav.audit", Roles: canAudit},
		}}
	h := &handler{Server: s, web: &web.Auth{Accounts: s.Accounts}, site: site}
	site.Notice = h.notice

	e := site.Echo()
	if s.Relay != nil {
		s.Relay.Mount(e) // signed by the peers, outside sessions
	}
	g := e.Group("", h.web.Middleware())
	(&web.AccountPages{Site: site, Web: h.web, DefaultRole: RoleStaff}).Mount(g, canManage, canAudit)

	g.GET("/", h.home, web.RequireLogin)
	g.GET("/areas/:area", h.area, web.RequireLogin)
	g.POST("/answers/:item", h.answer, web.RequireRole(canAnswer...))
	g.GET("/answers/:item/files/:sha", h.answerFile, web.RequireLogin)
	g.POST("/signoff", h.signOff, web.RequireRole(canSignOff...))
	g.GET("/snapshots", h.snapshots, web.RequireLogin)
	g.GET("/snapshots/:id", h.snapshot, web.RequireLogin)
	g.GET("/incidents", h.incidents, web.RequireLogin)
	g.GET("/incidents/new", h.newIncident, web.RequireRole(canAnswer...))
	g.POST("/incidents", h.createIncident, web.RequireRole(canAnswer...))
	g.GET("/incidents/:id", h.incident, web.RequireLogin)
	g.POST("/incidents/:id/move", h.moveIncident, web.RequireRole(canAnswer...))
	g.POST("/incidents/:id/attachments", h.attach, web.RequireRole(canAnswer...))
	g.GET("/incidents/:id/attachments/:sha", h.attachment, web.RequireLogin)
	g.GET("/protocols", h.protocols, web.RequireLogin)
	g.GET("/protocols/:id", h.protocol, web.RequireLogin)
	g.GET("/protocols/:id/changes", h.protocolChanges, web.RequireLogin)
	g.POST("/protocols/:id/ack", h.acknowledge, web.RequireLogin)
	g.GET("/sync", h.syncStatus, web.RequireLogin)
	g.GET("/peers", h.peers, web.RequireLogin)
	g.POST("/sync", h.syncNow, web.RequireRole(canAnswer...))
	return e, nil
}

func (h *handler) page(c echo.Context, title string, data any) web.Page {
	return h.site.Page(c, title, data)
}

// notice is the warning at the top of every page: HQ out of reach for
// longer than the sync interval, or refusing the mission; updates from
// HQ refused or expired.
func (h *handler) notice(c echo.Context) string {
	return strings.TrimSpace(h.linkNotice(c) + " " + h.updateNotice(c))
}

// linkNotice says, on every page, that HQ has not been reached for
// longer than a sync interval: staff must not believe that what they
// send has arrived.
func (h *handler) linkNotice(c echo.Context) string {
	if h.Link == nil {
		return ""
	}
	st, err := h.Link.Status(c.Request().Context())
	every := h.SyncEvery
	if every <= 0 {
		every = 15 * time.Minute
	}
	switch {
	case err != nil || !st.Unreachable(h.Store.Now(), every):
		return ""
	case st.Refused != "":
		return web.T(c, "notice.refused")
	}
	p := web.P(c)
	since := p.T("notice.since_enrolled")
	if st.LastOK != nil {
		since = p.T("notice.since", "When", p.Date(*st.LastOK))
	}
	if h.Peers != nil {
		return p.T("notice.unreachable_peers", "Since", since)
	}
	return p.T("notice.unreachable", "Since", since)
}

// updateNotice warns on every page when updates from HQ were refused or
// have expired: a frozen feed must be seen, not guessed.
func (h *handler) updateNotice(c echo.Context) string {
	st, err := h.Store.Update(c.Request().Context())
	switch {
	case err != nil:
		return ""
	case st.Error != "":
		return web.T(c, "notice.update_refused", "Why", st.Error)
	case !st.Expires.IsZero() && h.Store.Now().After(st.Expires):
		return web.T(c, "notice.update_expired", "Day", web.P(c).Day(st.Expires))
	}
	return ""
}

// nextSync is when the next scheduled sync is due; zero if unknown.
func (h *handler) nextSync() time.Time {
	if h.NextSync == nil {
		return time.Time{}
	}
	return h.NextSync()
}

// framework is the framework in force, in the words of the reader's
// language where it has them.
func (h *handler) framework(c echo.Context) (*framework.Framework, error) {
	f, err := h.Store.Framework(c.Request().Context())
	if err != nil {
		return nil, err
	}
	return f.In(web.Lang(c)), nil
}

func has(list []string, s string) bool { return slices.Contains(list, s) }
