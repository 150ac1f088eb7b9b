// Package httpd is the agent's web interface: Echo handlers over the
// mission database, one file per page or action, as methods on a small
// handler struct. Pages are rendered on the server and work without
// JavaScript: forms post and redirect.
package httpd

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"chancery/agent/store"
	"chancery/shared/problem"
	"chancery/shared/readiness"
	"chancery/web"
	"chancery/web/account"
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
const MaxBody = "64K"

// Server holds what the handlers need.
type Server struct {
	Store    *store.DB
	Accounts *account.Service
	Logger   *slog.Logger
	// SiteName is shown in the header of every page.
	SiteName string
}

type handler struct {
	*Server
	web   *account.Web
	pages *web.Templates
}

// Funcs are the agent's template helpers.
var Funcs = template.FuncMap{
	"int": func(l readiness.Level) int { return int(l) },
}

// Handler builds the Echo instance that serves the interface.
func (s *Server) Handler() (*echo.Echo, error) {
	pages, err := web.Parse("agent", Funcs)
	if err != nil {
		return nil, err
	}
	h := &handler{Server: s, web: &account.Web{Accounts: s.Accounts}, pages: pages}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The agent is reached directly on the embassy LAN, not through a
	// proxy: the client address is the connection's, never a header.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Renderer = pages
	e.HTTPErrorHandler = h.fail

	e.Use(account.SecurityHeaders())
	e.Use(middleware.BodyLimit(MaxBody))
	e.GET("/static/*", pages.Static)
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })

	g := e.Group("", h.web.Middleware())
	g.GET("/login", h.loginPage)
	g.POST("/login", h.login)
	g.POST("/logout", h.logout)

	g.GET("/", h.home, account.RequireLogin)
	g.GET("/areas/:area", h.area, account.RequireLogin)
	g.POST("/answers/:item", h.answer, account.RequireRole(canAnswer...))
	g.POST("/signoff", h.signOff, account.RequireRole(canSignOff...))
	g.GET("/snapshots", h.snapshots, account.RequireLogin)
	g.GET("/snapshots/:id", h.snapshot, account.RequireLogin)
	g.GET("/audit", h.audit, account.RequireRole(canAudit...))
	g.GET("/users", h.users, account.RequireRole(canManage...))
	g.POST("/users", h.createUser, account.RequireRole(canManage...))
	g.POST("/users/:name/disable", h.disableUser, account.RequireRole(canManage...))
	g.POST("/users/:name/enable", h.enableUser, account.RequireRole(canManage...))
	return e, nil
}

// page is what the layout template renders around every page.
type page struct {
	Title  string
	Site   string
	User   account.User
	CSRF   string
	Nav    []navLink
	Flash  string
	Error  string
	Footer string
	Data   any
}

type navLink struct {
	Href, Label string
	Current     bool
}

func (h *handler) page(c echo.Context, title string, data any) page {
	u, _ := account.CurrentUser(c)
	p := page{Title: title, Site: h.SiteName, User: u, CSRF: account.CSRFToken(c), Data: data,
		Footer: "framework v" + strconv.Itoa(h.Store.Framework().Version)}
	if u.Username == "" {
		return p
	}
	path := c.Request().URL.Path
	add := func(href, label string, roles []string) {
		if roles != nil && !has(roles, u.Role) {
			return
		}
		cur := href == path || (href != "/" && strings.HasPrefix(path, href))
		if href == "/" && strings.HasPrefix(path, "/areas/") {
			cur = true
		}
		p.Nav = append(p.Nav, navLink{href, label, cur})
	}
	add("/", "Readiness", nil)
	add("/snapshots", "Snapshots", nil)
	add("/users", "Users", canManage)
	add("/audit", "Audit log", canAudit)
	return p
}

func has(list []string, s string) bool { return slices.Contains(list, s) }

// statusOf maps an error to the HTTP status and message a user sees. It is
// the one place where error codes meet HTTP.
func statusOf(err error) (int, string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return he.Code, "There is no page at this address. Check the link, or start again from the home page."
		case http.StatusMethodNotAllowed:
			return he.Code, "This address does not accept that kind of request."
		case http.StatusRequestEntityTooLarge:
			return he.Code, "What you sent is too large. Shorten the text and send it again."
		}
		if he.Code < 500 {
			if m, ok := he.Message.(string); ok {
				return he.Code, m
			}
		}
		return he.Code, problem.MessageOf(err)
	}
	status := map[problem.Code]int{
		problem.Invalid:      http.StatusBadRequest,
		problem.NotFound:     http.StatusNotFound,
		problem.Conflict:     http.StatusConflict,
		problem.Unauthorized: http.StatusUnauthorized,
		problem.Forbidden:    http.StatusForbidden,
		problem.TooMany:      http.StatusTooManyRequests,
	}[problem.CodeOf(err)]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return status, problem.MessageOf(err)
}

type errorData struct {
	Status     int
	StatusText string
	Message    string
	Back       string
}

// fail renders every error: an HTML page for browsers, JSON otherwise.
// Only internal errors are logged; the rest are answers to the user.
func (h *handler) fail(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := statusOf(err)
	if status >= 500 {
		h.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if !strings.Contains(c.Request().Header.Get("Accept"), "text/html") && c.Request().Header.Get("Accept") != "" && !strings.Contains(c.Request().Header.Get("Accept"), "*/*") {
		c.JSON(status, map[string]string{"error": msg})
		return
	}
	back := c.Request().Referer()
	if back == "" || !strings.HasPrefix(back, "http") {
		back = "/"
	}
	if status == http.StatusUnauthorized {
		back = "/login"
	}
	data := errorData{Status: status, StatusText: http.StatusText(status), Message: msg, Back: back}
	if rerr := c.Render(status, "error", h.page(c, http.StatusText(status), data)); rerr != nil {
		h.Logger.Error("render error page", "err", rerr)
		c.String(status, msg)
	}
}
