package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"chancery/shared/account"
	"chancery/shared/health"
	"chancery/shared/i18n"
	"chancery/shared/problem"
	"chancery/shared/sqlite"
)

// Site is the frame that every page of one program is drawn in: its
// templates, its name, its navigation, and how it shows errors.
type Site struct {
	Pages  *Templates
	Logger *slog.Logger
	// Name is shown in the header of every page: the mission's name, or a
	// catalog key ("site.hq").
	Name string
	// Footer, if set, returns what the footer says besides the product's
	// name, such as the framework version in force: asked for every page,
	// so it is never older than the page.
	Footer func(c echo.Context) string
	// Notice, if set, returns a warning for the top of every page.
	Notice func(c echo.Context) string
	// Language is the language of pages for a reader whose browser asks
	// for none that ships; "" is English.
	Language string
	// Nav lists the main links, in order, with the roles that see each
	// (none: everyone logged in); their labels are catalog keys.
	Nav []NavItem
	// BodyLimit caps request bodies, in bytes; LargeBodies raises the cap
	// for the paths (and the paths below them) that take files.
	BodyLimit   int64
	LargeBodies map[string]int64
	// Ready are the checks /readyz runs: the program serves only when all
	// pass.
	Ready []health.Check
	// Metrics, if set, are served at /metrics and count every request;
	// AccessLog, if set, gets a line for every request.
	Metrics   *Metrics
	AccessLog *slog.Logger

	mappers []ErrorMapper
}

// Map adds a mapping of a program's own errors (such as refused pouches)
// to HTTP statuses; the error's own text is then shown.
func (s *Site) Map(m ErrorMapper) { s.mappers = append(s.mappers, m) }

// NavItem is a main navigation link.
type NavItem struct {
	Href, Label string
	Roles       []string
	// Count, if set, is a number shown beside the link (things waiting
	// for the person), with CountSays as what it counts, for screen
	// readers: "need your decision".
	Count     func(c echo.Context) int
	CountSays string
	// CountRoles are the roles that see the count; all, if empty.
	CountRoles []string
}

// Page is what the layout template renders around every page.
type Page struct {
	Title string
	Site  string
	User  account.User
	CSRF  string
	Nav   []NavLink
	Flash string
	Error string
	// Notice is a warning shown on every page, such as updates from HQ
	// that have stopped arriving.
	Notice string
	Footer string
	Data   any
	// Lang is the page's language tag; Languages the others it can be
	// read in, for the chooser at the foot of the login page.
	Lang      string
	Languages []Language
}

// NavLink is a navigation link as drawn for one request.
type NavLink struct {
	Href, Label string
	Current     bool
	Count       int
	CountSays   string
}

// Page builds the frame of a page for the request; title is a catalog
// key, or a name (a mission's, an incident's id) shown as it is.
func (s *Site) Page(c echo.Context, title string, data any) Page {
	u, _ := CurrentUser(c)
	pr := P(c)
	site := s.Name
	if i18n.Has(site) {
		site = pr.T(site)
	}
	if i18n.Has(title) {
		title = pr.T(title)
	}
	p := Page{Title: title, Site: site, User: u, CSRF: CSRFToken(c), Data: data, Lang: pr.Lang()}
	for _, l := range Languages() {
		if l.Tag != p.Lang {
			p.Languages = append(p.Languages, l)
		}
	}
	if s.Footer != nil {
		p.Footer = s.Footer(c)
	}
	if u.Username == "" {
		return p
	}
	if s.Notice != nil {
		p.Notice = s.Notice(c)
	}
	path := c.Request().URL.Path
	best := -1
	for _, n := range s.Nav {
		if len(n.Roles) > 0 && !slices.Contains(n.Roles, u.Role) {
			continue
		}
		link := NavLink{Href: n.Href, Label: pr.T(n.Label), CountSays: pr.T(n.CountSays)}
		if n.Count != nil && (len(n.CountRoles) == 0 || slices.Contains(n.CountRoles, u.Role)) {
			link.Count = n.Count(c)
		}
		p.Nav = append(p.Nav, link)
		if n.Href == path || (n.Href != "/" && strings.HasPrefix(path, n.Href)) {
			best = len(p.Nav) - 1
		}
	}
	if best < 0 && len(p.Nav) > 0 && path != "/login" {
		best = 0 // pages under no link belong to the first, the home page
	}
	if best >= 0 {
		p.Nav[best].Current = true
	}
	return p
}

// Echo returns an Echo instance with what every Chancery interface has:
// the client address taken from the connection only (the programs are
// reached directly, not through a proxy that could vouch for a header),
// security headers on every response, a body limit, the static files, a
// health check, and errors shown as pages.
func (s *Site) Echo() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect()
	e.Renderer = s.Pages
	e.HTTPErrorHandler = s.fail
	e.Use(s.observe)
	e.Use(SecurityHeaders())
	e.Use(crossOrigin())
	e.Use(s.limitBodies)
	// Pages, JSON and SVG go compressed to a browser that takes it (the
	// map is 170 KB as it is); pouches, sealed and so incompressible, as
	// they are.
	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1024, Skipper: func(c echo.Context) bool {
		p := c.Request().URL.Path
		return strings.HasPrefix(p, "/api/v1/exchange") || strings.HasPrefix(p, "/api/v1/uploads") || strings.HasPrefix(p, "/relay/")
	}}))
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if s.Language != "" {
				c.Set(ctxLang, s.Language)
			}
			return next(c)
		}
	})
	e.GET("/static/*", s.Pages.Static)
	e.GET("/lang", chooseLanguage)
	// /healthz says the process answers; /readyz that it can do its work:
	// its database takes a write, its keys are loaded, its disk has room.
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	if s.Metrics != nil {
		e.GET("/metrics", s.Metrics.handler())
	}
	e.GET("/readyz", func(c echo.Context) error {
		res, ok := health.Run(c.Request().Context(), s.Ready)
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		return c.JSON(status, struct {
			Ready  bool            `json:"ready"`
			Checks []health.Result `json:"checks"`
		}{ok, res})
	})
	return e
}

// limitBodies refuses a body over its path's cap before reading it, and
// stops reading one that turns out larger than it said.
func (s *Site) limitBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		limit := s.BodyLimit
		for prefix, l := range s.LargeBodies {
			if strings.HasPrefix(c.Request().URL.Path, prefix) {
				limit = l
			}
		}
		if limit <= 0 {
			limit = 64 << 10
		}
		r := c.Request()
		if r.ContentLength > limit {
			return echo.ErrStatusRequestEntityTooLarge
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}

// StatusOf maps an error to the HTTP status and message a user sees. It
// is the one place where error codes meet HTTP.
func StatusOf(c echo.Context, err error) (int, string) {
	p := P(c)
	var he *echo.HTTPError
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		he = echo.ErrStatusRequestEntityTooLarge
	}
	if he != nil || errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return he.Code, p.T("error.not_found")
		case http.StatusMethodNotAllowed:
			return he.Code, p.T("error.method")
		case http.StatusRequestEntityTooLarge:
			return he.Code, p.T("error.too_large")
		}
		if he.Code < 500 {
			if m, ok := he.Message.(string); ok {
				return he.Code, m
			}
		}
		return he.Code, problem.MessageIn(err, p)
	}
	if sqlite.IsFull(err) {
		err = sqlite.ErrFull
	}
	status := map[problem.Code]int{
		problem.Invalid:      http.StatusBadRequest,
		problem.NotFound:     http.StatusNotFound,
		problem.Conflict:     http.StatusConflict,
		problem.Unauthorized: http.StatusUnauthorized,
		problem.Forbidden:    http.StatusForbidden,
		problem.TooMany:      http.StatusTooManyRequests,
		problem.Unavailable:  http.StatusInsufficientStorage,
	}[problem.CodeOf(err)]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return status, problem.MessageIn(err, p)
}

// ErrorMapper maps a program's own errors to a status before the default
// mapping; see Site.Map.
type ErrorMapper func(error) (int, bool)

type errorData struct {
	Status     int
	StatusText string
	Message    string
	Back       string
}

// fail renders every error: an HTML page for browsers, JSON for programs.
// Only internal errors are logged; the rest are answers to the user.
func (s *Site) fail(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := StatusOf(c, err)
	for _, m := range s.mappers {
		if st, ok := m(err); ok {
			status, msg = st, err.Error()
			var pe *problem.Error
			if errors.As(err, &pe) {
				msg = pe.In(P(c))
			}
			break
		}
	}
	if status >= 500 {
		s.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if accept := c.Request().Header.Get("Accept"); !strings.Contains(accept, "text/html") && accept != "" && !strings.Contains(accept, "*/*") ||
		strings.HasPrefix(c.Request().URL.Path, "/api/") {
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
	if rerr := c.Render(status, "error", s.Page(c, "error.title", data)); rerr != nil {
		s.Logger.Error("render error page", "err", rerr)
		c.String(status, msg)
	}
}

// Serve runs the interface on addr until ctx ends or the process is asked
// to stop (SIGINT, SIGTERM), then lets requests in progress finish. ready
// is called with the address listened on, once it is listened on.
func Serve(ctx context.Context, h http.Handler, addr string, ready func(net.Addr)) error {
	return ServeTLS(ctx, h, addr, nil, nil, ready)
}

// ServeTLS is Serve over HTTPS with cert, or over plain HTTP if cert is
// nil. SIGHUP reloads the certificate, and logger says how that went.
func ServeTLS(ctx context.Context, h http.Handler, addr string, cert *Certificate, logger *slog.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (%v); is another program using that port? Choose another with --addr", addr, err)
	}
	// Timeouts bound what a slow or hostile client can hold; five minutes
	// leave a large pouch time to cross a slow link.
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	if cert != nil {
		hs.TLSConfig = cert.Config()
		ln = tls.NewListener(ln, hs.TLSConfig)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				if err := cert.Reload(); err != nil {
					logger.Error("the TLS certificate was not reloaded; the one in use stays", "err", err)
				} else {
					logger.Info("TLS certificate reloaded", "sha256", cert.Fingerprint())
				}
			}
		}()
	}
	ready(ln.Addr())
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}

// Download sends a file a person uploaded so that it can never run here:
// opaque bytes, saved rather than shown, in a sandbox, whatever it holds.
func Download(c echo.Context, name string, data []byte) error {
	safe := strings.Map(func(r rune) rune {
		if r < 32 || r == '"' || r == '\\' || r > 126 {
			return '_'
		}
		return r
	}, name)
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+safe+`"`)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "application/octet-stream", data)
}
