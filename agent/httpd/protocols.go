package httpd

import (
	"cmp"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/agent/store"
	"chancery/shared/account"
	"chancery/shared/problem"
	"chancery/shared/protocol"
	"chancery/web"
)

type shelfGroup struct {
	Category string
	Items    []store.Shelf
}

// protocols lists the library by category, or the results of a search.
func (h *handler) protocols(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := web.CurrentUser(c)
	lib, err := h.Store.Library(ctx, u.Username)
	if err != nil {
		return err
	}
	lang := web.Lang(c)
	titles := map[string]string{}
	for i, s := range lib {
		doc, _ := s.In(lang)
		lib[i].Title, lib[i].Category = doc.Title, doc.Category
		titles[s.ID] = doc.Title
	}
	slices.SortStableFunc(lib, func(a, b store.Shelf) int {
		return cmp.Or(strings.Compare(a.Category, b.Category), strings.Compare(a.Title, b.Title))
	})
	var groups []shelfGroup
	unread := 0
	for _, s := range lib {
		if len(groups) == 0 || groups[len(groups)-1].Category != s.Category {
			groups = append(groups, shelfGroup{Category: s.Category})
		}
		groups[len(groups)-1].Items = append(groups[len(groups)-1].Items, s)
		if !s.Acked {
			unread++
		}
	}
	q := c.QueryParam("q")
	var hits []store.Hit
	if q != "" {
		if hits, err = h.Store.Search(ctx, q); err != nil {
			return err
		}
		for i := range hits {
			hits[i].Title = cmp.Or(titles[hits[i].ID], hits[i].Title)
		}
	}
	return c.Render(http.StatusOK, "protocols", h.page(c, "protocols.title", struct {
		Groups []shelfGroup
		Unread int
		Query  string
		Hits   []store.Hit
	}{groups, unread, q, hits}))
}

type ackRow struct {
	User  account.User
	At    time.Time
	Acked bool
}

type protocolData struct {
	Doc      protocol.Document
	DocLang  string // the language the document is shown in
	HTML     template.HTML
	Versions []protocol.Document
	MyAck    *time.Time
	Acks     []ackRow
	Missing  int
	CanSee   bool
}

func (h *handler) protocol(c echo.Context) error {
	ctx := c.Request().Context()
	versions, err := h.Store.Versions(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	doc, docLang := versions[0].In(web.Lang(c))
	body, err := protocol.HTML(doc.Body)
	if err != nil {
		return err
	}
	acks, err := h.Store.Acks(ctx, doc.ID, doc.Version)
	if err != nil {
		return err
	}
	u, _ := web.CurrentUser(c)
	d := protocolData{Doc: doc, DocLang: docLang, HTML: body, Versions: versions, CanSee: has(canAudit, u.Role)}
	if at, ok := acks[u.Username]; ok {
		d.MyAck = &at
	}
	if d.CanSee {
		users, err := h.Accounts.Users(ctx)
		if err != nil {
			return err
		}
		for _, x := range users {
			if x.Disabled {
				continue
			}
			at, ok := acks[x.Username]
			d.Acks = append(d.Acks, ackRow{x, at, ok})
			if !ok {
				d.Missing++
			}
		}
	}
	p := h.page(c, "protocols.title", d)
	if web.Flash(c) == "acked" {
		p.Flash = web.T(c, "protocol.ack_flash", "Version", doc.Version)
	}
	return c.Render(http.StatusOK, "protocol", p)
}

func (h *handler) acknowledge(c echo.Context) error {
	id := c.Param("id")
	v, err := strconv.Atoi(c.FormValue("version"))
	if err != nil {
		return problem.New(problem.Invalid, "protocol.no_version")
	}
	if err := h.Store.Acknowledge(c.Request().Context(), web.ActorOf(c), id, v); err != nil {
		return err
	}
	web.SetFlash(c, "acked")
	return c.Redirect(http.StatusSeeOther, "/protocols/"+url.PathEscape(id))
}

// changes shows what a version changed from an earlier one.
func (h *handler) protocolChanges(c echo.Context) error {
	versions, err := h.Store.Versions(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	to := versions[0]
	from := to
	if len(versions) > 1 {
		from = versions[1]
	}
	if n, err := strconv.Atoi(c.QueryParam("from")); err == nil {
		for _, v := range versions {
			if v.Version == n {
				from = v
			}
		}
	}
	// Both versions are compared in the reader's language when both have
	// it, else in their own.
	lang := web.Lang(c)
	if a, la := from.In(lang); la == lang {
		if b, lb := to.In(lang); lb == lang {
			from, to = a, b
		}
	}
	return c.Render(http.StatusOK, "protocol-changes", h.page(c, "changes.title", struct {
		From, To protocol.Document
		Lines    []protocol.Line
	}{from, to, protocol.Diff(from.Body, to.Body)}))
}
