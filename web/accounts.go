package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/shared/account"
	"chancery/shared/problem"
)

// AccountPages serves the pages every program has: logging in and out,
// the user list with its form, and the audit log.
type AccountPages struct {
	Site *Site
	Web  *Auth
	// DefaultRole is preselected in the new-user form.
	DefaultRole string
}

// Mount adds the pages to g, which must run the account middleware;
// manage and audit are the roles that may manage users and read the log.
func (a *AccountPages) Mount(g *echo.Group, manage, audit []string) {
	g.GET("/login", a.loginPage)
	g.POST("/login", a.login)
	g.POST("/logout", a.logout)
	g.GET("/audit", a.audit, RequireRole(audit...))
	g.GET("/users", a.users, RequireRole(manage...))
	g.POST("/users", a.createUser, RequireRole(manage...))
	g.POST("/users/:name/disable", a.disableUser, RequireRole(manage...))
	g.POST("/users/:name/enable", a.enableUser, RequireRole(manage...))
}

type loginData struct {
	Next, Username string
}

func (a *AccountPages) loginPage(c echo.Context) error {
	if _, ok := CurrentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, SafeNext(c.QueryParam("next")))
	}
	return c.Render(http.StatusOK, "login", a.Site.Page(c, "Log in", loginData{Next: c.QueryParam("next")}))
}

func (a *AccountPages) login(c echo.Context) error {
	username, next := c.FormValue("username"), c.FormValue("next")
	if _, err := a.Web.LogIn(c, username, c.FormValue("password")); err != nil {
		status, msg := StatusOf(err)
		if status >= 500 {
			return err
		}
		p := a.Site.Page(c, "Log in", loginData{Next: next, Username: username})
		p.Error = msg
		return c.Render(status, "login", p)
	}
	return c.Redirect(http.StatusSeeOther, SafeNext(next))
}

func (a *AccountPages) logout(c echo.Context) error {
	if err := a.Web.LogOut(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

type userForm struct {
	Username, DisplayName, Role string
}

type usersData struct {
	Users []account.User
	Roles []string
	Form  userForm
}

func (a *AccountPages) users(c echo.Context) error {
	return a.renderUsers(c, http.StatusOK, userForm{Role: a.DefaultRole}, "", "")
}

func (a *AccountPages) renderUsers(c echo.Context, status int, form userForm, flash, failure string) error {
	list, err := a.Web.Accounts.Users(c.Request().Context())
	if err != nil {
		return err
	}
	p := a.Site.Page(c, "Users", usersData{Users: list, Roles: a.Web.Accounts.Roles(), Form: form})
	p.Flash, p.Error = flash, failure
	return c.Render(status, "users", p)
}

func (a *AccountPages) createUser(c echo.Context) error {
	form := userForm{Username: c.FormValue("username"), DisplayName: c.FormValue("display_name"), Role: c.FormValue("role")}
	u, err := a.Web.Accounts.CreateUser(c.Request().Context(), ActorOf(c), form.Username, form.DisplayName, form.Role, c.FormValue("password"))
	if err != nil {
		if code := problem.CodeOf(err); code == problem.Invalid || code == problem.Conflict {
			status, msg := StatusOf(err)
			return a.renderUsers(c, status, form, "", msg)
		}
		return err
	}
	return a.renderUsers(c, http.StatusOK, userForm{Role: a.DefaultRole}, "Added "+u.Username+" as "+u.Role+".", "")
}

func (a *AccountPages) disableUser(c echo.Context) error { return a.setDisabled(c, true) }
func (a *AccountPages) enableUser(c echo.Context) error  { return a.setDisabled(c, false) }

func (a *AccountPages) setDisabled(c echo.Context, disabled bool) error {
	if err := a.Web.Accounts.SetDisabled(c.Request().Context(), ActorOf(c), c.Param("name"), disabled); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/users")
}

func (a *AccountPages) audit(c echo.Context) error {
	entries, err := a.Web.Accounts.AuditLog(c.Request().Context(), 500)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "audit", a.Site.Page(c, "Audit log", struct{ Entries []account.Entry }{entries}))
}
