package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/shared/i18n"
)

// The language of a page is, in order: the one the person chose in their
// account, the one chosen on this browser before logging in (a cookie
// set by the links at the foot of the login page), the browser's
// Accept-Language, and the site's default language.
const (
	langCookie  = "chancery-lang"
	ctxLang     = "i18n.default"
	ctxPrinter  = "i18n.printer"
	langMaxAge  = 400 * 24 * time.Hour
	ctxLangUser = "i18n.user"
)

// Lang returns the language tag the request's reader reads.
func Lang(c echo.Context) string { return P(c).Lang() }

// P returns the printer of the request's reader's language.
func P(c echo.Context) *i18n.Printer {
	if c == nil {
		return i18n.English()
	}
	u, _ := CurrentUser(c)
	if p, ok := c.Get(ctxPrinter).(*i18n.Printer); ok && c.Get(ctxLangUser) == u.Username {
		return p
	}
	var prefs []string
	if u.Lang != "" {
		prefs = append(prefs, u.Lang)
	}
	if ck, err := c.Cookie(langCookie); err == nil && i18n.Supported(ck.Value) {
		prefs = append(prefs, ck.Value)
	}
	prefs = append(prefs, c.Request().Header.Get("Accept-Language"))
	if d, ok := c.Get(ctxLang).(string); ok {
		prefs = append(prefs, d)
	}
	p := i18n.For(i18n.Match(prefs...))
	c.Set(ctxPrinter, p)
	c.Set(ctxLangUser, u.Username)
	return p
}

// T returns the catalog message key in the reader's language.
func T(c echo.Context, key string, args ...any) string { return P(c).T(key, args...) }

// chooseLanguage is GET /lang?to=fr&next=/login: it keeps the choice on
// this browser for the pages seen before logging in (and for anyone
// logged in who has not chosen one in their account).
func chooseLanguage(c echo.Context) error {
	to := c.QueryParam("to")
	if !i18n.Supported(to) {
		return echo.NewHTTPError(http.StatusBadRequest, T(c, "lang.unknown", "Lang", to))
	}
	http.SetCookie(c.Response(), &http.Cookie{Name: langCookie, Value: to, Path: "/", MaxAge: int(langMaxAge.Seconds()),
		HttpOnly: true, Secure: c.IsTLS(), SameSite: http.SameSiteLaxMode})
	return c.Redirect(http.StatusSeeOther, SafeNext(c.QueryParam("next")))
}

// Language is one of the shipped languages, as the choosers list it.
type Language struct {
	Tag, Name string
}

// Languages lists the shipped languages, each named in itself.
func Languages() []Language {
	var out []Language
	for _, l := range i18n.Languages() {
		out = append(out, Language{Tag: l, Name: i18n.For(l).T("lang.name")})
	}
	return out
}
