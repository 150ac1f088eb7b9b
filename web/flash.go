package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// flashCookie carries a one-time message key across the redirect after
// a form: the page that follows shows it once, and a reload does not
// show it again (a query parameter would).
const flashCookie = "chancery-flash"

// SetFlash asks the next page this browser loads to show the message
// named by key ("saved:STR-01", "published").
func SetFlash(c echo.Context, key string) {
	http.SetCookie(c.Response(), &http.Cookie{Name: flashCookie, Value: url.QueryEscape(key), Path: "/", MaxAge: 120,
		HttpOnly: true, Secure: c.IsTLS(), SameSite: http.SameSiteStrictMode})
}

// Flash returns the key SetFlash left for this page, and forgets it, so
// that it shows once; "" if none. It must be called before the page is
// written.
func Flash(c echo.Context) string {
	if v, ok := c.Get(flashCookie).(string); ok {
		return v
	}
	var key string
	if ck, err := c.Cookie(flashCookie); err == nil {
		key, _ = url.QueryUnescape(ck.Value)
		http.SetCookie(c.Response(), &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.IsTLS(), SameSite: http.SameSiteStrictMode})
	}
	c.Set(flashCookie, key)
	return key
}
