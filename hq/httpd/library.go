package httpd

import (
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
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
	translations, err := h.translations(c)
	if err != nil {
		return err
	}
	return c.Render(http.StatusOK, "library", h.page(c, "protocols.title", struct {
		Latest       []store.Publication
		CanPublish   bool
		Translations []translationState
	}{latest, has(canPublish, u.Role), translations}))
}

// translations lists the languages the framework in force can be
// translated into here, with what is left to translate in each.
func (h *handler) translations(c echo.Context) ([]translationState, error) {
	cat, err := h.Store.Catalog(c.Request().Context())
	if err != nil {
		return nil, err
	}
	cur := cat.Framework()
	var out []translationState
	for _, l := range web.Languages() {
		if translatable(cur, l.Tag) {
			out = append(out, translationState{l.Tag, l.Name, len(cur.Untranslated(l.Tag))})
		}
	}
	return out, nil
}

type ledgerData struct {
	Pub store.Publication
	// Translations, for the framework, are the languages it can be
	// translated into here, with how many fields lack a translation.
	Translations []translationState
	HTML         template.HTML
	Versions     []store.Publication
	Rows         []rollout.Row
	Counts       map[string]int
	CanPublish   bool
}

func (h *handler) libraryDoc(c echo.Context) error {
	ctx := c.Request().Context()
	versions, err := h.Store.Publications(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		return problem.New(problem.NotFound, "library.no_protocol", "ID", c.Param("id"))
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
	d := ledgerData{Pub: p, HTML: body, Versions: versions, Rows: rows, Counts: rollout.Count(rows), CanPublish: has(canPublish, u.Role)}
	if p.Kind == store.KindFramework {
		if d.Translations, err = h.translations(c); err != nil {
			return err
		}
	}
	pg := h.page(c, "protocols.title", d)
	if web.Flash(c) == "published" {
		pg.Flash = web.T(c, "library.published")
	}
	return c.Render(http.StatusOK, "library-doc", pg)
}

type publishForm struct {
	ID, Title, Category, Body, Note string
	// Texts are the protocol in the other shipped languages; a language
	// left blank is read in the protocol's own.
	Texts                       []langText
	ScopeKind, Region, Missions string
	New                         bool
	Regions                     []string
	// Review is what publishing would do, shown before it is done.
	Review *publishReview
}

// translationState is a language the framework can be translated into,
// and how many of its fields lack a translation in it.
type translationState struct {
	Tag, Name string
	Missing   int
}

// langText is the protocol in one more language, as the form holds it.
type langText struct {
	Tag, Name             string
	Title, Category, Body string
}

// textsOf lays out a document's texts in every shipped language but its
// own, for the form.
func textsOf(d protocol.Document) []langText {
	var out []langText
	for _, l := range web.Languages() {
		if l.Tag == d.Language() {
			continue
		}
		t := langText{Tag: l.Tag, Name: l.Name}
		if in, got := d.In(l.Tag); got == l.Tag {
			t.Title, t.Category, t.Body = in.Title, in.Category, in.Body
		}
		out = append(out, t)
	}
	return out
}

// readTexts reads the form's texts; a language whose fields are all blank
// has none.
func readTexts(c echo.Context) ([]langText, map[string]protocol.Text) {
	var form []langText
	var texts map[string]protocol.Text
	for _, l := range web.Languages() {
		if l.Tag == (protocol.Document{}).Language() {
			continue
		}
		k := func(f string) string { return "text." + l.Tag + "." + f }
		t := langText{Tag: l.Tag, Name: l.Name, Title: strings.TrimSpace(c.FormValue(k("title"))), Category: strings.TrimSpace(c.FormValue(k("category"))),
			Body: strings.ReplaceAll(c.FormValue(k("body")), "\r\n", "\n")}
		form = append(form, t)
		if t.Title == "" && t.Category == "" && strings.TrimSpace(t.Body) == "" {
			continue
		}
		if texts == nil {
			texts = map[string]protocol.Text{}
		}
		texts[l.Tag] = protocol.Text{Title: t.Title, Category: t.Category, Body: t.Body}
	}
	return form, texts
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
			return problem.New(problem.NotFound, "library.no_protocol", "ID", c.Param("id"))
		}
		d := versions[0].Doc
		f.ID, f.Title, f.Category, f.Body = d.ID, d.Title, d.Category, d.Body
		f.Texts = textsOf(d)
	} else {
		f.Texts = textsOf(protocol.Document{})
	}
	return c.Render(http.StatusOK, "library-edit", h.page(c, "library.publish_title", f))
}

func (h *handler) publish(c echo.Context) error {
	f := publishForm{ID: strings.TrimSpace(c.FormValue("id")), Title: strings.TrimSpace(c.FormValue("title")), Category: strings.TrimSpace(c.FormValue("category")),
		Body: strings.ReplaceAll(c.FormValue("body"), "\r\n", "\n"), Note: strings.TrimSpace(c.FormValue("note")),
		ScopeKind: c.FormValue("scope"), Region: c.FormValue("region"), Missions: c.FormValue("missions"), New: c.Param("id") == "", Regions: h.regions(c)}
	if !f.New {
		f.ID = c.Param("id")
	}
	var texts map[string]protocol.Text
	f.Texts, texts = readTexts(c)
	scope := scopeOf(f.ScopeKind, f.Region, f.Missions)
	if f.New {
		if existing, err := h.Store.Publications(c.Request().Context(), f.ID); err == nil && len(existing) > 0 {
			return h.publishRefused(c, f, problem.New(problem.Conflict, "library.exists", "ID", f.ID))
		}
	}
	doc := protocol.Document{ID: f.ID, Title: f.Title, Category: f.Category, Body: f.Body, Note: f.Note, Text: texts}
	if f.ScopeKind == "" {
		return h.publishRefused(c, f, problem.New(problem.Invalid, "library.choose_scope"))
	}
	if err := store.CheckScope(scope); err != nil {
		return h.publishRefused(c, f, err)
	}
	checked := doc
	checked.Version = 1 // the store numbers it; the rest is checked now, before the review
	if err := checked.Check(); err != nil {
		return h.publishRefused(c, f, err)
	}
	rv, err := h.reviewPublication(c, doc, scope)
	if err != nil {
		return err
	}
	f.Review = rv
	if c.FormValue("action") != "publish" || c.FormValue("reviewed") != rv.Digest || c.FormValue("confirm") != strconv.Itoa(len(rv.Reach)) {
		p := h.page(c, "library.publish_title", f)
		status := http.StatusOK
		if c.FormValue("action") == "publish" {
			status = http.StatusBadRequest
			p.Error = web.T(c, "library.confirm", "Count", len(rv.Reach))
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
	var err error
	if rv.Reach, err = h.reach(ctx, scope); err != nil {
		return nil, err
	}
	parts := []string{doc.ID, doc.Title, doc.Category, doc.Body, doc.Note, scope}
	for _, l := range slices.Sorted(maps.Keys(doc.Text)) {
		t := doc.Text[l]
		parts = append(parts, l, t.Title, t.Category, t.Body)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	rv.Digest = hex.EncodeToString(sum[:12])
	return rv, nil
}

func (h *handler) publishRefused(c echo.Context, f publishForm, err error) error {
	status, msg := web.StatusOf(c, err)
	if status >= 500 {
		return err
	}
	p := h.page(c, "library.publish_title", f)
	p.Error = web.T(c, "library.not_published", "Why", msg)
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
