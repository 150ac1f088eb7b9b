// Package framework is the capability framework that every mission is
// assessed against: six areas, six institutional models of digital
// diplomacy, and the checklist items that evidence them.
//
// # Versions
//
// The framework is owned by headquarters and versioned. Each version is a
// JSON document; the versions that ship with Chancery are embedded in the
// binary and read with [Builtin]. A document is checked by [Parse] before
// anything uses it, so a framework in use always has unique item ids, known
// areas and models, and covers every area, every model and every source
// question it claims to answer.
//
// # Sources
//
// The items are written from the questions a ministry should ask itself
// about each model, the six questions of a capability audit, and the six
// areas of the capability map. Each of those questions is a [Source], and
// every source must be addressed by at least one item: that is how the
// framework shows it leaves no question out.
package framework

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"chancery/shared/i18n"
)

// Area is one of the six areas of the capability map.
type Area struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Question string `json:"question"`
}

// Model is one of the six institutional models of digital diplomacy.
type Model struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Solves is the institutional problem the model answers.
	Solves string `json:"solves"`
	// Risk is what an institution risks when the model is missing or
	// stands alone.
	Risk string `json:"risk"`
	// Expected lists the ministry profiles expected to run the model as
	// an institution of its own; empty means every profile. Where it is
	// not expected, a missing model is said so, not raised as a risk.
	Expected []string `json:"expected,omitempty"`
}

// The ministry profiles: a large ministry is expected to hold more of the
// models as institutions of their own than a small one, which may run a
// lighter model (one cross-functional cell, clear protocols, trusted
// tools, training and a mission readiness map).
const (
	Large = "large"
	Mid   = "mid"
	Small = "small"
)

// Profiles lists the ministry profiles, largest first.
var Profiles = []string{Large, Mid, Small}

func expectedOf(expected []string, profile string) bool {
	return len(expected) == 0 || profile == "" || slices.Contains(expected, profile)
}

// ExpectedOf reports whether a ministry of the profile is expected to run
// the model; "" is any profile.
func (m Model) ExpectedOf(profile string) bool { return expectedOf(m.Expected, profile) }

// Source is a question from the domain that the items must answer.
type Source struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Text string `json:"text"`
}

// Item is one checklist item.
type Item struct {
	ID       string   `json:"id"`
	Area     string   `json:"area"`
	Models   []string `json:"models"`
	Question string   `json:"question"`
	Guidance string   `json:"guidance"`
	Evidence string   `json:"evidence"`
	// Weight is the item's share of its area's score, 1 (useful) to 3
	// (essential).
	Weight    int      `json:"weight"`
	Addresses []string `json:"addresses"`
	// Rubric says what each level of the scale, 0 to 4, means for this
	// item, so that two people score the same practice alike.
	Rubric []string `json:"rubric,omitempty"`
	// FreshMonths is how long an answer's evidence stays current: older
	// evidence is flagged as stale. 0 is no limit.
	FreshMonths int `json:"fresh_months,omitempty"`
	// Expected lists the ministry profiles expected to have the
	// capability; empty means every profile. An item not expected of the
	// ministry's profile leaves its scores, as not applicable does.
	Expected []string `json:"expected,omitempty"`
	// Protocols names the library protocols the item asks about.
	Protocols []string `json:"protocols,omitempty"`
}

// ExpectedOf reports whether a ministry of the profile is expected to
// have the item's capability; "" is any profile.
func (it Item) ExpectedOf(profile string) bool { return expectedOf(it.Expected, profile) }

// RubricLevels is the number of levels a rubric describes: 0 to 4.
const RubricLevels = 5

// MaxFreshMonths is the longest freshness an item may set: ten years.
const MaxFreshMonths = 120

// Framework is one version of the capability framework.
type Framework struct {
	Version int      `json:"version"`
	Title   string   `json:"title"`
	Areas   []Area   `json:"areas"`
	Models  []Model  `json:"models"`
	Sources []Source `json:"sources"`
	Items   []Item   `json:"items"`
	// Ministry is the second kind of assessment: the items headquarters
	// answers for the ministry as a whole (a strategy, a directorate or
	// cell, an envoy, an AI unit…), on the same scale, with the same
	// evidence and sign-off as a mission's. Missions do not answer them.
	Ministry []Item `json:"ministry,omitempty"`
	// Renamed maps the ids of items from earlier versions to the item of
	// this version that carries their answers on. Answers given to an old
	// id count for the new one, so missions on different versions
	// aggregate together.
	Renamed map[string]string `json:"renamed,omitempty"`
	// Lang is the language the framework is written in (the ministry's
	// own); "" is English. Text holds its words in other languages, by
	// language tag, so that each person reads it in theirs (see [In]).
	Lang string          `json:"lang,omitempty"`
	Text map[string]Text `json:"text,omitempty"`
}

// MaxWeight is the largest weight an item may carry.
const MaxWeight = 3

//go:embed data/*.json
var data embed.FS

// Builtin returns the newest framework version shipped in the binary. It
// is read once and shared: callers must not modify it (copy it first, as
// an editor of the next version does).
func Builtin() *Framework { return builtin() }

var builtin = sync.OnceValue(func() *Framework {
	f, err := Version(1)
	if err != nil {
		// The embedded data is checked by the package tests; a failure
		// here is a build that skipped them.
		panic("framework: embedded framework is invalid: " + err.Error())
	}
	return f
})

// Version returns the embedded framework of version v.
func Version(v int) (*Framework, error) {
	b, err := data.ReadFile(fmt.Sprintf("data/v%d.json", v))
	if err != nil {
		return nil, fmt.Errorf("framework: no built-in version %d", v)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if f.Text == nil {
		texts, err := builtinTexts(data, v)
		if err != nil {
			return nil, err
		}
		f.Text = texts
		if err := f.Validate(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Parse decodes a framework document and validates it. Unknown fields are
// refused so that a misspelt key does not silently drop content.
func Parse(b []byte) (*Framework, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var f Framework
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("framework: cannot read document: %w", err)
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// ValidationError lists every problem found in a framework document.
type ValidationError struct {
	Problems []Problem
}

// Problem is one thing wrong in a framework document: the item and field
// it is about, when it is about one, and what is wrong.
type Problem struct {
	Item  string // an item's id, or "" for the document as a whole
	Field string // "id", "area", "models", "question", "guidance", "evidence", "weight", "addresses", "rubric", "fresh_months", "expected", "renamed"
	Text  string // in English
	// Key and Args name the message in the catalog, for In.
	Key  string
	Args []any
}

func problemOf(item, field, key string, args []any) Problem {
	return Problem{Item: item, Field: field, Key: key, Args: args, Text: i18n.English().T(key, args...)}
}

func (p Problem) String() string { return p.In(i18n.English()) }

// Say returns the problem's text alone in pr's language, without the
// item it is about.
func (p Problem) Say(pr *i18n.Printer) string { return pr.T(p.Key, p.Args...) }

// In returns the problem in pr's language, with the item it is about.
func (p Problem) In(pr *i18n.Printer) string {
	if p.Item != "" {
		return pr.T("fw_check.item", "Item", p.Item, "Text", p.Say(pr))
	}
	return p.Say(pr)
}

func (e *ValidationError) Error() string {
	ps := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		ps[i] = p.String()
	}
	return "framework: invalid: " + strings.Join(ps, "; ")
}

// Validate checks the framework's internal consistency and returns a
// *ValidationError naming each problem.
func (f *Framework) Validate() error {
	var p []Problem
	add := func(key string, args ...any) { p = append(p, problemOf("", "", key, args)) }
	at := func(item, field, key string, args ...any) { p = append(p, problemOf(item, field, key, args)) }

	if f.Version < 1 {
		add("fw_check.version", "Version", fmt.Sprint(f.Version))
	}
	areas := map[string]bool{}
	for _, a := range f.Areas {
		if a.ID == "" || a.Name == "" {
			add("fw_check.area_needs", "ID", a.ID)
		}
		if areas[a.ID] {
			add("fw_check.area_twice", "ID", a.ID)
		}
		areas[a.ID] = true
	}
	models := map[string]bool{}
	for _, m := range f.Models {
		if m.ID == "" || m.Name == "" || m.Risk == "" {
			add("fw_check.model_needs", "ID", m.ID)
		}
		if models[m.ID] {
			add("fw_check.model_twice", "ID", m.ID)
		}
		models[m.ID] = true
	}
	sources := map[string]bool{}
	for _, s := range f.Sources {
		if sources[s.ID] {
			add("fw_check.source_twice", "ID", s.ID)
		}
		sources[s.ID] = true
	}

	f.checkText(add)
	ids := map[string]bool{}
	areaUsed, modelUsed, sourceUsed := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, it := range slices.Concat(f.Items, f.Ministry) {
		if it.ID == "" {
			at("", "id", "fw_check.no_id", "Question", it.Question)
			continue
		}
		if ids[it.ID] {
			at(it.ID, "id", "fw_check.id_twice")
		}
		ids[it.ID] = true
		if !areas[it.Area] {
			at(it.ID, "area", "fw_check.unknown_area", "Area", it.Area)
		}
		areaUsed[it.Area] = true
		if len(it.Models) == 0 {
			at(it.ID, "models", "fw_check.no_model")
		}
		for _, m := range it.Models {
			if !models[m] {
				at(it.ID, "models", "fw_check.unknown_model", "Model", m)
			}
			modelUsed[m] = true
		}
		for _, s := range it.Addresses {
			if !sources[s] {
				at(it.ID, "addresses", "fw_check.unknown_source", "Source", s)
			}
			sourceUsed[s] = true
		}
		for _, fl := range []struct{ name, v string }{{"question", it.Question}, {"guidance", it.Guidance}, {"evidence", it.Evidence}} {
			if strings.TrimSpace(fl.v) == "" {
				at(it.ID, fl.name, "fw_check.needs_"+fl.name)
			}
		}
		if it.Weight < 1 || it.Weight > MaxWeight {
			at(it.ID, "weight", "fw_check.weight", "Weight", fmt.Sprint(it.Weight), "Max", fmt.Sprint(MaxWeight))
		}
		if n := len(it.Rubric); n != 0 && n != RubricLevels {
			at(it.ID, "rubric", "fw_check.rubric_levels", "N", n, "Want", RubricLevels)
		}
		for lv, r := range it.Rubric {
			if strings.TrimSpace(r) == "" {
				at(it.ID, "rubric", "fw_check.rubric_empty", "Level", lv)
			}
		}
		if it.FreshMonths < 0 || it.FreshMonths > MaxFreshMonths {
			at(it.ID, "fresh_months", "fw_check.fresh", "N", it.FreshMonths, "Max", MaxFreshMonths)
		}
		for _, pr := range it.Expected {
			if !slices.Contains(Profiles, pr) {
				at(it.ID, "expected", "fw_check.profile", "Profile", pr, "Profiles", strings.Join(Profiles, ", "))
			}
		}
	}
	for _, m := range f.Models {
		for _, pr := range m.Expected {
			if !slices.Contains(Profiles, pr) {
				add("fw_check.model_profile", "ID", m.ID, "Profile", pr, "Profiles", strings.Join(Profiles, ", "))
			}
		}
	}
	for old, id := range f.Renamed {
		if _, err := f.Item(id); err != nil {
			at(old, "renamed", "fw_check.renamed_to_nothing", "Old", old, "ID", id)
		}
		if _, err := f.Item(old); err == nil {
			at(old, "renamed", "fw_check.renamed_still", "Old", old)
		}
	}
	for _, a := range f.Areas {
		if !areaUsed[a.ID] {
			add("fw_check.area_uncovered", "ID", a.ID)
		}
	}
	for _, m := range f.Models {
		if !modelUsed[m.ID] {
			add("fw_check.model_uncovered", "ID", m.ID)
		}
	}
	for _, s := range f.Sources {
		if !sourceUsed[s.ID] {
			add("fw_check.source_unaddressed", "ID", s.ID, "Text", s.Text)
		}
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// Publishable checks what a new version must have beyond [Validate]: a
// rubric for every item, mission and ministry alike. Versions published
// before rubrics existed still read (Validate); no new one goes out
// without them.
func (f *Framework) Publishable() error {
	var p []Problem
	if err := f.Validate(); err != nil {
		p = append(p, err.(*ValidationError).Problems...)
	}
	for _, it := range slices.Concat(f.Items, f.Ministry) {
		if it.ID != "" && len(it.Rubric) == 0 {
			p = append(p, problemOf(it.ID, "rubric", "fw_check.needs_rubric", nil))
		}
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// ErrUnknownItem is returned when an item id is not in the framework.
var ErrUnknownItem = errors.New("unknown checklist item")

// Item returns the item with the given id.
func (f *Framework) Item(id string) (Item, error) {
	for _, it := range f.Items {
		if it.ID == id {
			return it, nil
		}
	}
	return Item{}, fmt.Errorf("%w %q", ErrUnknownItem, id)
}

// MinistryItem returns the ministry-level item with the given id.
func (f *Framework) MinistryItem(id string) (Item, error) {
	for _, it := range f.Ministry {
		if it.ID == id {
			return it, nil
		}
	}
	return Item{}, fmt.Errorf("%w %q", ErrUnknownItem, id)
}

// Area returns the area with the given id and whether it exists.
func (f *Framework) Area(id string) (Area, bool) {
	i := slices.IndexFunc(f.Areas, func(a Area) bool { return a.ID == id })
	if i < 0 {
		return Area{}, false
	}
	return f.Areas[i], true
}

// Model returns the model with the given id and whether it exists.
func (f *Framework) Model(id string) (Model, bool) {
	i := slices.IndexFunc(f.Models, func(m Model) bool { return m.ID == id })
	if i < 0 {
		return Model{}, false
	}
	return f.Models[i], true
}

// Current returns the id of this version's item that carries answers
// given to id, which may be an item of an earlier version, and whether
// there is one.
func (f *Framework) Current(id string) (string, bool) {
	if n, ok := f.Renamed[id]; ok {
		return n, true
	}
	_, err := f.Item(id)
	return id, err == nil
}

// ItemsIn returns the items of one area, in framework order.
func (f *Framework) ItemsIn(area string) []Item {
	var out []Item
	for _, it := range f.Items {
		if it.Area == area {
			out = append(out, it)
		}
	}
	return out
}

// MinistryIn returns the ministry-level items of one area, in framework
// order.
func (f *Framework) MinistryIn(area string) []Item {
	var out []Item
	for _, it := range f.Ministry {
		if it.Area == area {
			out = append(out, it)
		}
	}
	return out
}

// Encode returns the framework's canonical document: compact JSON, fields
// in the order of [Framework], renames sorted by old id. Headquarters
// publishes these bytes and no others, so what it hashes is what travels
// and what a mission checks, whatever the layout or key order of the file
// a protocol owner wrote. Encoding the result of [Parse] of its own output
// gives the same bytes.
func (f *Framework) Encode() []byte {
	b, err := json.Marshal(f)
	if err != nil {
		panic("framework: encode: " + err.Error()) // plain strings, ints and slices: cannot fail
	}
	return b
}
