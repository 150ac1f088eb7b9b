package test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"chancery/shared/fault"
)

// largeBacklog enrolls FR-PAR through a proxy and gives it 300 answers
// with 3,000 characters of evidence each that does not compress: one
// pouch of well over a megabyte.
func largeBacklog(t *testing.T) (hq *agent, px *proxy, agentDir, password string) {
	t.Helper()
	hqDir := t.TempDir()
	agentDir = t.TempDir()
	hq = startHQ(t, hqDir)
	px = newProxy(t, strings.TrimPrefix(hq.URL, "http://"))
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "FR-PAR", "--name", "Paris")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", "FR-PAR"))
	run(t, "chancery-agent", "enroll", "--data", agentDir, "--hq", px.URL(), "--code", code, "--mission", "FR-PAR")
	a := startAgent(t, agentDir)
	c := login(t, a.URL, "admin", a.Password)
	m := csrfRE.FindStringSubmatch(get(t, c, a.URL+"/areas/strategy"))
	for i := range 300 {
		noise := make([]byte, 2250)
		rand.Read(noise)
		r, err := c.PostForm(a.URL+"/answers/STR-0"+strconv.Itoa(i%8+1), url.Values{"csrf": {m[1]}, "level": {strconv.Itoa(i % 5)}, "evidence": {base64.StdEncoding.EncodeToString(noise)}})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	a.stop(t)
	return hq, px, agentDir, a.Password
}

// TestUploadResumesAcrossRestarts: the agent is killed in the middle of a
// large upload, twice, and each next sync, a new process, goes on from
// HQ's offset with the same pouch: less than 5% of the pouch is sent
// twice, HTTP included.
func TestUploadResumesAcrossRestarts(t *testing.T) {
	hq, px, agentDir, _ := largeBacklog(t)
	px.upstream.Store(0)
	for range 2 {
		cmd := exec.Command(filepath.Join(bin, "chancery-agent"), "sync", "--data", agentDir)
		cmd.Env = append(os.Environ(), fault.Env+"=agent-mid-upload")
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Fatalf("the agent was not killed in the middle of the upload:\n%s", out)
		}
	}
	out := run(t, "chancery-agent", "sync", "--data", agentDir)
	if !strings.Contains(out, "HQ holds every change up to 300; 0 pending") {
		t.Fatalf("sync: %s", out)
	}
	hc := login(t, hq.URL, "admin", hq.Password)
	if page := get(t, hc, hq.URL+"/missions/FR-PAR"); !strings.Contains(page, "all applied up to number 300") {
		t.Fatal("HQ does not hold the 300 changes")
	}
	size := pouchSize(t, agentDir, out)
	over := float64(px.upstream.Load()-size) / float64(size)
	t.Logf("pouch %d bytes; upstream %d bytes over three runs; %.2f%% more", size, px.upstream.Load(), over*100)
	if over >= 0.05 {
		t.Fatalf("%.1f%% of the pouch was sent again across restarts; a resumed upload must resend under 5%%", over*100)
	}
}

// pouchSize is the size of the pouch the last sync sent, as it says.
func pouchSize(t *testing.T, agentDir, out string) int64 {
	t.Helper()
	sent := regexp.MustCompile(`Sent 1 pouch\(es\), (\d+) bytes`).FindStringSubmatch(out)
	if sent == nil {
		t.Fatalf("sync output: %s", out)
	}
	size, _ := strconv.ParseInt(sent[1], 10, 64)
	if size < 600<<10 {
		t.Fatalf("the pouch is only %d bytes; the test needs one much larger than a chunk", size)
	}
	return size
}

// TestUploadResumesAfterCut: a large pouch whose connection is cut half
// way goes on from where HQ got to. Less than 10% of the pouch is sent
// twice.
func TestUploadResumesAfterCut(t *testing.T) {
	hq, px, agentDir, _ := largeBacklog(t)
	px.upstream.Store(0)
	px.cutAfter.Store(300 << 10) // the connection drops after 300 KiB
	out := run(t, "chancery-agent", "sync", "--data", agentDir)
	if !strings.Contains(out, "HQ holds every change up to 300; 0 pending") {
		t.Fatalf("sync: %s", out)
	}
	if px.cuts.Load() != 1 {
		t.Fatalf("the connection was cut %d times, want 1", px.cuts.Load())
	}
	size := pouchSize(t, agentDir, out)
	// Everything that went upstream, HTTP headers and the resent bytes
	// included, against the pouch itself.
	over := float64(px.upstream.Load()-size) / float64(size)
	t.Logf("pouch %d bytes; upstream %d bytes; %.2f%% more", size, px.upstream.Load(), over*100)
	if over >= 0.10 {
		t.Fatalf("%.1f%% of the pouch was sent again; a resumed upload must resend under 10%%", over*100)
	}
	hc := login(t, hq.URL, "admin", hq.Password)
	if page := get(t, hc, hq.URL+"/missions/FR-PAR"); !strings.Contains(page, fmt.Sprintf("all applied up to number %d", 300)) {
		t.Fatal("HQ does not hold the 300 changes")
	}
}

// TestEscalationDoesNotWaitForABacklog: on a 64 kbit/s line, the agent is
// busy uploading a backlog of well over a megabyte (more than two minutes
// of line) when a colleague escalates an incident: the escalation reaches
// HQ in seconds, in an exchange of its own, beside the upload.
func TestEscalationDoesNotWaitForABacklog(t *testing.T) {
	hq, px, agentDir, password := largeBacklog(t)
	px.rate.Store(8 << 10) // 64 kbit/s each way
	a := startAgent(t, agentDir, "--sync-schedule", "@every 1h")
	c := login(t, a.URL, "admin", password)
	form(t, c, a.URL+"/sync", a.URL+"/sync", url.Values{}) // the backlog starts up the line
	waitFor(t, 30*time.Second, func() bool { return px.upstream.Load() > 32<<10 })
	r := form(t, c, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"Deepfake of the ambassador"}, "kind": {"synthetic-media"}, "severity": {"4"}})
	id := regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
	start := time.Now()
	form(t, c, a.URL+"/incidents/"+id, a.URL+"/incidents/"+id+"/move", url.Values{"to": {"escalated"}, "reason": {"Synthetic media of an official"}})
	hc := login(t, hq.URL, "admin", hq.Password)
	waitFor(t, 60*time.Second, func() bool { return strings.Contains(get(t, hc, hq.URL+"/incidents"), id) })
	t.Logf("the escalation reached HQ %s after it was made, with %d KiB of the backlog up the line", time.Since(start).Round(100*time.Millisecond), px.upstream.Load()>>10)
	if held := regexp.MustCompile(`all applied up to number (\d+)`).FindStringSubmatch(get(t, hc, hq.URL+"/missions/FR-PAR")); held != nil && held[1] == "302" {
		t.Fatal("the backlog had arrived before the escalation: the test did not test anything")
	}
}
