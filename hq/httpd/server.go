// Package httpd is headquarters' web interface and mission API: the
// mission registry, enrollment, the missions' assessments, pouch upload,
// and the endpoints missions sync with.
package httpd

import (
	"log/slog"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"chancery/hq/ingest"
	"chancery/hq/store"
	"chancery/sync/exchange"
	"chancery/web"
	"chancery/web/account"
)

// HQ's roles.
const (
	RoleAdmin     = "admin"     // enrolls missions, manages accounts
	RoleAnalyst   = "analyst"   // reads the registry, assessments and map
	RolePublisher = "publisher" // publishes protocols and framework updates
)

// Roles lists HQ's roles.
var Roles = []string{RoleAdmin, RoleAnalyst, RolePublisher}

var (
	canManage = []string{RoleAdmin}
	canAudit  = []string{RoleAdmin}
)

// MaxBody caps form posts; pouches have their own, larger cap.
const MaxBody = 64 << 10

// Server holds what the handlers need.
type Server struct {
	Store    *store.DB
	Accounts *account.Service
	Ingest   *ingest.Service
	// Uploads holds resumable uploads in progress.
	Uploads *exchange.Uploads
	Logger  *slog.Logger
}

type handler struct {
	*Server
	site *web.Site
}

// Handler builds the Echo instance.
func (s *Server) Handler() (*echo.Echo, error) {
	pages, err := web.Parse("hq", nil)
	if err != nil {
		return nil, err
	}
	site := &web.Site{Pages: pages, Logger: s.Logger, Name: "Headquarters",
		Footer:    "framework v" + strconv.Itoa(s.Store.Framework().Version),
		BodyLimit: MaxBody,
		LargeBodies: map[string]int64{
			exchange.PathExchange: s.Ingest.Limits.MaxPouch,
			exchange.PathUploads:  s.Ingest.Limits.MaxPouch,
			"/pouches":            s.Ingest.Limits.MaxPouch + 64<<10,
		},
		Nav: []web.NavItem{
			{Href: "/", Label: "Missions"},
			{Href: "/pouches", Label: "Pouches", Roles: canManage},
			{Href: "/users", Label: "Users", Roles: canManage},
			{Href: "/audit", Label: "Audit log", Roles: canAudit},
		}}
	site.Map(exchange.StatusOf)
	h := &handler{Server: s, site: site}
	e := site.Echo()
	// The mission API sits outside the session middleware: a pouch
	// authenticates itself.
	exchange.Routes(e, s.Ingest, s.Ingest.Limits.MaxPouch, s.Uploads)

	w := &account.Web{Accounts: s.Accounts}
	g := e.Group("", w.Middleware())
	(&web.AccountPages{Site: site, Web: w, DefaultRole: RoleAnalyst}).Mount(g, canManage, canAudit)
	g.GET("/", h.missions, account.RequireLogin)
	g.GET("/missions/new", h.newMission, account.RequireRole(canManage...))
	g.POST("/missions", h.addMission, account.RequireRole(canManage...))
	g.GET("/missions/:code", h.mission, account.RequireLogin)
	g.POST("/missions/:code/code", h.issueCode, account.RequireRole(canManage...))
	g.POST("/missions/:code/revoke", h.revoke, account.RequireRole(canManage...))
	g.POST("/missions/:code/rekey", h.rekey, account.RequireRole(canManage...))
	g.GET("/pouches", h.pouchPage, account.RequireRole(canManage...))
	g.POST("/pouches", h.uploadPouch, account.RequireRole(canManage...))
	return e, nil
}

func (h *handler) page(c echo.Context, title string, data any) web.Page {
	return h.site.Page(c, title, data)
}

func has(list []string, s string) bool { return slices.Contains(list, s) }
