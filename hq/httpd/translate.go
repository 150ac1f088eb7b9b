package httpd

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"chancery/hq/store"
	"chancery/shared/framework"
	"chancery/shared/i18n"
	"chancery/shared/problem"
	"chancery/web"
)

// The framework's translation: a publisher puts the framework in force
// into one more language, field by field beside the framework's own
// words, reviews which fields change and which missions receive it, and
// publishes it as the next version, the same framework with that text.

// translateForm is the translation page's state.
type translateForm struct {
	Base      int
	Lang      string // the language translated into
	LangName  string
	Title     field
	Areas     []textRow
	Models    []textRow
	Items     []textRow
	Problems  []string
	ScopeKind string
	Region    string
	Missions  string
	Regions   []string
	Review    *translateReview
}

// field is one translated field beside the words it translates.
type field struct {
	Name, Own, Text string
}

// textRow is an area, a model or an item, with its fields.
type textRow struct {
	ID, Lang string
	Fields   []field
}

type translateReview struct {
	Changed []field // the fields whose translation changes, with their new text
	Reach   []store.Mission
	Scope   string
}

// translation lays out cur's words and its text in lang as the form's
// fields; v, if given, holds what the person typed.
func translation(cur *framework.Framework, lang string, v url.Values) (translateForm, framework.Text) {
	t := cur.Text[lang]
	get := func(name, have string) string {
		if v == nil {
			return have
		}
		return strings.TrimSpace(strings.ReplaceAll(v.Get(name), "\r\n", "\n"))
	}
	f := translateForm{Base: cur.Version, Lang: lang, LangName: i18n.For(lang).T("lang.name")}
	f.Title = field{"title", cur.Title, get("title", t.Title)}
	next := framework.Text{Title: f.Title.Text, Areas: map[string]framework.AreaText{}, Models: map[string]framework.ModelText{}, Items: map[string]framework.ItemText{}}
	for _, a := range cur.Areas {
		at := t.Areas[a.ID]
		row := textRow{ID: a.ID, Lang: lang, Fields: []field{
			{"area." + a.ID + ".name", a.Name, get("area."+a.ID+".name", at.Name)},
			{"area." + a.ID + ".question", a.Question, get("area."+a.ID+".question", at.Question)}}}
		f.Areas = append(f.Areas, row)
		if x := (framework.AreaText{Name: row.Fields[0].Text, Question: row.Fields[1].Text}); x != (framework.AreaText{}) {
			next.Areas[a.ID] = x
		}
	}
	for _, m := range cur.Models {
		mt := t.Models[m.ID]
		row := textRow{ID: m.ID, Lang: lang, Fields: []field{
			{"model." + m.ID + ".name", m.Name, get("model."+m.ID+".name", mt.Name)},
			{"model." + m.ID + ".solves", m.Solves, get("model."+m.ID+".solves", mt.Solves)},
			{"model." + m.ID + ".risk", m.Risk, get("model."+m.ID+".risk", mt.Risk)}}}
		f.Models = append(f.Models, row)
		if x := (framework.ModelText{Name: row.Fields[0].Text, Solves: row.Fields[1].Text, Risk: row.Fields[2].Text}); x != (framework.ModelText{}) {
			next.Models[m.ID] = x
		}
	}
	for _, it := range slices.Concat(cur.Items, cur.Ministry) {
		tt := t.Items[it.ID]
		row := textRow{ID: it.ID, Lang: lang, Fields: []field{
			{"item." + it.ID + ".question", it.Question, get("item."+it.ID+".question", tt.Question)},
			{"item." + it.ID + ".guidance", it.Guidance, get("item."+it.ID+".guidance", tt.Guidance)},
			{"item." + it.ID + ".evidence", it.Evidence, get("item."+it.ID+".evidence", tt.Evidence)}}}
		x := framework.ItemText{Question: row.Fields[0].Text, Guidance: row.Fields[1].Text, Evidence: row.Fields[2].Text}
		for lv, words := range it.Rubric {
			have := ""
			if lv < len(tt.Rubric) {
				have = tt.Rubric[lv]
			}
			name := fmt.Sprintf("item.%s.rubric.%d", it.ID, lv)
			row.Fields = append(row.Fields, field{name, words, get(name, have)})
			x.Rubric = append(x.Rubric, row.Fields[len(row.Fields)-1].Text)
		}
		if !slices.ContainsFunc(x.Rubric, func(s string) bool { return s != "" }) {
			x.Rubric = nil
		}
		f.Items = append(f.Items, row)
		if x.Question != "" || x.Guidance != "" || x.Evidence != "" || x.Rubric != nil {
			next.Items[it.ID] = x
		}
	}
	return f, next
}

// translatable reports whether lang is a language the framework can be
// translated into here: a shipped one, not the framework's own.
func translatable(cur *framework.Framework, lang string) bool {
	return i18n.Supported(lang) && lang != cur.Language()
}

func (h *handler) translatePage(c echo.Context) error {
	cat, err := h.Store.Catalog(c.Request().Context())
	if err != nil {
		return err
	}
	cur := cat.Framework()
	lang := c.QueryParam("lang")
	if !translatable(cur, lang) {
		return problem.New(problem.Invalid, "translate.bad_lang", "Lang", lang)
	}
	f, _ := translation(cur, lang, nil)
	f.Regions = h.regions(c)
	return c.Render(http.StatusOK, "framework-translate", h.page(c, "translate.title", f))
}

// translate takes the translation form: "review" previews the fields that
// change and the missions reached, "publish" publishes the next version
// with the text once the person confirmed how many missions it reaches.
func (h *handler) translate(c echo.Context) error {
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	cat, err := h.Store.Catalog(ctx)
	if err != nil {
		return err
	}
	cur := cat.Framework()
	lang := form.Get("lang")
	if !translatable(cur, lang) {
		return problem.New(problem.Invalid, "translate.bad_lang", "Lang", lang)
	}
	f, text := translation(cur, lang, form)
	f.ScopeKind, f.Region, f.Missions, f.Regions = form.Get("scope"), form.Get("region"), form.Get("missions"), h.regions(c)
	render := func(status int) error {
		return c.Render(status, "framework-translate", h.page(c, "translate.title", f))
	}
	if base, _ := strconv.Atoi(form.Get("base")); base != cur.Version {
		// The page was made from another version: show this one's words.
		f, _ = translation(cur, lang, nil)
		f.Regions = h.regions(c)
		f.Problems = append(f.Problems, web.T(c, "fw_edit.published_meanwhile", "Version", cur.Version))
		return render(http.StatusConflict)
	}
	next := *cur
	next.Version = cur.Version + 1
	next.Text = maps.Clone(cur.Text)
	if next.Text == nil {
		next.Text = map[string]framework.Text{}
	}
	next.Text[lang] = text
	rv := &translateReview{}
	old, _ := translation(cur, lang, nil)
	for i, rows := range [][]textRow{f.Areas, f.Models, f.Items} {
		was := [][]textRow{old.Areas, old.Models, old.Items}[i]
		for j, r := range rows {
			for k, fl := range r.Fields {
				if fl.Text != was[j].Fields[k].Text {
					rv.Changed = append(rv.Changed, fl)
				}
			}
		}
	}
	if f.Title.Text != old.Title.Text {
		rv.Changed = append([]field{f.Title}, rv.Changed...)
	}
	if err := next.Validate(); err != nil {
		f.Problems = append(f.Problems, err.Error())
		return render(http.StatusBadRequest)
	}
	scope, bad := chosenScope(c, f.ScopeKind, f.Region, f.Missions)
	if bad != "" {
		f.Problems = append(f.Problems, bad)
		return render(http.StatusBadRequest)
	}
	if rv.Reach, err = h.reach(ctx, scope); err != nil {
		return err
	}
	rv.Scope = scope
	f.Review = rv
	if form.Get("action") != "publish" {
		return render(http.StatusOK)
	}
	if len(rv.Changed) == 0 {
		f.Problems = append(f.Problems, web.T(c, "translate.nothing"))
		return render(http.StatusBadRequest)
	}
	if status, bad := h.publishReviewed(c, &next, scope, len(rv.Reach)); bad != "" {
		f.Problems = append(f.Problems, bad)
		return render(status)
	}
	return c.Redirect(http.StatusSeeOther, "/library/framework")
}
