package test

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// site is HQ and one enrolled mission whose link to HQ goes through a
// proxy, so that tests can cut it and move HQ.
type site struct {
	t               testing.TB
	hq              *agent
	hqDir, agentDir string
	px              *proxy
}

func newSite(t *testing.T) *site { return newSiteB(t) }

func newSiteB(t testing.TB) *site {
	t.Helper()
	s := &site{t: t, hqDir: t.TempDir(), agentDir: t.TempDir()}
	s.hq = startHQ(t, s.hqDir)
	s.px = newProxy(t, strings.TrimPrefix(s.hq.URL, "http://"))
	run(t, "chancery-hq", "mission", "add", "--data", s.hqDir, "--code", "FR-PAR", "--name", "Paris")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", s.hqDir, "--code", "FR-PAR"))
	run(t, "chancery-agent", "enroll", "--data", s.agentDir, "--hq", s.px.URL(), "--code", code, "--mission", "FR-PAR")
	s.hqPassword() // keep the first start's password for the restarts
	return s
}

// restartHQ stops HQ (if it still runs) and starts it again on the same
// data, with env added to its environment; the proxy follows it.
func (s *site) restartHQ(env ...string) {
	s.t.Helper()
	s.hq.stop(s.t)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		s.t.Setenv(k, v)
	}
	s.hq = startHQ(s.t, s.hqDir)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		os.Unsetenv(k)
	}
	s.px.target.Store(strings.TrimPrefix(s.hq.URL, "http://"))
}

// work has the mission's staff save n answers, each with size characters
// of evidence that does not compress, through the agent's web interface.
func (s *site) work(n, size int) {
	s.t.Helper()
	a := startAgent(s.t, s.agentDir)
	if a.Password != "" {
		os.WriteFile(filepath.Join(s.agentDir, "test-password"), []byte(a.Password), 0o600)
	}
	c := login(s.t, a.URL, "admin", s.password())
	m := csrfRE.FindStringSubmatch(get(s.t, c, a.URL+"/areas/strategy"))
	items := []string{"STR-01", "STR-02", "GOV-01", "MIS-01", "NAR-01", "NAR-02", "AI-01", "SOV-01", "SOV-03"}
	for i := range n {
		noise := make([]byte, size*3/4)
		rand.Read(noise)
		r, err := c.PostForm(a.URL+"/answers/"+items[i%len(items)], url.Values{"csrf": {m[1]}, "level": {strconv.Itoa(i % 5)}, "evidence": {base64.StdEncoding.EncodeToString(noise)}})
		if err != nil {
			s.t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			s.t.Fatalf("answer %d: %d", i, r.StatusCode)
		}
	}
	a.stop(s.t)
}

func (s *site) password() string {
	b, _ := os.ReadFile(filepath.Join(s.agentDir, "test-password"))
	return string(b)
}

// sync runs "chancery-agent sync" with env, and returns its output and
// whether it succeeded.
func (s *site) sync(env ...string) (string, error) {
	cmd := exec.Command(filepath.Join(bin, "chancery-agent"), "sync", "--data", s.agentDir, "--sync-attempts", "2")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var heldRE = regexp.MustCompile(`([\d,]+) changes? received, all applied up to number ([\d,]+)`)

// number reads a number as an English page writes it: "2,100".
func number(s string) int {
	n, _ := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	return n
}

// atHQ returns how many changes HQ holds for the mission and up to which
// it has applied them, and the mission's area scores as HQ shows them.
func (s *site) atHQ() (held, through int, scores string) {
	s.t.Helper()
	c := login(s.t, s.hq.URL, "admin", s.hqPassword())
	page := get(s.t, c, s.hq.URL+"/missions/FR-PAR")
	m := heldRE.FindStringSubmatch(page)
	if m == nil {
		s.t.Fatalf("HQ's mission page:\n%s", page)
	}
	held, through = number(m[1]), number(m[2])
	return held, through, strings.Join(areaScoreRE.FindAllString(page, -1), " ")
}

func (s *site) hqPassword() string {
	if s.hq.Password != "" {
		os.WriteFile(filepath.Join(s.hqDir, "test-password"), []byte(s.hq.Password), 0o600)
		return s.hq.Password
	}
	b, _ := os.ReadFile(filepath.Join(s.hqDir, "test-password"))
	return string(b)
}

var areaScoreRE = regexp.MustCompile(`data-area-score="\w+">\d+<`)

// atMission returns the mission's own area scores.
func (s *site) atMission() string {
	s.t.Helper()
	a := startAgent(s.t, s.agentDir)
	c := login(s.t, a.URL, "admin", s.password())
	page := get(s.t, c, a.URL+"/")
	a.stop(s.t)
	return strings.Join(areaScoreRE.FindAllString(page, -1), " ")
}

// TestHQDownForAWeek: the mission works for a week while HQ cannot be
// reached; every sync fails and loses nothing; when HQ is back, the
// backlog goes in bounded pouches and every record arrives once.
func TestHQDownForAWeek(t *testing.T) {
	s := newSite(t)
	s.px.down.Store(true)
	for day := 1; day <= 7; day++ {
		s.work(300, 40)
		out, err := s.sync()
		if err == nil || !strings.Contains(out, "Nothing is lost") {
			t.Fatalf("day %d: sync with HQ down: %v\n%s", day, err, out)
		}
	}
	s.px.down.Store(false)
	out, err := s.sync()
	if err != nil || !strings.Contains(out, "HQ holds every change up to 2100; 0 pending. Sent 2 pouch(es)") {
		t.Fatalf("sync when HQ is back: %v\n%s", err, out)
	}
	held, through, hqScores := s.atHQ()
	if held != 2100 || through != 2100 {
		t.Fatalf("HQ holds %d changes, applied to %d; want 2100 once each", held, through)
	}
	if mine := s.atMission(); mine != hqScores || mine == "" {
		t.Fatalf("scores differ:\nmission %s\nHQ      %s", mine, hqScores)
	}
}

// TestKillAtEachStep kills the agent or HQ with SIGKILL at each step of
// the exchange; after a restart and a normal sync, the end state is the
// one a run without faults reaches.
func TestKillAtEachStep(t *testing.T) {
	points := []struct {
		name string
		hq   bool // the fault is HQ's
	}{
		{"agent-before-seal", false},
		{"agent-after-seal", false},
		{"agent-mid-upload", false},
		{"agent-after-receipt", false},
		{"hq-mid-upload", true},
		{"hq-after-commit", true},
	}
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			s := newSite(t)
			if p.hq {
				s.restartHQ("CHANCERY_FAULT=" + p.name)
			}
			// 120 answers of 3,000 characters: a pouch of about 270 KB,
			// uploaded in two chunks.
			s.work(120, 3000)
			out, err := s.sync("CHANCERY_FAULT=" + p.name)
			if err == nil {
				t.Fatalf("the fault did not fire:\n%s", out)
			}
			if p.hq {
				s.restartHQ()
			}
			out, err = s.sync()
			if err != nil || !strings.Contains(out, "HQ holds every change up to 120; 0 pending") {
				t.Fatalf("sync after the crash: %v\n%s", err, out)
			}
			held, through, hqScores := s.atHQ()
			if held != 120 || through != 120 {
				t.Fatalf("HQ holds %d changes applied to %d; want 120 once each", held, through)
			}
			if mine := s.atMission(); mine != hqScores {
				t.Fatalf("scores differ:\nmission %s\nHQ      %s", mine, hqScores)
			}
		})
	}
}
