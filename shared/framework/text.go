package framework

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Text is a framework's words in one more language: for each area, model
// and item named by id, the fields that people read. A field left empty
// is read in the framework's own language. Ids, weights, models and
// sources are not translated: they are the same framework.
type Text struct {
	Title  string               `json:"title,omitempty"`
	Areas  map[string]AreaText  `json:"areas,omitempty"`
	Models map[string]ModelText `json:"models,omitempty"`
	Items  map[string]ItemText  `json:"items,omitempty"`
}

// AreaText is an area's words in one language.
type AreaText struct {
	Name     string `json:"name,omitempty"`
	Question string `json:"question,omitempty"`
}

// ModelText is a model's words in one language.
type ModelText struct {
	Name   string `json:"name,omitempty"`
	Solves string `json:"solves,omitempty"`
	Risk   string `json:"risk,omitempty"`
}

// ItemText is an item's words in one language.
type ItemText struct {
	Question string `json:"question,omitempty"`
	Guidance string `json:"guidance,omitempty"`
	Evidence string `json:"evidence,omitempty"`
	// Rubric holds the five levels' words; an empty level is read in the
	// framework's own language.
	Rubric []string `json:"rubric,omitempty"`
}

func (t ItemText) empty() bool {
	return t.Question == "" && t.Guidance == "" && t.Evidence == "" && !slices.ContainsFunc(t.Rubric, func(s string) bool { return s != "" })
}

// itemIn returns it with the words of tt where tt has them.
func itemIn(it Item, tt ItemText) Item {
	it.Question, it.Guidance, it.Evidence = or(tt.Question, it.Question), or(tt.Guidance, it.Guidance), or(tt.Evidence, it.Evidence)
	if len(tt.Rubric) > 0 && len(it.Rubric) > 0 {
		r := slices.Clone(it.Rubric)
		for i := range r {
			if i < len(tt.Rubric) {
				r[i] = or(tt.Rubric[i], r[i])
			}
		}
		it.Rubric = r
	}
	return it
}

var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// Languages returns the languages the framework can be read in: its own
// first, then those of its texts, sorted.
func (f *Framework) Languages() []string {
	out := []string{f.Language()}
	rest := slices.Sorted(maps.Keys(f.Text))
	return append(out, slices.DeleteFunc(rest, func(l string) bool { return l == out[0] })...)
}

// Language returns the language of the framework's own text: its lang
// field, or English.
func (f *Framework) Language() string {
	if f.Lang == "" {
		return "en"
	}
	return f.Lang
}

// In returns the framework as read in lang: a copy with the words of its
// text in lang where it has them, and the framework's own words (the
// ministry's language) elsewhere. It returns f itself when there is no
// text in lang.
func (f *Framework) In(lang string) *Framework {
	t, ok := f.Text[lang]
	if !ok || lang == f.Language() {
		return f
	}
	g := *f
	g.Title = or(t.Title, f.Title)
	g.Areas = slices.Clone(f.Areas)
	for i, a := range g.Areas {
		at := t.Areas[a.ID]
		g.Areas[i].Name, g.Areas[i].Question = or(at.Name, a.Name), or(at.Question, a.Question)
	}
	g.Models = slices.Clone(f.Models)
	for i, m := range g.Models {
		mt := t.Models[m.ID]
		g.Models[i].Name, g.Models[i].Solves, g.Models[i].Risk = or(mt.Name, m.Name), or(mt.Solves, m.Solves), or(mt.Risk, m.Risk)
	}
	g.Items = slices.Clone(f.Items)
	for i, it := range g.Items {
		g.Items[i] = itemIn(it, t.Items[it.ID])
	}
	g.Ministry = slices.Clone(f.Ministry)
	for i, it := range g.Ministry {
		g.Ministry[i] = itemIn(it, t.Items[it.ID])
	}
	return &g
}

func or(a, b string) string {
	if strings.TrimSpace(a) == "" {
		return b
	}
	return a
}

// checkText adds a problem for each text that names a language badly or
// an area, model or item the framework does not have.
func (f *Framework) checkText(add func(key string, args ...any)) {
	if f.Lang != "" && !langRE.MatchString(f.Lang) {
		add("fw_check.bad_lang", "Lang", f.Lang)
	}
	for _, lang := range slices.Sorted(maps.Keys(f.Text)) {
		t := f.Text[lang]
		if !langRE.MatchString(lang) {
			add("fw_check.bad_text_lang", "Lang", lang)
		}
		for _, id := range slices.Sorted(maps.Keys(t.Areas)) {
			if _, ok := f.Area(id); !ok {
				add("fw_check.text_no_area", "Lang", lang, "ID", id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(t.Models)) {
			if _, ok := f.Model(id); !ok {
				add("fw_check.text_no_model", "Lang", lang, "ID", id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(t.Items)) {
			_, err := f.Item(id)
			if _, merr := f.MinistryItem(id); err != nil && merr != nil {
				add("fw_check.text_no_item", "Lang", lang, "ID", id)
			}
		}
	}
}

// Untranslated lists, for lang, what of the framework has no text in
// it: "area strategy name", "item STR-01 guidance"… Empty means the
// framework reads wholly in lang.
func (f *Framework) Untranslated(lang string) []string {
	if lang == f.Language() {
		return nil
	}
	t := f.Text[lang]
	var out []string
	miss := func(what, id, field, v string) {
		if strings.TrimSpace(v) == "" {
			out = append(out, what+" "+id+" "+field)
		}
	}
	miss("framework", "", "title", t.Title)
	for _, a := range f.Areas {
		miss("area", a.ID, "name", t.Areas[a.ID].Name)
		miss("area", a.ID, "question", t.Areas[a.ID].Question)
	}
	for _, m := range f.Models {
		mt := t.Models[m.ID]
		miss("model", m.ID, "name", mt.Name)
		miss("model", m.ID, "solves", mt.Solves)
		miss("model", m.ID, "risk", mt.Risk)
	}
	for _, it := range slices.Concat(f.Items, f.Ministry) {
		tt := t.Items[it.ID]
		miss("item", it.ID, "question", tt.Question)
		miss("item", it.ID, "guidance", tt.Guidance)
		miss("item", it.ID, "evidence", tt.Evidence)
		for lv := range it.Rubric {
			v := ""
			if lv < len(tt.Rubric) {
				v = tt.Rubric[lv]
			}
			miss("item", it.ID, fmt.Sprintf("rubric %d", lv), v)
		}
	}
	return out
}

// builtinTexts reads the texts of built-in version v from data files
// named v<N>.<lang>.json, one per language.
func builtinTexts(fsys fs.FS, v int) (map[string]Text, error) {
	names, err := fs.Glob(fsys, fmt.Sprintf("data/v%d.*.json", v))
	if err != nil || len(names) == 0 {
		return nil, err
	}
	sort.Strings(names)
	out := map[string]Text{}
	for _, n := range names {
		lang := strings.TrimSuffix(strings.TrimPrefix(path.Base(n), fmt.Sprintf("v%d.", v)), ".json")
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		var t Text
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("framework: %s: %w", n, err)
		}
		out[lang] = t
	}
	return out, nil
}

// CarryText gives f, a new version made from prev, prev's texts: a
// translation goes on where the words it translates are unchanged, and
// is dropped where they changed, so that nobody reads a translation of
// words that are no longer the framework's. origOf maps the id of an
// item of f to the id it had in prev, for renamed items.
func (f *Framework) CarryText(prev *Framework, origOf map[string]string) {
	f.Lang = prev.Lang
	f.Text = nil
	keep := func(now, then, tr string) string {
		if now == then {
			return tr
		}
		return ""
	}
	for _, lang := range slices.Sorted(maps.Keys(prev.Text)) {
		pt := prev.Text[lang]
		t := Text{Areas: map[string]AreaText{}, Models: map[string]ModelText{}, Items: map[string]ItemText{}}
		t.Title = keep(f.Title, prev.Title, pt.Title)
		for _, a := range f.Areas {
			if old, ok := prev.Area(a.ID); ok {
				at := pt.Areas[a.ID]
				if x := (AreaText{Name: keep(a.Name, old.Name, at.Name), Question: keep(a.Question, old.Question, at.Question)}); x != (AreaText{}) {
					t.Areas[a.ID] = x
				}
			}
		}
		for _, m := range f.Models {
			if old, ok := prev.Model(m.ID); ok {
				mt := pt.Models[m.ID]
				if x := (ModelText{Name: keep(m.Name, old.Name, mt.Name), Solves: keep(m.Solves, old.Solves, mt.Solves), Risk: keep(m.Risk, old.Risk, mt.Risk)}); x != (ModelText{}) {
					t.Models[m.ID] = x
				}
			}
		}
		for _, it := range slices.Concat(f.Items, f.Ministry) {
			orig := it.ID
			if o, ok := origOf[it.ID]; ok {
				orig = o
			}
			old, err := prev.Item(orig)
			if err != nil {
				if old, err = prev.MinistryItem(orig); err != nil {
					continue
				}
			}
			tt := pt.Items[orig]
			x := ItemText{Question: keep(it.Question, old.Question, tt.Question), Guidance: keep(it.Guidance, old.Guidance, tt.Guidance), Evidence: keep(it.Evidence, old.Evidence, tt.Evidence)}
			for lv, r := range it.Rubric {
				then, tr := "", ""
				if lv < len(old.Rubric) {
					then = old.Rubric[lv]
				}
				if lv < len(tt.Rubric) {
					tr = tt.Rubric[lv]
				}
				x.Rubric = append(x.Rubric, keep(r, then, tr))
			}
			if !x.empty() {
				if x.Rubric != nil && !slices.ContainsFunc(x.Rubric, func(s string) bool { return s != "" }) {
					x.Rubric = nil
				}
				t.Items[it.ID] = x
			}
		}
		if t.Title == "" && len(t.Areas) == 0 && len(t.Models) == 0 && len(t.Items) == 0 {
			continue
		}
		if f.Text == nil {
			f.Text = map[string]Text{}
		}
		f.Text[lang] = t
	}
}
