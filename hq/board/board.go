// Package board is HQ's view of incidents across missions: filters, the
// time each took to escalate and to close, and the same narrative
// reported by several missions brought together.
package board

import (
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"chancery/hq/store"
)

// Row is an incident on the board.
type Row struct {
	store.Reported
	Region string
	// ToEscalate and ToClose run from when the incident was first seen;
	// zero when it has not happened.
	ToEscalate, ToClose time.Duration
}

// Filter picks incidents.
type Filter struct {
	Region, Kind string
	MinSeverity  int
	OpenOnly     bool
}

// Rows builds the board's rows.
func Rows(in []store.Reported, missions []store.Mission, f Filter) []Row {
	region := map[string]string{}
	for _, m := range missions {
		region[m.Code] = m.Region
	}
	var out []Row
	for _, r := range in {
		row := Row{Reported: r, Region: region[r.Mission]}
		switch {
		case f.Region != "" && row.Region != f.Region,
			f.Kind != "" && string(r.Kind) != f.Kind,
			int(r.Severity) < f.MinSeverity,
			f.OpenOnly && r.ClosedAt != nil:
			continue
		}
		if r.EscalatedAt != nil {
			row.ToEscalate = r.EscalatedAt.Sub(r.FirstSeen)
		}
		if r.ClosedAt != nil {
			row.ToClose = r.ClosedAt.Sub(r.FirstSeen)
		}
		out = append(out, row)
	}
	return out
}

// Median returns the median of the non-zero durations, and how many
// there were.
func Median(rows []Row, of func(Row) time.Duration) (time.Duration, int) {
	var ds []time.Duration
	for _, r := range rows {
		if d := of(r); d > 0 {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	if len(ds)%2 == 1 {
		return ds[len(ds)/2], len(ds)
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2, len(ds)
}

// Groups brings together incidents of different missions that look like
// the same narrative: they share a link, or are of the same kind with
// titles that share most of their words. Only groups that span more than
// one mission are returned, largest first.
func Groups(rows []Row) [][]Row {
	n := len(rows)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	words := make([]map[string]bool, n)
	for i, r := range rows {
		words[i] = titleWords(r.Title)
	}
	for i := range rows {
		for j := i + 1; j < n; j++ {
			if rows[i].Mission == rows[j].Mission {
				continue
			}
			if shareLink(rows[i].Links, rows[j].Links) || (rows[i].Kind == rows[j].Kind && jaccard(words[i], words[j]) >= 0.5) {
				parent[find(i)] = find(j)
			}
		}
	}
	byRoot := map[int][]Row{}
	for i := range rows {
		byRoot[find(i)] = append(byRoot[find(i)], rows[i])
	}
	var out [][]Row
	for _, g := range byRoot {
		missions := map[string]bool{}
		for _, r := range g {
			missions[r.Mission] = true
		}
		if len(missions) > 1 {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(a, b int) bool { return len(out[a]) > len(out[b]) })
	return out
}

func titleWords(t string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !('a' <= r && r <= 'z' || r > 127 || '0' <= r && r <= '9') }) {
		if len([]rune(w)) > 3 {
			out[w] = true
		}
	}
	return out
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// shareLink reports whether two link lists name the same page, ignoring
// the scheme, "www." and query strings that only track.
func shareLink(a, b []string) bool {
	norm := func(s string) string {
		u, err := url.Parse(s)
		if err != nil {
			return s
		}
		return strings.TrimPrefix(strings.ToLower(u.Host), "www.") + strings.TrimSuffix(u.Path, "/")
	}
	for _, x := range a {
		for _, y := range b {
			if norm(x) == norm(y) {
				return true
			}
		}
	}
	return false
}
