package readymap

import (
	"cmp"
	"slices"
	"strings"
)

// Filter picks and orders missions for the heat grid.
type Filter struct {
	Region string
	// Min and Max bound the overall score, 0–100.
	Min, Max int
	// Freshness is "", "fresh" or "stale".
	Freshness string
	// Sort is "code", "name", "region", "overall", "seen", "framework",
	// or an area id;
	// Desc reverses it.
	Sort string
	Desc bool
}

// Select returns the missions that pass the filter, in its order.
func (m *Map) Select(f Filter) []Mission {
	if f.Max == 0 {
		f.Max = 100
	}
	var out []Mission
	for _, v := range m.Missions {
		switch {
		case f.Region != "" && v.Mission.Region != f.Region,
			(f.Min > 0 || f.Max < 100) && !v.Assessed(),
			v.Report.Overall.Value < f.Min || v.Report.Overall.Value > f.Max,
			f.Freshness == "fresh" && v.Stale,
			f.Freshness == "stale" && !v.Stale:
			continue
		}
		out = append(out, v)
	}
	key := func(a, b Mission) int {
		switch f.Sort {
		case "", "code":
			return strings.Compare(a.Code, b.Code)
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "region":
			return strings.Compare(a.Mission.Region, b.Mission.Region)
		case "overall":
			return cmp.Compare(a.Report.Overall.Value, b.Report.Overall.Value)
		case "seen":
			return cmp.Compare(seenUnix(a), seenUnix(b))
		case "framework":
			return cmp.Compare(a.Against.Version, b.Against.Version)
		}
		return cmp.Compare(a.Area(f.Sort), b.Area(f.Sort))
	}
	scored := f.Sort != "" && f.Sort != "code" && f.Sort != "name" && f.Sort != "region" && f.Sort != "seen" && f.Sort != "framework"
	slices.SortStableFunc(out, func(a, b Mission) int {
		if scored && a.Assessed() != b.Assessed() {
			// Not assessed is no score: last, whichever way scores go.
			if a.Assessed() {
				return -1
			}
			return 1
		}
		c := key(a, b)
		if c == 0 {
			c = strings.Compare(a.Code, b.Code)
		}
		if f.Desc {
			return -c
		}
		return c
	})
	return out
}

func seenUnix(m Mission) int64 {
	if m.LastSeen == nil {
		return 0
	}
	return m.LastSeen.Unix()
}

// RegionNames lists the regions on the map.
func (m *Map) RegionNames() []string {
	var out []string
	for _, r := range m.Regions {
		out = append(out, r.Name)
	}
	return out
}
