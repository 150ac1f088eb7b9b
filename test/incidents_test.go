package test

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestIncidentReachesHQAndGuidanceComesBack: a mission records and
// escalates an incident; HQ's board shows it; HQ's guidance joins the
// incident's timeline at the mission.
func TestIncidentReachesHQAndGuidanceComesBack(t *testing.T) {
	hq, _, agentDir := enrolled(t, "FR-PAR")
	run(t, "chancery-agent", "user", "add", "--data", agentDir, "--username", "hom", "--name", "Head of Mission", "--role", "head", "--password", "head of mission 1")
	a := startAgent(t, agentDir)
	mc := login(t, a.URL, "hom", "head of mission 1")
	r := form(t, mc, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"Synthetic audio of the ambassador on trade"}, "kind": {"synthetic-media"},
		"severity": {"4"}, "platforms": {"X"}, "links": {"https://example.org/clip/7"}})
	id := regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
	if id == "" {
		t.Fatalf("no incident id in %s", r.Request.URL)
	}
	form(t, mc, a.URL+"/incidents/"+id, a.URL+"/incidents/"+id+"/move", url.Values{"to": {"escalated"}, "reason": {"Synthetic media of the head of mission"}})

	// Escalation asked for a sync at once: no one pressed "sync now".
	hc := login(t, hq.URL, "admin", hq.Password)
	waitFor(t, 20*time.Second, func() bool { return strings.Contains(get(t, hc, hq.URL+"/incidents"), id) })
	board := get(t, hc, hq.URL+"/incidents")
	if !strings.Contains(board, "escalated") || !strings.Contains(board, "Synthetic audio of the ambassador") {
		t.Fatalf("HQ board:\n%s", board)
	}
	// The incident feeds the map: the mission's narrative-resilience signals.
	if p := get(t, hc, hq.URL+"/missions/FR-PAR"); !strings.Contains(p, "1 incident reported, 1 open · 1 escalated") {
		t.Fatalf("signals on the mission page:\n%s", p)
	}
	if j := get(t, hc, hq.URL+"/api/v1/map"); !strings.Contains(j, `"incidents":1,"incidents_open":1,"minutes_to_escalate":`) {
		t.Fatalf("signals in the map API: %s", j)
	}
	// Guidance too long is refused, and comes back as typed.
	long := strings.Repeat("Do not amplify. ", 600)
	m := csrfRE.FindStringSubmatch(get(t, hc, hq.URL+"/incidents/FR-PAR/"+id))
	resp, err := hc.PostForm(hq.URL+"/incidents/FR-PAR/"+id+"/guidance", url.Values{"csrf": {m[1]}, "text": {long}})
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(back), strings.TrimSpace(long)) {
		t.Fatalf("guidance too long: %d, and it came back as typed: %v", resp.StatusCode, strings.Contains(string(back), strings.TrimSpace(long)))
	}
	form(t, hc, hq.URL+"/incidents/FR-PAR/"+id, hq.URL+"/incidents/FR-PAR/"+id+"/guidance", url.Values{"text": {"Do not repeat the claim; use line 4 of the cleared lines."}})
	if !strings.Contains(get(t, hc, hq.URL+"/incidents/FR-PAR/"+id), "on its way") {
		t.Fatal("guidance not recorded at HQ")
	}

	run(t, "chancery-agent", "sync", "--data", agentDir)
	page := get(t, mc, a.URL+"/incidents/"+id)
	if !strings.Contains(page, "HQ guidance") || !strings.Contains(page, "use line 4 of the cleared lines") {
		t.Fatalf("guidance not in the mission's timeline:\n%s", page)
	}
	// The next sync tells HQ it arrived; it is added once, however often
	// HQ would have sent it.
	run(t, "chancery-agent", "sync", "--data", agentDir)
	run(t, "chancery-agent", "sync", "--data", agentDir)
	if !strings.Contains(html.UnescapeString(get(t, hc, hq.URL+"/incidents/FR-PAR/"+id)), "in the mission's timeline") {
		t.Fatal("HQ does not know the guidance arrived")
	}
	if n := strings.Count(get(t, mc, a.URL+"/incidents/"+id), "use line 4 of the cleared lines"); n != 1 {
		t.Fatalf("guidance appears %d times in the mission's timeline", n)
	}
}

// TestEscalationGoesFirst: with a backlog of 2,100 changes waiting (more
// than one pouch), an escalated incident reaches HQ in the first exchange.
// The agent is stopped dead right after that exchange.
func TestEscalationGoesFirst(t *testing.T) {
	s := newSite(t)
	s.px.down.Store(true) // the link is down while the mission works
	s.work(2100, 40)
	a := startAgent(t, s.agentDir)
	c := login(t, a.URL, "admin", s.password())
	r := form(t, c, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"Impersonation of the consul on Telegram"}, "kind": {"impersonation"}, "severity": {"4"}})
	id := regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
	form(t, c, a.URL+"/incidents/"+id, a.URL+"/incidents/"+id+"/move", url.Values{"to": {"escalated"}, "reason": {"Impersonation of an official"}})
	if st := deliveryOf(get(t, c, a.URL+"/incidents/"+id)); st == "received" || st == "" {
		t.Fatalf("delivery state while the link is down: %q", st)
	}
	a.stop(t)

	s.px.down.Store(false)
	if out, err := s.sync("CHANCERY_FAULT=agent-after-urgent"); err == nil {
		t.Fatalf("the agent was not stopped after the first exchange:\n%s", out)
	}
	hc := login(t, s.hq.URL, "admin", s.hqPassword())
	if !strings.Contains(get(t, hc, s.hq.URL+"/incidents"), id) {
		t.Fatal("the escalated incident did not reach HQ in the first exchange")
	}
	if held, through, _ := s.atHQ(); through != 0 || held != 1 {
		t.Fatalf("HQ holds %d changes, applied to %d: the backlog went before the escalation", held, through)
	}
	a = startAgent(t, s.agentDir)
	c = login(t, a.URL, "admin", s.password())
	if st := deliveryOf(get(t, c, a.URL+"/incidents/"+id)); st != "received" {
		t.Fatalf("the mission shows the escalation as %q, not received by HQ", st)
	}
	a.stop(t)
	// The rest follows, and the incident's change is not taken twice.
	if out, err := s.sync(); err != nil || !strings.Contains(out, "0 pending") {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	if held, through, _ := s.atHQ(); held != through || through < 2102 {
		t.Fatalf("HQ holds %d, applied to %d", held, through)
	}
}

// TestEvidenceReachesHQ: an evidence file travels after the incident,
// arrives with its hash checked, and HQ serves it so that it cannot run.
func TestEvidenceReachesHQ(t *testing.T) {
	hq, _, agentDir := enrolled(t, "FR-PAR")
	a := startAgent(t, agentDir)
	c := login(t, a.URL, "admin", a.Password)
	r := form(t, c, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"Leaked clip"}, "kind": {"leaked-clip"}, "severity": {"2"}})
	id := regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
	payload := []byte("<html><script>fetch('/api/v1/map')</script></html>")
	m := csrfRE.FindStringSubmatch(get(t, c, a.URL+"/incidents/"+id))
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("csrf", m[1])
	f, _ := w.CreateFormFile("file", "clip.html")
	f.Write(payload)
	w.Close()
	resp, err := c.Post(a.URL+"/incidents/"+id+"/attachments", w.FormDataContentType(), &body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	a.stop(t)
	run(t, "chancery-agent", "sync", "--data", agentDir)

	hc := login(t, hq.URL, "admin", hq.Password)
	page := get(t, hc, hq.URL+"/incidents/FR-PAR/"+id)
	link := regexp.MustCompile(`href="(/incidents/FR-PAR/[^"]+/attachments/[0-9a-f]{64})"`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("HQ does not offer the evidence:\n%s", page)
	}
	got, err := hc.Get(hq.URL + link[1])
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(data, payload) || got.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(got.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(got.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("served as %q %q %q", got.Header.Get("Content-Type"), got.Header.Get("Content-Disposition"), got.Header.Get("Content-Security-Policy"))
	}
}

// TestPeersSeeEachOther: two missions on a shared network, configured
// with the same gossip key, find each other and show it on their Peers
// page.
func TestPeersSeeEachOther(t *testing.T) {
	hqDir := t.TempDir()
	hq := startHQ(t, hqDir)
	key := "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
	var agents []*agent
	var pws []string
	first := ""
	for _, code := range []string{"FR-PAR", "FR-LYO"} {
		dir := t.TempDir()
		run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", code, "--name", code)
		c := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", code))
		run(t, "chancery-agent", "enroll", "--data", dir, "--hq", hq.URL, "--code", c, "--mission", code)
		bind := "127.0.0.1:" + strconv.Itoa(freePort(t, 1))
		args := []string{"--relay-bind", bind, "--relay-key", key}
		if first != "" {
			args = append(args, "--relay-seeds", first)
		}
		first = cmp.Or(first, bind)
		a := startAgent(t, dir, args...)
		agents, pws = append(agents, a), append(pws, a.Password)
	}
	c := login(t, agents[0].URL, "admin", pws[0])
	waitFor(t, 20*time.Second, func() bool { return strings.Contains(get(t, c, agents[0].URL+"/peers"), `data-mission="FR-LYO"`) })
	c2 := login(t, agents[1].URL, "admin", pws[1])
	if !strings.Contains(get(t, c2, agents[1].URL+"/peers"), `data-mission="FR-PAR"`) {
		t.Fatal("FR-LYO does not see FR-PAR")
	}
	// A wrong key is refused at start, with what to do.
	if out, err := runErr("chancery-agent", "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--relay-bind", "127.0.0.1:0", "--relay-key", "short"); err == nil || !strings.Contains(out, "base64 of 32 random bytes") {
		t.Fatalf("bad relay key: %v %s", err, out)
	}
}

// TestColleaguesAddEvidenceAtOnce: three people add evidence to one
// incident at the same moment, fifteen files in all; every file the agent
// acknowledged is in the incident at the mission and, after a sync, at HQ.
func TestColleaguesAddEvidenceAtOnce(t *testing.T) {
	s := newSite(t)
	a := startAgent(t, s.agentDir)
	os.WriteFile(filepath.Join(s.agentDir, "test-password"), []byte(a.Password), 0o600)
	c := login(t, a.URL, "admin", a.Password)
	r := form(t, c, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"A fake press release"}, "kind": {"false-image"}, "severity": {"2"}})
	id := regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	for person := range 3 {
		pc := login(t, a.URL, "admin", a.Password)
		ptoken := csrfRE.FindStringSubmatch(get(t, pc, a.URL+"/incidents/"+id))[1]
		for f := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("screenshot-%d-%d.png", person, f)
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				mw.WriteField("csrf", ptoken)
				fw, _ := mw.CreateFormFile("file", name)
				fmt.Fprintf(fw, "evidence %s", name)
				mw.Close()
				resp, err := pc.Post(a.URL+"/incidents/"+id+"/attachments", mw.FormDataContentType(), &body)
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == 200 && resp.Request.URL.Path == "/incidents/"+id {
					mu.Lock()
					acked = append(acked, name)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(acked) != 15 {
		t.Fatalf("%d of 15 files acknowledged", len(acked))
	}
	page := get(t, c, a.URL+"/incidents/"+id)
	a.stop(t)
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	hq := get(t, login(t, s.hq.URL, "admin", s.hqPassword()), s.hq.URL+"/incidents/FR-PAR/"+id)
	for _, name := range acked {
		if !strings.Contains(page, name) {
			t.Errorf("%s was acknowledged but is not in the incident at the mission", name)
		}
		if !strings.Contains(hq, name) {
			t.Errorf("%s was acknowledged but is not in the incident at HQ", name)
		}
	}
}

var deliveryRE = regexp.MustCompile(`id="delivery"><span class="delivery state-\w+" data-state="(\w+)">`)

// deliveryOf reads the delivery state an incident page shows.
func deliveryOf(page string) string {
	if m := deliveryRE.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

// TestDeliveryStatesAreTrue: what the mission's pages say of an
// escalation is what happened. With HQ out of reach it is never "sent"
// or "received": it is queued or being sent, then "not at HQ yet", with
// HQ's silence dated and the next try given, and every page carries a
// banner that HQ is out of reach. Once HQ answers, it is received, and
// the banner goes. When HQ refuses the mission, the Sync page says so,
// with what to do, instead of "changes go with the next sync".
func TestDeliveryStatesAreTrue(t *testing.T) {
	s := newSite(t)
	s.px.down.Store(true)
	a := startAgent(t, s.agentDir, "--sync-attempts", "1", "--sync-schedule", "@every 1m")
	c := login(t, a.URL, "admin", a.Password)
	r := form(t, c, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"A cloned embassy account posting fake visa news"}, "kind": {"impersonation"}, "severity": {"4"}})
	id := regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
	moved := form(t, c, a.URL+"/incidents/"+id, a.URL+"/incidents/"+id+"/move", url.Values{"to": {"escalated"}, "reason": {"Impersonation of an official"}})
	body := get(t, c, moved.Request.URL.String())
	if st := deliveryOf(body); st != "queued" && st != "sending" && st != "trying" {
		t.Fatalf("just escalated, with HQ out of reach, the incident shows %q:\n%s", st, body)
	}
	if strings.Contains(body, "on its way to HQ now") || strings.Contains(body, "Received by HQ") {
		t.Fatal("the page says the escalation left the embassy")
	}
	var inc string
	waitFor(t, 30*time.Second, func() bool {
		inc = html.UnescapeString(get(t, c, a.URL+"/incidents/"+id))
		return deliveryOf(inc) == "trying"
	})
	for _, want := range []string{"Not at HQ yet", "HQ has not answered since enrollment", "Next try at", "Nothing is lost"} {
		if !strings.Contains(inc, want) {
			t.Fatalf("the incident's delivery does not say %q:\n%s", want, inc)
		}
	}
	home := html.UnescapeString(get(t, c, a.URL+"/"))
	if !strings.Contains(home, "HQ has not been reached since this mission enrolled") {
		t.Fatalf("no banner that HQ is out of reach on the home page:\n%s", home)
	}
	if sp := get(t, c, a.URL+"/sync"); !strings.Contains(sp, `id="waiting"`) || !strings.Contains(sp, "Not at HQ yet") {
		t.Fatalf("the Sync page does not say where the waiting changes stand:\n%s", sp)
	}

	s.px.down.Store(false)
	form(t, c, a.URL+"/sync", a.URL+"/sync", url.Values{})
	waitFor(t, 30*time.Second, func() bool {
		inc = html.UnescapeString(get(t, c, a.URL+"/incidents/"+id))
		return deliveryOf(inc) == "received"
	})
	if !strings.Contains(inc, "Received by HQ") || !strings.Contains(inc, "HQ's signed receipt covers it") {
		t.Fatalf("received, but the page says:\n%s", inc)
	}
	if home := html.UnescapeString(get(t, c, a.URL+"/")); strings.Contains(home, "HQ has not been reached") {
		t.Fatal("the banner stays once HQ answers")
	}

	// HQ revokes the mission.
	run(t, "chancery-hq", "mission", "revoke", "--data", s.hqDir, "--code", "FR-PAR")
	form(t, c, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"A second incident"}, "kind": {"impersonation"}, "severity": {"2"}})
	form(t, c, a.URL+"/sync", a.URL+"/sync", url.Values{})
	var sp string
	waitFor(t, 30*time.Second, func() bool {
		sp = html.UnescapeString(get(t, c, a.URL+"/sync"))
		return strings.Contains(sp, `id="refused"`)
	})
	for _, want := range []string{"HQ does not take this mission's changes", "re-enrollment code", "nothing is lost"} {
		if !strings.Contains(sp, want) {
			t.Fatalf("a revoked mission's Sync page does not say %q:\n%s", want, sp)
		}
	}
	if strings.Contains(sp, "This mission is enrolled as") || strings.Contains(sp, "go with the next sync") {
		t.Fatalf("a revoked mission's Sync page says it is enrolled and its changes go:\n%s", sp)
	}
	if !strings.Contains(sp, `data-state="failed"`) {
		t.Fatalf("the waiting change is not shown as failed:\n%s", sp)
	}
	if home := html.UnescapeString(get(t, c, a.URL+"/")); !strings.Contains(home, "HQ does not take this mission's changes") {
		t.Fatalf("no banner on the home page of a revoked mission:\n%s", home)
	}
}
