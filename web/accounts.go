package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

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
	a.Web.Resume = a.resume
	g.GET("/login", a.loginPage)
	g.POST("/login", a.login)
	g.POST("/logout", a.logout)
	g.GET("/audit", a.audit, RequireRole(audit...))
	g.GET("/users", a.users, RequireRole(manage...))
	g.POST("/users", a.createUser, RequireRole(manage...))
	g.GET("/account", a.accountPage, RequireLogin)
	g.POST("/account/password", a.changePassword, RequireLogin)
	g.POST("/users/:name/role", a.setRole, RequireRole(manage...))
	g.POST("/users/:name/password", a.resetPassword, RequireRole(manage...))
	g.POST("/users/:name/disable", a.disableUser, RequireRole(manage...))
	g.POST("/users/:name/enable", a.enableUser, RequireRole(manage...))
}

type loginData struct {
	Next, Username string
	// Kept is a form sent after the session ended, to send once the
	// person has logged in again; KeptTo is where it goes.
	KeptTo string
	Kept   []field
}

type field struct{ Name, Value string }

// resume answers a form sent after the session ended: the login page,
// holding what was sent, so that logging in again sends it.
func (a *AccountPages) resume(c echo.Context, to string, form url.Values) error {
	d := loginData{KeptTo: SafeNext(to), Kept: fields(form)}
	p := a.Site.Page(c, "Log in", d)
	p.Notice = "Your session ended before this was saved. Nothing you typed is lost: log in again and it is sent."
	return c.Render(http.StatusUnauthorized, "login", p)
}

// fields lists a form's values in a stable order.
func fields(form url.Values) []field {
	var out []field
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range form[k] {
			out = append(out, field{k, v})
		}
	}
	return out
}

func (a *AccountPages) loginPage(c echo.Context) error {
	if _, ok := CurrentUser(c); ok {
		return c.Redirect(http.StatusSeeOther, SafeNext(c.QueryParam("next")))
	}
	return c.Render(http.StatusOK, "login", a.Site.Page(c, "Log in", loginData{Next: c.QueryParam("next")}))
}

func (a *AccountPages) login(c echo.Context) error {
	username, next := c.FormValue("username"), c.FormValue("next")
	form, _ := c.FormParams()
	kept := url.Values{}
	for k, vs := range form {
		if name, ok := strings.CutPrefix(k, "kept."); ok {
			kept[name] = vs
		}
	}
	keptTo := c.FormValue("kept_to")
	if _, err := a.Web.LogIn(c, username, c.FormValue("password")); err != nil {
		status, msg := StatusOf(err)
		if status >= 500 {
			return err
		}
		p := a.Site.Page(c, "Log in", loginData{Next: next, Username: username, KeptTo: keptTo, Kept: fields(kept)})
		p.Error = msg
		return c.Render(status, "login", p)
	}
	if keptTo != "" && len(kept) > 0 {
		// Send what was kept, under the new session: the page posts it
		// at once (or with one click, without script).
		return c.Render(http.StatusOK, "resume", a.Site.Page(c, "Sending what you saved", loginData{KeptTo: SafeNext(keptTo), Kept: fields(kept)}))
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

// accountPage is a person's own account: who they are, their role, and
// the form to change their password.
func (a *AccountPages) accountPage(c echo.Context) error {
	return a.renderAccount(c, http.StatusOK, "")
}

func (a *AccountPages) renderAccount(c echo.Context, status int, failure string) error {
	p := a.Site.Page(c, "Your account", nil)
	if Flash(c) == "password" {
		p.Flash = "Your password is changed. Your other sessions have ended; this one goes on."
	}
	p.Error = failure
	return c.Render(status, "account", p)
}

func (a *AccountPages) changePassword(c echo.Context) error {
	u, _ := CurrentUser(c)
	next := c.FormValue("new")
	if next != c.FormValue("repeat") {
		return a.renderAccount(c, http.StatusBadRequest, "The new password and its repetition differ. Nothing was changed.")
	}
	if err := a.Web.Accounts.ChangePassword(c.Request().Context(), ActorOf(c), c.FormValue("current"), next); err != nil {
		status, msg := StatusOf(err)
		if status >= 500 {
			return err
		}
		return a.renderAccount(c, status, msg)
	}
	// Every session ended with the change; this browser gets a new one.
	if _, err := a.Web.LogIn(c, u.Username, next); err != nil {
		return err
	}
	SetFlash(c, "password")
	return c.Redirect(http.StatusSeeOther, "/account")
}

func (a *AccountPages) setRole(c echo.Context) error {
	name, role := c.Param("name"), c.FormValue("role")
	if err := a.Web.Accounts.SetRole(c.Request().Context(), ActorOf(c), name, role); err != nil {
		if code := problem.CodeOf(err); code == problem.Invalid || code == problem.Conflict || code == problem.NotFound {
			status, msg := StatusOf(err)
			return a.renderUsers(c, status, userForm{Role: a.DefaultRole}, "", msg)
		}
		return err
	}
	return a.renderUsers(c, http.StatusOK, userForm{Role: a.DefaultRole}, name+" is now "+role+"; it takes effect on their next page.", "")
}

// resetPassword gives an account a new password, made here and shown
// once, for a person who forgot theirs; their sessions end.
func (a *AccountPages) resetPassword(c echo.Context) error {
	name := c.Param("name")
	if u, _ := CurrentUser(c); u.Username == name {
		return a.renderUsers(c, http.StatusConflict, userForm{Role: a.DefaultRole}, "", "To change your own password, use Your account, which asks for the present one.")
	}
	password := account.GeneratePassword()
	if err := a.Web.Accounts.SetPassword(c.Request().Context(), ActorOf(c), name, password); err != nil {
		if code := problem.CodeOf(err); code == problem.NotFound {
			status, msg := StatusOf(err)
			return a.renderUsers(c, status, userForm{Role: a.DefaultRole}, "", msg)
		}
		return err
	}
	return a.renderUsers(c, http.StatusOK, userForm{Role: a.DefaultRole}, "New password for "+name+": "+password+" . It is shown only now: give it to them in person, and ask them to change it under Your account.", "")
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
