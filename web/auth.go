package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"chancery/shared/account"
	"chancery/shared/i18n"
	"chancery/shared/problem"
)

// Cookie names.
const (
	SessionCookie = "chancery_session"
	// loginCookie ties the login form's CSRF token to the browser before
	// there is a session.
	loginCookie = "chancery_login"
)

// Context keys set by [Auth.Middleware].
const (
	ctxUser  = "account.user"
	ctxToken = "account.csrf"
)

// Auth binds an [account.Service] to Echo: it reads the session cookie, checks
// CSRF tokens, and guards routes by role.
//
// CSRF tokens are derived from the session token (or, before login, from
// a random login cookie): SHA-256 over a fixed label and the cookie value.
// The cookie is HttpOnly, so a page on another site can neither read it nor
// compute the token, and every form of a session carries the same token,
// which survives a restart of the program. A new session at login means a
// new token: nothing issued before login is valid after it.
type Auth struct {
	Accounts *account.Service
	// Resume, if set, answers a form sent with a session that has ended:
	// instead of losing what the person typed, it asks them to log in
	// again and then sends it (see AccountPages).
	Resume func(c echo.Context, to string, form url.Values) error
}

// CurrentUser returns the logged-in user of the request.
func CurrentUser(c echo.Context) (account.User, bool) {
	u, ok := c.Get(ctxUser).(account.User)
	return u, ok
}

// SetUser makes u the request's user, for programs that authenticate a
// request another way, such as an API token.
func SetUser(c echo.Context, u account.User) { c.Set(ctxUser, u) }

// CSRFToken returns the token that forms of this request must carry in a
// field named "csrf" (or a fetch in the X-CSRF-Token header).
func CSRFToken(c echo.Context) string {
	s, _ := c.Get(ctxToken).(string)
	return s
}

// ActorOf returns the audit actor of a request.
func ActorOf(c echo.Context) account.Actor {
	u, _ := CurrentUser(c)
	name := u.Username
	if name == "" {
		name = "anonymous"
	}
	return account.Actor{Username: name, Remote: c.RealIP()}
}

func csrfFor(cookie string) string {
	s := sha256.Sum256([]byte("chancery csrf v1\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// ErrCrossOrigin answers a state-changing request a browser says came
// from another site.
var ErrCrossOrigin = problem.New(problem.Forbidden, "error.cross_origin")

// crossOrigin refuses state-changing requests that a browser marks as
// coming from another origin (Sec-Fetch-Site, or Origin against Host),
// with the standard library's check, in front of every route. Programs
// (the missions' sync, peers) send neither header and are let through:
// they authenticate what they send in other ways.
func crossOrigin() echo.MiddlewareFunc {
	cop := http.NewCrossOriginProtection()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				return ErrCrossOrigin
			}
			return next(c)
		}
	}
}

// ErrCSRF is the answer to a state-changing request without a valid token.
var ErrCSRF = problem.New(problem.Forbidden, "error.csrf")

// Middleware loads the session's user, if any, into the context and
// refuses state-changing requests whose CSRF token does not match.
func (w *Auth) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var basis, ended string
			if ck, err := c.Cookie(cookieName(c, SessionCookie)); err == nil && ck.Value != "" {
				u, err := w.Accounts.Session(c.Request().Context(), ck.Value)
				switch {
				case err == nil:
					c.Set(ctxUser, u)
					basis = ck.Value
				case errors.Is(err, account.ErrNoSession):
					clearCookie(c, SessionCookie)
					ended = ck.Value
				default:
					return err
				}
			}
			if basis == "" {
				ck, err := c.Cookie(cookieName(c, loginCookie))
				if err == nil && len(ck.Value) >= 32 {
					basis = ck.Value
				} else {
					basis = randomValue()
					setCookie(c, loginCookie, basis, 0)
				}
			}
			want := csrfFor(basis)
			c.Set(ctxToken, want)

			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				return next(c)
			}
			if c.Request().Header.Get("Sec-Fetch-Site") == "cross-site" {
				return ErrCSRF
			}
			// The token comes from a header or the form's body, never from
			// the query string, which leaks into logs and Referer headers.
			got := c.Request().Header.Get("X-CSRF-Token")
			if got == "" {
				got = c.Request().PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				// A form from this site's page for a session that has
				// since ended (its token proves it): kept, not lost.
				if ended != "" && w.Resume != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(csrfFor(ended))) == 1 && resumable(c) {
					form, err := c.FormParams()
					if err == nil {
						form.Del("csrf")
						return w.Resume(c, c.Request().URL.RequestURI(), form)
					}
				}
				return ErrCSRF
			}
			return next(c)
		}
	}
}

func randomValue() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// cookieName is a cookie's name on this connection. Over HTTPS it takes
// the __Host- prefix, with which a browser keeps the cookie only if it is
// Secure, for this host alone and the whole site: a page on a sibling
// host, or one served over plain HTTP, cannot plant or override it.
func cookieName(c echo.Context, name string) string {
	if c.IsTLS() {
		return "__Host-" + name
	}
	return name
}

func setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name:     cookieName(c, name),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   c.IsTLS(),
		SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(c echo.Context, name string) { setCookie(c, name, "", -1) }

// LogIn checks the credentials and starts a fresh session cookie. Any
// session the browser held before is ended: the token rotates at login.
func (w *Auth) LogIn(c echo.Context, username, password string) (account.User, error) {
	ctx := c.Request().Context()
	u, token, err := w.Accounts.Login(ctx, username, password, c.RealIP())
	if err != nil {
		return account.User{}, err
	}
	if old, err := c.Cookie(cookieName(c, SessionCookie)); err == nil && old.Value != "" {
		if err := w.Accounts.Logout(ctx, old.Value, account.Actor{Username: u.Username, Remote: c.RealIP()}); err != nil {
			return account.User{}, err
		}
	}
	setCookie(c, SessionCookie, token, 0)
	clearCookie(c, loginCookie)
	// The rest of this request acts as the new session.
	c.Set(ctxUser, u)
	c.Set(ctxToken, csrfFor(token))
	return u, nil
}

// resumable reports whether a form sent with an ended session can be
// kept for after the login: a plain form (a file upload cannot be kept
// in a page) to a page of this site, not the login itself.
func resumable(c echo.Context) bool {
	r := c.Request()
	ct := r.Header.Get("Content-Type")
	return r.Method == http.MethodPost && strings.HasPrefix(ct, "application/x-www-form-urlencoded") &&
		!strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/login" && r.URL.Path != "/logout"
}

// LogOut ends the request's session.
func (w *Auth) LogOut(c echo.Context) error {
	if ck, err := c.Cookie(cookieName(c, SessionCookie)); err == nil {
		if err := w.Accounts.Logout(c.Request().Context(), ck.Value, ActorOf(c)); err != nil {
			return err
		}
	}
	clearCookie(c, SessionCookie)
	return nil
}

// RequireLogin sends visitors without a session to the login page (for a
// page view) or answers 401 (for anything else).
func RequireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := CurrentUser(c); ok {
			return next(c)
		}
		if c.Request().Method == http.MethodGet && !strings.HasPrefix(c.Request().URL.Path, "/api/") {
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		return account.ErrNoSession
	}
}

// RequireRole lets through only users with one of roles.
func RequireRole(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return RequireLogin(func(c echo.Context) error {
			u, _ := CurrentUser(c)
			if !slices.Contains(roles, u.Role) {
				return problem.New(problem.Forbidden, "error.role", "Role", i18n.Key("role."+u.Role), "Roles", strings.Join(roles, ", "))
			}
			return next(c)
		})
	}
}

// SafeNext returns next if it is a path on this site, else "/": the login
// page must not redirect to another site. Browsers drop tabs and newlines
// from a URL and read a backslash as a slash, so "/\t/evil.example" and
// "/\\evil.example" lead off the site: a next with any control character
// or backslash, or that is not a plain path once parsed, is refused.
func SafeNext(next string) string {
	if next == "" || next[0] != '/' || strings.ContainsRune(next, '\\') || strings.ContainsFunc(next, unicode.IsControl) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	if strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}

// SecurityHeaders sets the headers every response carries, error pages
// included. Cache-Control is no-store because pages show a mission's
// assessment and a shared workstation's browser must not keep them;
// static files override it. The content security policy allows only this site's own
// scripts, styles and images: no inline script, no framing, no plug-ins.
func SecurityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			api := strings.HasPrefix(c.Request().URL.Path, "/api/")
			if api && c.Request().Method == http.MethodPost {
				// A mission's exchanges: a program posts a pouch and takes
				// the answer, which no cache keeps (an answer to a POST is
				// stored only when it says so) and no browser renders.
				// Every byte here crosses the slowest links at each sync.
				return next(c)
			}
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "no-store")
			if api {
				// The API answers programs with JSON, never pages: the
				// headers that guard pages in a browser would only cost
				// bytes on a slow link.
				return next(c)
			}
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			if c.IsTLS() {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			return next(c)
		}
	}
}
