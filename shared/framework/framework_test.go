package framework_test

import (
	"encoding/json"
	"errors"
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
			var keep []any
			for _, it := range items(m) {
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
			m["items"] = keep
		}, `model “tech-ambassador” is not covered by any item`},
		{"uncovered area", func(m map[string]any) {
			var keep []any
			for _, it := range items(m) {
				if it.(map[string]any)["area"] != "ai" {
					keep = append(keep, it)
				}
			}
			m["items"] = keep
		}, `area “ai” is not covered by any item`},
		{"unaddressed source", func(m map[string]any) {
			for _, it := range items(m) {
				if it.(map[string]any)["id"] == "NAR-01" {
					it.(map[string]any)["addresses"] = []any{}
				}
			}
		}, `source “nr-1” (Do missions know how to report an emerging narrative risk?) is not addressed by any item`},
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
