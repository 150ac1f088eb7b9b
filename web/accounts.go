package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"chancery/shared/account"
	"chancery/shared/i18n"
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
	g.POST("/account/language", a.setLanguage, RequireLogin)
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
	p := a.Site.Page(c, "login.title", d)
	p.Notice = T(c, "login.kept")
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
	return c.Render(http.StatusOK, "login", a.Site.Page(c, "login.title", loginData{Next: c.QueryParam("next")}))
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
		status, msg := StatusOf(c, err)
		if status >= 500 {
			return err
		}
		p := a.Site.Page(c, "login.title", loginData{Next: next, Username: username, KeptTo: keptTo, Kept: fields(kept)})
		p.Error = msg
		return c.Render(status, "login", p)
	}
	if keptTo != "" && len(kept) > 0 {
		// Send what was kept, under the new session: the page posts it
		// at once (or with one click, without script).
		return c.Render(http.StatusOK, "resume", a.Site.Page(c, "resume.title", loginData{KeptTo: SafeNext(keptTo), Kept: fields(kept)}))
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
	p := a.Site.Page(c, "users.title", usersData{Users: list, Roles: a.Web.Accounts.Roles(), Form: form})
	p.Flash, p.Error = flash, failure
	return c.Render(status, "users", p)
}

func (a *AccountPages) createUser(c echo.Context) error {
	form := userForm{Username: c.FormValue("username"), DisplayName: c.FormValue("display_name"), Role: c.FormValue("role")}
	u, err := a.Web.Accounts.CreateUser(c.Request().Context(), ActorOf(c), form.Username, form.DisplayName, form.Role, c.FormValue("password"))
	if err != nil {
		if code := problem.CodeOf(err); code == problem.Invalid || code == problem.Conflict {
			status, msg := StatusOf(c, err)
			return a.renderUsers(c, status, form, "", msg)
		}
		return err
	}
	return a.renderUsers(c, http.StatusOK, userForm{Role: a.DefaultRole}, T(c, "users.added", "User", u.Username, "Role", i18n.Key("role."+u.Role)), "")
}

// accountPage is a person's own account: who they are, their role, and
// the form to change their password.
func (a *AccountPages) accountPage(c echo.Context) error {
	return a.renderAccount(c, http.StatusOK, "")
}

func (a *AccountPages) renderAccount(c echo.Context, status int, failure string) error {
	p := a.Site.Page(c, "account.title", struct{ Languages []Language }{Languages()})
	if Flash(c) == "password" {
		p.Flash = T(c, "account.password_changed")
	}
	if Flash(c) == "language" {
		p.Flash = T(c, "account.lang_saved")
	}
	p.Error = failure
	return c.Render(status, "account", p)
}

func (a *AccountPages) changePassword(c echo.Context) error {
	u, _ := CurrentUser(c)
	next := c.FormValue("new")
	if next != c.FormValue("repeat") {
		return a.renderAccount(c, http.StatusBadRequest, T(c, "account.differ"))
	}
	if err := a.Web.Accounts.ChangePassword(c.Request().Context(), ActorOf(c), c.FormValue("current"), next); err != nil {
		status, msg := StatusOf(c, err)
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

// setLanguage saves the language the person reads Chancery in.
func (a *AccountPages) setLanguage(c echo.Context) error {
	u, _ := CurrentUser(c)
	if err := a.Web.Accounts.SetLanguage(c.Request().Context(), ActorOf(c), u.Username, c.FormValue("lang")); err != nil {
		status, msg := StatusOf(c, err)
		if status >= 500 {
			return err
		}
		return a.renderAccount(c, status, msg)
	}
	SetFlash(c, "language")
	return c.Redirect(http.StatusSeeOther, "/account")
}

func (a *AccountPages) setRole(c echo.Context) error {
	name, role := c.Param("name"), c.FormValue("role")
	if err := a.Web.Accounts.SetRole(c.Request().Context(), ActorOf(c), name, role); err != nil {
		if code := problem.CodeOf(err); code == problem.Invalid || code == problem.Conflict || code == problem.NotFound {
			status, msg := StatusOf(c, err)
			return a.renderUsers(c, status, userForm{Role: a.DefaultRole}, "", msg)
		}
		return err
	}
	return a.renderUsers(c, http.StatusOK, userForm{Role: a.DefaultRole}, T(c, "users.role_set", "User", name, "Role", i18n.Key("role."+role)), "")
}

// resetPassword gives an account a new password, made here and shown
// once, for a person who forgot theirs; their sessions end.
func (a *AccountPages) resetPassword(c echo.Context) error {
	name := c.Param("name")
	if u, _ := CurrentUser(c); u.Username == name {
		return a.renderUsers(c, http.StatusConflict, userForm{Role: a.DefaultRole}, "", T(c, "users.own_password"))
	}
	password := account.GeneratePassword()
	if err := a.Web.Accounts.SetPassword(c.Request().Context(), ActorOf(c), name, password); err != nil {
		if code := problem.CodeOf(err); code == problem.NotFound {
			status, msg := StatusOf(c, err)
			return a.renderUsers(c, status, userForm{Role: a.DefaultRole}, "", msg)
		}
		return err
	}
	return a.renderUsers(c, http.StatusOK, userForm{Role: a.DefaultRole}, T(c, "users.new_password", "User", name, "Password", password), "")
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
	return c.Render(http.StatusOK, "audit", a.Site.Page(c, "audit.title", struct{ Entries []account.Entry }{entries}))
}
