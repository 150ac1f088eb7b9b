package test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowserCapabilityAudit is a ministry's audit, clicked through. At
// the mission, staff answer with the rubric in view, date their evidence
// and attach a file; stale evidence is flagged. At HQ, an administrator
// sets the ministry's profile and answers HQ's own checklist; the six
// questions page answers each question and links to what is behind it;
// and the capability audit report prints to PDF with its charts.
func TestBrowserCapabilityAudit(t *testing.T) {
	hq, hqDir, agentDir := enrolled(t, "FR-PAR")
	run(t, "chancery-hq", "demo", "--data", hqDir, "--missions", "30", "--snapshots", "4")
	a := startAgent(t, agentDir, "--mission-name", "Embassy in Testland")
	ctx := newBrowser(t)
	says := func(what string, sel chromedp.CSS, want ...string) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+"`"+string(sel)+"`"+`).textContent.replace(/\s+/g, " ")`))
		if err != nil {
			t.Fatalf("%s: read %s: %v", what, sel, err)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("%s: %s says %q, not %q", what, sel, got, w)
			}
		}
	}

	// At the mission: the rubric, an old evidence date, a file.
	logIn(t, ctx, a.URL, "admin", a.Password)
	register := filepath.Join(t.TempDir(), "training-register.txt")
	os.WriteFile(register, []byte("AI training, 14 staff, March of last year"), 0o644)
	old := time.Now().AddDate(0, -15, 0).Format("01022006") // typed into a date field, month first
	do(t, ctx, "answer AI-02 with a file",
		chromedp.Navigate(a.URL+"/areas/ai"),
		chromedp.WaitVisible(chromedp.CSS(`#AI-02`)),
		chromedp.Click(chromedp.CSS(`#AI-02-l3`)),
		chromedp.SendKeys(chromedp.CSS(`#AI-02-ev`), "Training register of the AI course"),
		chromedp.SendKeys(chromedp.CSS(`#AI-02-on`), old),
		chromedp.SetUploadFiles(chromedp.CSS(`#AI-02-file`), []string{register}),
		chromedp.Click(chromedp.CSS(`#AI-02-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#AI-02-saved`)),
	)
	says("the answer", `#AI-02`, "Staff who use AI have had training on its limits and risks.", "training-register.txt")
	says("the answer", `#AI-02-stale`, "stays current for 12 months")
	shot(t, ctx, "agent-answer-rubric.png")
	do(t, ctx, "sync", chromedp.Navigate(a.URL+"/sync"), chromedp.WaitVisible(chromedp.CSS(`form[action="/sync"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/sync"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))

	// At HQ: the profile and HQ's own answer.
	logIn(t, ctx, hq.URL, "admin", hq.Password)
	do(t, ctx, "set the profile",
		chromedp.Navigate(hq.URL+"/ministry"),
		chromedp.WaitVisible(chromedp.CSS(`#profile-sel`)),
		chromedp.SetValue(chromedp.CSS(`#profile-sel`), "small"),
		chromedp.Click(chromedp.CSS(`form[action="/ministry/profile"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	says("the profile", `#profile`, "Judged as a small ministry")
	says("HQ's checklist", `#MIN-GOV-01`, "Not expected of a small ministry")
	do(t, ctx, "answer MIN-AI-01",
		chromedp.Click(chromedp.CSS(`#MIN-AI-01-l3`)),
		chromedp.SendKeys(chromedp.CSS(`#MIN-AI-01-ev`), "Decision of the Secretary-General naming the AI risk owner"),
		chromedp.Click(chromedp.CSS(`#MIN-AI-01-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#MIN-AI-01-saved`)),
	)

	// The six questions, each linked to what is behind it.
	do(t, ctx, "the six questions", chromedp.Navigate(hq.URL+"/questions"), chromedp.WaitVisible(chromedp.CSS(`#q-6`)))
	says("question 4", `#q-4`, "4. Who owns AI risk?", "MIN-AI-01", "Level 3", "GOV-05", "GOV-06")
	says("question 5", `#q-5`, "5. How do we protect sovereignty?", "SOV-01", "SOV-05", "SOV-08")
	says("the models", `#models`, "Which model is missing from our institution", "Tech ambassador", "not expected of a small ministry")
	waitFor(t, 30*time.Second, func() bool { // the mission's answer has reached HQ
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#q-6`))); err != nil {
			return false
		}
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('a[href^="/missions/"]').length`))
		return n > 0
	})
	shot(t, ctx, "hq-six-questions.png")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#q-5 details').open = true)`)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "follow a question to a mission",
		chromedp.Click(chromedp.CSS(`#q-5 ul.lacking a`)),
		chromedp.WaitVisible(chromedp.CSS(`h1`)),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !regexp.MustCompile(`/missions/[A-Z]{2}-[A-Z0-9]+#a-SOV-\d\d$`).MatchString(loc) {
		t.Fatalf("the link behind the answer leads to %s", loc)
	}

	// The report, on screen and printed.
	do(t, ctx, "the ministry's report", chromedp.Navigate(hq.URL+"/report"), chromedp.WaitVisible(chromedp.CSS(`#r-actions`)))
	says("the report", `#report`, "The six areas", "The six models", "The six questions", "Trends", "Gaps", "Top actions", "small ministry")
	shot(t, ctx, "hq-audit-report.png")
	pdf, err := chromedp.Run(ctx, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, tg, page.PrintToPDF, page.PrintToPDFParams{})
		return r.Data, err
	}))
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	if pages := len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(pdf, -1)); !strings.HasPrefix(string(pdf), "%PDF") || pages < 2 {
		t.Fatalf("the report printed as %d bytes, %d pages", len(pdf), pages)
	}
	// Printed, the navigation is gone and the charts stay.
	hidden, _ := chromedp.Run(ctx, chromedp.Action[bool](func(ctx context.Context, tg *chromedp.Target) (bool, error) {
		if _, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
			return false, err
		}
		return chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('header nav')).display === 'none' && getComputedStyle(document.querySelector('svg.bars')).display !== 'none'`)(ctx, tg)
	}))
	if !hidden {
		t.Error("the printed report keeps the navigation or loses its charts")
	}
	do(t, ctx, "a mission's report", chromedp.Navigate(hq.URL+"/missions/FR-PAR/report"), chromedp.WaitVisible(chromedp.CSS(`#r-actions`)))
	says("the mission's report", `#report`, "Mission FR-PAR", "The six areas", "Top actions", "Next level:")
	shot(t, ctx, "hq-mission-report.png")
}
