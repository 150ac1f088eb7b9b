package httpd_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"chancery/web/webtest"
)

func newIncident(t *testing.T, b *webtest.Browser, title string) string {
	t.Helper()
	b.Get("/incidents/new")
	r := b.Post("/incidents", url.Values{"title": {title}, "kind": {"synthetic-media"}, "severity": {"4"},
		"summary": {"Audio of the ambassador, never recorded"}, "platforms": {"X, Telegram"}, "languages": {"fr"}, "reach": {"12,000"}})
	if r.Status != 303 {
		t.Fatalf("record: %d %s", r.Status, r.Body)
	}
	return strings.TrimPrefix(r.Header.Get("Location"), "/incidents/")
}

func TestIncidentPathway(t *testing.T) {
	e := newEnv(t)
	staff := e.browser()
	staff.Login("amira")
	id := newIncident(t, staff, "Fake audio of the ambassador")
	page := staff.Get("/incidents/" + id)
	if !strings.Contains(page.Body, `id="status">monitoring<`) || !strings.Contains(page.Body, "Who decides:") {
		t.Fatalf("incident page:\n%s", page.Body)
	}
	if !strings.Contains(page.Body, "HQ's duty officer acknowledges within the hour") {
		t.Error("the escalation protocol's guidance is not shown beside the decision")
	}
	// Staff may flag, not escalate: that is the head of mission's call.
	if r := staff.Post("/incidents/"+id+"/move", url.Values{"to": {"escalated"}, "reason": {"urgent"}}); r.Status != 403 {
		t.Fatalf("staff escalating: %d", r.Status)
	}
	if r := staff.Post("/incidents/"+id+"/move", url.Values{"to": {"flagged"}, "reason": {"Picked up by a journalist"}}); r.Status != 303 {
		t.Fatalf("flag: %d", r.Status)
	}
	head := e.browser()
	head.Login("hom")
	head.Get("/incidents/" + id)
	for _, c := range []struct {
		to, reason, lessons, want string
	}{
		{"coordinating", "HQ leads", "", "cannot move to coordinating"},
		{"escalated", "", "", "Say why"},
		{"closed", "Debunked", "too short", "lessons learned"},
	} {
		r := head.Post("/incidents/"+id+"/move", url.Values{"to": {c.to}, "reason": {c.reason}, "lessons": {c.lessons}})
		if r.Status != 400 || !strings.Contains(r.Body, c.want) {
			t.Fatalf("%s: %d, want 400 saying %q", c.to, r.Status, c.want)
		}
		// What was typed comes back: the decision, the reason, the lessons.
		if !strings.Contains(r.Body, "\n"+c.reason+"</textarea>") || !strings.Contains(r.Body, "\n"+c.lessons+"</textarea>") || (strings.Contains(r.Body, `value="`+c.to+`"`) && !strings.Contains(r.Body, `value="`+c.to+`" checked`)) {
			t.Fatalf("%s: the refused decision lost what was typed:\n%s", c.to, r.Body)
		}
	}
	before := e.syncs
	r := head.Post("/incidents/"+id+"/move", url.Values{"to": {"escalated"}, "reason": {"Synthetic audio of the ambassador"}})
	if r.Status != 303 || e.syncs != before+1 {
		t.Fatalf("escalate: %d, syncs asked %d", r.Status, e.syncs-before)
	}
	head.Get(r.Header.Get("Location"))
	r = head.Post("/incidents/"+id+"/move", url.Values{"to": {"closed"}, "reason": {"Platform removed it"}, "lessons": {"The platform contact acted within two hours; keep it current."}})
	if r.Status != 303 {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	page = head.Get("/incidents/" + id)
	if !strings.Contains(page.Body, `id="status">closed<`) || !strings.Contains(page.Body, "Lessons learned") || strings.Contains(page.Body, `id="decide"`) {
		t.Fatal("closed incident page")
	}
	if n := strings.Count(page.Body, `<li><time datetime=`); n != 4 {
		t.Fatalf("timeline has %d entries, want 4 (recorded, flagged, escalated, closed)", n)
	}
}

func TestIncidentBadInput(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("amira")
	b.Get("/incidents/new")
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"title": {"x"}, "kind": {"meteor"}, "severity": {"2"}}, "Unknown kind"},
		{url.Values{"title": {"x"}, "kind": {"other"}, "severity": {"9"}}, "Severity is 1"},
		{url.Values{"title": {"x"}, "kind": {"other"}, "severity": {"2"}, "links": {"javascript:alert(1)"}}, "must start with https://"},
		{url.Values{"title": {"x"}, "kind": {"other"}, "severity": {"2"}, "reach": {"many"}}, "number of people"},
		{url.Values{"title": {strings.Repeat("t", 201)}, "kind": {"other"}, "severity": {"2"}}, "A title is 1 to 200"},
	} {
		r := b.Post("/incidents", c.form)
		if r.Status != 400 || !strings.Contains(r.Body, c.want) {
			t.Fatalf("%v: %d, want %q", c.form, r.Status, c.want)
		}
	}
	if r := b.Get("/incidents"); !strings.Contains(r.Body, "No incident recorded") {
		t.Fatal("a refused incident was recorded")
	}
}

func TestIncidentMarkupIsInert(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("hom")
	x := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	b.Get("/incidents/new")
	r := b.Post("/incidents", url.Values{"title": {x}, "kind": {"other"}, "severity": {"2"}, "summary": {x}, "platforms": {x}, "languages": {x},
		"links": {`https://example.org/"><script>alert(3)</script>`}})
	id := strings.TrimPrefix(r.Header.Get("Location"), "/incidents/")
	b.Get("/incidents/" + id)
	b.Post("/incidents/"+id+"/move", url.Values{"to": {"closed"}, "reason": {x}, "lessons": {x + " and more words to be long enough"}})
	for _, p := range []string{"/incidents", "/incidents/" + id, "/audit"} {
		raw := rawGet(t, b.C, e.srv.URL+p)
		for _, bad := range []string{"<script>alert", "<img src=x onerror", `"><script>`} {
			if strings.Contains(raw, bad) {
				t.Errorf("%s carries live %q", p, bad)
			}
		}
	}
}

func TestEvidenceIsServedInert(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("amira")
	id := newIncident(t, b, "Forged letter")
	b.Get("/incidents/" + id)
	upload := func(name string, data []byte) int {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("csrf", b.CSRF)
		f, _ := w.CreateFormFile("file", name)
		f.Write(data)
		w.Close()
		req, _ := http.NewRequest("POST", e.srv.URL+"/incidents/"+id+"/attachments", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Accept", "text/html")
		r, err := b.C.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r.StatusCode
	}
	payload := []byte("<html><body><script>document.cookie</script></body></html>")
	if s := upload("letter.html", payload); s != 303 {
		t.Fatalf("upload: %d", s)
	}
	if s := upload("huge.bin", make([]byte, 11<<20)); s != 413 {
		t.Fatalf("oversized upload: %d, want 413", s)
	}
	page := rawGet(t, b.C, e.srv.URL+"/incidents/"+id)
	link := regexp.MustCompile(`href="(/incidents/[^"]+/attachments/[0-9a-f]{64})"`).FindStringSubmatch(page)
	if link == nil || strings.Count(page, " download>") != 1 { // the refused file is not listed
		t.Fatalf("evidence links: %v", link)
	}
	r, err := b.C.Get(e.srv.URL + link[1])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	r.Body.Close()
	h := r.Header
	if !bytes.Equal(got, payload) || h.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("served as %q, %q, CSP %q", h.Get("Content-Type"), h.Get("Content-Disposition"), h.Get("Content-Security-Policy"))
	}
}
