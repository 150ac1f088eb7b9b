package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/shared/problem"
	"chancery/web/account"
)

type userForm struct {
	Username, DisplayName, Role string
}

type usersData struct {
	Users []account.User
	Roles []string
	Form  userForm
}

func (h *handler) users(c echo.Context) error {
	return h.renderUsers(c, http.StatusOK, userForm{Role: RoleStaff}, "", "")
}

func (h *handler) renderUsers(c echo.Context, status int, form userForm, flash, failure string) error {
	list, err := h.Accounts.Users(c.Request().Context())
	if err != nil {
		return err
	}
	p := h.page(c, "Users", usersData{Users: list, Roles: Roles, Form: form})
	p.Flash, p.Error = flash, failure
	return c.Render(status, "users", p)
}

func (h *handler) createUser(c echo.Context) error {
	form := userForm{Username: c.FormValue("username"), DisplayName: c.FormValue("display_name"), Role: c.FormValue("role")}
	u, err := h.Accounts.CreateUser(c.Request().Context(), account.ActorOf(c), form.Username, form.DisplayName, form.Role, c.FormValue("password"))
	if err != nil {
		if code := problem.CodeOf(err); code == problem.Invalid || code == problem.Conflict {
			status, msg := statusOf(err)
			return h.renderUsers(c, status, form, "", msg)
		}
		return err
	}
	return h.renderUsers(c, http.StatusOK, userForm{Role: RoleStaff}, "Added "+u.Username+" as "+u.Role+".", "")
}

func (h *handler) disableUser(c echo.Context) error { return h.setDisabled(c, true) }
func (h *handler) enableUser(c echo.Context) error  { return h.setDisabled(c, false) }

func (h *handler) setDisabled(c echo.Context, disabled bool) error {
	if err := h.Accounts.SetDisabled(c.Request().Context(), account.ActorOf(c), c.Param("name"), disabled); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/users")
}

func (h *handler) audit(c echo.Context) error {
	entries, err := h.Accounts.AuditLog(c.Request().Context(), 500)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "audit", h.page(c, "Audit log", struct{ Entries []account.Entry }{entries}))
}
