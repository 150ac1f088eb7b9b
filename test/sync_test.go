package test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var codeRE = regexp.MustCompile(`[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}`)

// enrolled starts HQ, registers a mission and enrolls an agent's data
// folder with it through the real command lines.
func enrolled(t *testing.T, code string) (hq *agent, hqDir, agentDir string) {
	t.Helper()
	hqDir, agentDir = t.TempDir(), t.TempDir()
	hq = startHQ(t, hqDir)
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", code, "--name", "Embassy "+code, "--region", "Europe")
	out := run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", code)
	enrollCode := codeRE.FindString(out)
	if enrollCode == "" {
		t.Fatalf("no code in %q", out)
	}
	out = run(t, "chancery-agent", "enroll", "--data", agentDir, "--hq", hq.URL, "--code", enrollCode, "--mission", code)
	if !strings.Contains(out, "Enrolled as "+code) {
		t.Fatalf("enroll: %s", out)
	}
	return hq, hqDir, agentDir
}

// form posts a form with the CSRF token of the page at from.
func form(t *testing.T, c *http.Client, from, to string, v url.Values) *http.Response {
	t.Helper()
	m := csrfRE.FindStringSubmatch(get(t, c, from))
	if m == nil {
		t.Fatalf("no CSRF token on %s", from)
	}
	v.Set("csrf", m[1])
	r, err := c.PostForm(to, v)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r
}

var (
	reviewedRE = regexp.MustCompile(`name="reviewed" value="([0-9a-f]+)"`)
	confirmRE  = regexp.MustCompile(`name="confirm" value="(\d+)"`)
)

// publishProtocol publishes a protocol version at HQ as a publisher does:
// it reviews it, then confirms the publication the review describes.
func publishProtocol(t *testing.T, c *http.Client, hqURL, id string, v url.Values) *http.Response {
	t.Helper()
	m := csrfRE.FindStringSubmatch(get(t, c, hqURL+"/library/"+id+"/edit"))
	if m == nil {
		t.Fatal("no CSRF token on the publish page")
	}
	v.Set("csrf", m[1])
	r, err := c.PostForm(hqURL+"/library/"+id, v)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	rv, n := reviewedRE.FindSubmatch(b), confirmRE.FindSubmatch(b)
	if rv == nil || n == nil {
		t.Fatalf("no review before publishing %s:\n%s", id, b)
	}
	v.Set("action", "publish")
	v.Set("reviewed", string(rv[1]))
	v.Set("confirm", string(n[1]))
	if r, err = c.PostForm(hqURL+"/library/"+id, v); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r
}

// TestSyncRoundTrip: answers and a sign-off made at a mission reach HQ
// over HTTP, equal at both ends, after "sync now".
func TestSyncRoundTrip(t *testing.T) {
	hq, _, agentDir := enrolled(t, "FR-PAR")
	a := startAgent(t, agentDir)
	mc := login(t, a.URL, "admin", a.Password)
	form(t, mc, a.URL+"/areas/narrative", a.URL+"/answers/NAR-02", url.Values{"level": {"3"}, "evidence": {"Pathway v3 <b>drilled</b>"}})
	form(t, mc, a.URL+"/areas/ai", a.URL+"/answers/AI-03", url.Values{"level": {"4"}, "evidence": {"Rule 4/2026"}})
	form(t, mc, a.URL+"/areas/missions", a.URL+"/answers/MIS-04", url.Values{"level": {"na"}})
	form(t, mc, a.URL+"/", a.URL+"/signoff", url.Values{"note": {"Q2 review"}})
	missionHome := get(t, mc, a.URL+"/")

	r := form(t, mc, a.URL+"/sync", a.URL+"/sync", url.Values{})
	if r.StatusCode != 200 || r.Request.URL.Path != "/sync" {
		t.Fatalf("sync now: %d %s", r.StatusCode, r.Request.URL)
	}
	waitFor(t, 20*time.Second, func() bool {
		return strings.Contains(get(t, mc, a.URL+"/sync"), `<span id="pending">0</span>`)
	})
	status := get(t, mc, a.URL+"/sync")
	if !strings.Contains(status, `<td id="acked">4</td>`) || strings.Contains(status, "last-error") {
		t.Fatalf("sync page after sync:\n%s", status)
	}

	hc := login(t, hq.URL, "admin", hq.Password)
	page := get(t, hc, hq.URL+"/missions/FR-PAR")
	for _, want := range []string{"Pathway v3 &lt;b&gt;drilled&lt;/b&gt;", "Rule 4/2026", "4 measured and improving", "n/a", "Q2 review", "all applied up to number 4"} {
		if !strings.Contains(page, want) {
			t.Errorf("HQ's mission page lacks %q", want)
		}
	}
	// The same scores at both ends.
	overall := regexp.MustCompile(`id="overall-score">(\d+)<`).FindStringSubmatch(missionHome)
	hqOverall := regexp.MustCompile(`id="overall">(\d+)<`).FindStringSubmatch(page)
	if overall == nil || hqOverall == nil || overall[1] != hqOverall[1] {
		t.Fatalf("overall score: mission %v, HQ %v", overall, hqOverall)
	}
	list := get(t, hc, hq.URL+"/")
	if !strings.Contains(list, "just now") {
		t.Error("HQ's mission list does not show the mission as fresh")
	}

	// A second sync sends nothing new and changes nothing.
	out := run(t, "chancery-agent", "sync", "--data", agentDir)
	if !strings.Contains(out, "HQ holds every change up to 4; 0 pending") {
		t.Fatalf("second sync: %s", out)
	}
}

// TestSneakernet: a mission with no link sends its changes on a "USB
// stick" (a folder), HQ imports them twice, and the reply travels back.
func TestSneakernet(t *testing.T) {
	_, hqDir, agentDir := enrolled(t, "KE-NBO")
	a := startAgent(t, agentDir)
	mc := login(t, a.URL, "admin", a.Password)
	form(t, mc, a.URL+"/areas/strategy", a.URL+"/answers/STR-01", url.Values{"level": {"2"}, "evidence": {"Strategy 2025"}})
	a.stop(t)

	usb := t.TempDir()
	out := run(t, "chancery-agent", "pouch", "export", "--data", agentDir, "--out", usb)
	if !strings.Contains(out, "changes 1 to 1") {
		t.Fatalf("export: %s", out)
	}
	files, _ := filepath.Glob(filepath.Join(usb, "KE-NBO-*.pouch"))
	if len(files) != 1 {
		t.Fatalf("pouch files: %v", files)
	}
	for range 2 { // an import done twice takes the pouch in once
		out = run(t, "chancery-hq", "pouch", "import", "--data", hqDir, files[0])
		if !strings.Contains(out, "1 taken in, 0 refused") {
			t.Fatalf("import: %s", out)
		}
	}
	reply := filepath.Join(usb, "reply-"+filepath.Base(files[0]))
	if _, err := os.Stat(reply); err != nil {
		t.Fatal(err)
	}
	out = run(t, "chancery-agent", "pouch", "import", "--data", agentDir, reply)
	if !strings.Contains(out, "HQ holds every change up to 1") {
		t.Fatalf("reply import: %s", out)
	}
	// A pouch with a flipped byte is refused and nothing is written.
	raw, _ := os.ReadFile(files[0])
	raw[len(raw)-30] ^= 1
	bad := filepath.Join(usb, "bad.pouch")
	os.WriteFile(bad, raw, 0o600)
	cmdOut, err := runErr("chancery-hq", "pouch", "import", "--data", hqDir, bad)
	if err == nil || !strings.Contains(cmdOut, "REFUSED") || !strings.Contains(cmdOut, "damaged or was altered") {
		t.Fatalf("tampered import: %v\n%s", err, cmdOut)
	}
}

// waitFor waits until ok, at most d; on failure it shows what explain
// gives, if anything.
func waitFor(t *testing.T, d time.Duration, ok func() bool, explain ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			var more []string
			for _, f := range explain {
				more = append(more, f())
			}
			t.Fatalf("condition not met within %s\n%s", d, strings.Join(more, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
