package httpd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"chancery/hq/rollout"
	"chancery/hq/store"
	"chancery/shared/problem"
	"chancery/shared/protocol"
	"chancery/web"
)

// The library: the protocols HQ publishes, their versions, and the ledger
// of each version's rollout.

func (h *handler) library(c echo.Context) error {
	all, err := h.Store.Publications(c.Request().Context(), "")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var latest []store.Publication
	for _, p := range all {
		if !seen[p.Doc.ID] {
			seen[p.Doc.ID] = true
			latest = append(latest, p)
		}
	}
	u, _ := web.CurrentUser(c)
	return c.Render(http.StatusOK, "library", h.page(c, "Protocols", struct {
		Latest     []store.Publication
		CanPublish bool
	}{latest, has(canPublish, u.Role)}))
}

type ledgerData struct {
	Pub        store.Publication
	HTML       template.HTML
	Versions   []store.Publication
	Rows       []rollout.Row
	Counts     map[string]int
	CanPublish bool
}

func (h *handler) libraryDoc(c echo.Context) error {
	ctx := c.Request().Context()
	versions, err := h.Store.Publications(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		return problem.Errorf(problem.NotFound, "HQ has published no protocol %q.", c.Param("id"))
	}
	p := versions[0]
	body, err := protocol.HTML(p.Doc.Body)
	if err != nil {
		return err
	}
	missions, err := h.Store.Missions(ctx)
	if err != nil {
		return err
	}
	updates, err := h.Store.MissionUpdates(ctx)
	if err != nil {
		return err
	}
	acks, err := h.Store.AckCounts(ctx, p.Doc.ID, p.Doc.Version)
	if err != nil {
		return err
	}
	rows := rollout.Ledger(p, missions, updates, acks, h.Store.Now())
	u, _ := web.CurrentUser(c)
	pg := h.page(c, p.Doc.Title, ledgerData{Pub: p, HTML: body, Versions: versions, Rows: rows, Counts: rollout.Count(rows), CanPublish: has(canPublish, u.Role)})
	if web.Flash(c) == "published" {
		pg.Flash = "Published. Missions in scope receive it with their next sync."
	}
	return c.Render(http.StatusOK, "library-doc", pg)
}

type publishForm struct {
	ID, Title, Category, Body, Note string
	ScopeKind, Region, Missions     string
	New                             bool
	Regions                         []string
	// Review is what publishing would do, shown before it is done.
	Review *publishReview
}

// publishReview is what a publication changes and whom it reaches.
// Digest names the reviewed text and scope: what is published must be
// what was reviewed.
type publishReview struct {
	Lines   []protocol.Line
	Version int
	Reach   []store.Mission
	Scope   string
	Digest  string
}

func (h *handler) regions(c echo.Context) []string {
	ms, _ := h.Store.Missions(c.Request().Context())
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if m.Region != "" && !seen[m.Region] {
			seen[m.Region] = true
			out = append(out, m.Region)
		}
	}
	return out
}

func (h *handler) publishPage(c echo.Context) error {
	f := publishForm{New: c.Param("id") == "", Regions: h.regions(c)}
	if !f.New {
		versions, err := h.Store.Publications(c.Request().Context(), c.Param("id"))
		if err != nil {
			return err
		}
		if len(versions) == 0 {
			return problem.Errorf(problem.NotFound, "HQ has published no protocol %q.", c.Param("id"))
		}
		d := versions[0].Doc
		f.ID, f.Title, f.Category, f.Body = d.ID, d.Title, d.Category, d.Body
	}
	return c.Render(http.StatusOK, "library-edit", h.page(c, "Publish", f))
}

func (h *handler) publish(c echo.Context) error {
	f := publishForm{ID: strings.TrimSpace(c.FormValue("id")), Title: strings.TrimSpace(c.FormValue("title")), Category: strings.TrimSpace(c.FormValue("category")),
		Body: strings.ReplaceAll(c.FormValue("body"), "\r\n", "\n"), Note: strings.TrimSpace(c.FormValue("note")),
		ScopeKind: c.FormValue("scope"), Region: c.FormValue("region"), Missions: c.FormValue("missions"), New: c.Param("id") == "", Regions: h.regions(c)}
	if !f.New {
		f.ID = c.Param("id")
	}
	scope := scopeOf(f.ScopeKind, f.Region, f.Missions)
	if f.New {
		if existing, err := h.Store.Publications(c.Request().Context(), f.ID); err == nil && len(existing) > 0 {
			return h.publishRefused(c, f, problem.Errorf(problem.Conflict, "There is already a protocol %q; publish a new version of it instead.", f.ID))
		}
	}
	doc := protocol.Document{ID: f.ID, Title: f.Title, Category: f.Category, Body: f.Body, Note: f.Note}
	if f.ScopeKind == "" {
		return h.publishRefused(c, f, problem.Errorf(problem.Invalid, "Choose which missions receive it: all, a region, or a list."))
	}
	if err := store.CheckScope(scope); err != nil {
		return h.publishRefused(c, f, err)
	}
	checked := doc
	checked.Version = 1 // the store numbers it; the rest is checked now, before the review
	if err := checked.Check(); err != nil {
		return h.publishRefused(c, f, problem.Errorf(problem.Invalid, "The %s.", strings.TrimPrefix(err.Error(), "protocol ")))
	}
	rv, err := h.reviewPublication(c, doc, scope)
	if err != nil {
		return err
	}
	f.Review = rv
	if c.FormValue("action") != "publish" || c.FormValue("reviewed") != rv.Digest || c.FormValue("confirm") != strconv.Itoa(len(rv.Reach)) {
		p := h.page(c, "Publish", f)
		status := http.StatusOK
		if c.FormValue("action") == "publish" {
			status = http.StatusBadRequest
			p.Error = fmt.Sprintf("Confirm the publication: tick the box that names the %d missions it reaches, then publish. If you changed the text or the scope, review it again. Nothing was published.", len(rv.Reach))
		}
		return c.Render(status, "library-edit", p)
	}
	if _, err := h.Store.Publish(c.Request().Context(), web.ActorOf(c), doc, scope); err != nil {
		return h.publishRefused(c, f, err)
	}
	web.SetFlash(c, "published")
	return c.Redirect(http.StatusSeeOther, "/library/"+url.PathEscape(f.ID))
}

// reviewPublication says what publishing doc to scope would do: the
// lines it changes against the version in force, and the missions it
// reaches (enrolled or waiting to be, never revoked ones).
func (h *handler) reviewPublication(c echo.Context, doc protocol.Document, scope string) (*publishReview, error) {
	ctx := c.Request().Context()
	rv := &publishReview{Scope: scope, Version: 1}
	old := ""
	if versions, err := h.Store.Publications(ctx, doc.ID); err != nil {
		return nil, err
	} else if len(versions) > 0 {
		old, rv.Version = versions[0].Doc.Body, versions[0].Doc.Version+1
	}
	rv.Lines = protocol.Diff(old, doc.Body)
	missions, err := h.Store.Missions(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range missions {
		if m.State != "revoked" && store.InScope(scope, m) {
			rv.Reach = append(rv.Reach, m)
		}
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{doc.ID, doc.Title, doc.Category, doc.Body, doc.Note, scope}, "\x00")))
	rv.Digest = hex.EncodeToString(sum[:12])
	return rv, nil
}

func (h *handler) publishRefused(c echo.Context, f publishForm, err error) error {
	status, msg := web.StatusOf(err)
	if status >= 500 {
		return err
	}
	p := h.page(c, "Publish", f)
	p.Error = msg + " Nothing was published."
	return c.Render(status, "library-edit", p)
}

// scopeOf turns the form's choice into a scope.
func scopeOf(kind, region, missions string) string {
	switch kind {
	case "region":
		return "region:" + region
	case "missions":
		return "missions:" + strings.Join(strings.Fields(strings.ReplaceAll(strings.ToUpper(missions), ",", " ")), ",")
	}
	return kind
}
