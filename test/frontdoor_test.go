package test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
)

// middle is a machine on the path between an agent and HQ that reads and
// may rewrite every byte of enrollment, as an attacker on a hostile
// network would.
type middle struct {
	srv  *httptest.Server
	mu   sync.Mutex
	mode string
	seen [][]byte // the enrollment requests it saw
	// The attacker's own keys, which it tries to get pinned at either end.
	id  *age.X25519Identity
	pub ed25519.PublicKey
	rng *rand.Rand
}

func newMiddle(t *testing.T, target string) *middle {
	m := &middle{rng: rand.New(rand.NewPCG(1, 2))}
	m.id, _ = age.GenerateX25519Identity()
	m.pub, _, _ = ed25519.GenerateKey(nil)
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	inner := p.Director
	p.Director = func(r *http.Request) {
		inner(r)
		if r.URL.Path != "/api/v1/enroll" || r.Body == nil {
			return
		}
		body, _ := io.ReadAll(r.Body)
		m.mu.Lock()
		m.seen = append(m.seen, body)
		mode := m.mode
		m.mu.Unlock()
		switch mode {
		case "swap-request":
			// Register the attacker's keys at HQ in the mission's name,
			// with whatever the request carries to prove the code.
			body = m.rewrite(body, map[string]any{"age_recipient": m.id.Recipient().String(), "signing_key": base64.StdEncoding.EncodeToString(m.pub)})
		case "flip-request":
			body = m.flip(body)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	p.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/api/v1/enroll" {
			return nil
		}
		body, _ := io.ReadAll(resp.Body)
		m.mu.Lock()
		mode := m.mode
		m.mu.Unlock()
		switch mode {
		case "swap-answer":
			// Get the attacker's keys pinned as HQ's.
			body = m.rewrite(body, map[string]any{"hq_recipients": []string{m.id.Recipient().String()}, "hq_signing_key": base64.StdEncoding.EncodeToString(m.pub)})
		case "flip-answer":
			body = m.flip(body)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return nil
	}
	m.srv = httptest.NewServer(p)
	t.Cleanup(m.srv.Close)
	return m
}

func (m *middle) set(mode string) {
	m.mu.Lock()
	m.mode = mode
	m.mu.Unlock()
}

// rewrite replaces fields of a JSON object.
func (m *middle) rewrite(body []byte, fields map[string]any) []byte {
	var v map[string]any
	if json.Unmarshal(body, &v) != nil {
		return body
	}
	for k, f := range fields {
		v[k] = f
	}
	out, _ := json.Marshal(v)
	return out
}

// flip changes one byte somewhere in the body.
func (m *middle) flip(body []byte) []byte {
	out := bytes.Clone(body)
	if len(out) > 0 {
		out[m.rng.IntN(len(out))] ^= byte(1 + m.rng.IntN(255))
	}
	return out
}

var fingerprintRE = regexp.MustCompile(`fingerprint[^:]*: ([0-9a-f]{4}( [0-9a-f]{4}){7})`)

// TestEnrollmentThroughAHostileMiddle: a machine in the middle that may
// rewrite any byte of the enrollment either lets it through untouched or
// makes it fail loudly; it never gets its own keys pinned at the mission
// or registered at HQ, and never learns the code.
func TestEnrollmentThroughAHostileMiddle(t *testing.T) {
	hqDir, agentDir := t.TempDir(), t.TempDir()
	hq := startHQ(t, hqDir)
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "FR-PAR", "--name", "Embassy in Paris")
	out := run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", "FR-PAR")
	code := codeRE.FindString(out)
	hqPrint := fingerprintRE.FindStringSubmatch(out)
	if code == "" || hqPrint == nil {
		t.Fatalf("no code or no fingerprint in %q", out)
	}
	mitm := newMiddle(t, hq.URL)
	enroll := func() (string, error) {
		return runErr("chancery-agent", "enroll", "--data", agentDir, "--hq", mitm.srv.URL, "--code", code, "--mission", "FR-PAR")
	}
	notEnrolled := func(when string) {
		t.Helper()
		if out, err := runErr("chancery-agent", "sync", "--data", agentDir); err == nil || !strings.Contains(out, "not enrolled") {
			t.Fatalf("%s: the mission is enrolled with something: %v\n%s", when, err, out)
		}
	}
	refused := func(mode string) string {
		t.Helper()
		mitm.set(mode)
		out, err := enroll()
		if err == nil {
			t.Fatalf("%s: enrollment succeeded through a rewriting middle:\n%s", mode, out)
		}
		if !strings.Contains(out, "enrollment failed") {
			t.Fatalf("%s: the failure does not say so: %s", mode, out)
		}
		notEnrolled(mode)
		return out
	}

	// Rewritten requests: HQ refuses them, and the code stays unspent.
	refused("swap-request")
	for range 5 {
		refused("flip-request")
	}
	if page := hqPage(t, hq, "/missions/FR-PAR"); strings.Contains(page, ">enrolled<") {
		t.Fatal("HQ enrolled the mission from a rewritten request")
	}

	// A rewritten answer: the mission pins nothing, and says why.
	if out := refused("swap-answer"); !strings.Contains(out, "not authenticated by this code") {
		t.Fatalf("the refusal of a forged answer does not say what happened: %s", out)
	}
	// HQ took the genuine request, so the code is spent; HQ resets the
	// keys it registered and issues a re-enrollment code.
	out = run(t, "chancery-hq", "mission", "rekey", "--data", hqDir, "--code", "FR-PAR")
	code = codeRE.FindString(out)
	for range 5 {
		refused("flip-answer")
		out = run(t, "chancery-hq", "mission", "rekey", "--data", hqDir, "--code", "FR-PAR")
		code = codeRE.FindString(out)
	}

	// Untouched, it goes through, and both ends show the same HQ key.
	mitm.set("pass")
	out, err := enroll()
	if err != nil {
		t.Fatalf("enrollment through an honest path: %v\n%s", err, out)
	}
	agentPrint := fingerprintRE.FindStringSubmatch(out)
	if agentPrint == nil || agentPrint[1] != hqPrint[1] {
		t.Fatalf("fingerprints differ: HQ %q, mission %q", hqPrint, agentPrint)
	}
	syncCmd(t, agentDir)

	// The code never crossed the wire in any form.
	norm := strings.ReplaceAll(code, "-", "")
	for _, b := range mitm.seen {
		if bytes.Contains(bytes.ToUpper(b), []byte(norm)) || bytes.Contains(bytes.ToUpper(b), []byte(code)) {
			t.Fatalf("an enrollment request carried the code: %s", b)
		}
	}
}

// hqPage logs in to HQ as its administrator and returns a page.
func hqPage(t *testing.T, hq *agent, path string) string {
	t.Helper()
	return get(t, login(t, hq.URL, "admin", hq.Password), hq.URL+path)
}
