package httpd_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"chancery/shared/account"
	"chancery/shared/protocol"
)

func TestProtocolPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.browser()
	staff.Login("amira")
	r := staff.Get("/protocols")
	if !strings.Contains(r.Body, "8 protocols for you to read") || !strings.Contains(r.Body, "Crisis escalation pathway for narrative risks") {
		t.Fatalf("library:\n%s", r.Body)
	}
	r = staff.Get("/protocols?q=impersonating+accounts")
	if !strings.Contains(r.Body, `href="/protocols/synthetic-media"`) {
		t.Fatal("search by words of the body found nothing")
	}
	r = staff.Get("/protocols/crisis-escalation")
	if !strings.Contains(r.Body, "<table>") || !strings.Contains(r.Body, "<strong>Escalate</strong>") {
		t.Fatal("the protocol's Markdown is not rendered")
	}
	if strings.Contains(r.Body, "Who has acknowledged") {
		t.Fatal("staff see who has acknowledged; only the head of mission and administrators do")
	}
	r = staff.Post("/protocols/crisis-escalation/ack", url.Values{"version": {"1"}})
	if r.Status != 303 {
		t.Fatalf("acknowledge: %d", r.Status)
	}
	r = staff.Get(r.Header.Get("Location"))
	if !strings.Contains(r.Body, "You acknowledged version 1") {
		t.Fatal("acknowledgement not shown")
	}

	// HQ's version 2 arrives: the acknowledgement starts again, and the
	// change is shown.
	v2 := protocol.Defaults()[1]
	if v2.ID != "crisis-escalation" {
		for _, d := range protocol.Defaults() {
			if d.ID == "crisis-escalation" {
				v2 = d
			}
		}
	}
	v2.Version, v2.Note = 2, "Escalation within one hour"
	v2.Body = strings.Replace(v2.Body, "within **two hours**", "within **one hour**", 1)
	if _, err := e.db.Install(ctx, account.System, []protocol.Document{v2}); err != nil {
		t.Fatal(err)
	}
	r = staff.Get("/protocols")
	if !strings.Contains(r.Body, "new version") {
		t.Fatal("a new version is not marked new")
	}
	r = staff.Get("/protocols/crisis-escalation/changes")
	if !strings.Contains(r.Body, "<del>− - Escalate within **two hours**") || !strings.Contains(r.Body, "<ins>+ - Escalate within **one hour**") {
		t.Fatalf("changes:\n%s", r.Body)
	}
	if r := staff.Post("/protocols/crisis-escalation/ack", url.Values{"version": {"1"}}); r.Status != 409 || !strings.Contains(r.Body, "no longer in force") {
		t.Fatalf("acknowledging the old version: %d", r.Status)
	}

	head := e.browser()
	head.Login("hom")
	r = head.Get("/protocols/crisis-escalation")
	if !strings.Contains(r.Body, `<strong id="missing">4</strong> of 4 have not yet`) {
		t.Fatalf("the head of mission's view of who has not acknowledged:\n%s", r.Body)
	}
}

func TestProtocolMarkupIsInert(t *testing.T) {
	e := newEnv(t)
	doc := protocol.Document{ID: "xss", Title: `<script>alert("t")</script>`, Category: "Test", Version: 1,
		Body: "# Hi\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))\n"}
	if _, err := e.db.Install(context.Background(), account.System, []protocol.Document{doc}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.Login("amira")
	for _, p := range []string{"/protocols/xss", "/protocols", "/protocols?q=hi"} {
		raw := rawGet(t, b.C, e.srv.URL+p)
		for _, bad := range []string{"<script>alert", "<img src=x onerror", `href="javascript:`} {
			if strings.Contains(raw, bad) {
				t.Errorf("%s carries live %q", p, bad)
			}
		}
	}
}

func rawGet(t *testing.T, c interface {
	Get(string) (*http.Response, error)
}, u string) string {
	t.Helper()
	r, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestFrozenFeedIsShown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.browser()
	b.Login("vic")
	if r := b.Get("/"); strings.Contains(r.Body, `class="notice"`) {
		t.Fatal("a notice with nothing to say")
	}
	// The release in force expired yesterday and nothing newer came.
	if err := e.db.ApplyUpdate(ctx, 5, time.Now().Add(-24*time.Hour), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/protocols", "/areas/ai"} {
		if r := b.Get(p); !strings.Contains(r.Body, "Updates from HQ expired on") {
			t.Fatalf("%s does not show the frozen feed", p)
		}
	}
	if _, err := e.db.RefuseUpdate(ctx, 6, "the update has expired: release 6 expired on 1 May 2026", func(int) time.Duration { return time.Hour }, map[string]string{"status": "failed"}); err != nil {
		t.Fatal(err)
	}
	if r := b.Get("/"); !strings.Contains(r.Body, "An update from HQ was refused") {
		t.Fatal("a refused update is not shown")
	}
}
