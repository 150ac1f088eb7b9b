package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser: $CHANCERY_CHROMIUM, or Debian's chromium.
// make test installs it; without it the browser tests fail, they do not
// skip.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHANCERY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: install Debian's chromium (make test does) or set CHANCERY_CHROMIUM")
	return ""
}

// newBrowser starts a headless Chromium that stays on loopback: no
// background networking, no component updates, an empty profile.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1000),
	)
	opts = append(opts, extra...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// text runs a Text action and fails the test on error.
func text(t *testing.T, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowserChecklist is a head of mission's first session: log in,
// answer an item with evidence, see the area score change, sign off, and
// find the snapshot.
func TestBrowserChecklist(t *testing.T) {
	a := startAgent(t, t.TempDir(), "--mission-name", "Embassy in Testland")
	ctx := newBrowser(t)

	do(t, ctx, "log in",
		chromedp.Navigate(a.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), a.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#overall-score`)),
	)
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || !strings.Contains(title, "Readiness") {
		t.Fatalf("title after login %q, %v", title, err)
	}
	do(t, ctx, "open an area",
		chromedp.Click(chromedp.CSS(`a[href="/areas/narrative"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#area-score`)),
	)
	if s := text(t, ctx, `#area-score`); s != "0" {
		t.Fatalf("narrative score before any answer: %q", s)
	}

	do(t, ctx, "answer NAR-02",
		chromedp.Click(chromedp.CSS(`#NAR-02-l3`)),
		chromedp.SendKeys(chromedp.CSS(`#NAR-02-ev`), "Escalation pathway v3, exercised with HQ in May"),
		chromedp.Click(chromedp.CSS(`#NAR-02-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#NAR-02-saved`)),
	)
	// NAR-02 weighs 3 of the area's 22: 3×3/(22×4) = 10.2. The message
	// and the new score are beside the item, on screen where the person
	// pressed Save, not at the top of the page.
	if f, s := text(t, ctx, `#NAR-02-saved`), text(t, ctx, `#area-score`); !strings.Contains(f, "Saved your answer to NAR-02") || !strings.Contains(f, "now scores 10/100") || s != "10" {
		t.Fatalf("after saving: %q, area score %q (want 10)", f, s)
	}
	if on, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(r => r.top >= 0 && r.bottom <= innerHeight)(document.querySelector('#NAR-02-saved').getBoundingClientRect())`)); !on {
		t.Fatal("the Saved message is off screen")
	}
	do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#area-score`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#NAR-02-saved').length`)); n != 0 {
		t.Fatal("the Saved message comes back on a reload")
	}

	do(t, ctx, "back home",
		chromedp.Navigate(a.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#overall-score`)),
	)
	if s := text(t, ctx, `[data-area-score="narrative"]`); s != "10" {
		t.Fatalf("home page narrative score %q, want 10", s)
	}
	do(t, ctx, "sign off",
		chromedp.SendKeys(chromedp.CSS(`#note`), "First review"),
		chromedp.Click(chromedp.CSS(`form[action="/signoff"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#snap-overall`)),
	)
	if h := text(t, ctx, `h1`); !strings.HasPrefix(h, "Snapshot signed off") {
		t.Fatalf("after sign-off the page says %q", h)
	}
	if f := text(t, ctx, `.flash`); !strings.Contains(f, "frozen") {
		t.Fatalf("sign-off flash %q", f)
	}

	do(t, ctx, "snapshot list",
		chromedp.Click(chromedp.CSS(`a[href="/snapshots"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table`)),
	)
	if l := text(t, ctx, `table`); !strings.Contains(l, "First review") || !strings.Contains(l, "admin") {
		t.Fatalf("snapshot list: %q", l)
	}

	if dir := os.Getenv("CHANCERY_SCREENSHOTS"); dir != "" {
		screenshot(t, ctx, a.URL+"/", filepath.Join(dir, "agent-readiness.png"))
		screenshot(t, ctx, a.URL+"/areas/narrative", filepath.Join(dir, "agent-area.png"))
	}
}

func screenshot(t *testing.T, ctx context.Context, url, path string) {
	t.Helper()
	do(t, ctx, "open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`main`)))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserReadinessMap is an analyst at HQ: log in, see the grid and
// the world map, filter by region, open a mission, and export as CSV the
// rows on screen.
func TestBrowserReadinessMap(t *testing.T) {
	dir := t.TempDir()
	hq := startHQ(t, dir)
	run(t, "chancery-hq", "demo", "--data", dir, "--missions", "24", "--snapshots", "3")
	run(t, "chancery-hq", "user", "add", "--data", dir, "--username", "ana", "--name", "Ana Analyst", "--role", "analyst", "--password", "analyst password 1")
	ctx := newBrowser(t)
	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	do(t, ctx, "log in",
		chromedp.Navigate(hq.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "ana"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "analyst password 1"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#heat`)),
	)
	if rows, dots := count(`#heat tbody tr[data-code]`), count(`svg.worldmap circle`); rows != 24 || dots != 24 {
		t.Fatalf("grid rows %d, map dots %d; want 24 each", rows, dots)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('svg.worldmap image').getBoundingClientRect().width`)); err != nil || n < 300 {
		t.Fatalf("the world map is %v px wide (%v)", n, err)
	}
	if count(`a[href="/missions/new"]`) != 0 {
		t.Fatal("an analyst is offered to register missions")
	}

	do(t, ctx, "filter by region",
		chromedp.SetValue(chromedp.CSS(`#f-region`), "Africa"),
		chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)),
	)
	waitFor(t, 10*time.Second, func() bool {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		return strings.Contains(loc, "region=Africa")
	})
	do(t, ctx, "filtered page", chromedp.WaitVisible(chromedp.CSS(`#heat`)))
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#heat tbody tr[data-code]')].map(r => r.dataset.code)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) == 0 || len(shown) == 24 || count(`svg.worldmap circle`) != len(shown) {
		t.Fatalf("after the Africa filter: %d rows, %d dots", len(shown), count(`svg.worldmap circle`))
	}

	// Export as CSV, in the browser's own session, what is on screen.
	csvText, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector('#export-csv').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for i, line := range strings.Split(strings.TrimSpace(csvText), "\n") {
		if i == 0 {
			if !strings.HasPrefix(line, "code,name,region") {
				t.Fatalf("CSV header %q", line)
			}
			continue
		}
		exported = append(exported, strings.SplitN(line, ",", 2)[0])
		if !strings.Contains(line, ",Africa,") {
			t.Fatalf("CSV row outside the filter: %s", line)
		}
	}
	if strings.Join(exported, " ") != strings.Join(shown, " ") {
		t.Fatalf("CSV has %v; the screen showed %v", exported, shown)
	}

	do(t, ctx, "open a mission",
		chromedp.Click(chromedp.CSS(`#heat tbody tr[data-code] th a`)),
		chromedp.WaitVisible(chromedp.CSS(`#overall`)),
	)
	if h := text(t, ctx, `h1`); !strings.Contains(h, shown[0]) || !strings.Contains(strings.ToLower(h), "demo data") {
		t.Fatalf("mission page heading %q, want %s marked as demo", h, shown[0])
	}
	if count(`svg.trend`) != 6 {
		t.Fatalf("%d area trend charts, want 6", count(`svg.trend`))
	}
	// Each trend says its values and dates, and has its axis: 0 to 100,
	// from the first sign-off to now.
	label, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('svg.trend').getAttribute('aria-label')`))
	if !regexp.MustCompile(`^Strategy: \d+ on \d{1,2} [A-Z][a-z]{2} \d{4}, .*\d+ on now$`).MatchString(label) {
		t.Fatalf("the strategy trend says %q", label)
	}
	axis, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('svg.trend')[0].querySelectorAll('.axis text')].map(e => e.textContent).join('|')`))
	if !regexp.MustCompile(`^100\|50\|0\|\d{1,2} [A-Z][a-z]{2} \d{4}\|now$`).MatchString(axis) {
		t.Fatalf("the trend's axis reads %q", axis)
	}
	if dir := os.Getenv("CHANCERY_SCREENSHOTS"); dir != "" {
		screenshot(t, ctx, hq.URL+"/", filepath.Join(dir, "hq-map.png"))
	}
}

// TestBrowserProtocolRollout: a protocol owner publishes a new version at
// HQ; after a sync the mission's staff see it marked new, read what
// changed and acknowledge it; HQ's ledger shows the acknowledgement.
func TestBrowserProtocolRollout(t *testing.T) {
	hq, hqDir, agentDir := enrolled(t, "FR-PAR")
	run(t, "chancery-hq", "user", "add", "--data", hqDir, "--username", "pia", "--name", "Pia Publisher", "--role", "publisher", "--password", "publisher password 1")
	run(t, "chancery-agent", "user", "add", "--data", agentDir, "--username", "sam", "--name", "Sam Staff", "--role", "staff", "--password", "staff password 12")
	run(t, "chancery-agent", "sync", "--data", agentDir) // the mission has been in touch
	a := startAgent(t, agentDir)
	ctx := newBrowser(t)

	logIn(t, ctx, hq.URL, "pia", "publisher password 1")
	do(t, ctx, "publish version 2",
		chromedp.Navigate(hq.URL+"/library/crisis-escalation/edit"),
		chromedp.WaitVisible(chromedp.CSS(`#p-body`)),
		chromedp.SendKeys(chromedp.CSS(`#p-body`), "\n## Elections\n\nDuring an election period, escalate every flagged item at once.\n"),
		chromedp.SendKeys(chromedp.CSS(`#p-note`), "Election periods"),
		chromedp.Click(chromedp.CSS(`input[name=scope][value=all]`)),
		chromedp.Click(chromedp.CSS(`#review`)),
		chromedp.WaitVisible(chromedp.CSS(`#review-section`)),
	)
	if s := text(t, ctx, `#reach-count`); !strings.HasPrefix(s, "1 mission (all missions)") {
		t.Fatalf("the review names whom it reaches as %q", s)
	}
	if s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#diff ins')].map(e => e.textContent).join('\n')`)); !strings.Contains(s, "## Elections") {
		t.Fatalf("the review's added lines: %q", s)
	}
	do(t, ctx, "confirm and publish",
		chromedp.Click(chromedp.CSS(`#confirm`)),
		chromedp.Click(chromedp.CSS(`#publish`)),
		chromedp.WaitVisible(chromedp.CSS(`#ledger`)),
	)
	if s := text(t, ctx, `#ledger tr[data-code="FR-PAR"] td`); s != "pending" {
		t.Fatalf("ledger right after publishing: %q", s)
	}

	logIn(t, ctx, a.URL, "sam", "staff password 12")
	do(t, ctx, "sync now", chromedp.Navigate(a.URL+"/sync"), chromedp.Click(chromedp.CSS(`form[action="/sync"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	waitFor(t, 20*time.Second, func() bool {
		do(t, ctx, "library", chromedp.Navigate(a.URL+"/protocols"), chromedp.WaitVisible(chromedp.CSS(`main`)))
		return strings.Contains(strings.ToLower(text(t, ctx, `#p-crisis-escalation`)), "new version")
	})
	do(t, ctx, "read what changed",
		chromedp.Click(chromedp.CSS(`#p-crisis-escalation a`)),
		chromedp.WaitVisible(chromedp.CSS(`#changes`)),
		chromedp.Click(chromedp.CSS(`#changes`)),
		chromedp.WaitVisible(chromedp.CSS(`pre.diff`)),
	)
	added, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('pre.diff ins')].map(e => e.textContent).join('\n')`))
	if err != nil || !strings.Contains(added, "## Elections") || !strings.Contains(added, "escalate every flagged item") {
		t.Fatalf("what changed shows as added: %q (%v)", added, err)
	}
	do(t, ctx, "acknowledge",
		chromedp.Click(chromedp.CSS(`nav.crumbs a[href="/protocols/crisis-escalation"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ack`)),
		chromedp.Click(chromedp.CSS(`#ack`)),
		chromedp.WaitVisible(chromedp.CSS(`#my-ack`)),
	)
	if s := text(t, ctx, `#my-ack`); !strings.Contains(s, "version 2") {
		t.Fatalf("after acknowledging: %q", s)
	}
	do(t, ctx, "sync again", chromedp.Navigate(a.URL+"/sync"), chromedp.Click(chromedp.CSS(`form[action="/sync"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))

	logIn(t, ctx, hq.URL, "pia", "publisher password 1")
	waitFor(t, 20*time.Second, func() bool {
		do(t, ctx, "ledger", chromedp.Navigate(hq.URL+"/library/crisis-escalation"), chromedp.WaitVisible(chromedp.CSS(`#ledger`)))
		return text(t, ctx, `#ledger tr[data-code="FR-PAR"] td.acks`) == "1"
	})
	if s := text(t, ctx, `#ledger tr[data-code="FR-PAR"] td`); s != "applied" {
		t.Fatalf("ledger state %q, want applied", s)
	}
}

// TestBrowserIncidentEscalation: staff report an incident at a mission,
// the head of mission escalates it, an HQ analyst sees it on the board and
// sends guidance, and the guidance appears in the mission's timeline.
func TestBrowserIncidentEscalation(t *testing.T) {
	hq, hqDir, agentDir := enrolled(t, "FR-PAR")
	run(t, "chancery-agent", "user", "add", "--data", agentDir, "--username", "sam", "--role", "staff", "--password", "staff password 12")
	run(t, "chancery-agent", "user", "add", "--data", agentDir, "--username", "hom", "--role", "head", "--password", "head password 123")
	run(t, "chancery-hq", "user", "add", "--data", hqDir, "--username", "ana", "--role", "analyst", "--password", "analyst password 1")
	a := startAgent(t, agentDir)
	ctx := newBrowser(t)

	logIn(t, ctx, a.URL, "sam", "staff password 12")
	do(t, ctx, "report an incident",
		chromedp.Navigate(a.URL+"/incidents"),
		chromedp.Click(chromedp.CSS(`#new-incident`)),
		chromedp.WaitVisible(chromedp.CSS(`#i-title`)),
		chromedp.SendKeys(chromedp.CSS(`#i-title`), "Cloned account of the embassy posting fake visa news"),
		chromedp.SetValue(chromedp.CSS(`#i-kind`), "impersonation"),
		chromedp.SendKeys(chromedp.CSS(`#i-platforms`), "X"),
		chromedp.Click(chromedp.CSS(`#record`)),
		chromedp.WaitVisible(chromedp.CSS(`#status`)),
	)
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	incURL := strings.SplitN(loc, "?", 2)[0]
	id := incURL[strings.LastIndex(incURL, "/")+1:]
	if s := text(t, ctx, `#status`); !strings.EqualFold(s, "monitoring") {
		t.Fatalf("new incident status %q", s)
	}
	if dis, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('input[name=to][value=escalated]').disabled`)); !dis {
		t.Fatal("staff are offered to escalate; it is the head of mission's decision")
	}

	logIn(t, ctx, a.URL, "hom", "head password 123")
	do(t, ctx, "escalate",
		chromedp.Navigate(incURL),
		chromedp.WaitVisible(chromedp.CSS(`#decide`)),
		chromedp.Click(chromedp.CSS(`input[name=to][value=escalated]`)),
		chromedp.SendKeys(chromedp.CSS(`#reason`), "Impersonation of the mission with a consular scam"),
		chromedp.Click(chromedp.CSS(`#decide`)),
		chromedp.WaitVisible(chromedp.CSS(`#delivery`)),
	)
	waitFor(t, 20*time.Second, func() bool {
		do(t, ctx, "reload", chromedp.Navigate(incURL), chromedp.WaitVisible(chromedp.CSS(`#delivery`)))
		return strings.HasPrefix(text(t, ctx, `#delivery`), "Received by HQ")
	})

	logIn(t, ctx, hq.URL, "ana", "analyst password 1")
	do(t, ctx, "board", chromedp.Navigate(hq.URL+"/incidents"), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	if s := text(t, ctx, chromedp.CSS(`#board tr[data-id="`+id+`"]`)); !strings.Contains(s, "escalated") {
		t.Fatalf("HQ board row: %q", s)
	}
	do(t, ctx, "send guidance",
		chromedp.Click(chromedp.CSS(`#board tr[data-id="`+id+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#g-text`)),
		chromedp.SendKeys(chromedp.CSS(`#g-text`), "Report the account to the platform; post the warning from the pre-cleared lines."),
		chromedp.Click(chromedp.CSS(`#send-guidance`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)

	logIn(t, ctx, a.URL, "hom", "head password 123")
	do(t, ctx, "sync now", chromedp.Navigate(a.URL+"/sync"), chromedp.Click(chromedp.CSS(`form[action="/sync"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	waitFor(t, 20*time.Second, func() bool {
		do(t, ctx, "incident", chromedp.Navigate(incURL), chromedp.WaitVisible(chromedp.CSS(`.timeline`)))
		return strings.Contains(text(t, ctx, `.timeline`), "post the warning from the pre-cleared lines")
	})
	if s := text(t, ctx, `.timeline`); !strings.Contains(s, "HQ guidance") {
		t.Fatalf("timeline: %q", s)
	}
}

// logIn logs a person in through the login page, after logging out
// whoever was logged in there: each person has a session of their own.
func logIn(t *testing.T, ctx context.Context, base, user, pw string) {
	t.Helper()
	do(t, ctx, "open "+base, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	if out, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`(f => f ? (f.submit(), true) : false)(document.querySelector('form.who'))`)); out {
		waitFor(t, 10*time.Second, func() bool {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			return strings.Contains(loc, "/login")
		})
	}
	do(t, ctx, "log in to "+base,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Main]`)),
	)
}

// TestBrowserPeersPage: at a mission cut off from HQ, the head of
// mission presses "Sync now" and watches, on the Peers page, the pouch
// go to the peer that reaches HQ and HQ's receipt come back.
func TestBrowserPeersPage(t *testing.T) {
	k := newCluster(t)
	par := k.up("FR-PAR", "FR-LYO")[0]
	k.linked(par, "FR-LYO")
	par.px.down.Store(true)
	par.answer(t, "GOV-01", "3", "Digital unit mandate")

	ctx := newBrowser(t)
	logIn(t, ctx, par.a.URL, "admin", par.pw)
	do(t, ctx, "sync now", chromedp.Navigate(par.a.URL+"/sync"), chromedp.Click(chromedp.CSS(`form[action="/sync"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	waitFor(t, 30*time.Second, func() bool {
		do(t, ctx, "peers", chromedp.Navigate(par.a.URL+"/peers"), chromedp.WaitVisible(chromedp.CSS(`main`)))
		return strings.Contains(text(t, ctx, `main`), "brought back HQ's receipt for us")
	})
	if s := text(t, ctx, `#peers tr[data-mission="FR-LYO"] td`); !strings.HasPrefix(s, "in touch") {
		t.Fatalf("FR-LYO's state on the Peers page: %q", s)
	}
	log := text(t, ctx, `#relay-log`)
	for _, want := range []string{"gave it a pouch of ours to carry to HQ", "changes 1 to 1", "HQ holds every change up to 1"} {
		if !strings.Contains(log, want) {
			t.Errorf("the relay log lacks %q:\n%s", want, log)
		}
	}
	do(t, ctx, "sync page", chromedp.Navigate(par.a.URL+"/sync"), chromedp.WaitVisible(chromedp.CSS(`#pending`)))
	if s := text(t, ctx, `#pending`); s != "0" {
		t.Fatalf("changes waiting after HQ's receipt came through FR-LYO: %q", s)
	}
	if dir := os.Getenv("CHANCERY_SCREENSHOTS"); dir != "" {
		screenshot(t, ctx, par.a.URL+"/peers", filepath.Join(dir, "agent-peers.png"))
	}
}

// TestBrowserFrameworkEditor: a protocol owner edits the next framework
// version in the browser, is shown a problem beside its field, reviews
// the change and the missions reached, and publishes after confirming.
func TestBrowserFrameworkEditor(t *testing.T) {
	hq, hqDir, _ := enrolled(t, "FR-PAR")
	run(t, "chancery-hq", "user", "add", "--data", hqDir, "--username", "pia", "--name", "Pia Publisher", "--role", "publisher", "--password", "publisher password 1")
	ctx := newBrowser(t)
	logIn(t, ctx, hq.URL, "pia", "publisher password 1")
	do(t, ctx, "open the editor and review a draft with an empty question",
		chromedp.Navigate(hq.URL+"/library/framework/edit"),
		chromedp.WaitVisible(chromedp.CSS(`#i0-q`)),
		chromedp.Clear(chromedp.CSS(`#i0-q`)),
		chromedp.SetValue(chromedp.CSS(`#i1-g`), "Name the owner and the date of the last review."),
		chromedp.Click(chromedp.CSS(`#review`)),
		chromedp.WaitVisible(chromedp.CSS(`#problems`)),
	)
	if s := text(t, ctx, `#item-0 .error`); !strings.Contains(s, "Needs a question") {
		t.Fatalf("beside the question: %q", s)
	}
	do(t, ctx, "fix it, choose the scope and review",
		chromedp.SetValue(chromedp.CSS(`#i0-q`), "Is there a written digital foreign policy strategy?"),
		chromedp.Click(chromedp.CSS(`input[name=scope][value=all]`)),
		chromedp.Click(chromedp.CSS(`#review`)),
		chromedp.WaitVisible(chromedp.CSS(`#review-section`)),
	)
	if s := text(t, ctx, `#diff`); !strings.Contains(s, "changed: guidance") || !strings.Contains(s, "Name the owner and the date of the last review.") {
		t.Fatalf("the review's diff: %q", s)
	}
	if s := text(t, ctx, `#publish`); s != "Publish version 2 to 1 mission" {
		t.Fatalf("the publish button says %q", s)
	}
	if dir := os.Getenv("CHANCERY_SCREENSHOTS"); dir != "" {
		do(t, ctx, "scroll to the review", chromedp.ScrollIntoView(chromedp.CSS(`#review-h`)))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "hq-framework-review.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do(t, ctx, "confirm and publish",
		chromedp.Click(chromedp.CSS(`#confirm`)),
		chromedp.Click(chromedp.CSS(`#publish`)),
		chromedp.WaitVisible(chromedp.CSS(`#ledger`)),
	)
	if s := text(t, ctx, `#ledger tr[data-code="FR-PAR"] td`); !strings.Contains(s, "never synced") {
		t.Fatalf("ledger right after publishing, for a mission that never synced: %q", s)
	}
	if s := text(t, ctx, `footer`); !strings.Contains(s, "framework v2 in force") {
		t.Fatalf("footer after publishing: %q", s)
	}
}
