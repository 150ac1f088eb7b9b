package test

import (
	"encoding/csv"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// readyz asks a program whether it is ready, as a load balancer or
// systemd's watchdog script would.
func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	r, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	var v struct{ Ready bool }
	if err := json.Unmarshal(b, &v); err != nil || v.Ready != (r.StatusCode == 200) {
		t.Fatalf("/readyz answered %d %s", r.StatusCode, b)
	}
	return r.StatusCode, string(b)
}

// immutable makes the database files of dir unwritable, even for root,
// as a disk remounted read-only after an I/O error would; undo puts
// them back.
func immutable(t *testing.T, dir, db string) (undo func()) {
	t.Helper()
	var files []string
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			files = append(files, filepath.Join(dir, f))
		}
	}
	if out, err := exec.Command("chattr", append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i (the test needs e2fsprogs and a file system that keeps attributes, such as ext4): %v %s", err, out)
	}
	done := false
	undo = func() {
		if !done {
			exec.Command("chattr", append([]string{"-i"}, files...)...).Run()
			done = true
		}
	}
	t.Cleanup(undo)
	return undo
}

// TestReadyzChecksTheDatabase: both programs say they are ready while
// their database takes writes, say they are not, naming the database,
// once it takes none, and are ready again once it does; /healthz says
// only that the process answers.
func TestReadyzChecksTheDatabase(t *testing.T) {
	for _, p := range []struct{ bin, db string }{{"chancery-agent", "agent.db"}, {"chancery-hq", "hq.db"}} {
		dir := t.TempDir()
		a := start(t, p.bin, dir)
		if code, body := readyz(t, a.URL); code != 200 || !strings.Contains(body, `"name":"database","ok":true`) || !strings.Contains(body, `"name":"disk","ok":true`) || !strings.Contains(body, `"name":"keys","ok":true`) {
			t.Fatalf("%s /readyz at start: %d %s", p.bin, code, body)
		}
		undo := immutable(t, dir, p.db)
		code, body := readyz(t, a.URL)
		if code != 503 || !strings.Contains(body, "the database takes no write") {
			t.Fatalf("%s /readyz with its database read-only: %d %s", p.bin, code, body)
		}
		if r, err := http.Get(a.URL + "/healthz"); err != nil || r.StatusCode != 200 {
			t.Fatalf("%s /healthz: %v", p.bin, err)
		}
		undo()
		if code, body := readyz(t, a.URL); code != 200 {
			t.Fatalf("%s /readyz once the database takes writes again: %d %s", p.bin, code, body)
		}
	}
}

// TestPagesGoCompressed: HTML pages, the style sheet, the map's JSON
// and the world map's SVG go gzip-compressed to a client that takes it;
// a sealed pouch does not.
func TestPagesGoCompressed(t *testing.T) {
	dir := t.TempDir()
	run(t, "chancery-hq", "demo", "--data", dir, "--missions", "5")
	hq := startHQ(t, dir)
	c := login(t, hq.URL, "admin", hq.Password)
	tr := &http.Transport{DisableCompression: true} // see the encoding as sent
	css := regexp.MustCompile(`href="(/static/[^"]+\.css)"`).FindStringSubmatch(get(t, c, hq.URL+"/"))
	if css == nil {
		t.Fatal("no style sheet on the map page")
	}
	world := worldRE.FindString(get(t, c, hq.URL+"/"))
	if world == "" {
		t.Fatal("no world map on the map page")
	}
	c.Transport = tr
	for _, path := range []string{"/", css[1], "/missions", "/map.json", world} {
		req, _ := http.NewRequest("GET", hq.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: %d, Content-Encoding %q", path, r.StatusCode, r.Header.Get("Content-Encoding"))
		}
	}
	req, _ := http.NewRequest("POST", hq.URL+"/api/v1/exchange", strings.NewReader(strings.Repeat("x", 4096)))
	req.Header.Set("Accept-Encoding", "gzip")
	r, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.Header.Get("Content-Encoding") != "" {
		t.Fatalf("the exchange answered with Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
}

// metric reads one sample from a program's /metrics, -1 if absent.
func metric(t *testing.T, base, sample string) float64 {
	t.Helper()
	r, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("%s: %q", sample, line)
			}
			return v
		}
	}
	return -1
}

// TestMetricsMoveWithASync: both programs' metrics are there from the
// start and move as a mission syncs: the change waiting at the mission
// goes, HQ counts the exchange and its bytes, and the mission is fresh.
func TestMetricsMoveWithASync(t *testing.T) {
	s := newSite(t)
	a := startAgent(t, s.agentDir)
	c := login(t, a.URL, "admin", a.Password)
	form(t, c, a.URL+"/areas/strategy", a.URL+"/answers/STR-01", url.Values{"level": {"2"}, "evidence": {"Strategy 2026"}})

	if v := metric(t, a.URL, "chancery_agent_changes_pending"); v != 1 {
		t.Fatalf("changes pending before the sync: %v", v)
	}
	okBefore := metric(t, s.hq.URL, `chancery_hq_exchanges_total{result="ok"}`)
	if okBefore < 0 || metric(t, s.hq.URL, `chancery_hq_missions{freshness="never"}`) != 1 || metric(t, a.URL, `chancery_agent_syncs_total{result="ok"}`) != 0 {
		t.Fatal("the metrics are not there from the start")
	}
	if r := form(t, c, a.URL+"/sync", a.URL+"/sync", url.Values{}); r.StatusCode != 200 {
		t.Fatalf("sync now: %d", r.StatusCode)
	}
	waitFor(t, 20*time.Second, func() bool { return metric(t, a.URL, "chancery_agent_changes_pending") == 0 })
	waitFor(t, 5*time.Second, func() bool { return metric(t, a.URL, `chancery_agent_syncs_total{result="ok"}`) >= 1 })
	if v := metric(t, a.URL, "chancery_agent_pouch_bytes_sent_total"); v <= 0 {
		t.Fatalf("pouch bytes sent: %v", v)
	}
	if v := metric(t, s.hq.URL, `chancery_hq_exchanges_total{result="ok"}`); v <= okBefore {
		t.Fatalf("HQ's ok exchanges: %v, before %v", v, okBefore)
	}
	if v := metric(t, s.hq.URL, "chancery_hq_pouch_bytes_total"); v <= 0 {
		t.Fatalf("HQ's pouch bytes: %v", v)
	}
	if v := metric(t, s.hq.URL, `chancery_hq_missions{freshness="fresh"}`); v != 1 {
		t.Fatalf("fresh missions at HQ: %v", v)
	}
	if v := metric(t, s.hq.URL, `chancery_hq_http_requests_total{code="200",route="/api/v1/exchange"}`); v < 1 {
		t.Fatalf("HQ's exchange requests: %v", v)
	}
	if v := metric(t, a.URL, "chancery_agent_last_sync_ok_timestamp_seconds"); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatalf("last sync: %v", v)
	}
}

// TestConfigFiles: the example config files in deploy/ are what the
// programs print (every setting, explained); a program started with a
// config file takes its settings from it; a mistake in it stops the
// program with the file, the key and what is wrong.
func TestConfigFiles(t *testing.T) {
	for _, p := range []struct{ bin, example string }{{"chancery-agent", "agent.toml.example"}, {"chancery-hq", "hq.toml.example"}} {
		want, err := os.ReadFile(filepath.Join("..", "deploy", p.example))
		if err != nil {
			t.Fatal(err)
		}
		if got := run(t, p.bin, "config", "example"); got != string(want) {
			t.Fatalf("deploy/%s is not what %s config example prints: run it again to update the file", p.example, p.bin)
		}
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "agent.toml")
	os.WriteFile(conf, []byte("mission-name = \"Embassy in Nairobi\"\nsession-idle = \"20m\"\n"), 0o600)
	a := startAgent(t, dir, "--config", conf)
	c := login(t, a.URL, "admin", a.Password)
	if page := get(t, c, a.URL+"/"); !strings.Contains(page, "Embassy in Nairobi") {
		t.Fatal("the mission name from the config file is not on the page")
	}
	a.stop(t)

	for _, tc := range []struct{ text, want string }{
		{"mision-name = \"x\"\n", `agent.toml: unknown key “mision-name”; the known ones are addr, data, mission-name`},
		{"sync-attempts = 0\n", `agent.toml: sync-attempts = 0 is not a whole number of at least 1`},
		{"log-format = \"yaml\"\n", `the log format “yaml” is neither text nor json`},
	} {
		os.WriteFile(conf, []byte(tc.text), 0o600)
		out, err := runErr("chancery-agent", "serve", "--data", dir, "--config", conf)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Fatalf("%q: %v %s", tc.text, err, out)
		}
	}
	os.WriteFile(conf, []byte("adr = \"0.0.0.0:1\"\n"), 0o600)
	if out, err := runErr("chancery-hq", "serve", "--data", t.TempDir(), "--config", conf); err == nil || !strings.Contains(out, `agent.toml: unknown key “adr”`) {
		t.Fatalf("HQ with a bad config: %v %s", err, out)
	}
}

// TestScheduledBackups: both programs take encrypted backups on their
// schedule into a folder, keep the newest N, and the newest restores to
// a database that holds what was saved.
func TestScheduledBackups(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	keyFile := filepath.Join(t.TempDir(), "backup-key.txt")
	os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600)
	for _, p := range []struct{ bin, prefix string }{{"chancery-agent", "agent"}, {"chancery-hq", "hq"}} {
		dir, backups := t.TempDir(), t.TempDir()
		a := start(t, p.bin, dir, "--backup-schedule", "@every 1s", "--backup-keep", "2", "--backup-dir", backups, "--backup-recipient", id.Recipient().String())
		run(t, p.bin, "user", "add", "--data", dir, "--username", "lena", "--name", "Lena K", "--password", "a long enough passphrase")
		var kept []string
		waitFor(t, 20*time.Second, func() bool {
			kept, _ = filepath.Glob(filepath.Join(backups, p.prefix+"-*.age"))
			return len(kept) == 2
		})
		time.Sleep(2500 * time.Millisecond) // two more backups: still two kept
		kept, _ = filepath.Glob(filepath.Join(backups, p.prefix+"-*.age"))
		if len(kept) != 2 {
			t.Fatalf("%s keeps %d backups, not 2: %v", p.bin, len(kept), kept)
		}
		a.stop(t)
		restored := t.TempDir()
		// The key file stays with the program's data: a scheduled backup,
		// like any other, holds no usable key.
		if err := copyFile(filepath.Join(dir, "keys.key"), filepath.Join(restored, "keys.key")); err != nil {
			t.Fatal(err)
		}
		sort.Strings(kept)
		out := run(t, p.bin, "restore", "--data", restored, "--from", kept[1], "--identity", keyFile)
		if !strings.Contains(out, "Restored") {
			t.Fatalf("%s restore: %s", p.bin, out)
		}
		b := start(t, p.bin, restored)
		login(t, b.URL, "lena", "a long enough passphrase")
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// TestHonestMap: a mission that has answered nothing is "not assessed"
// on the grid, the world map and the exports, and in no mean; a revoked
// mission leaves the map, the grid and the means, and is listed apart.
func TestHonestMap(t *testing.T) {
	dir := t.TempDir()
	run(t, "chancery-hq", "demo", "--data", dir, "--missions", "3") // FR-PAR, UG-KLA, FJ-SUV, all assessed
	run(t, "chancery-hq", "mission", "add", "--data", dir, "--code", "KE-NBO", "--name", "Embassy in Nairobi", "--region", "Africa", "--lat", "-1.29", "--lon", "36.82")
	run(t, "chancery-hq", "mission", "revoke", "--data", dir, "--code", "FJ-SUV")
	hq := startHQ(t, dir)
	c := login(t, hq.URL, "admin", hq.Password)

	page := html.UnescapeString(get(t, c, hq.URL+"/"))
	row := regexp.MustCompile(`(?s)<tr class="[^"]*unassessed" data-code="KE-NBO">.*?</tr>`).FindString(page)
	if !strings.Contains(row, "not assessed") || regexp.MustCompile(`band-\d`).MatchString(row) {
		t.Fatalf("Nairobi, which answered nothing, on the grid:\n%s", row)
	}
	if !regexp.MustCompile(`class="unassessed[^"]*" data-code="KE-NBO"`).MatchString(page) || !strings.Contains(page, "KE-NBO Embassy in Nairobi: not assessed") {
		t.Fatal("Nairobi's dot on the world map is not marked not assessed")
	}
	if strings.Contains(page, `data-code="FJ-SUV"`) {
		t.Fatal("the revoked mission is still on the map or the grid")
	}
	if p := html.UnescapeString(get(t, c, hq.URL+"/missions/KE-NBO")); !strings.Contains(p, "Not assessed</strong>: no answer has arrived") || strings.Contains(p, `data-area-score=`) {
		t.Fatal("Nairobi's page shows scores although it answered nothing")
	}
	if rv := regexp.MustCompile(`(?s)<section aria-labelledby="revoked-h" id="revoked">.*?</section>`).FindString(page); !strings.Contains(rv, "FJ-SUV") {
		t.Fatalf("the revoked mission is not listed apart:\n%s", rv)
	}

	var m struct {
		Missions []struct {
			Code     string         `json:"code"`
			Assessed bool           `json:"assessed"`
			Overall  *int           `json:"overall"`
			Areas    map[string]int `json:"areas"`
		} `json:"missions"`
		Regions []struct {
			Name     string `json:"name"`
			Missions int    `json:"missions"`
			Assessed int    `json:"assessed"`
			Overall  *int   `json:"overall"`
		} `json:"regions"`
		Revoked []string `json:"revoked"`
	}
	if err := json.Unmarshal([]byte(get(t, c, hq.URL+"/map.json")), &m); err != nil {
		t.Fatal(err)
	}
	var kla int
	for _, ms := range m.Missions {
		switch ms.Code {
		case "KE-NBO":
			if ms.Assessed || ms.Overall != nil || len(ms.Areas) > 0 {
				t.Fatalf("Nairobi in the JSON: %+v", ms)
			}
		case "UG-KLA":
			kla = *ms.Overall
		case "FJ-SUV":
			t.Fatal("the revoked mission is in the JSON's missions")
		}
	}
	if len(m.Revoked) != 1 || m.Revoked[0] != "FJ-SUV" {
		t.Fatalf("revoked in the JSON: %v", m.Revoked)
	}
	for _, r := range m.Regions {
		switch r.Name {
		case "Africa": // Kampala, assessed; Nairobi, not: the mean is Kampala's alone
			if r.Missions != 2 || r.Assessed != 1 || r.Overall == nil || *r.Overall != kla {
				t.Fatalf("Africa's mean counts Nairobi: %+v (Kampala %d)", r, kla)
			}
		case "Asia and Pacific":
			t.Fatal("the revoked mission's region is still in the means")
		}
	}
	recs, err := csv.NewReader(strings.NewReader(get(t, c, hq.URL+"/map.csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		if rec[0] == "KE-NBO" && (rec[7] != "false" || rec[8] != "") {
			t.Fatalf("Nairobi in the CSV: assessed %q, overall %q", rec[7], rec[8])
		}
	}
}
