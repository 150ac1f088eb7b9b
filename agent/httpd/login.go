package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/web/account"
)

type loginData struct {
	Next, Username string
}

func (h *handler) loginPage(c echo.Context) error {
	if _, ok := account.CurrentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, account.SafeNext(c.QueryParam("next")))
	}
	return c.Render(http.StatusOK, "login", h.page(c, "Log in", loginData{Next: c.QueryParam("next")}))
}

func (h *handler) login(c echo.Context) error {
	username, next := c.FormValue("username"), c.FormValue("next")
	if _, err := h.web.LogIn(c, username, c.FormValue("password")); err != nil {
		status, msg := statusOf(err)
		if status >= 500 {
			return err
		}
		p := h.page(c, "Log in", loginData{Next: next, Username: username})
		p.Error = msg
		return c.Render(status, "login", p)
	}
	return c.Redirect(http.StatusSeeOther, account.SafeNext(next))
}

func (h *handler) logout(c echo.Context) error {
	if err := h.web.LogOut(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}
