package httpd_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"chancery/sync/pouch"
	"chancery/web/webtest"
)

// TestDestructiveActionsAskFirst: revoking a mission's keys or the
// mission itself says what will happen to whom and takes effect only
// with the mission's code typed again; without it nothing changes. A
// revoked mission is reinstated from its page with a code to enroll
// again, and its old keys stay refused.
func TestDestructiveActionsAskFirst(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	page := b.Get("/missions/FR-PAR").Body
	for _, want := range []string{"HQ refuses every pouch signed with FR-PAR", "Type FR-PAR to confirm", "Revoke FR-PAR's keys and issue a re-enrollment code", "leaves the map, the grid and the means", "Revoke FR-PAR</button>"} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Fatalf("the mission's page does not say %q", want)
		}
	}
	state := func() string {
		ms, err := e.db.Mission(context.Background(), "FR-PAR")
		if err != nil {
			t.Fatal(err)
		}
		return ms.State
	}
	for _, path := range []string{"/missions/FR-PAR/revoke", "/missions/FR-PAR/rekey"} {
		for _, typed := range []string{"", "FR-LYO"} {
			r := b.Post(path, url.Values{"confirm": {typed}})
			if r.Status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(r.Body), "type the mission's code, FR-PAR") || !strings.Contains(r.Body, "Nothing was changed") {
				t.Fatalf("%s confirmed with %q: %d\n%s", path, typed, r.Status, r.Body)
			}
		}
	}
	if st, _, _ := e.send(m, m.pouch(t, 1, 1, "HQ")); st != 200 || state() != "enrolled" {
		t.Fatalf("unconfirmed actions changed something: the mission's pouch gets %d, its state is %s", st, state())
	}

	r := b.Post("/missions/FR-PAR/revoke", url.Values{"confirm": {"FR-PAR"}})
	if r.Status != http.StatusSeeOther || state() != "revoked" {
		t.Fatalf("revoke, confirmed: %d, state %s", r.Status, state())
	}
	if p := b.Get(r.Header.Get("Location")).Body; !strings.Contains(p, "Revoked. HQ refuses this mission") || !strings.Contains(p, `id="reinstate"`) {
		t.Fatalf("after revoking, the mission's page:\n%s", p)
	}
	if st, _, _ := e.send(m, m.pouch(t, 2, 1, "HQ")); st != http.StatusForbidden {
		t.Fatalf("a revoked mission's pouch gets %d", st)
	}
	r = b.Post("/missions/FR-PAR/reinstate", url.Values{})
	if r.Status != 200 || !strings.Contains(r.Body, `id="enroll-code"`) || state() != "enrolled" {
		t.Fatalf("reinstate: %d, state %s", r.Status, state())
	}
	if st, _, _ := e.send(m, m.pouch(t, 2, 1, "HQ")); st != http.StatusForbidden {
		t.Fatalf("after reinstating, the old keys' pouch gets %d; they must enroll again", st)
	}
}

// TestMissionDetailsAndRegions: HQ corrects a mission's details from its
// page, its region chosen from the list HQ manages; a region not on the
// list is refused, so a typo cannot make a new region; a region still in
// use cannot be removed.
func TestMissionDetailsAndRegions(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	b.Get("/missions")
	for _, name := range []string{"Europe", "Asia and Pacific"} {
		if r := b.Post("/regions", url.Values{"name": {name}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add a region: %d", r.Status)
		}
	}
	b.Get("/missions/new")
	if r := b.Post("/missions", url.Values{"code": {"FR-PAR"}, "name": {"Embassy in Paris"}, "region": {"Eruope"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "There is no region") {
		t.Fatalf("a mission in a region not on the list: %d", r.Status)
	}
	if r := b.Post("/missions", url.Values{"code": {"FR-PAR"}, "name": {"Embassy in Paris"}, "region": {"Asia and Pacific"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	page := b.Get("/missions/FR-PAR/edit").Body
	if !strings.Contains(page, `<option selected>Asia and Pacific</option>`) || !strings.Contains(page, `<option>Europe</option>`) {
		t.Fatalf("the edit form does not offer the list:\n%s", page)
	}
	if r := b.Post("/missions/FR-PAR", url.Values{"name": {"Embassy in Paris"}, "region": {"Eruope"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "Nothing was changed") {
		t.Fatalf("a typo for a region: %d", r.Status)
	}
	if r := b.Post("/missions/FR-PAR", url.Values{"name": {"Embassy of France in Paris"}, "city": {"Paris"}, "region": {"Europe"}, "lat": {"48.86"}, "lon": {"2.35"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save the details: %d %s", r.Status, r.Body)
	}
	m, err := e.db.Mission(context.Background(), "FR-PAR")
	if err != nil || m.Name != "Embassy of France in Paris" || m.Region != "Europe" || m.City != "Paris" || m.Lat == nil || *m.Lat != 48.86 {
		t.Fatalf("after the edit: %+v %v", m, err)
	}
	if p := b.Get("/missions/FR-PAR").Body; !strings.Contains(p, "Saved the mission") {
		t.Fatal("no word that the details were saved")
	}
	b.Get("/missions")
	if r := b.Post("/regions/Europe/remove", nil); r.Status != http.StatusConflict || !strings.Contains(r.Body, "to another region first") {
		t.Fatalf("removing a region in use: %d", r.Status)
	}
	if r := b.Post("/regions/Asia%20and%20Pacific/remove", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("removing an unused region: %d", r.Status)
	}
	if rs, _ := e.db.Regions(context.Background()); len(rs) != 1 || rs[0] != "Europe" {
		t.Fatalf("regions: %v", rs)
	}
}
