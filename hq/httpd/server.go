// Package httpd is headquarters' web interface and mission API: the
// mission registry, enrollment, the missions' assessments, pouch upload,
// and the endpoints missions sync with.
package httpd

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"chancery/hq/ingest"
	"chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/health"
	"chancery/shared/incident"
	"chancery/shared/protocol"
	"chancery/sync/exchange"
	"chancery/web"
	"chancery/web/worldmap"
)

// OpenAPI describes the map's API.
//
//go:embed openapi.yaml
var OpenAPI []byte

// HQ's roles.
const (
	RoleAdmin     = "admin"     // enrolls missions, manages accounts
	RoleAnalyst   = "analyst"   // reads the registry, assessments and map
	RolePublisher = "publisher" // publishes protocols and framework updates
)

// Roles lists HQ's roles.
var Roles = []string{RoleAdmin, RoleAnalyst, RolePublisher}

var (
	canManage  = []string{RoleAdmin}
	canPublish = []string{RoleAdmin, RolePublisher}
	canAudit   = []string{RoleAdmin}
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
	// AccessLog, if set, gets a line for every request.
	AccessLog *slog.Logger
	// Language is the language of pages for a browser that asks for none
	// Chancery speaks; "" is English.
	Language string
}

type handler struct {
	*Server
	site *web.Site
	// maps keeps the readiness map built last, by language (see loadMap).
	maps struct {
		sync.Mutex
		by map[string]keptMap
	}
}

// Handler builds the Echo instance.
func (s *Server) Handler() (*echo.Echo, error) {
	pages, err := web.Parse("hq", nil)
	if err != nil {
		return nil, err
	}
	site := &web.Site{Pages: pages, Logger: s.Logger, Name: "site.hq", Language: s.Language, Metrics: s.metrics(), AccessLog: s.AccessLog,
		Footer: func(c echo.Context) string {
			cat, err := s.Store.Catalog(c.Request().Context())
			if err != nil {
				return ""
			}
			return web.T(c, "footer.framework", "Version", strconv.Itoa(cat.Framework().Version))
		},
		BodyLimit: MaxBody,
		Ready: []health.Check{health.Writable(s.Store.SQL()), health.DiskOf(s.Store.SQL()), {Name: "keys", Run: func(ctx context.Context) error {
			// HQ's keys are loaded at start; with a root of trust, the one
			// HQ signs with must be the one it certifies.
			r, err := s.Store.Root(ctx)
			if err != nil {
				return err
			}
			if !r.Zero() && !r.Certifies(s.Store.HQSigningPublic()) {
				return fmt.Errorf("HQ signs with a key its root of trust (version %d) does not certify: missions refuse its replies; install the root statement for its keys (chancery-hq root install)", r.Statement.Version)
			}
			return nil
		}}},
		LargeBodies: map[string]int64{
			"/library":                     protocol.MaxBody + 16<<10,
			"/ministry/answers/":           incident.MaxAttachment + 64<<10,
			"/library/framework":           1 << 20,
			"/library/framework/translate": 1 << 20,
			"/api/v1/framework":            1 << 20,
			exchange.PathExchange:          s.Ingest.Limits.MaxPouch,
			exchange.PathUploads:           s.Ingest.Limits.MaxPouch,
			"/pouches":                     s.Ingest.Limits.MaxPouch + 64<<10,
		},
		Nav: []web.NavItem{
			{Href: "/", Label: "nav.map"},
			{Href: "/gaps", Label: "nav.gaps"},
			{Href: "/questions", Label: "nav.questions"},
			{Href: "/ministry", Label: "nav.ministry"},
			{Href: "/missions", Label: "nav.missions"},
			{Href: "/incidents", Label: "nav.incidents"},
			{Href: "/library", Label: "nav.protocols"},
			{Href: "/pouches", Label: "nav.pouches", Roles: canManage},
			{Href: "/users", Label: "nav.users", Roles: canManage},
			{Href: "/audit", Label: "nav.audit", Roles: canAudit},
		}}
	site.Map(exchange.StatusOf)
	site.Map(func(err error) (int, bool) {
		// A pouch refused for one of its changes is the mission's to
		// correct: 422, which the mission does not retry.
		var r *ingest.Rejected
		return http.StatusUnprocessableEntity, errors.As(err, &r)
	})
	h := &handler{Server: s, site: site}
	w := &web.Auth{Accounts: s.Accounts}
	e := site.Echo()
	// The mission API sits outside the session middleware: a pouch
	// authenticates itself.
	exchange.Routes(e, s.Ingest, s.Ingest.Limits.MaxPouch, s.Uploads)
	e.GET(worldmap.URL(), worldmap.Handler)

	// The map's API, for programs: an API token, or the session of a
	// person logged in.
	api := e.Group("/api/v1", h.apiAuth(w))
	api.GET("/map", h.mapJSON, web.RequireLogin)
	api.GET("/missions.geojson", h.missionsGeoJSON, web.RequireLogin)
	api.POST("/framework", h.apiPublishFramework, web.RequireRole(canPublish...))
	api.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", OpenAPI) })

	g := e.Group("", w.Middleware())
	(&web.AccountPages{Site: site, Web: w, DefaultRole: RoleAnalyst}).Mount(g, canManage, canAudit)
	g.GET("/", h.mapPage, web.RequireLogin)
	g.GET("/gaps", h.gapsPage, web.RequireLogin)
	g.GET("/map.csv", h.mapCSV, web.RequireLogin)
	g.GET("/map.json", h.mapJSON, web.RequireLogin)
	g.GET("/missions.geojson", h.missionsGeoJSON, web.RequireLogin)
	g.GET("/questions", h.questionsPage, web.RequireLogin)
	g.GET("/report", h.ministryReport, web.RequireLogin)
	g.GET("/ministry", h.ministryPage, web.RequireLogin)
	g.POST("/ministry/answers/:item", h.ministryAnswer, web.RequireRole(canAssess...))
	g.GET("/ministry/answers/:item/files/:sha", h.ministryFile, web.RequireLogin)
	g.POST("/ministry/signoff", h.ministrySignOff, web.RequireRole(canSign...))
	g.POST("/ministry/profile", h.setProfile, web.RequireRole(canManage...))
	g.GET("/missions", h.missions, web.RequireLogin)
	g.GET("/missions/new", h.newMission, web.RequireRole(canManage...))
	g.POST("/missions", h.addMission, web.RequireRole(canManage...))
	g.GET("/missions/:code", h.mission, web.RequireLogin)
	g.GET("/missions/:code/report", h.missionReport, web.RequireLogin)
	g.GET("/missions/:code/answers/:item/files/:sha", h.missionAnswerFile, web.RequireLogin)
	g.POST("/missions/:code/code", h.issueCode, web.RequireRole(canManage...))
	g.POST("/missions/:code/revoke", h.revoke, web.RequireRole(canManage...))
	g.POST("/missions/:code/rekey", h.rekey, web.RequireRole(canManage...))
	g.POST("/missions/:code/reinstate", h.reinstate, web.RequireRole(canManage...))
	g.GET("/missions/:code/edit", h.editMission, web.RequireRole(canManage...))
	g.POST("/missions/:code", h.updateMission, web.RequireRole(canManage...))
	g.POST("/regions", h.addRegion, web.RequireRole(canManage...))
	g.POST("/regions/:name/remove", h.removeRegion, web.RequireRole(canManage...))
	g.GET("/incidents", h.incidentBoard, web.RequireLogin)
	g.GET("/incidents/lessons", h.lessons, web.RequireLogin)
	g.GET("/incidents/:mission/:id", h.reportedIncident, web.RequireLogin)
	g.POST("/incidents/:mission/:id/guidance", h.guide, web.RequireRole(canGuide...))
	g.POST("/incidents/:mission/:id/ack", h.ack, web.RequireRole(canGuide...))
	g.GET("/incidents/:mission/:id/attachments/:sha", h.evidence, web.RequireLogin)
	g.GET("/library", h.library, web.RequireLogin)
	g.GET("/library/new", h.publishPage, web.RequireRole(canPublish...))
	g.GET("/library/framework/edit", h.frameworkPage, web.RequireRole(canPublish...))
	g.POST("/library/framework", h.editFramework, web.RequireRole(canPublish...))
	g.GET("/library/framework/translate", h.translatePage, web.RequireRole(canPublish...))
	g.POST("/library/framework/translate", h.translate, web.RequireRole(canPublish...))
	g.POST("/library", h.publish, web.RequireRole(canPublish...))
	g.GET("/library/:id", h.libraryDoc, web.RequireLogin)
	g.GET("/library/:id/edit", h.publishPage, web.RequireRole(canPublish...))
	g.POST("/library/:id", h.publish, web.RequireRole(canPublish...))
	g.GET("/pouches", h.pouchPage, web.RequireRole(canManage...))
	g.POST("/pouches", h.uploadPouch, web.RequireRole(canManage...))
	return e, nil
}

func (h *handler) page(c echo.Context, title string, data any) web.Page {
	return h.site.Page(c, title, data)
}

// apiAuth lets a request in with a bearer token, or else with a session.
func (h *handler) apiAuth(w *web.Auth) echo.MiddlewareFunc {
	session := w.Middleware()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if tok, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer "); ok {
				u, err := h.Accounts.TokenUser(c.Request().Context(), strings.TrimSpace(tok))
				if err != nil {
					return err
				}
				web.SetUser(c, u)
				return next(c)
			}
			return session(next)(c)
		}
	}
}

func has(list []string, s string) bool { return slices.Contains(list, s) }
