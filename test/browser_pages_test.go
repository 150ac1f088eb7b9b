package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored for the tests (testdata/vendor).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/vendor/axe-core/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// axeViolation is what axe-core reports of one rule a page breaks.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// audit checks the page open in ctx as a person on a screen w pixels
// wide meets it: nothing overflows the screen sideways (a table may
// scroll inside its own box), every link of the main menu is on screen,
// and axe-core finds no serious or critical violation. It returns the
// count of lesser (minor, moderate) violations, for the record.
func audit(t *testing.T, ctx context.Context, src, page string, w int) int {
	t.Helper()
	over, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const out = [];
		if (document.documentElement.scrollWidth > innerWidth + 1) {
			const wide = [];
			const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
			for (let n; (n = w.nextNode()) && wide.length < 3;) {
				const r = document.createRange();
				r.selectNodeContents(n);
				if (r.getBoundingClientRect().right > innerWidth + 1 && !n.parentElement.closest('table, .scroll, pre')) wide.push(JSON.stringify(n.textContent.trim().slice(0, 40)));
			}
			out.push('the page is ' + document.documentElement.scrollWidth + ' px wide (' + wide.join(', ') + ')');
		}
		for (const a of document.querySelectorAll('nav[aria-label=Main] a')) {
			const r = a.getBoundingClientRect();
			if (r.width === 0 || r.left < 0 || r.right > innerWidth + 1) out.push('menu link ' + a.textContent + ' is off screen');
		}
		return out.join('; ');
	})()`))
	if err != nil {
		t.Fatalf("%s at %d px: %v", page, w, err)
	}
	if over != "" {
		t.Errorf("%s at %d px: %s", page, w, over)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](src+";true")); err != nil {
		t.Fatalf("load axe-core: %v", err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatal(err)
	}
	lesser := 0
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			lesser++
			t.Logf("%s at %d px: axe %s (%s): %s", page, w, v.ID, v.Impact, v.Help)
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target...))
			}
			t.Errorf("%s at %d px: axe %s (%s): %s at %s", page, w, v.ID, v.Impact, v.Help, strings.Join(where, ", "))
		}
	}
	return lesser
}

// TestBrowserPagesAtBothWidths opens every page of both programs, as
// their users meet them, on a phone (375 px) and on a desk (1280 px):
// each is usable at both widths and axe-core reports no serious or
// critical violation on any. The counts of lesser findings are logged.
func TestBrowserPagesAtBothWidths(t *testing.T) {
	hq, hqDir, agentDir := enrolled(t, "FR-PAR")
	run(t, "chancery-agent", "demo", "--data", agentDir)
	run(t, "chancery-hq", "demo", "--data", hqDir, "--missions", "12")
	run(t, "chancery-agent", "sync", "--data", agentDir)
	a := startAgent(t, agentDir)
	c := login(t, a.URL, "admin", a.Password)
	r := form(t, c, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"A cloned embassy account posting fake visa news"}, "kind": {"impersonation"}, "severity": {"4"}, "platforms": {"X"}})
	inc := regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
	form(t, c, a.URL+"/incidents/"+inc, a.URL+"/incidents/"+inc+"/move", url.Values{"to": {"escalated"}, "reason": {"Impersonation of the mission"}})
	run(t, "chancery-agent", "sync", "--data", agentDir)

	src := axeSource(t)
	ctx := newBrowser(t)
	sites := []struct {
		base, user, password string
		pages                []string
	}{
		{a.URL, "admin", a.Password, []string{"/", "/areas/strategy", "/areas/narrative", "/incidents", "/incidents/new", "/incidents/" + inc,
			"/protocols", "/protocols/crisis-escalation", "/snapshots", "/sync", "/users", "/audit", "/account"}},
		{hq.URL, "admin", hq.Password, []string{"/", "/gaps", "/missions", "/missions/FR-PAR", "/missions/FR-PAR/edit", "/missions/new", "/incidents", "/incidents/FR-PAR/" + inc,
			"/incidents/lessons", "/library", "/library/crisis-escalation", "/library/crisis-escalation/edit", "/library/framework/edit", "/pouches", "/users", "/audit", "/account"}},
	}
	totals := map[string]int{}
	for _, w := range []int{375, 1280} {
		do(t, ctx, "resize", chromedp.EmulateViewport(int64(w), 900))
		for _, s := range sites {
			do(t, ctx, "open the login page", chromedp.Navigate(s.base+"/login"), chromedp.WaitVisible(chromedp.CSS(`main`)))
			totals[fmt.Sprintf("%s/login at %d", s.base, w)] = audit(t, ctx, src, s.base+"/login", w)
			logIn(t, ctx, s.base, s.user, s.password)
			for _, p := range s.pages {
				do(t, ctx, "open "+p, chromedp.Navigate(s.base+p), chromedp.WaitVisible(chromedp.CSS(`main`)))
				totals[fmt.Sprintf("%s%s at %d", s.base, p, w)] = audit(t, ctx, src, s.base+p, w)
			}
		}
	}
	for k, n := range totals {
		t.Logf("axe: %d finding(s) below serious on %s", n, k)
	}
}

// TestBrowserEscalationJourney walks the crisis pathway as its people
// do, in Chromium, with the link to HQ down and then back: staff answer
// an item and flag an incident; the head of mission sees it waiting for
// their decision and escalates it, and the page says it is not at HQ
// yet, with a banner that HQ is out of reach; the link comes back and
// it is received; HQ's duty officer acknowledges it and the mission sees
// the acknowledgement; HQ's administrator revokes the mission's keys,
// which takes the mission's code typed again.
func TestBrowserEscalationJourney(t *testing.T) {
	s := newSite(t)
	run(t, "chancery-agent", "user", "add", "--data", s.agentDir, "--username", "sam", "--name", "Sam Staff", "--role", "staff", "--password", "staff password 12")
	run(t, "chancery-agent", "user", "add", "--data", s.agentDir, "--username", "hom", "--name", "Hana Head", "--role", "head", "--password", "head password 123")
	run(t, "chancery-hq", "user", "add", "--data", s.hqDir, "--username", "duty", "--name", "Duty Officer", "--role", "analyst", "--password", "analyst password 1")
	s.px.down.Store(true)
	a := startAgent(t, s.agentDir, "--sync-attempts", "1")
	ctx := newBrowser(t)

	logIn(t, ctx, a.URL, "sam", "staff password 12")
	do(t, ctx, "answer an item",
		chromedp.Navigate(a.URL+"/areas/narrative"),
		chromedp.Click(chromedp.CSS(`#NAR-01-l2`)),
		chromedp.SendKeys(chromedp.CSS(`#NAR-01-ev`), "Monitoring rota agreed with the press office"),
		chromedp.Click(chromedp.CSS(`#NAR-01-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#NAR-01-saved`)),
	)
	do(t, ctx, "report an incident",
		chromedp.Navigate(a.URL+"/incidents/new"),
		chromedp.SendKeys(chromedp.CSS(`#i-title`), "Deepfake audio of the ambassador on a messaging channel"),
		chromedp.SetValue(chromedp.CSS(`#i-kind`), "synthetic-media"),
		chromedp.Click(chromedp.CSS(`#record`)),
		chromedp.WaitVisible(chromedp.CSS(`#status`)),
	)
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	incURL := strings.SplitN(loc, "?", 2)[0]
	do(t, ctx, "flag it for the head of mission",
		chromedp.Click(chromedp.CSS(`input[name=to][value=flagged]`)),
		chromedp.SendKeys(chromedp.CSS(`#reason`), "Spreading in diaspora groups"),
		chromedp.Click(chromedp.CSS(`#decide`)),
	)
	waitFor(t, 10*time.Second, func() bool {
		// The page is being replaced: a read may miss it, and is tried again.
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#status`)))
		return err == nil && strings.EqualFold(strings.TrimSpace(s), "flagged")
	})

	logIn(t, ctx, a.URL, "hom", "head password 123")
	if n := text(t, ctx, `nav[aria-label=Main] a[href="/incidents"] .count`); !strings.HasPrefix(n, "1") {
		t.Fatalf("the menu shows %q waiting for the head of mission", n)
	}
	if s := text(t, ctx, `#needs-decision`); !strings.Contains(s, "Needs your decision") || !strings.Contains(s, "Deepfake audio of the ambassador") || !strings.Contains(s, "Synthetic audio or video") {
		t.Fatalf("the home page's decisions: %q", s)
	}
	do(t, ctx, "escalate",
		chromedp.Click(chromedp.CSS(`#needs-decision a`)),
		chromedp.WaitVisible(chromedp.CSS(`#decide`)),
		chromedp.Click(chromedp.CSS(`input[name=to][value=escalated]`)),
		chromedp.SendKeys(chromedp.CSS(`#reason`), "Synthetic media of an official"),
		chromedp.Click(chromedp.CSS(`#decide`)),
		chromedp.WaitVisible(chromedp.CSS(`#delivery`)),
	)
	if d := text(t, ctx, `#delivery`); strings.Contains(d, "Received") || strings.Contains(d, "sent") {
		t.Fatalf("with HQ out of reach, the delivery says %q", d)
	}
	waitFor(t, 30*time.Second, func() bool {
		do(t, ctx, "reload", chromedp.Navigate(incURL), chromedp.WaitVisible(chromedp.CSS(`#delivery`)))
		return strings.HasPrefix(text(t, ctx, `#delivery`), "Not at HQ yet")
	})
	if n := text(t, ctx, `.notice`); !strings.Contains(n, "HQ has not been reached") {
		t.Fatalf("the banner: %q", n)
	}
	if s := text(t, ctx, `#hq-ack`); !strings.Contains(s, "not yet") {
		t.Fatalf("HQ's acknowledgement before HQ had it: %q", s)
	}

	s.px.down.Store(false)
	do(t, ctx, "sync now", chromedp.Navigate(a.URL+"/sync"), chromedp.Click(chromedp.CSS(`form[action="/sync"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	waitFor(t, 30*time.Second, func() bool {
		do(t, ctx, "reload", chromedp.Navigate(incURL), chromedp.WaitVisible(chromedp.CSS(`#delivery`)))
		return strings.HasPrefix(text(t, ctx, `#delivery`), "Received by HQ")
	})
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.notice').length`)); n != 0 {
		t.Fatal("the banner stays once HQ answered")
	}

	logIn(t, ctx, s.hq.URL, "duty", "analyst password 1")
	do(t, ctx, "the board", chromedp.Navigate(s.hq.URL+"/incidents"), chromedp.WaitVisible(chromedp.CSS(`#board`)))
	if row := strings.ToLower(text(t, ctx, `#board tbody tr`)); !strings.Contains(row, "awaiting hq's acknowledgement") || !strings.Contains(row, "2 · moderate") || !strings.Contains(row, "synthetic audio or video") {
		t.Fatalf("HQ's board row: %q", row)
	}
	do(t, ctx, "acknowledge",
		chromedp.Click(chromedp.CSS(`#board tbody tr a`)),
		chromedp.WaitVisible(chromedp.CSS(`#acknowledge`)),
		chromedp.Click(chromedp.CSS(`#acknowledge`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if st := text(t, ctx, `#ack-state`); !strings.HasPrefix(st, "Acknowledged") {
		t.Fatalf("after acknowledging: %q", st)
	}

	logIn(t, ctx, a.URL, "hom", "head password 123")
	do(t, ctx, "sync now", chromedp.Navigate(a.URL+"/sync"), chromedp.Click(chromedp.CSS(`form[action="/sync"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	waitFor(t, 30*time.Second, func() bool {
		do(t, ctx, "reload", chromedp.Navigate(incURL), chromedp.WaitVisible(chromedp.CSS(`#hq-ack`)))
		return strings.HasPrefix(text(t, ctx, `#hq-ack`), "Acknowledged")
	})
	if tl := text(t, ctx, `.timeline`); !strings.Contains(tl, "HQ acknowledged") {
		t.Fatalf("the timeline: %q", tl)
	}

	logIn(t, ctx, s.hq.URL, "admin", s.hqPassword())
	do(t, ctx, "revoke the keys without confirming",
		chromedp.Navigate(s.hq.URL+"/missions/FR-PAR"),
		chromedp.WaitVisible(chromedp.CSS(`#rekey-form`)),
		// The browser stops an empty box; send it anyway, as a script would.
		chromedp.RemoveAttribute(chromedp.CSS(`#rekey-confirm`), "required"),
		chromedp.RemoveAttribute(chromedp.CSS(`#rekey-confirm`), "pattern"),
		chromedp.Click(chromedp.CSS(`#rekey`)),
		chromedp.WaitVisible(chromedp.CSS(`.error`)),
	)
	if e := text(t, ctx, `.error`); !strings.Contains(e, "type the mission's code, FR-PAR") || !strings.Contains(e, "Nothing was changed") {
		t.Fatalf("revoking without confirming: %q", e)
	}
	do(t, ctx, "revoke the keys, confirmed",
		chromedp.SendKeys(chromedp.CSS(`#rekey-confirm`), "FR-PAR"),
		chromedp.Click(chromedp.CSS(`#rekey`)),
		chromedp.WaitVisible(chromedp.CSS(`#enroll-code`)),
	)
}
