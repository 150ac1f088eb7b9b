package httpd

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/hq/readymap"
	"chancery/hq/store"
	"chancery/shared/framework"
	"chancery/shared/readiness"
	"chancery/web"
	"chancery/web/worldmap"
)

// loadMap builds the readiness map from the database: one row per
// mission for the registry, its stored scores and its last sign-off, and,
// for the gap view, the answers to the items it asks about.
//
// lang is the language its words (area and model names, risks) are read
// in; "" keeps the framework's own, as exports do.
func (h *handler) loadMap(ctx context.Context, withGaps bool, lang string) (*readymap.Map, error) {
	if withGaps {
		m, _, err := h.buildMap(ctx, true, lang)
		return m, err
	}
	// The map without gaps is kept, by language, and at each reading only
	// the rows of the missions that changed since are built again
	// (store.MapChanges); all of it when a change concerns every mission.
	// Each reading works out again what time alone changes.
	h.maps.Lock()
	kept, ok := h.maps.by[lang]
	h.maps.Unlock()
	since := int64(-1)
	if ok {
		since = kept.version
	}
	v, changed, all, err := h.Store.MapChanges(ctx, since)
	if err != nil {
		return nil, err
	}
	switch {
	case ok && !all && len(changed) == 0:
	case ok && !all:
		in, _, err := h.mapInputs(ctx, false, lang, true, changed, kept.read)
		if err != nil {
			return nil, err
		}
		kept = keptMap{version: v, m: kept.m.Patch(in, changed), read: kept.read}
	default:
		m, read, err := h.buildMap(ctx, false, lang)
		if err != nil {
			return nil, err
		}
		kept = keptMap{version: v, m: m, read: read}
	}
	h.maps.Lock()
	if h.maps.by == nil {
		h.maps.by = map[string]keptMap{}
	}
	h.maps.by[lang] = kept
	h.maps.Unlock()
	seen, err := h.Store.LastSeen(ctx)
	if err != nil {
		return nil, err
	}
	return kept.m.At(h.Store.Now(), seen), nil
}

// keptMap is a map built at a version of what it is built from, with
// the frameworks it read in its language.
type keptMap struct {
	version int64
	m       *readymap.Map
	read    *translated
}

// translated keeps frameworks as read in one language: made once, and
// the same for every row of a kept map, however often it is patched.
type translated struct {
	lang string
	mu   sync.Mutex
	by   map[*framework.Framework]*framework.Framework
}

func (t *translated) of(f *framework.Framework) *framework.Framework {
	if t.lang == "" {
		return f
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.by[f]; ok {
		return r
	}
	if t.by == nil {
		t.by = map[*framework.Framework]*framework.Framework{}
	}
	t.by[f] = f.In(t.lang)
	return t.by[f]
}

// buildMap builds the whole map from the database, and returns the
// frameworks it read in lang.
func (h *handler) buildMap(ctx context.Context, withGaps bool, lang string) (*readymap.Map, *translated, error) {
	in, read, err := h.mapInputs(ctx, withGaps, lang, false, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	return readymap.Build(in), read, nil
}

// mapInputs reads what the map is built from: of every mission, or with
// only set, of the missions named, to patch a kept map with. The
// frameworks are read in lang through read (made when nil), which it
// returns.
func (h *handler) mapInputs(ctx context.Context, withGaps bool, lang string, only bool, codes []string, read *translated) (readymap.Inputs, *translated, error) {
	missions, err := h.Store.MissionsOf(ctx, only, codes...)
	if err != nil {
		return readymap.Inputs{}, nil, err
	}
	scores, err := h.Store.ScoresOf(ctx, only, codes...)
	if err != nil {
		return readymap.Inputs{}, nil, err
	}
	signoffs, err := h.Store.SignOffsOf(ctx, only, codes...)
	if err != nil {
		return readymap.Inputs{}, nil, err
	}
	cat, err := h.Store.Catalog(ctx)
	if err != nil {
		return readymap.Inputs{}, nil, err
	}
	if read == nil {
		read = &translated{lang: lang}
	}
	in := readymap.Inputs{Framework: read.of(cat.Framework()), FrameworkOf: func(m store.Mission) *framework.Framework { return read.of(cat.Of(m)) },
		Missions: missions, Scores: scores, SignOffs: signoffs, Now: h.Store.Now()}
	if withGaps {
		if in.Answers, err = h.Store.AnswersTo(ctx, readymap.Items(cat.Frameworks()...)); err != nil {
			return readymap.Inputs{}, nil, err
		}
	}
	return in, read, nil
}

// filterOf reads the map's filter from the query string.
func filterOf(c echo.Context) readymap.Filter {
	f := readymap.Filter{Region: c.QueryParam("region"), Freshness: c.QueryParam("fresh"), Sort: c.QueryParam("sort"), Desc: c.QueryParam("desc") == "1"}
	f.Min, _ = strconv.Atoi(c.QueryParam("min"))
	f.Max, _ = strconv.Atoi(c.QueryParam("max"))
	if f.Max <= 0 || f.Max > 100 {
		f.Max = 100
	}
	f.Min = max(0, min(f.Min, 100))
	return f
}

// query writes a filter back as a query string, with changes.
func query(f readymap.Filter, set ...string) string {
	v := url.Values{}
	put := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	put("region", f.Region)
	put("fresh", f.Freshness)
	if f.Min > 0 {
		v.Set("min", strconv.Itoa(f.Min))
	}
	if f.Max < 100 {
		v.Set("max", strconv.Itoa(f.Max))
	}
	put("sort", f.Sort)
	if f.Desc {
		v.Set("desc", "1")
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			v.Del(set[i])
		} else {
			v.Set(set[i], set[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

type column struct {
	Key, Label string
	URL        string
	Sorted     string // "ascending", "descending" or ""
}

// dot is one place on the world map: a mission, or the missions that
// stand too close to tell apart at the map's size (an embassy and its
// consulates in one city), drawn as one dot that says how many and their
// mean.
type dot struct {
	X, Y        float64
	Code, Name  string
	Score, Band int
	Stale       bool
	Assessed    bool
	LastSeen    *time.Time
	Seen        string
	// Count is how many missions the dot stands for; Codes, the first of
	// them, for its title; R, its radius.
	Count int
	Codes []string
	R     float64

	sum, assessed int
}

// GridPage is how many missions the heat grid shows at a time: the map
// stays quick however many missions there are, and the exports hold them
// all.
const GridPage = 100

// dotCell is the size, in the world map's units, below which missions are
// one dot.
const dotCell = 4.0

// dots places the missions on the world map, those in one cell as one dot.
func dots(rows []readymap.Mission) (out []dot, unplaced int) {
	at := map[[2]int]int{}
	for _, r := range rows {
		if r.Lat == nil || r.Lon == nil {
			unplaced++
			continue
		}
		x, y := worldmap.Project(*r.Lon, *r.Lat)
		cell := [2]int{int(x / dotCell), int(y / dotCell)}
		i, seen := at[cell]
		if !seen {
			i = len(out)
			at[cell] = i
			out = append(out, dot{X: x, Y: y, Code: r.Code, Name: r.Name, Stale: true, R: 5})
		}
		d := &out[i]
		d.Count++
		if len(d.Codes) < 8 {
			d.Codes = append(d.Codes, r.Code)
		}
		if r.Assessed() {
			d.assessed++
			d.sum += r.Report.Overall.Value
		}
		// A place is stale only when every mission there is.
		d.Stale = d.Stale && r.Stale
		if d.Count == 1 {
			d.LastSeen, d.Seen = r.Mission.LastSeen, r.Seen
		}
	}
	for i := range out {
		d := &out[i]
		d.Assessed = d.assessed > 0
		if d.Assessed {
			d.Score = d.sum / d.assessed
			d.Band = web.Band(d.Score)
		}
		if d.Count > 1 {
			d.R = min(5+math.Sqrt(float64(d.Count)), 12)
		}
	}
	return out, unplaced
}

type mapData struct {
	Map      *readymap.Map
	Filter   readymap.Filter
	Rows     []readymap.Mission
	Columns  []column
	Dots     []dot
	Unplaced int
	World    string
	Width    int
	Height   int
	Query    string
	Regions  []string
	// Page is the grid's page, from 1, of Pages; Shown are the missions on
	// it (Rows holds every mission the filter keeps), From and To their
	// places in Rows; PrevURL and NextURL lead to the pages beside it.
	Page, Pages, From, To int
	Shown                 []readymap.Mission
	PrevURL, NextURL      string
	// HQ is headquarters' own assessment, shown above the missions; HQAreas
	// are its area scores in the map's columns (nil where it has none).
	HQ      readymap.Ministry
	HQAreas []*int
}

func (h *handler) mapPage(c echo.Context) error {
	m, err := h.loadMap(c.Request().Context(), false, web.Lang(c))
	if err != nil {
		return err
	}
	f := filterOf(c)
	d := mapData{Map: m, Filter: f, Rows: m.Select(f), World: worldmap.URL(), Width: worldmap.Width, Height: worldmap.Height,
		Query: query(f), Regions: m.RegionNames()}
	p := web.P(c)
	cols := []column{{Key: "code", Label: p.T("peers.mission")}, {Key: "region", Label: p.T("map.region")}, {Key: "overall", Label: p.T("map.overall")}}
	for _, a := range m.Framework.Areas {
		cols = append(cols, column{Key: a.ID, Label: a.Name})
	}
	cols = append(cols, column{Key: "seen", Label: p.T("map.last_sync")}, column{Key: "framework", Label: p.T("map.framework")})
	for i, col := range cols {
		sorted := f.Sort == col.Key || (f.Sort == "" && col.Key == "code")
		desc := "1"
		if sorted {
			cols[i].Sorted = "ascending"
			if f.Desc {
				cols[i].Sorted, desc = "descending", ""
			}
		} else if col.Key != "code" && col.Key != "region" {
			desc = "1" // scores: highest first on the first click
		} else {
			desc = ""
		}
		cols[i].URL = "/" + query(f, "sort", col.Key, "desc", desc)
	}
	d.Columns = cols
	cat, err := h.Store.Catalog(c.Request().Context())
	if err != nil {
		return err
	}
	if d.HQ, _, err = h.loadMinistry(c.Request().Context(), ministryFramework(cat)); err != nil {
		return err
	}
	for _, a := range m.Framework.Areas {
		s, ok := d.HQ.Report.Area(a.ID)
		if !ok || s.Items == 0 {
			d.HQAreas = append(d.HQAreas, nil)
			continue
		}
		d.HQAreas = append(d.HQAreas, intp(s.Value))
	}
	d.Dots, d.Unplaced = dots(d.Rows)
	d.Pages = max(1, (len(d.Rows)+GridPage-1)/GridPage)
	d.Page, _ = strconv.Atoi(c.QueryParam("page"))
	d.Page = min(max(d.Page, 1), d.Pages)
	d.From, d.To = (d.Page-1)*GridPage, min(d.Page*GridPage, len(d.Rows))
	d.Shown = d.Rows[d.From:d.To]
	if d.Page > 1 {
		d.PrevURL = "/" + query(f, "page", strconv.Itoa(d.Page-1))
	}
	if d.Page < d.Pages {
		d.NextURL = "/" + query(f, "page", strconv.Itoa(d.Page+1))
	}
	return c.Render(http.StatusOK, "map", h.page(c, "map.title", d))
}

func (h *handler) gapsPage(c echo.Context) error {
	m, err := h.loadMap(c.Request().Context(), true, web.Lang(c))
	if err != nil {
		return err
	}
	f := filterOf(c)
	rows := m.Select(f)
	cat, err := h.Store.Catalog(c.Request().Context())
	if err != nil {
		return err
	}
	mf := ministryFramework(cat).In(web.Lang(c))
	hq, prof, err := h.loadMinistry(c.Request().Context(), mf)
	if err != nil {
		return err
	}
	gaps := []gapView{}
	for _, g := range readymap.Gaps(rows) {
		v := gapView{GapAnswer: g}
		for _, id := range g.Question.Ministry {
			if a, ok := hq.Answer(mf, id, h.Store.Now()); ok {
				v.HQ = append(v.HQ, a)
			}
		}
		gaps = append(gaps, v)
	}
	return c.Render(http.StatusOK, "gaps", h.page(c, "gaps.title", struct {
		Gaps     []gapView
		Models   []readymap.ModelGap
		Filter   readymap.Filter
		Regions  []string
		Missions int
		Profile  string
	}{gaps, m.Models, f, m.RegionNames(), len(rows), prof.Profile}))
}

// gapView is a question of the gap view with headquarters' own answers
// on the same matter beside the missions'.
type gapView struct {
	readymap.GapAnswer
	HQ []readymap.HQAnswer
}

// Exports: the same rows as the grid with the same filter, for
// spreadsheets, programs and GIS tools.

func (h *handler) mapCSV(c echo.Context) error {
	m, err := h.loadMap(c.Request().Context(), false, "")
	if err != nil {
		return err
	}
	rows := m.Select(filterOf(c))
	c.Response().Header().Set("Content-Type", "text/csv; charset=utf-8")
	c.Response().Header().Set("Content-Disposition", `attachment; filename="readiness-map.csv"`)
	w := csv.NewWriter(c.Response())
	head := []string{"code", "name", "region", "country", "city", "lat", "lon", "assessed", "overall"}
	for _, a := range m.Framework.Areas {
		head = append(head, a.ID)
	}
	head = append(head, "answered", "items", "unsupported", "models_missing", "models_partial", "signed_off", "last_sync", "last_change", "stale", "demo", "framework")
	w.Write(head)
	for _, r := range rows {
		// A mission not assessed has no score: its cells are empty, not 0.
		rec := []string{r.Code, r.Name, r.Mission.Region, r.Country, r.City, coord(r.Lat), coord(r.Lon), strconv.FormatBool(r.Assessed()), ""}
		if r.Assessed() {
			rec[8] = strconv.Itoa(r.Report.Overall.Value)
		}
		for _, a := range m.Framework.Areas {
			if r.Assessed() && r.HasArea(a.ID) {
				rec = append(rec, strconv.Itoa(r.Area(a.ID)))
			} else {
				rec = append(rec, "") // not in the mission's framework version
			}
		}
		missing, partial := coverage(r.Report)
		rec = append(rec, strconv.Itoa(r.Report.Overall.Answered), strconv.Itoa(r.Report.Overall.Items), strconv.Itoa(r.Report.Overall.Unsupported),
			strings.Join(missing, ";"), strings.Join(partial, ";"), stamp(signedAt(r)), stamp(r.LastSeen), stamp(r.LastChange), strconv.FormatBool(r.Stale), strconv.FormatBool(r.Demo), strconv.Itoa(r.Against.Version))
		w.Write(rec)
	}
	w.Flush()
	return w.Error()
}

func coord(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 4, 64)
}

func stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func signedAt(r readymap.Mission) *time.Time {
	if r.SignOff == nil {
		return nil
	}
	return &r.SignOff.SignedAt
}

func coverage(r readiness.Report) (missing, partial []string) {
	for _, m := range r.Models {
		switch m.Coverage {
		case readiness.Missing:
			missing = append(missing, m.Model.ID)
		case readiness.Partial:
			partial = append(partial, m.Model.ID)
		}
	}
	return missing, partial
}

// MissionJSON is one mission in the JSON export and API.
type MissionJSON struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Region  string   `json:"region"`
	Country string   `json:"country"`
	City    string   `json:"city"`
	Lat     *float64 `json:"lat"`
	Lon     *float64 `json:"lon"`
	// Assessed is false for a mission that has answered nothing; its
	// Overall is then null and its Areas empty, never 0.
	Assessed      bool           `json:"assessed"`
	Overall       *int           `json:"overall"`
	Areas         map[string]int `json:"areas"`
	Answered      int            `json:"answered"`
	Items         int            `json:"items"`
	Unsupported   int            `json:"unsupported"`
	ModelsMissing []string       `json:"models_missing"`
	ModelsPartial []string       `json:"models_partial"`
	SignedOff     *time.Time     `json:"signed_off"`
	LastSync      *time.Time     `json:"last_sync"`
	LastChange    *time.Time     `json:"last_change"`
	Stale         bool           `json:"stale"`
	Demo          bool           `json:"demo"`
	// Framework is the framework version the mission has applied and is
	// scored against; Areas hold only that version's areas.
	Framework int `json:"framework"`
	// Narrative-resilience signals from the mission's incidents.
	Incidents            int  `json:"incidents"`
	IncidentsOpen        int  `json:"incidents_open"`
	MinutesToEscalate    *int `json:"minutes_to_escalate"`
	LessonsCapturedShare *int `json:"lessons_captured_percent"`
}

// MapJSON is the JSON export and the API's answer.
type MapJSON struct {
	// Framework is HQ's newest version, whose areas Areas lists;
	// Frameworks, every version the missions are scored against.
	Framework  int               `json:"framework"`
	Frameworks []int             `json:"frameworks"`
	Built      time.Time         `json:"built"`
	Areas      []framework.Area  `json:"areas"`
	Missions   []MissionJSON     `json:"missions"`
	Regions    []readymap.Region `json:"regions"`
	// Revoked lists the codes of the missions HQ revoked: on no map.
	Revoked []string `json:"revoked"`
}

func toJSON(m *readymap.Map, rows []readymap.Mission, sig map[string]store.Signals) MapJSON {
	out := MapJSON{Framework: m.Framework.Version, Frameworks: m.Frameworks, Built: m.Built, Areas: m.Framework.Areas, Regions: m.Regions, Missions: []MissionJSON{}, Revoked: []string{}}
	for _, r := range m.Revoked {
		out.Revoked = append(out.Revoked, r.Code)
	}
	for _, r := range rows {
		mj := MissionJSON{Code: r.Code, Name: r.Name, Region: r.Mission.Region, Country: r.Country, City: r.City, Lat: r.Lat, Lon: r.Lon,
			Assessed: r.Assessed(), Areas: map[string]int{}, Answered: r.Report.Overall.Answered, Items: r.Report.Overall.Items,
			Unsupported: r.Report.Overall.Unsupported, SignedOff: signedAt(r), LastSync: r.LastSeen, LastChange: r.LastChange, Stale: r.Stale, Demo: r.Demo, Framework: r.Against.Version}
		mj.ModelsMissing, mj.ModelsPartial = coverage(r.Report)
		if s, ok := sig[r.Code]; ok {
			mj.Incidents, mj.IncidentsOpen = s.Reported, s.Open
			if s.Escalated > 0 {
				n := int(s.MedianToEscalate.Minutes())
				mj.MinutesToEscalate = &n
			}
			if s.Closed > 0 {
				n := s.LessonsShare()
				mj.LessonsCapturedShare = &n
			}
		}
		if r.Assessed() {
			v := r.Report.Overall.Value
			mj.Overall = &v
			for _, a := range r.Report.Areas {
				mj.Areas[a.Area.ID] = a.Score.Value
			}
		}
		out.Missions = append(out.Missions, mj)
	}
	return out
}

func (h *handler) mapJSON(c echo.Context) error {
	m, err := h.loadMap(c.Request().Context(), false, "")
	if err != nil {
		return err
	}
	if c.Request().URL.Path == "/map.json" {
		c.Response().Header().Set("Content-Disposition", `attachment; filename="readiness-map.json"`)
	}
	sig, err := h.Store.IncidentSignals(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toJSON(m, m.Select(filterOf(c)), sig))
}

func (h *handler) missionsGeoJSON(c echo.Context) error {
	m, err := h.loadMap(c.Request().Context(), false, "")
	if err != nil {
		return err
	}
	type feature struct {
		Type     string `json:"type"`
		Geometry struct {
			Type        string     `json:"type"`
			Coordinates [2]float64 `json:"coordinates"`
		} `json:"geometry"`
		Properties MissionJSON `json:"properties"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection", Features: []feature{}}
	sig, err := h.Store.IncidentSignals(c.Request().Context())
	if err != nil {
		return err
	}
	for _, mj := range toJSON(m, m.Select(filterOf(c)), sig).Missions {
		if mj.Lat == nil || mj.Lon == nil {
			continue
		}
		var f feature
		f.Type, f.Geometry.Type = "Feature", "Point"
		f.Geometry.Coordinates = [2]float64{*mj.Lon, *mj.Lat}
		f.Properties = mj
		fc.Features = append(fc.Features, f)
	}
	b, err := json.Marshal(fc)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(c.Request().URL.Path, "/api/") {
		c.Response().Header().Set("Content-Disposition", `attachment; filename="missions.geojson"`)
	}
	return c.Blob(http.StatusOK, "application/geo+json", b)
}
