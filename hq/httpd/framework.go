package httpd

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// The framework editor: protocol owners edit the next capability
// framework version as a form — areas, models and items field by field,
// renames and removals with where the answers go — review what changes
// against the version in force and which missions will receive it, and
// confirm the publication by the number of missions it reaches. Every
// step works without JavaScript; the draft travels in the form itself.

// editForm is the editor's state, as the page shows it.
type editForm struct {
	Base    int // the version in force the draft starts from
	Version int
	Title   string
	Areas   []framework.Area
	Models  []framework.Model
	Items   []itemForm
	// Problems that are not about one item.
	Problems []string

	ScopeKind, Region, Missions string
	Regions                     []string
	// Profiles are the ministry profiles an item may be expected of.
	Profiles []string
	// Review is set once the draft is valid and a scope chosen.
	Review *review
}

// itemForm is one item's fields; Orig is its id in the version in force
// ("" for a new item).
type itemForm struct {
	Index                        int
	Orig, ID, Area               string
	Question, Guidance, Evidence string
	Weight                       int
	Models                       map[string]bool
	Addresses                    string
	// Rubric holds what each level 0–4 means for the item; Fresh is how
	// many months its evidence stays current (0: no limit); Expected, the
	// ministry profiles expected to have it (none: every one); Protocols,
	// the library protocols it asks about, comma-separated.
	Rubric    [framework.RubricLevels]string
	Fresh     int
	Expected  map[string]bool
	Protocols string
	Remove    bool
	Into      string
	Errors    map[string]string // field → what is wrong
}

// Err returns what is wrong with a field, if anything.
func (it itemForm) Err(field string) string { return it.Errors[field] }

type review struct {
	Changes []framework.Change
	Reach   []store.Mission
	Scope   string
}

// frameworkPage opens the editor on the version in force, numbered one
// above it.
func (h *handler) frameworkPage(c echo.Context) error {
	cat, err := h.Store.Catalog(c.Request().Context())
	if err != nil {
		return err
	}
	cur := cat.Framework()
	f := formOf(cur)
	f.Version = cur.Version + 1
	f.Regions = h.regions(c)
	return c.Render(http.StatusOK, "framework-edit", h.page(c, "fw_edit.title", f))
}

// formOf lays a framework version out as the editor's fields, with one
// blank item to add.
func formOf(f *framework.Framework) editForm {
	e := editForm{Base: f.Version, Version: f.Version, Title: f.Title, Areas: f.Areas, Models: f.Models, Profiles: framework.Profiles}
	for i, it := range f.Items {
		form := itemForm{Index: i, Orig: it.ID, ID: it.ID, Area: it.Area, Question: it.Question, Guidance: it.Guidance,
			Evidence: it.Evidence, Weight: it.Weight, Models: set(it.Models), Addresses: strings.Join(it.Addresses, ", "),
			Fresh: it.FreshMonths, Expected: set(it.Expected), Protocols: strings.Join(it.Protocols, ", ")}
		copy(form.Rubric[:], it.Rubric)
		e.Items = append(e.Items, form)
	}
	e.Items = append(e.Items, itemForm{Index: len(f.Items), Weight: 2, Area: f.Areas[0].ID, Models: map[string]bool{}})
	return e
}

func set(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// MaxItemID bounds an item's id.
const MaxItemID = 24

// readForm reads the editor's fields over cur, the version in force,
// into the draft framework and the form as the person left it. Problems
// found while reading are on the form.
func readForm(p *i18n.Printer, cur *framework.Framework, v url.Values) (*framework.Framework, editForm) {
	e := editForm{Base: cur.Version, Title: strings.TrimSpace(v.Get("title")), ScopeKind: v.Get("scope"), Region: v.Get("region"), Missions: v.Get("missions"), Profiles: framework.Profiles}
	e.Version, _ = strconv.Atoi(v.Get("version"))
	next := &framework.Framework{Version: e.Version, Title: e.Title, Sources: cur.Sources, Renamed: map[string]string{}}
	for i, a := range cur.Areas {
		a.Name = strings.TrimSpace(v.Get(fmt.Sprintf("area.%d.name", i)))
		a.Question = strings.TrimSpace(v.Get(fmt.Sprintf("area.%d.question", i)))
		next.Areas = append(next.Areas, a)
	}
	for i, m := range cur.Models {
		m.Name = strings.TrimSpace(v.Get(fmt.Sprintf("model.%d.name", i)))
		m.Solves = strings.TrimSpace(v.Get(fmt.Sprintf("model.%d.solves", i)))
		m.Risk = strings.TrimSpace(v.Get(fmt.Sprintf("model.%d.risk", i)))
		next.Models = append(next.Models, m)
	}
	e.Areas, e.Models = next.Areas, next.Models
	renamed := map[string]string{} // this edit's renames: old id → new id
	origOf := map[string]string{}  // a renamed item's new id → its old one
	for i := 0; ; i++ {
		k := func(f string) string { return fmt.Sprintf("item.%d.%s", i, f) }
		if _, ok := v[k("id")]; !ok {
			break
		}
		it := itemForm{Index: i, Orig: v.Get(k("orig")), ID: strings.TrimSpace(v.Get(k("id"))), Area: v.Get(k("area")),
			Question: clean(v.Get(k("question"))), Guidance: clean(v.Get(k("guidance"))), Evidence: clean(v.Get(k("evidence"))),
			Addresses: v.Get(k("addresses")), Remove: v.Get(k("remove")) != "", Into: v.Get(k("into")), Models: set(v[k("models")]), Errors: map[string]string{},
			Expected: set(v[k("expected")]), Protocols: v.Get(k("protocols"))}
		it.Weight, _ = strconv.Atoi(v.Get(k("weight")))
		it.Fresh, _ = strconv.Atoi(strings.TrimSpace(v.Get(k("fresh"))))
		for lv := range it.Rubric {
			it.Rubric[lv] = clean(v.Get(k(fmt.Sprintf("rubric.%d", lv))))
		}
		if it.Orig != "" {
			if _, err := cur.Item(it.Orig); err != nil {
				it.Orig = "" // not an item of the version in force: a new one
			}
		}
		e.Items = append(e.Items, it)
		item := &e.Items[len(e.Items)-1]
		switch {
		case it.Remove && it.Orig == "":
			continue // a new item removed before it was published
		case it.Remove:
			if it.Into == "" {
				item.Errors["into"] = p.T("fw_edit.choose_into")
			} else {
				renamed[it.Orig] = it.Into
			}
			continue
		case it.Orig == "" && it.ID == "" && it.Question == "" && it.Guidance == "" && it.Evidence == "" && it.Rubric == [framework.RubricLevels]string{}:
			continue // the blank row left blank
		case it.ID == "":
			item.Errors["id"] = p.T("fw_edit.need_id")
			continue
		case len(it.ID) > MaxItemID || strings.ContainsAny(it.ID, " \t,"):
			item.Errors["id"] = p.T("fw_edit.bad_id", "Max", MaxItemID)
			continue
		}
		if it.Orig != "" && it.Orig != it.ID {
			renamed[it.Orig] = it.ID
			origOf[it.ID] = it.Orig
		}
		addrs := strings.FieldsFunc(it.Addresses, func(r rune) bool { return r == ',' || r == ' ' })
		var models []string
		for _, m := range cur.Models {
			if it.Models[m.ID] {
				models = append(models, m.ID)
			}
		}
		fi := framework.Item{ID: it.ID, Area: it.Area, Models: models, Question: it.Question, Guidance: it.Guidance,
			Evidence: it.Evidence, Weight: it.Weight, Addresses: addrs, FreshMonths: it.Fresh,
			Protocols: strings.FieldsFunc(it.Protocols, func(r rune) bool { return r == ',' || r == ' ' })}
		if it.Rubric != [framework.RubricLevels]string{} {
			fi.Rubric = it.Rubric[:]
		}
		for _, pr := range framework.Profiles {
			if it.Expected[pr] && len(it.Expected) < len(framework.Profiles) {
				fi.Expected = append(fi.Expected, pr)
			}
		}
		next.Items = append(next.Items, fi)
	}
	// HQ's own checklist is not edited here: it goes on as it is, or as
	// the built-in one when the version in force has none.
	next.Ministry = cur.Ministry
	if len(next.Ministry) == 0 {
		next.Ministry = framework.Builtin().Ministry
	}
	// Renames from earlier versions stay, pointing where their item went.
	for o, n := range cur.Renamed {
		if to, ok := renamed[n]; ok {
			n = to
		}
		next.Renamed[o] = n
	}
	for o, n := range renamed {
		next.Renamed[o] = n
	}
	if len(next.Renamed) == 0 {
		next.Renamed = nil
	}
	next.CarryText(cur, origOf)
	return next, e
}

func clean(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")) }

// check validates the draft against the version in force and puts each
// problem beside the field it is about.
func check(p *i18n.Printer, cur, next *framework.Framework, e *editForm) bool {
	row := map[string]int{}
	for i, it := range e.Items {
		if !it.Remove && it.ID != "" {
			row[it.ID] = i
		} else if it.Orig != "" {
			row[it.Orig] = i
		}
	}
	var ve *framework.ValidationError
	if err := next.Publishable(); errors.As(err, &ve) {
		for _, pr := range ve.Problems {
			i, ok := row[pr.Item]
			if ok && pr.Field != "" {
				field := pr.Field
				if field == "renamed" {
					field = "into"
				}
				if e.Items[i].Errors[field] == "" {
					e.Items[i].Errors[field] = upper(pr.Say(p)) + "."
				}
				continue
			}
			e.Problems = append(e.Problems, upper(pr.In(p))+".")
		}
	} else if err != nil {
		e.Problems = append(e.Problems, err.Error())
	}
	if err := store.CheckSuccessor(cur, next); err != nil && len(e.Problems) == 0 {
		e.Problems = append(e.Problems, problem.MessageIn(err, p))
	}
	if slices.ContainsFunc(e.Items, func(it itemForm) bool { return len(it.Errors) > 0 }) {
		e.Problems = append(e.Problems, p.T("fw_edit.attention"))
	}
	return len(e.Problems) == 0
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// editFramework takes the editor's form: "add" shows another blank item,
// "review" checks the draft and previews it, "publish" publishes what was
// reviewed once the person confirmed how many missions it reaches.
func (h *handler) editFramework(c echo.Context) error {
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
	next, e := readForm(web.P(c), cur, form)
	e.Regions = h.regions(c)
	render := func(status int) error {
		if len(e.Items) == 0 || e.Items[len(e.Items)-1].Orig != "" || e.Items[len(e.Items)-1].ID != "" || c.FormValue("action") == "add" {
			e.Items = append(e.Items, itemForm{Index: len(e.Items), Weight: 2, Area: cur.Areas[0].ID, Models: map[string]bool{}})
		}
		return c.Render(status, "framework-edit", h.page(c, "fw_edit.title", e))
	}
	if base, _ := strconv.Atoi(c.FormValue("base")); base != cur.Version {
		e.Problems = append(e.Problems, web.T(c, "fw_edit.published_meanwhile", "Version", cur.Version))
		e.Base = cur.Version
		return render(http.StatusConflict)
	}
	if c.FormValue("action") == "add" {
		return render(http.StatusOK)
	}
	if !check(web.P(c), cur, next, &e) {
		return render(http.StatusBadRequest)
	}
	scope, bad := chosenScope(c, e.ScopeKind, e.Region, e.Missions)
	if bad != "" {
		e.Problems = append(e.Problems, bad)
		return render(http.StatusBadRequest)
	}
	reach, err := h.reach(ctx, scope)
	if err != nil {
		return err
	}
	rv := &review{Changes: framework.Diff(cur, next), Scope: scope, Reach: reach}
	e.Review = rv
	if c.FormValue("action") != "publish" {
		return render(http.StatusOK)
	}
	if status, bad := h.publishReviewed(c, next, scope, len(rv.Reach)); bad != "" {
		e.Problems = append(e.Problems, bad)
		return render(status)
	}
	return c.Redirect(http.StatusSeeOther, "/library/framework")
}

// publishReviewed publishes next to scope once the form confirms the
// review: the scope reviewed, and the number of missions it reaches. When
// it does not publish, it returns the status and what to tell the person.
func (h *handler) publishReviewed(c echo.Context, next *framework.Framework, scope string, reach int) (int, string) {
	if c.FormValue("reviewed") != scope || c.FormValue("confirm") != strconv.Itoa(reach) {
		return http.StatusBadRequest, web.T(c, "fw_edit.confirm", "Count", reach)
	}
	if _, err := h.Store.PublishFramework(c.Request().Context(), web.ActorOf(c), next.Encode(), scope); err != nil {
		return http.StatusConflict, web.T(c, "fw_edit.not_published", "Why", problem.MessageIn(err, web.P(c)))
	}
	web.SetFlash(c, "published")
	return http.StatusSeeOther, ""
}

// chosenScope is the scope a publishing form chose, or what is wrong
// with the choice, in the reader's words.
func chosenScope(c echo.Context, kind, region, missions string) (scope, problemText string) {
	if kind == "" {
		return "", web.T(c, "fw_edit.choose_scope")
	}
	scope = scopeOf(kind, region, missions)
	if err := store.CheckScope(scope); err != nil {
		return "", problem.MessageIn(err, web.P(c))
	}
	return scope, ""
}

// reach lists the missions a publication to scope reaches: those in it,
// enrolled or waiting to be, never revoked ones.
func (h *handler) reach(ctx context.Context, scope string) ([]store.Mission, error) {
	missions, err := h.Store.Missions(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Mission
	for _, m := range missions {
		if m.State != "revoked" && store.InScope(scope, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// apiPublishFramework publishes a framework version sent as JSON, for a
// ministry's own tooling: the same checks and the same canonical bytes as
// the editor and the command line. The scope is required; nothing is
// sent to all missions by default.
func (h *handler) apiPublishFramework(c echo.Context) error {
	scope := c.QueryParam("scope")
	if scope == "" {
		return problem.New(problem.Invalid, "fw_edit.api_scope")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	p, err := h.Store.PublishFramework(c.Request().Context(), web.ActorOf(c), body, scope)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"framework": p.Doc.Version, "scope": p.Scope, "publication": p.Seq})
}
