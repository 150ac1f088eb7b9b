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
			"/protocols", "/protocols/crisis-escalation", "/snapshots", "/sync", "/users", "/audit"}},
		{hq.URL, "admin", hq.Password, []string{"/", "/gaps", "/missions", "/missions/FR-PAR", "/missions/new", "/incidents", "/incidents/FR-PAR/" + inc,
			"/incidents/lessons", "/library", "/library/crisis-escalation", "/library/crisis-escalation/edit", "/library/framework/edit", "/pouches", "/users", "/audit"}},
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
