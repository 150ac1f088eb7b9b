package framework_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"chancery/shared/framework"
)

func TestBuiltinLoads(t *testing.T) {
	f := framework.Builtin()
	if f.Version != 1 {
		t.Fatalf("version = %d, want 1", f.Version)
	}
	if n := len(f.Items); n < 40 || n > 70 {
		t.Errorf("framework has %d items, want 40–70", n)
	}
	wantAreas := []string{"Strategy", "Governance", "Missions", "Narrative resilience", "AI readiness", "Sovereignty and dependency"}
	if len(f.Areas) != len(wantAreas) {
		t.Fatalf("got %d areas, want 6", len(f.Areas))
	}
	for i, name := range wantAreas {
		if f.Areas[i].Name != name {
			t.Errorf("area %d = %q, want %q", i, f.Areas[i].Name, name)
		}
	}
	if len(f.Models) != 6 {
		t.Errorf("got %d models, want 6", len(f.Models))
	}
	// Every question of every model's assessment list (5 or 6 each, 31 in
	// all) and the six questions of a capability audit are sources.
	if len(f.Sources) != 37 {
		t.Errorf("got %d sources, want 37", len(f.Sources))
	}
}

func TestItemLookup(t *testing.T) {
	f := framework.Builtin()
	it, err := f.Item("NAR-02")
	if err != nil || it.Area != "narrative" {
		t.Fatalf("Item(NAR-02) = %+v, %v", it, err)
	}
	if _, err := f.Item("NOPE-99"); !errors.Is(err, framework.ErrUnknownItem) {
		t.Fatalf("Item(NOPE-99) error = %v, want ErrUnknownItem", err)
	}
}

// broken returns the built-in document after edit has changed it.
func broken(t *testing.T, edit func(m map[string]any)) []byte {
	t.Helper()
	b, err := json.Marshal(framework.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func items(m map[string]any) []any { return m["items"].([]any) }
func item(m map[string]any, i int) map[string]any {
	return items(m)[i].(map[string]any)
}

func TestBrokenFrameworkRefused(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"duplicate id", func(m map[string]any) { item(m, 1)["id"] = item(m, 0)["id"] }, `item STR-01: the id is used by another item too`},
		{"unknown area", func(m map[string]any) { item(m, 0)["area"] = "diplomacy" }, `item STR-01: unknown area “diplomacy”`},
		{"unknown model", func(m map[string]any) { item(m, 0)["models"] = []any{"astrology"} }, `item STR-01: unknown model “astrology”`},
		{"uncovered model", func(m map[string]any) {
			for _, kind := range []string{"items", "ministry"} {
				var keep []any
				for _, it := range m[kind].([]any) {
					ms := it.(map[string]any)["models"].([]any)
					var rest []any
					for _, x := range ms {
						if x != "tech-ambassador" {
							rest = append(rest, x)
						}
					}
					if len(rest) > 0 {
						it.(map[string]any)["models"] = rest
						keep = append(keep, it)
					}
				}
				m[kind] = keep
			}
			delete(m, "text") // its translations of the dropped items would be refused first
		}, `model “tech-ambassador” is not covered by any item`},
		{"uncovered area", func(m map[string]any) {
			for _, kind := range []string{"items", "ministry"} {
				var keep []any
				for _, it := range m[kind].([]any) {
					if it.(map[string]any)["area"] != "ai" {
						keep = append(keep, it)
					}
				}
				m[kind] = keep
			}
			delete(m, "text")
		}, `area “ai” is not covered by any item`},
		{"unaddressed source", func(m map[string]any) {
			for _, it := range append(items(m), m["ministry"].([]any)...) {
				if it := it.(map[string]any); it["id"] == "NAR-01" || it["id"] == "MIN-NAR-02" {
					it["addresses"] = []any{}
				}
			}
		}, `source “nr-1” (Do missions know how to report an emerging narrative risk?) is not addressed by any item`},
		{"rubric of four levels", func(m map[string]any) { item(m, 0)["rubric"] = []any{"a", "b", "c", "d"} }, "item STR-01: the rubric describes 4 levels; it must describe 5, from 0 to 4"},
		{"empty rubric level", func(m map[string]any) { item(m, 0)["rubric"] = []any{"a", "b", " ", "d", "e"} }, "item STR-01: the rubric says nothing of level 2"},
		{"unknown profile", func(m map[string]any) { item(m, 0)["expected"] = []any{"huge"} }, "item STR-01: unknown ministry profile “huge”"},
		{"freshness out of range", func(m map[string]any) { item(m, 0)["fresh_months"] = 600 }, "item STR-01: evidence cannot stay fresh for 600 months; the most is 120"},
		{"ministry item reuses a mission id", func(m map[string]any) { m["ministry"].([]any)[0].(map[string]any)["id"] = "STR-01" }, "item STR-01: the id is used by another item too"},
		{"weight out of range", func(m map[string]any) { item(m, 0)["weight"] = 7 }, "item STR-01: weight 7 is outside 1..3"},
		{"misspelt key", func(m map[string]any) { item(m, 0)["wieght"] = 2 }, `unknown field "wieght"`},
		{"no version", func(m map[string]any) { m["version"] = 0 }, "version must be 1 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := framework.Parse(broken(t, tt.edit))
			if err == nil {
				t.Fatal("broken framework accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not name the problem %q", err, tt.want)
			}
		})
	}
}

func TestItemsInKeepsOrder(t *testing.T) {
	f := framework.Builtin()
	total := 0
	for _, a := range f.Areas {
		its := f.ItemsIn(a.ID)
		if len(its) == 0 {
			t.Errorf("area %s has no items", a.ID)
		}
		total += len(its)
	}
	if total != len(f.Items) {
		t.Errorf("areas hold %d items, framework %d", total, len(f.Items))
	}
}

func TestDiff(t *testing.T) {
	cur := framework.Builtin()
	next := *cur
	next.Version = 2
	next.Items = append([]framework.Item(nil), cur.Items...)
	next.Items[0].Question = "A new question?"
	next.Items[1].ID = "STR-12"
	next.Items = append(next.Items[:2], next.Items[3:]...) // STR-03 removed
	next.Items = append(next.Items, framework.Item{ID: "STR-90", Area: "strategy", Models: []string{"digital-foreign-policy"}, Question: "Q?", Guidance: "G", Evidence: "E", Weight: 1})
	next.Renamed = map[string]string{"STR-02": "STR-12", "STR-03": "STR-04"}
	got := map[string]string{}
	for _, c := range framework.Diff(cur, &next) {
		got[c.Item+" "+c.Kind+" "+c.Field] = c.Old + " → " + c.New + c.Into
	}
	for k, v := range map[string]string{
		"STR-01 changed question": cur.Items[0].Question + " → A new question?",
		"STR-12 renamed ":         "STR-02 → STR-12",
		"STR-03 removed ":         cur.Items[2].Question + " → STR-04",
		"STR-90 added ":           " → Q?",
	} {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	if len(got) != 4 {
		t.Errorf("changes: %v", got)
	}
}

// Every item says what each level means for it, and a new version without
// a rubric is refused for publication while an old one still reads.
func TestEveryItemHasARubric(t *testing.T) {
	f := framework.Builtin()
	if err := f.Publishable(); err != nil {
		t.Fatalf("built-in framework is not publishable: %v", err)
	}
	for _, it := range append(f.Items, f.Ministry...) {
		if len(it.Rubric) != framework.RubricLevels {
			t.Errorf("%s: rubric has %d levels", it.ID, len(it.Rubric))
		}
	}
	b := broken(t, func(m map[string]any) { delete(item(m, 3), "rubric") })
	g, err := framework.Parse(b)
	if err != nil {
		t.Fatalf("a version without a rubric no longer reads: %v", err)
	}
	err = g.Publishable()
	if err == nil || !strings.Contains(err.Error(), "item STR-04: needs a rubric") {
		t.Fatalf("Publishable = %v, want it to name STR-04's missing rubric", err)
	}
}

// HQ's own assessment is a second kind: its items are not a mission's,
// and the profile decides which of them a ministry is expected to have.
func TestMinistryItemsAndProfiles(t *testing.T) {
	f := framework.Builtin()
	if len(f.Ministry) < 8 {
		t.Fatalf("%d ministry items, want a checklist of 8 or more", len(f.Ministry))
	}
	if _, err := f.Item("MIN-GOV-01"); err == nil {
		t.Error("a ministry item is answerable as a mission's")
	}
	if _, err := f.MinistryItem("MIN-GOV-01"); err != nil {
		t.Error(err)
	}
	dir, _ := f.MinistryItem("MIN-GOV-01")  // a directorate
	cell, _ := f.MinistryItem("MIN-GOV-02") // a cross-functional cell
	if !dir.ExpectedOf(framework.Large) || dir.ExpectedOf(framework.Small) {
		t.Error("a directorate should be expected of a large ministry only")
	}
	if cell.ExpectedOf(framework.Large) || !cell.ExpectedOf(framework.Small) || !cell.ExpectedOf(framework.Mid) {
		t.Error("a cell should be the lighter model of small and mid-sized ministries")
	}
	envoy, _ := f.Model("tech-ambassador")
	if envoy.ExpectedOf(framework.Small) || !envoy.ExpectedOf(framework.Large) {
		t.Error("a tech envoy is expected of a large ministry, not of a small one")
	}
	// Each of the six questions is answered from HQ and from missions.
	for q := 1; q <= 6; q++ {
		src := "q-" + string(rune('0'+q))
		var mission, ministry int
		for _, it := range f.Items {
			if slices.Contains(it.Addresses, src) {
				mission++
			}
		}
		for _, it := range f.Ministry {
			if slices.Contains(it.Addresses, src) {
				ministry++
			}
		}
		if ministry == 0 || (mission == 0 && q != 1) {
			t.Errorf("question %s: %d mission and %d ministry items address it", src, mission, ministry)
		}
	}
	for _, it := range f.ItemsIn("sovereignty") {
		if !slices.Contains(it.Addresses, "q-5") {
			t.Errorf("%s is not reachable from question 5 (sovereignty)", it.ID)
		}
	}
}
