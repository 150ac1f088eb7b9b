package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
func newBrowser(t *testing.T) context.Context {
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
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	// NAR-02 weighs 3 of the area's 22: 3×3/(22×4) = 10.2.
	if f, s := text(t, ctx, `.flash`), text(t, ctx, `#area-score`); !strings.Contains(f, "Saved your answer to NAR-02") || s != "10" {
		t.Fatalf("after saving: flash %q, area score %q (want 10)", f, s)
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
