package framework

import (
	"slices"
	"strconv"
	"strings"
)

// Change is one difference between a framework version and the next, as
// a protocol owner reviews it before publishing.
type Change struct {
	// Item is the item's id in the next version, or its old id when it
	// was removed; empty for a change to the document, an area or a model.
	Item string
	// Kind is "added", "removed", "renamed" or "changed".
	Kind string
	// Field is what changed ("question", "weight", "area name"…), for
	// "changed"; for "removed", Into is the item its answers carry to.
	Field, Old, New, Into string
}

// Diff lists what next changes in cur: items added, removed (and where
// their answers go), renamed, and every field changed, in next's order,
// then the changes to the title, areas and models.
func Diff(cur, next *Framework) []Change {
	var out []Change
	old := map[string]Item{}
	for _, it := range cur.Items {
		old[it.ID] = it
	}
	from := map[string]string{} // new id → the old id it renames
	for o, n := range next.Renamed {
		_, wasItem := old[o]
		_, kept := old[n]
		if _, err := next.Item(n); wasItem && err == nil && !kept {
			from[n] = o
		}
	}
	for _, it := range next.Items {
		prev, ok := old[it.ID]
		if !ok {
			o, renamed := from[it.ID]
			if !renamed {
				out = append(out, Change{Item: it.ID, Kind: "added", New: it.Question})
				continue
			}
			prev = old[o]
			out = append(out, Change{Item: it.ID, Kind: "renamed", Old: o, New: it.ID})
		}
		out = append(out, itemChanges(prev, it)...)
	}
	for _, it := range cur.Items {
		if _, err := next.Item(it.ID); err == nil {
			continue
		}
		into, ok := next.Renamed[it.ID]
		if ok && from[into] == it.ID {
			continue // shown as renamed
		}
		out = append(out, Change{Item: it.ID, Kind: "removed", Old: it.Question, Into: into})
	}
	field := func(name, a, b string) {
		if a != b {
			out = append(out, Change{Kind: "changed", Field: name, Old: a, New: b})
		}
	}
	field("title", cur.Title, next.Title)
	for _, a := range next.Areas {
		if p, ok := cur.Area(a.ID); ok {
			field("area "+a.ID+" name", p.Name, a.Name)
			field("area "+a.ID+" question", p.Question, a.Question)
		}
	}
	for _, m := range next.Models {
		if p, ok := cur.Model(m.ID); ok {
			field("model "+m.ID+" name", p.Name, m.Name)
			field("model "+m.ID+" problem solved", p.Solves, m.Solves)
			field("model "+m.ID+" risk", p.Risk, m.Risk)
		}
	}
	return out
}

func itemChanges(a, b Item) []Change {
	var out []Change
	for _, f := range []struct{ name, a, b string }{
		{"area", a.Area, b.Area},
		{"question", a.Question, b.Question},
		{"guidance", a.Guidance, b.Guidance},
		{"evidence", a.Evidence, b.Evidence},
		{"weight", strconv.Itoa(a.Weight), strconv.Itoa(b.Weight)},
		{"models", strings.Join(sorted(a.Models), ", "), strings.Join(sorted(b.Models), ", ")},
		{"addresses", strings.Join(sorted(a.Addresses), ", "), strings.Join(sorted(b.Addresses), ", ")},
	} {
		if f.a != f.b {
			out = append(out, Change{Item: b.ID, Kind: "changed", Field: f.name, Old: f.a, New: f.b})
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
