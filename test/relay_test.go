package test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// relayKey is the gossip key of the test missions.
const relayKey = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="

// peer is an agent in a cluster of missions on one network, its link to
// HQ through a proxy the test can cut.
type peer struct {
	code, dir, bind string
	a               *agent
	c               *http.Client
	pw              string
	px              *proxy
}

// cluster is HQ and missions that share a network.
type cluster struct {
	t     *testing.T
	hq    *agent
	hqDir string
	seed  string
	peers map[string]*peer
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	k := &cluster{t: t, hqDir: t.TempDir(), peers: map[string]*peer{}}
	k.hq = startHQ(t, k.hqDir)
	return k
}

// enroll registers a mission at HQ and enrolls an agent folder for it,
// through a proxy of its own.
func (k *cluster) enroll(code string) *peer {
	k.t.Helper()
	p := &peer{code: code, dir: k.t.TempDir(), px: newProxy(k.t, strings.TrimPrefix(k.hq.URL, "http://"))}
	run(k.t, "chancery-hq", "mission", "add", "--data", k.hqDir, "--code", code, "--name", "Mission "+code)
	c := codeRE.FindString(run(k.t, "chancery-hq", "mission", "code", "--data", k.hqDir, "--code", code))
	run(k.t, "chancery-agent", "enroll", "--data", p.dir, "--hq", p.px.URL(), "--code", c, "--mission", code)
	p.bind = "127.0.0.1:" + strconv.Itoa(freePort(k.t, 1))
	k.peers[code] = p
	return p
}

// start runs the mission's agent on the shared network, its gossip on its
// own loopback port, joining the first mission started.
func (k *cluster) start(p *peer, extra ...string) {
	k.t.Helper()
	args := []string{"--relay-bind", p.bind, "--relay-key", relayKey, "--relay-fast", "--sync-attempts", "1", "--sync-schedule", "@every 1h"}
	if k.seed != "" && k.seed != p.bind {
		args = append(args, "--relay-seeds", k.seed)
	}
	if k.seed == "" {
		k.seed = p.bind
	}
	p.a = startAgent(k.t, p.dir, append(args, extra...)...)
	if p.a.Password != "" {
		p.pw = p.a.Password
	}
	p.c = login(k.t, p.a.URL, "admin", p.pw)
}

// up enrolls the missions, starts their agents and has each reach HQ
// once, so that its peers see it linked.
func (k *cluster) up(codes ...string) []*peer {
	k.t.Helper()
	var ps []*peer
	for _, code := range codes {
		p := k.enroll(code)
		k.start(p)
		p.syncNow(k.t)
		ps = append(ps, p)
	}
	return ps
}

// syncNow presses "Sync now" on the mission's Sync page.
func (p *peer) syncNow(t *testing.T) {
	t.Helper()
	if r := form(t, p.c, p.a.URL+"/sync", p.a.URL+"/sync", url.Values{}); r.StatusCode != 200 || r.Request.URL.Path != "/sync" {
		t.Fatalf("%s: sync now: %d at %s", p.code, r.StatusCode, r.Request.URL)
	}
}

func (p *peer) page(t *testing.T, path string) string {
	t.Helper()
	return get(t, p.c, p.a.URL+path)
}

var (
	pendingRE = regexp.MustCompile(`<span id="pending">(-?[\d,]+)</span>`)
	ackedRE   = regexp.MustCompile(`<td id="acked">([\d,]+)</td>`)
)

// outbox returns the changes HQ has confirmed and those waiting, as the
// mission's Sync page shows them.
func (p *peer) outbox(t *testing.T) (acked, pending int) {
	t.Helper()
	page := p.page(t, "/sync")
	a, q := ackedRE.FindStringSubmatch(page), pendingRE.FindStringSubmatch(page)
	if a == nil || q == nil {
		t.Fatalf("%s's sync page:\n%s", p.code, page)
	}
	acked, pending = number(a[1]), number(q[1])
	return acked, pending
}

// events counts the rows of the mission's relay log with this event and
// peer ("" for any peer) whose detail holds each of detail.
func (p *peer) events(t *testing.T, event, with string, detail ...string) int {
	t.Helper()
	page := p.page(t, "/peers")
	n := 0
row:
	for _, m := range logRowRE.FindAllStringSubmatch(page, -1) {
		if m[1] != event || (with != "" && m[2] != with) {
			continue
		}
		for _, d := range detail {
			if !strings.Contains(html.UnescapeString(m[3]), d) {
				continue row
			}
		}
		n++
	}
	return n
}

var tagRE = regexp.MustCompile(`(<[^>]*>)+`)

var bytesRE = regexp.MustCompile(`data-bytes="(\d+)"`)

var logRowRE = regexp.MustCompile(`<tr data-event="([^"]*)" data-peer="([^"]*)">(.*?)</tr>`)

// answer saves an answer at the mission.
func (p *peer) answer(t *testing.T, item, level, evidence string) {
	t.Helper()
	area := map[byte]string{'S': "strategy", 'G': "governance", 'M': "missions", 'N': "narrative", 'A': "ai"}[item[0]]
	if strings.HasPrefix(item, "SOV") {
		area = "sovereignty"
	}
	r := form(t, p.c, p.a.URL+"/areas/"+area, p.a.URL+"/answers/"+item, url.Values{"level": {level}, "evidence": {evidence}})
	if r.StatusCode != 200 {
		t.Fatalf("%s: answer %s: %d", p.code, item, r.StatusCode)
	}
}

// held returns how many changes of a mission HQ holds, and up to which
// it has applied them all, from HQ's mission page.
func (k *cluster) held(code string) (held, through int) {
	k.t.Helper()
	c := login(k.t, k.hq.URL, "admin", k.hq.Password)
	page := get(k.t, c, k.hq.URL+"/missions/"+code)
	m := heldRE.FindStringSubmatch(page)
	if m == nil {
		return 0, 0
	}
	return number(m[1]), number(m[2])
}

// linked waits until mission p sees each of the others alive and
// able to reach HQ.
func (k *cluster) linked(p *peer, others ...string) {
	k.t.Helper()
	waitFor(k.t, 20*time.Second, func() bool {
		page := p.page(k.t, "/peers")
		for _, o := range others {
			if !strings.Contains(page, `data-mission="`+o+`" data-state="alive" data-hq="yes"`) {
				return false
			}
		}
		return true
	})
}

// TestRelayThroughPeers: FR-PAR loses its link to HQ; FR-LYO and FR-MRS,
// on the same network, carry its changes to HQ and HQ's receipt back.
// HQ takes them exactly once, FR-PAR's outbox clears only when HQ's
// receipt arrives, and the carriers keep nothing they could read. Then
// an update HQ publishes reaches all three while only FR-LYO can reach
// HQ. A mission that dies is noticed and rejoins; one without the gossip
// key is not let in.
func TestRelayThroughPeers(t *testing.T) {
	k := newCluster(t)
	ps := k.up("FR-PAR", "FR-LYO", "FR-MRS")
	par, lyo, mrs := ps[0], ps[1], ps[2]
	k.linked(par, "FR-LYO", "FR-MRS")

	// FR-PAR's link to HQ is cut. Its staff go on working.
	par.px.down.Store(true)
	const canary = "CANARY-7Q2X-relay-must-not-read-this"
	par.answer(t, "NAR-02", "3", "Rebuttal pathway "+canary)
	par.answer(t, "AI-03", "2", "AI rules "+canary)
	// The carriers' own links to HQ are down for a while too, so that
	// the pouch waits with them.
	lyo.px.down.Store(true)
	mrs.px.down.Store(true)
	par.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { return par.events(t, "handed", "") == 2 }, k.debug)
	for _, p := range []*peer{lyo, mrs} {
		waitFor(t, 30*time.Second, func() bool { return p.events(t, "taken", "FR-PAR") == 1 }, k.debug)
		waitFor(t, 30*time.Second, func() bool { return strings.Contains(p.page(t, "/sync"), "last-error") })
	}
	time.Sleep(2 * time.Second) // FR-PAR looks for HQ's reply at its peers meanwhile
	if acked, pending := par.outbox(t); acked != 0 || pending != 2 {
		t.Fatalf("with its pouch at its peers but not at HQ, FR-PAR's outbox: acked %d, pending %d; it must wait for HQ's receipt", acked, pending)
	}
	if !strings.Contains(par.page(t, "/sync"), "last-error") {
		t.Fatal("FR-PAR's sync page does not show that HQ could not be reached")
	}
	if held, _ := k.held("FR-PAR"); held != 0 {
		t.Fatalf("HQ holds %d changes of FR-PAR before any carrier reached it", held)
	}
	// The carriers reach HQ again, and take the pouch there.
	for _, p := range []*peer{lyo, mrs} {
		p.px.down.Store(false)
		p.syncNow(t)
		waitFor(t, 30*time.Second, func() bool { return p.events(t, "carried", "FR-PAR") == 1 }, k.debug)
	}
	if held, through := k.held("FR-PAR"); held != 2 || through != 2 {
		t.Fatalf("HQ holds %d changes of FR-PAR, applied up to %d; want 2 and 2, each once", held, through)
	}
	// HQ's page for FR-PAR says how its pouches come in.
	hqc := login(t, k.hq.URL, "admin", k.hq.Password)
	if p := get(t, hqc, k.hq.URL+"/missions/FR-PAR"); !regexp.MustCompile(`<span id="arrival">http 127\.0\.0\.1 carried by FR-(LYO|MRS)</span>`).MatchString(p) {
		t.Fatalf("HQ's mission page does not say FR-PAR's last pouch was carried by a peer: %s", regexp.MustCompile(`Last pouch.*`).FindString(p))
	}
	// HQ's receipt comes back to FR-PAR and clears its outbox.
	par.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { _, pending := par.outbox(t); return pending == 0 }, k.debug)
	if acked, _ := par.outbox(t); acked != 2 || par.events(t, "receipt", "") == 0 {
		t.Fatalf("FR-PAR after the receipt: acked %d, receipts logged %d", acked, par.events(t, "receipt", ""))
	}
	// The carriers gave back HQ's replies and keep nothing of FR-PAR's.
	for _, p := range []*peer{lyo, mrs} {
		waitFor(t, 10*time.Second, func() bool { return p.events(t, "returned", "FR-PAR") == 1 })
		for _, f := range files(t, p.dir) {
			b, _ := os.ReadFile(f)
			if strings.Contains(string(b), canary) || strings.Contains(string(b), "Rebuttal pathway") {
				t.Fatalf("%s's file %s holds FR-PAR's records in the clear", p.code, f)
			}
		}
	}
	// A second sync sends nothing twice.
	par.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { return par.events(t, "handed", "") >= 4 })
	if held, _ := k.held("FR-PAR"); held != 2 {
		t.Fatalf("HQ holds %d changes of FR-PAR after a second relay; want 2", held)
	}

	// An incident escalated while cut off goes the same way, at once, and
	// shows as received by HQ when HQ's receipt comes back.
	r := form(t, par.c, par.a.URL+"/incidents/new", par.a.URL+"/incidents", url.Values{"title": {"Impersonation of the consul"}, "kind": {"impersonation"}, "severity": {"4"}})
	id := regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
	form(t, par.c, par.a.URL+"/incidents/"+id, par.a.URL+"/incidents/"+id+"/move", url.Values{"to": {"escalated"}, "reason": {"Impersonation of an official"}})
	seen := map[string]bool{}
	waitFor(t, 30*time.Second, func() bool {
		p := par.page(t, "/incidents/"+id)
		st := deliveryOf(p)
		seen[st] = true
		if st == "carried" && !regexp.MustCompile(`Carried by FR-(LYO|MRS)</strong>`).MatchString(p) {
			t.Fatalf("carried, but not said by whom:\n%s", p)
		}
		return st == "received"
	}, k.debug)
	for st := range seen {
		if st != "queued" && st != "sending" && st != "trying" && st != "carried" && st != "received" {
			t.Fatalf("the escalation showed the state %q on its way", st)
		}
	}
	hc := login(t, k.hq.URL, "admin", k.hq.Password)
	if p := get(t, hc, k.hq.URL+"/missions/FR-PAR"); !strings.Contains(p, "1 escalated") {
		t.Fatal("HQ does not show FR-PAR's escalated incident")
	}

	// HQ publishes an update while only FR-LYO can reach it.
	mrs.px.down.Store(true)
	mrs.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { return strings.Contains(mrs.page(t, "/sync"), "last-error") })
	// The new version is long (an annex of 30 KB that does not
	// compress), so that it shows in the bytes whether it crossed HQ's
	// link once or once per mission.
	annex := make([]byte, 22_500)
	rand.Read(annex)
	k.publish("ai-use", "Rules for using AI tools", "# Rules\n\nNo AI note-takers in meetings.\n\n## Annex\n\n"+base64.StdEncoding.EncodeToString(annex)+"\n")
	lyo.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { return strings.Contains(lyo.page(t, "/protocols/ai-use"), "No AI note-takers") },
		func() string { return lyo.a.errs.String() + lyo.page(t, "/sync") + lyo.page(t, "/protocols/ai-use") })
	k.linked(par, "FR-LYO")
	k.linked(mrs, "FR-LYO")
	// FR-PAR and FR-MRS see that FR-LYO holds a newer release, and ask
	// for theirs through it at once, without waiting for their schedule.
	for _, p := range []*peer{par, mrs} {
		waitFor(t, 30*time.Second, func() bool { return strings.Contains(p.page(t, "/protocols/ai-use"), "No AI note-takers") }, k.debug)
		if !strings.Contains(p.page(t, "/protocols/ai-use"), "Version 2") {
			t.Fatalf("%s does not show version 2 of the protocol", p.code)
		}
	}
	// The update crossed HQ's link once: FR-PAR and FR-MRS took its
	// document from a peer over the local link (FR-LYO, or the other once
	// it had it), and HQ's replies to them carried the signed release
	// alone.
	if lyo.events(t, "served", "") == 0 {
		t.Fatal("FR-LYO served no document of the update")
	}
	for _, p := range []*peer{par, mrs} {
		if p.events(t, "document", "") == 0 {
			t.Fatalf("%s did not take the update's document from a peer\n%s", p.code, k.debug())
		}
		for _, m := range logRowRE.FindAllStringSubmatch(p.page(t, "/peers"), -1) {
			// The size is the row's bytes cell, read from its attribute: the
			// page groups its digits, and a pouch's id may be digits too.
			b := bytesRE.FindStringSubmatch(m[3])
			if b == nil {
				t.Fatalf("a relay log row without its size: %s", m[3])
			}
			if n, _ := strconv.Atoi(b[1]); m[1] == "receipt" && n > 20_000 {
				t.Fatalf("%s got a reply of %d bytes through FR-LYO: the document came from HQ again", p.code, n)
			}
		}
	}

	// FR-PAR rotates its keys while cut off: the new keys go to HQ
	// through FR-LYO, HQ's card for them comes back, and the next change
	// travels under them.
	out := run(t, "chancery-agent", "keys", "rotate", "--data", par.dir, "--sync-attempts", "1")
	if !strings.Contains(out, "HQ could not be told yet") {
		t.Fatalf("keys rotate while cut off: %s", out)
	}
	par.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { return par.events(t, "handed", "", "the mission's new keys") > 0 }, k.debug)
	par.answer(t, "SOV-01", "2", "Vendor register")
	acked, pending := par.outbox(t)
	last := acked + pending
	waitFor(t, 30*time.Second, func() bool {
		if acked, _ := par.outbox(t); acked == last {
			return true
		}
		par.syncNow(t)
		time.Sleep(500 * time.Millisecond)
		return false
	}, k.debug)
	if held, through := k.held("FR-PAR"); held != last || through != last {
		t.Fatalf("after the rotation HQ holds %d changes of FR-PAR, applied up to %d; want %d", held, through, last)
	}
	// (HQ refuses a pouch signed with a key a rotation replaced, and
	// FR-LYO a request whose card does not match its key: the change got
	// through, so both took the new keys.)

	// FR-MRS dies: the others notice. It comes back: it rejoins.
	mrs.a.cmd.Process.Signal(syscall.SIGKILL)
	mrs.a.cmd.Wait()
	waitFor(t, 20*time.Second, func() bool {
		return strings.Contains(par.page(t, "/peers"), `data-mission="FR-MRS" data-state="failed"`)
	})
	k.start(mrs)
	waitFor(t, 20*time.Second, func() bool {
		return strings.Contains(par.page(t, "/peers"), `data-mission="FR-MRS" data-state="alive"`)
	})

	// A mission with another gossip key is not let in, and is told why.
	out, err := runErr("chancery-agent", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0",
		"--relay-bind", "127.0.0.1:"+strconv.Itoa(freePort(t, 1)), "--relay-seeds", k.seed, "--relay-fast",
		"--relay-key", "CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=")
	if err == nil || !strings.Contains(out, "same gossip key") {
		t.Fatalf("an agent with another gossip key: %v\n%s", err, out)
	}
	if page := par.page(t, "/peers"); strings.Contains(page, "unenrolled") {
		t.Fatal("the agent with another key appears among FR-PAR's peers")
	}
}

// debug shows the missions' logs and Peers pages, for a failure.
func (k *cluster) debug() string {
	var b strings.Builder
	for code, p := range k.peers {
		fmt.Fprintf(&b, "--- %s log:\n%s\n--- %s relay log:\n", code, p.a.errs, code)
		for _, m := range logRowRE.FindAllStringSubmatch(get(k.t, p.c, p.a.URL+"/peers"), -1) {
			fmt.Fprintf(&b, "%s %s %s\n", m[1], m[2], tagRE.ReplaceAllString(m[3], " | "))
		}
	}
	return b.String()
}

// publish publishes a new version of a protocol at HQ, for all missions,
// as a protocol owner does on HQ's Publish page.
func (k *cluster) publish(id, title, body string) {
	k.t.Helper()
	c := login(k.t, k.hq.URL, "admin", k.hq.Password)
	r := publishProtocol(k.t, c, k.hq.URL, id, url.Values{
		"title": {title}, "category": {"AI readiness"}, "body": {body}, "note": {"Relay test"}, "scope": {"all"}})
	if r.StatusCode != 200 {
		k.t.Fatalf("publish %s: %d", id, r.StatusCode)
	}
}

// files lists the files under dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if len(out) == 0 {
		t.Fatalf("no files in %s", dir)
	}
	return out
}

// TestRelayAfterEnrollment: an agent already running on the shared
// network is enrolled with HQ; until then its peers see a node that shows
// no badge, apart from the missions; without a restart, they then know
// it by its mission code and carry its changes.
func TestRelayAfterEnrollment(t *testing.T) {
	k := newCluster(t)
	lyo := k.up("FR-LYO")[0]
	nce := &peer{code: "FR-NCE", dir: t.TempDir(), px: newProxy(t, strings.TrimPrefix(k.hq.URL, "http://"))}
	nce.bind = "127.0.0.1:" + strconv.Itoa(freePort(t, 1))
	k.start(nce)
	k.peers[nce.code] = nce
	waitFor(t, 20*time.Second, func() bool {
		p := lyo.page(t, "/peers")
		return strings.Contains(p, `<table id="other-nodes">`) && strings.Contains(p, "it shows no badge") && !strings.Contains(p, `data-mission="FR-NCE"`)
	}, k.debug)

	run(t, "chancery-hq", "mission", "add", "--data", k.hqDir, "--code", "FR-NCE", "--name", "Consulate in Nice")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", k.hqDir, "--code", "FR-NCE"))
	run(t, "chancery-agent", "enroll", "--data", nce.dir, "--hq", nce.px.URL(), "--code", code, "--mission", "FR-NCE")
	nce.syncNow(t)
	waitFor(t, 20*time.Second, func() bool {
		return strings.Contains(lyo.page(t, "/peers"), `data-mission="FR-NCE" data-state="alive"`)
	}, k.debug)
	k.linked(nce, "FR-LYO")

	nce.px.down.Store(true)
	nce.answer(t, "MIS-02", "3", "Consular crisis cell")
	nce.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { _, pending := nce.outbox(t); return pending == 0 }, k.debug)
	if held, through := k.held("FR-NCE"); held != 1 || through != 1 {
		t.Fatalf("HQ holds %d changes of FR-NCE, applied up to %d; want 1 and 1", held, through)
	}
}

// TestRelayDrainsBacklog: a mission cut off from HQ with more changes
// than one pouch holds sends them all through its peer, pouch after
// pouch, without waiting for its schedule between them.
func TestRelayDrainsBacklog(t *testing.T) {
	k := newCluster(t)
	ps := k.up("FR-PAR", "FR-LYO")
	par := ps[0]
	par.px.down.Store(true)
	m := csrfRE.FindStringSubmatch(par.page(t, "/areas/strategy"))
	items := []string{"STR-01", "STR-02", "GOV-01", "MIS-01", "NAR-01", "NAR-02", "AI-01", "SOV-01", "SOV-03"}
	const n = 2100 // more than one pouch's 2,000 changes
	for i := range n {
		r, err := par.c.PostForm(par.a.URL+"/answers/"+items[i%len(items)], url.Values{"csrf": {m[1]}, "level": {strconv.Itoa(i % 5)}, "evidence": {"Review " + strconv.Itoa(i)}})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	par.syncNow(t) // once: the second pouch follows by itself
	waitFor(t, 60*time.Second, func() bool { acked, pending := par.outbox(t); return acked == n && pending == 0 }, k.debug)
	if held, through := k.held("FR-PAR"); held != n || through != n {
		t.Fatalf("HQ holds %d changes of FR-PAR, applied up to %d; want %d", held, through, n)
	}
	if got := par.events(t, "handed", "FR-LYO", "changes "); got != 2 {
		t.Fatalf("FR-PAR handed %d pouches of changes to FR-LYO; want 2", got)
	}
}

// TestRevokedMissionDropsOffPeers: HQ revokes FR-NCE. As soon as FR-LYO
// next hears from HQ, FR-NCE is no longer listed among its peer missions,
// though FR-NCE still holds a card that has not expired and the peer key
// it had: HQ's receipt withdrew its key and handed out a new peer key.
// FR-NCE can hand FR-LYO nothing.
func TestRevokedMissionDropsOffPeers(t *testing.T) {
	k := newCluster(t)
	ps := k.up("FR-LYO", "FR-NCE")
	lyo, nce := ps[0], ps[1]
	k.linked(lyo, "FR-NCE")
	k.linked(nce, "FR-LYO")

	// HQ's administrator revokes it from its page.
	c := login(t, k.hq.URL, "admin", k.hq.Password)
	if r := form(t, c, k.hq.URL+"/missions/FR-NCE", k.hq.URL+"/missions/FR-NCE/revoke", url.Values{"confirm": {"FR-NCE"}}); r.StatusCode != 200 {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	lyo.syncNow(t)
	waitFor(t, 20*time.Second, func() bool {
		p := lyo.page(t, "/peers")
		return !strings.Contains(p, `data-mission="FR-NCE"`) && strings.Contains(p, `<table id="other-nodes">`)
	}, k.debug)

	// Cut off from HQ, FR-NCE tries to send its changes through FR-LYO:
	// there is no peer mission to hand them to.
	nce.px.down.Store(true)
	nce.answer(t, "MIS-02", "3", "after the revocation")
	nce.syncNow(t)
	time.Sleep(2 * time.Second)
	if n := lyo.events(t, "taken", "FR-NCE"); n != 0 {
		t.Fatalf("FR-LYO took %d pouches from the revoked FR-NCE", n)
	}
	if held, _ := k.held("FR-NCE"); held != 0 {
		t.Fatalf("HQ holds %d changes of the revoked FR-NCE", held)
	}
}
