package httpd_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"chancery/hq/demo"
	"chancery/hq/httpd"
	"chancery/shared/account"
	"chancery/shared/protocol"
	"chancery/sync/pouch"
	"chancery/web/webtest"
)

var rowRE = regexp.MustCompile(`<tr class="[^"]*" data-code="([A-Z0-9-]+)">`)

func TestMapPageFiltersAndExports(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	if _, err := demo.Generate(context.Background(), e.db, demo.Options{Missions: 30, Snapshots: 2, Seed: 3, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("ana") // an analyst reads the map
	page := b.Get("/")
	if page.Status != 200 {
		t.Fatalf("map: %d", page.Status)
	}
	all := rowRE.FindAllStringSubmatch(page.Body, -1)
	if len(all) != 30 || strings.Count(page.Body, `<circle `) != 30 {
		t.Fatalf("grid rows %d, dots %d; want 30 each", len(all), strings.Count(page.Body, `<circle `))
	}
	if !strings.Contains(page.Body, `<image href="/worldmap-`) {
		t.Fatal("the world map is not drawn")
	}
	europe := rowRE.FindAllStringSubmatch(b.Get("/?region=Europe&sort=overall&desc=1").Body, -1)
	if len(europe) == 0 || len(europe) == 30 {
		t.Fatalf("Europe filter kept %d of 30", len(europe))
	}
	// The CSV export with the same filter holds exactly the rows shown,
	// in the same order.
	r := b.Get("/map.csv?region=Europe&sort=overall&desc=1")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][0] != "code" || recs[0][9] != "strategy" || len(recs)-1 != len(europe) {
		t.Fatalf("csv header %v, %d rows for %d shown", recs[0], len(recs)-1, len(europe))
	}
	for i, rec := range recs[1:] {
		if rec[0] != europe[i][1] || rec[2] != "Europe" {
			t.Fatalf("csv row %d is %s in %s; the grid showed %s", i, rec[0], rec[2], europe[i][1])
		}
	}
	// JSON and GeoJSON carry the same missions.
	var m struct {
		Missions []struct {
			Code    string `json:"code"`
			Overall int    `json:"overall"`
		} `json:"missions"`
	}
	if err := json.Unmarshal([]byte(b.Get("/map.json?region=Europe").Body), &m); err != nil || len(m.Missions) != len(europe) {
		t.Fatalf("json: %v, %d missions", err, len(m.Missions))
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Geometry struct {
				Coordinates [2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(b.Get("/missions.geojson").Body), &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != 30 {
		t.Fatalf("geojson: %v, %d features", err, len(fc.Features))
	}
	if c := fc.Features[0].Geometry.Coordinates; c[0] < -180 || c[0] > 180 || c[1] < -90 || c[1] > 90 {
		t.Fatalf("coordinates are not longitude, latitude: %v", c)
	}
	// Stale missions are marked in the grid and on the map.
	if strings.Contains(page.Body, `class="stale"`) != strings.Contains(page.Body, `stale" data-code=`) {
		t.Fatal("stale rows and stale dots disagree")
	}
	gaps := b.Get("/gaps?region=Europe")
	if gaps.Status != 200 || !strings.Contains(gaps.Body, "Which missions lack a crisis escalation pathway") || !strings.Contains(gaps.Body, "Which model is missing most often?") {
		t.Fatalf("gaps: %d", gaps.Status)
	}
	// An analyst reads the map but cannot enroll missions.
	b.Get("/")
	if r := b.Post("/missions", nil); r.Status != 403 {
		t.Fatalf("analyst registering a mission: %d", r.Status)
	}
}

func TestMapAPI(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	demo.Generate(context.Background(), e.db, demo.Options{Missions: 5, Snapshots: 1, Seed: 1, Now: time.Now()})
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/map", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if status, body := get(""); status != 401 || !strings.Contains(body, `"error"`) {
		t.Fatalf("no credentials: %d %s", status, body)
	}
	if status, body := get("Bearer chy_wrong"); status != 401 || !strings.Contains(body, "not valid") {
		t.Fatalf("wrong token: %d %s", status, body)
	}
	tok, err := e.acc.AddToken(context.Background(), account.System, "gis-team", "analyst")
	if err != nil {
		t.Fatal(err)
	}
	status, body := get("Bearer " + tok)
	var m struct {
		Framework int               `json:"framework"`
		Missions  []json.RawMessage `json:"missions"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &m) != nil || len(m.Missions) != 5 || m.Framework != 1 {
		t.Fatalf("with token: %d %s", status, body)
	}
	e.acc.RevokeToken(context.Background(), account.System, "gis-team")
	if status, _ := get("Bearer " + tok); status != 401 {
		t.Fatalf("revoked token: %d", status)
	}
	// A person logged in may call it too.
	b := webtest.New(t, e.srv.URL, password)
	b.Login("ana")
	if r := b.Get("/api/v1/map"); r.Status != 200 {
		t.Fatalf("with a session: %d", r.Status)
	}
	if r := b.Get("/api/v1/openapi.yaml"); r.Status != 200 || !strings.Contains(r.Body, "openapi: 3.0.3") {
		t.Fatalf("openapi: %d", r.Status)
	}
}

// The registry lists every mission with the same overall score the map
// shows for it.
func TestRegistryShowsMapScores(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	if _, err := demo.Generate(context.Background(), e.db, demo.Options{Missions: 12, Snapshots: 1, Seed: 5, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("ana")
	var m struct {
		Missions []struct {
			Code    string `json:"code"`
			Overall int    `json:"overall"`
		} `json:"missions"`
	}
	if err := json.Unmarshal([]byte(b.Get("/map.json").Body), &m); err != nil || len(m.Missions) != 12 {
		t.Fatalf("map json: %v, %d missions", err, len(m.Missions))
	}
	list := b.Get("/missions").Body
	scored := 0
	for _, ms := range m.Missions {
		re := regexp.MustCompile(`(?s)<tr id="m-` + regexp.QuoteMeta(ms.Code) + `".*?<span class="num">(\d+)</span>`)
		got := re.FindStringSubmatch(list)
		if got == nil || got[1] != strconv.Itoa(ms.Overall) {
			t.Fatalf("registry row for %s: %v; the map shows %d", ms.Code, got, ms.Overall)
		}
		if ms.Overall > 0 {
			scored++
		}
	}
	if scored == 0 {
		t.Fatal("no demo mission has a score; the comparison proves nothing")
	}
}

// A fresh HQ, with no mission yet, shows its map, not an error.
func TestMapOfAFreshHQ(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	for _, path := range []string{"/", "/gaps", "/missions", "/incidents", "/library"} {
		if r := b.Get(path); r.Status != 200 {
			t.Errorf("%s on a fresh HQ: %d", path, r.Status)
		}
	}
}

// The grid shows a page of missions at a time, the exports all of them;
// missions in one city are one dot on the world map that says how many.
func TestMapPagesAndPlaces(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	if _, err := demo.Generate(context.Background(), e.db, demo.Options{Missions: 250, Snapshots: 1, Seed: 4, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("ana")
	page := b.Get("/?sort=code").Body
	first := rowRE.FindAllStringSubmatch(page, -1)
	if len(first) != 100 || !strings.Contains(page, "page 1 of 3") || !strings.Contains(page, `href="/?page=2&amp;sort=code"`) && !strings.Contains(page, `href="/?page=2&sort=code"`) {
		t.Fatalf("page 1: %d rows, or no way to page 2", len(first))
	}
	last := rowRE.FindAllStringSubmatch(b.Get("/?sort=code&page=3").Body, -1)
	if len(last) != 50 || last[0][1] <= first[99][1] {
		t.Fatalf("page 3: %d rows from %v", len(last), last[0])
	}
	if r := b.Get("/?page=99"); len(rowRE.FindAllStringSubmatch(r.Body, -1)) != 50 {
		t.Error("a page beyond the last does not show the last")
	}
	recs, _ := csv.NewReader(strings.NewReader(b.Get("/map.csv").Body)).ReadAll()
	if len(recs)-1 != 250 {
		t.Errorf("the export holds %d missions, want all 250", len(recs)-1)
	}
	// 250 missions in 94 capitals: a dot a city, each saying how many.
	dots := strings.Count(page, "<circle ")
	counts := regexp.MustCompile(`data-count="(\d+)"`).FindAllStringSubmatch(page, -1)
	total := dots - len(counts)
	for _, c := range counts {
		n, _ := strconv.Atoi(c[1])
		total += n
	}
	if dots > 94 || total != 250 {
		t.Errorf("%d dots standing for %d missions; want at most 94 for all 250", dots, total)
	}
}

// The map HQ keeps is the map: every kind of write to what it shows is on
// the next page, however it was made.
func TestMapIsNeverStale(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	e.enroll("KE-NBO")
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	row := func(code string) string {
		return regexp.MustCompile(`(?s)<tr class="[^"]*" data-code="` + code + `">.*?</tr>`).FindString(b.Get("/").Body)
	}
	if r := row("FR-PAR"); !strings.Contains(r, "No answer yet") && !strings.Contains(r, "unassessed") {
		t.Fatalf("FR-PAR before any answer: %s", r)
	}
	// A sync with answers.
	e.send(m, m.pouch(t, 1, 8, "HQ"))
	if r := row("FR-PAR"); strings.Contains(r, "unassessed") || !strings.Contains(r, "just now") {
		t.Fatalf("FR-PAR after its sync: %s", r)
	}
	// The registry edited.
	ms, _ := e.db.Mission(context.Background(), "KE-NBO")
	ms.Name, ms.Region = "Embassy in Nairobi", "Africa"
	if err := e.db.UpdateMission(context.Background(), account.System, ms); err != nil {
		t.Fatal(err)
	}
	if r := row("KE-NBO"); !strings.Contains(r, "Embassy in Nairobi") || !strings.Contains(r, "Africa") {
		t.Fatalf("KE-NBO after its edit: %s", r)
	}
	// A mission revoked leaves the map.
	if err := e.db.Revoke(context.Background(), account.System, "KE-NBO"); err != nil {
		t.Fatal(err)
	}
	if r := row("KE-NBO"); r != "" {
		t.Fatalf("a revoked mission is still on the map: %s", r)
	}
}

// The map HQ keeps and patches with the missions that changed reads, in
// every form, as one built afresh from the database by a server that kept
// nothing, through answers arriving, an edit, a revocation, a mission
// added and a publication.
func TestKeptMapReadsAsOneBuiltAfresh(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ms := []*mission{e.enroll("FR-PAR"), e.enroll("KE-NBO"), e.enroll("BR-BSB"), e.enroll("JP-TYO")}
	kept := webtest.New(t, e.srv.URL, password)
	kept.Login("admin")
	csrf := regexp.MustCompile(`name="csrf" value="[^"]*"|content="[^"]*" name="csrf-token"|"csrf":"[^"]*"|"built":"[^"]*"`)
	same := func(step string) {
		t.Helper()
		h, err := (&httpd.Server{Store: e.db, Accounts: e.acc, Ingest: e.ing, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
		if err != nil {
			t.Fatal(err)
		}
		afresh := httptest.NewServer(h)
		defer afresh.Close()
		b := webtest.New(t, afresh.URL, password)
		b.Login("admin")
		for _, path := range []string{"/map.json", "/map.csv", "/", "/?page=2", "/?region=Africa", "/?lang=fr"} {
			got, want := csrf.ReplaceAllString(kept.Get(path).Body, ""), csrf.ReplaceAllString(b.Get(path).Body, "")
			if got != want {
				t.Fatalf("%s: the kept map's %s differs from one built afresh:\n%s\n---\n%s", step, path, got, want)
			}
		}
	}
	same("at first")
	e.send(ms[0], ms[0].pouch(t, 1, 8, "HQ"))
	e.send(ms[3], ms[3].pouch(t, 1, 3, "HQ"))
	same("after two syncs")
	m, _ := e.db.Mission(context.Background(), "KE-NBO")
	m.Name, m.Region = "Embassy in Nairobi", "Africa"
	if err := e.db.UpdateMission(context.Background(), account.System, m); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Revoke(context.Background(), account.System, "BR-BSB"); err != nil {
		t.Fatal(err)
	}
	ms = append(ms, e.enroll("IN-DEL"))
	e.send(ms[0], ms[0].pouch(t, 9, 2, "HQ"))
	same("after an edit, a revocation, a mission added and a sync")
	if _, err := e.db.Publish(context.Background(), account.System, protocol.Document{ID: "ai-use", Title: "AI rules", Category: "AI readiness", Body: "# Rules"}, "all"); err != nil {
		t.Fatal(err)
	}
	e.send(ms[4], ms[4].pouch(t, 1, 5, "HQ"))
	same("after a publication and a sync")
}
