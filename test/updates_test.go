package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"chancery/shared/clock"
	"chancery/shared/framework"
)

// syncCmd runs "chancery-agent sync" on a folder and fails the test if
// it does not return within a minute: a sync always ends.
func syncCmd(t *testing.T, agentDir string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "chancery-agent"), "sync", "--data", agentDir)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("chancery-agent sync did not return within a minute:\n%s", out)
	}
	if err != nil {
		t.Fatalf("chancery-agent sync: %v\n%s", err, out)
	}
	return string(out)
}

var inForceRE = regexp.MustCompile(`In force: HQ's release (\d+), capability framework version (\d+)\.`)

// inForce reads what a sync says is in force at the mission.
func inForce(t *testing.T, out string) (release, fw int) {
	t.Helper()
	m := inForceRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the sync does not say what is in force:\n%s", out)
	}
	release, _ = strconv.Atoi(m[1])
	fw, _ = strconv.Atoi(m[2])
	return release, fw
}

// writeFramework writes a framework file as a protocol owner might.
func writeFramework(t *testing.T, b []byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "framework.json")
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// nextFramework is the built-in framework as version v, with an extra
// strategy item if extra is set.
func nextFramework(v int, extra bool) *framework.Framework {
	f := *framework.Builtin()
	f.Version = v
	f.Items = append([]framework.Item(nil), f.Items...)
	if extra {
		f.Items = append(f.Items, framework.Item{ID: "STR-90", Area: "strategy", Models: []string{"digital-foreign-policy"},
			Question: "Is the digital strategy reviewed every year with the missions?", Guidance: "A dated review with the missions' input.",
			Evidence: "The last review's minutes.", Weight: 2,
			Rubric: []string{"No review.", "Reviewed now and then.", "A yearly review is planned.", "The review happens with the missions.", "The review changes the strategy."}})
	}
	return &f
}

// TestFrameworkUpdatesLand: protocol owners publish framework versions
// from ordinary files — indented, compact, keys in another order — with
// the command line and the API while HQ serves. The serving HQ sends each in the
// mission's next exchange, the mission applies it, and HQ scores every
// mission against the version it has: a mission left on an older version
// is shown so, everywhere, and the items it cannot see do not count.
func TestFrameworkUpdatesLand(t *testing.T) {
	hq, hqDir, parDir := enrolled(t, "FR-PAR")
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "KE-NBO", "--name", "Embassy KE-NBO", "--region", "Europe", "--lat", "-1.29", "--lon", "36.82")
	nboDir := t.TempDir()
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", "KE-NBO"))
	run(t, "chancery-agent", "enroll", "--data", nboDir, "--hq", hq.URL, "--code", code, "--mission", "KE-NBO")

	token := regexp.MustCompile(`: (\S+)\n`).FindStringSubmatch(run(t, "chancery-hq", "token", "add", "--data", hqDir, "--name", "tooling", "--role", "publisher"))[1]
	layouts := []struct {
		name   string
		encode func(*framework.Framework) []byte
	}{
		{"indented", func(f *framework.Framework) []byte { b, _ := json.MarshalIndent(f, "", "    "); return b }},
		{"compact", func(f *framework.Framework) []byte { return f.Encode() }},
		{"keys reordered", func(f *framework.Framework) []byte {
			// Through a map: every object's keys come out sorted, not in
			// the order Chancery writes them.
			var m map[string]any
			json.Unmarshal(f.Encode(), &m)
			b, _ := json.MarshalIndent(m, "", "\t")
			return b
		}},
	}
	for i, l := range layouts {
		f := nextFramework(2+i, i == len(layouts)-1)
		if i%2 == 0 { // by the command line
			out := run(t, "chancery-hq", "framework", "publish", "--data", hqDir, "--file", writeFramework(t, l.encode(f)), "--scope", "missions:FR-PAR")
			if !strings.Contains(out, fmt.Sprintf("Published framework version %d", f.Version)) {
				t.Fatalf("%s: publish: %s", l.name, out)
			}
		} else { // by the API, with a publisher's token
			req, _ := http.NewRequest("POST", hq.URL+"/api/v1/framework?scope=missions:FR-PAR", bytes.NewReader(l.encode(f)))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 || !strings.Contains(string(body), fmt.Sprintf(`"framework":%d`, f.Version)) {
				t.Fatalf("%s: publish by the API: %d %s", l.name, resp.StatusCode, body)
			}
		}
		out := syncCmd(t, parDir)
		if _, got := inForce(t, out); got != f.Version || strings.Contains(out, "refused") {
			t.Fatalf("%s framework file: the mission's next sync did not apply version %d:\n%s", l.name, f.Version, out)
		}
	}
	// KE-NBO was not in scope: it stays on the built-in version 1.
	if _, got := inForce(t, syncCmd(t, nboDir)); got != 1 {
		t.Fatalf("KE-NBO has framework version %d, want 1", got)
	}
	// Both answer a strategy item; FR-PAR also the new one.
	for _, m := range []struct {
		dir   string
		items []string
	}{{parDir, []string{"STR-01", "STR-90"}}, {nboDir, []string{"STR-01"}}} {
		a := startAgent(t, m.dir)
		c := login(t, a.URL, "admin", a.Password)
		for _, item := range m.items {
			if r := form(t, c, a.URL+"/areas/strategy", a.URL+"/answers/"+item, url.Values{"level": {"3"}, "evidence": {"Signed review"}}); r.StatusCode != 200 {
				t.Fatalf("answer %s: %d", item, r.StatusCode)
			}
		}
		want := "framework v1 in force"
		if m.dir == parDir {
			want = "framework v4 in force"
		}
		if page := get(t, c, a.URL+"/"); !strings.Contains(page, want) {
			t.Fatalf("the mission's footer does not say %q", want)
		}
		a.stop(t)
		syncCmd(t, m.dir)
	}

	hc := login(t, hq.URL, "admin", hq.Password)
	if page := get(t, hc, hq.URL+"/"); !strings.Contains(page, "framework v4 in force") || !strings.Contains(page, "Missions on different versions are compared here") ||
		!strings.Contains(page, `data-framework="1"`) || !strings.Contains(page, `data-framework="4"`) || !strings.Contains(page, "mixed versions") {
		t.Fatalf("HQ's map does not show the versions in use:\n%s", page)
	}
	for _, m := range []struct{ code, version, items string }{{"FR-PAR", "version 4", "2 of 50 answered"}, {"KE-NBO", "version 1", "1 of 49 answered"}} {
		page := get(t, hc, hq.URL+"/missions/"+m.code)
		if !strings.Contains(page, "Scored against capability framework <strong>"+m.version+"</strong>") || !strings.Contains(page, m.items) {
			t.Fatalf("%s's page at HQ should say %q and %q:\n%s", m.code, m.version, m.items, page)
		}
	}
	var api struct {
		Frameworks []int `json:"frameworks"`
		Missions   []struct {
			Code      string         `json:"code"`
			Framework int            `json:"framework"`
			Items     int            `json:"items"`
			Areas     map[string]int `json:"areas"`
		} `json:"missions"`
	}
	if err := json.Unmarshal([]byte(get(t, hc, hq.URL+"/api/v1/map")), &api); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range api.Missions {
		got[m.Code] = m.Framework*1000 + m.Items
	}
	if fmt.Sprint(api.Frameworks) != "[1 4]" || got["FR-PAR"] != 4050 || got["KE-NBO"] != 1049 {
		t.Fatalf("the map API: frameworks %v, missions %+v", api.Frameworks, api.Missions)
	}
	csv := get(t, hc, hq.URL+"/map.csv")
	if head := strings.SplitN(csv, "\n", 2)[0]; !strings.HasSuffix(head, ",framework") {
		t.Fatalf("CSV header: %s", head)
	}
	for _, want := range []string{"FR-PAR,", "KE-NBO,"} {
		line := ""
		for _, l := range strings.Split(csv, "\n") {
			if strings.HasPrefix(l, want) {
				line = l
			}
		}
		if v := map[string]string{"FR-PAR,": ",4", "KE-NBO,": ",1"}[want]; !strings.HasSuffix(line, v) {
			t.Fatalf("CSV row %q does not end in the framework version %s", line, v)
		}
	}
	if !strings.Contains(get(t, hc, hq.URL+"/missions.geojson"), `"framework":1`) {
		t.Fatal("the GeoJSON export lacks the mission's framework version")
	}
	if page := get(t, hc, hq.URL+"/gaps"); !strings.Contains(page, "This compares missions on framework v1 and v4") {
		t.Fatal("the gap view does not say it compares missions on different versions")
	}
}

// TestRefusedReleaseDoesNotLoop: the mission's clock runs weeks ahead, so
// every release HQ sends looks expired to it, and HQ sends it again with
// every reply. The mission refuses it, reports it once, and every sync
// still returns; HQ's ledger shows the failure and its reason. Once the
// clock is set right, the next sync applies the release.
func TestRefusedReleaseDoesNotLoop(t *testing.T) {
	s := newSite(t)
	run(t, "chancery-hq", "framework", "publish", "--data", s.hqDir, "--file", writeFramework(t, nextFramework(2, false).Encode()), "--scope", "all")
	ahead := clock.Env + "=400h"
	held := func(out string) int {
		m := regexp.MustCompile(`HQ holds every change up to (\d+); 0 pending`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("sync: %s", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	first := syncCmd(t, s.agentDir, ahead)
	if !strings.Contains(first, "was refused") || !strings.Contains(first, "has expired") {
		t.Fatalf("the release was not refused:\n%s", first)
	}
	if _, fw := inForce(t, first); fw != 1 {
		t.Fatalf("a refused release changed the framework in force:\n%s", first)
	}
	start := held(first)
	var last string
	for range 10 {
		last = syncCmd(t, s.agentDir, ahead)
	}
	if grew := held(last) - start; grew != 0 {
		t.Fatalf("ten more syncs logged %d changes; a refused release is reported once", grew)
	}
	out, found := doctor(t, "chancery-agent", s.agentDir, ahead)
	wants(t, "the agent's doctor on a refused release", out, found, "PROBLEM  updates", "was refused", "has expired")
	out, found = doctor(t, "chancery-hq", s.hqDir)
	wants(t, "HQ's doctor on a refused release", out, found, "PROBLEM  releases", "FR-PAR refused release", "has expired")
	c := login(t, s.hq.URL, "admin", s.hqPassword())
	ledger := get(t, c, s.hq.URL+"/library/framework")
	if !strings.Contains(ledger, `class="state-failed"`) || !strings.Contains(ledger, "has expired") {
		t.Fatalf("HQ's ledger does not show the failure and its reason:\n%s", ledger)
	}
	// The clock set right: the retry time, now weeks away, is not waited
	// for, and the release applies.
	if _, fw := inForce(t, syncCmd(t, s.agentDir)); fw != 2 {
		t.Fatal("the release did not apply once the clock was right")
	}
	if ledger := get(t, c, s.hq.URL+"/library/framework"); !strings.Contains(ledger, `class="state-applied"`) {
		t.Fatalf("HQ's ledger does not show the release applied:\n%s", ledger)
	}
}
