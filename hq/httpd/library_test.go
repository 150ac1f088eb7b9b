package httpd_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/framework"
	"chancery/shared/incident"
	"chancery/shared/protocol"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/web/webtest"
)

// reply sends a pouch for the mission and returns HQ's
// reply.
func (e *env) reply(m *mission, raw []byte) exchange.Reply {
	e.t.Helper()
	resp, err := (&exchange.Client{BaseURL: e.srv.URL, Attempts: 1}).Exchange(context.Background(), raw)
	if err != nil {
		e.t.Fatal(err)
	}
	hqKey, _ := base64.StdEncoding.DecodeString(m.hq.HQSigningKey)
	p, err := pouch.Receiver{Site: m.code, Identities: []*age.X25519Identity{m.id}, Keys: fixedKey(hqKey)}.Open(bytes.NewReader(resp))
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := exchange.ParseReply(p.Lines)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func TestPublishAndRelease(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	if err := e.db.SeedLibrary(ctx); err != nil {
		t.Fatal(err)
	}
	m := e.enroll("FR-PAR")
	// Only the documents every agent ships with: no release to send.
	if r := e.reply(m, m.pouch(t, 0, 0, "HQ")); r.Release != nil || len(r.Documents) > 0 {
		t.Fatalf("reply before any publication carries %+v; want the receipt alone", r)
	}

	// An analyst may not publish; a publisher may.
	ana := webtest.New(t, e.srv.URL, password)
	ana.Login("ana")
	ana.Get("/library")
	if r := ana.Post("/library/ai-use", url.Values{"title": {"x"}}); r.Status != 403 {
		t.Fatalf("analyst publishing: %d", r.Status)
	}
	pub := webtest.New(t, e.srv.URL, password)
	pub.Login("pub")
	pub.Get("/library/ai-use/edit")
	r := pub.Post("/library/ai-use", url.Values{"title": {"Rules for using AI tools"}, "category": {"AI readiness"},
		"body": {"# Rules\n\nNo AI note-takers in meetings.\n"}, "note": {"Meetings"}, "scope": {"region"}, "region": {""}})
	if r.Status != 400 || !strings.Contains(r.Body, "Nothing was published") {
		t.Fatalf("publishing to an empty region: %d", r.Status)
	}
	// Publishing asks for a review first: the lines that change and the
	// missions reached; then a confirmation that names how many.
	v := url.Values{"title": {"Rules for using AI tools"}, "category": {"AI readiness"},
		"body": {"# Rules\n\nNo AI note-takers in meetings.\n"}, "note": {"Meetings"}, "scope": {"missions"}, "missions": {"fr-par"}}
	r = pub.Post("/library/ai-use", v)
	if r.Status != 200 || !strings.Contains(r.Body, `id="review-section"`) || !strings.Contains(r.Body, "<ins>+ No AI note-takers in meetings.</ins>") ||
		!strings.Contains(r.Body, "1 mission (the missions FR-PAR)") || !strings.Contains(r.Body, "<li>FR-PAR ") {
		t.Fatalf("the review: %d\n%s", r.Status, r.Body)
	}
	digest := regexp.MustCompile(`name="reviewed" value="([0-9a-f]+)"`).FindStringSubmatch(r.Body)
	v.Set("action", "publish")
	if r := pub.Post("/library/ai-use", v); r.Status != 400 || !strings.Contains(r.Body, "tick the box that names the 1 mission ") {
		t.Fatalf("publishing without confirming: %d", r.Status)
	}
	v.Set("reviewed", digest[1])
	v.Set("confirm", "1")
	changed := url.Values{}
	for k, x := range v {
		changed[k] = x
	}
	changed.Set("body", "# Rules\n\nAnything goes.\n")
	if r := pub.Post("/library/ai-use", changed); r.Status != 400 || !strings.Contains(r.Body, "review it again") {
		t.Fatalf("publishing a text other than the one reviewed: %d", r.Status)
	}
	r = pub.Post("/library/ai-use", v)
	if r.Status != 303 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	page := pub.Get(r.Header.Get("Location"))
	if !strings.Contains(page.Body, "the missions FR-PAR") || !strings.Contains(page.Body, `data-code="FR-PAR"`) || !strings.Contains(page.Body, ">pending<") {
		t.Fatalf("ledger after publishing:\n%s", page.Body)
	}

	// The mission's next exchange carries the release and the new document.
	reply := e.reply(m, m.pouch(t, 0, 0, "HQ"))
	if reply.Release == nil || len(reply.Documents) != 1 {
		t.Fatalf("reply carries %d documents, release %v; want the release and one document", len(reply.Documents), reply.Release != nil)
	}
	hqKey, _ := base64.StdEncoding.DecodeString(m.hq.HQSigningKey)
	rel, err := exchange.OpenRelease(ed25519.PublicKey(hqKey), *reply.Release)
	if err != nil || rel.Mission != "FR-PAR" || len(rel.Targets) != len(protocol.Defaults()) {
		t.Fatalf("release: %+v, %v", rel, err)
	}
	found := false
	for _, tg := range rel.Targets {
		if tg.ID == "ai-use" && tg.Version == 2 && reply.DocumentFor(tg) != nil {
			found = true
		}
	}
	if !found {
		t.Fatal("the document sent does not match the release's target")
	}
	if page := pub.Get("/library/ai-use"); !strings.Contains(page.Body, `data-state="sent"`) {
		t.Fatal("the ledger does not show the release as sent")
	}
	// Another mission, out of scope, gets nothing.
	other := e.enroll("KE-NBO")
	if r := e.reply(other, other.pouch(t, 0, 0, "HQ")); r.Release != nil || len(r.Documents) > 0 {
		t.Fatalf("a mission out of scope received %+v", r)
	}
}

func TestPublishFramework(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	e.db.SeedLibrary(ctx)
	m := e.enroll("FR-PAR")
	e.send(m, m.pouch(t, 1, 3, "HQ")) // STR-01, STR-02, STR-03 answered

	v2 := *e.newest()
	v2.Version = 2
	v2.Items = append([]framework.Item(nil), v2.Items...)
	v2.Items[0].ID = "STR-11" // STR-01 renamed…
	v2.Text = nil             // (its translations name STR-01)
	body, _ := json.Marshal(v2)
	if _, err := e.db.PublishFramework(ctx, account.System, body, "all"); err == nil || !strings.Contains(err.Error(), "Item STR-01 of version 1 is neither in version 2 nor in its renamed list") {
		t.Fatalf("a framework that drops an item unmapped: %v", err)
	}
	v2.Renamed = map[string]string{"STR-01": "STR-11"} // …and mapped
	body, _ = json.Marshal(v2)
	before, _ := e.db.AllScores(ctx)
	if _, err := e.db.PublishFramework(ctx, account.System, body, "all"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.PublishFramework(ctx, account.System, body, "all"); err == nil {
		t.Fatal("the same framework version was published twice")
	}
	if e.newest().Version != 2 {
		t.Fatal("HQ does not publish from the new framework")
	}
	// Until the mission reports it has version 2, HQ scores it against
	// the version it has.
	if mid, _ := e.db.AllScores(ctx); mid["FR-PAR"].Summary.Framework != 1 || mid["FR-PAR"].Summary.Overall != before["FR-PAR"].Summary.Overall {
		t.Fatalf("scores before the mission applied version 2: %+v", mid["FR-PAR"].Summary)
	}
	// The mission's next reply carries the framework, as HQ stored it:
	// its canonical encoding.
	r := e.reply(m, m.pouch(t, 0, 0, "HQ"))
	last := r.Documents[len(r.Documents)-1]
	if last.Kind != exchange.KindFramework || !bytes.Equal(last.Body, v2.Encode()) {
		t.Fatalf("reply's last document: kind %q", last.Kind)
	}
	// HQ's scores, recomputed under version 2 once the mission has it,
	// count the answer to STR-01.
	e.send(m, m.report(t, 4, changelog.UpdateReport{Release: 1, Status: "applied", Framework: 2, At: time.Now()}))
	after, _ := e.db.AllScores(ctx)
	if o := after["FR-PAR"].Summary.Overall; after["FR-PAR"].Summary.Framework != 2 || o.Answered != 3 || o.Value != before["FR-PAR"].Summary.Overall.Value {
		t.Fatalf("scores under version 2: %+v, before %+v", after["FR-PAR"].Summary.Overall, before["FR-PAR"].Summary.Overall)
	}
}

// TestFrameworkEditor: a protocol owner edits the next framework version
// as a form, is told beside each field what is wrong (and keeps what was
// typed), reviews the differences and the missions reached, and publishes
// only after confirming how many missions it reaches.
func TestFrameworkEditor(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	e.db.SeedLibrary(context.Background())
	e.enroll("FR-PAR")
	e.enroll("KE-NBO")
	b := webtest.New(t, e.srv.URL, password)
	b.Login("pub")
	r := b.Get("/library/framework/edit")
	if r.Status != 200 || !strings.Contains(r.Body, `name="item.0.id" value="STR-01"`) || !strings.Contains(r.Body, `name="version" type="number" min="1" value="2"`) {
		t.Fatalf("editor: %d\n%s", r.Status, r.Body)
	}
	v := webtest.FormValues(r.Body)
	n := len(e.newest().Items) // the blank row for a new item
	v.Set("item.0.question", "")
	v.Set("item.1.id", "STR-12") // STR-02 renamed
	v.Set("item.1.guidance", "Name the owner and the date of the last review.")
	v.Set("item.2.remove", "1") // STR-03 removed, its answers' place not chosen yet
	v.Set(fmt.Sprintf("item.%d.id", n), "STR-90")
	v.Set(fmt.Sprintf("item.%d.question", n), "Is the strategy reviewed with the missions every year?")
	v.Set(fmt.Sprintf("item.%d.guidance", n), "A dated review with the missions' input.")
	v.Set(fmt.Sprintf("item.%d.evidence", n), "The minutes of the last review.")
	v.Add(fmt.Sprintf("item.%d.models", n), "digital-foreign-policy")
	v.Set(fmt.Sprintf("item.%d.addresses", n), "dfp-2, dfp-3") // the questions STR-03 answered
	v.Set("action", "review")
	r = b.Post("/library/framework", v)
	item := func(body string, i int) string {
		m := regexp.MustCompile(`(?s)<fieldset class="fw-item[^"]*" id="item-` + strconv.Itoa(i) + `">(.*?)(?:<fieldset class="fw-item|<p><button)`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no item %d on the page", i)
		}
		return m[1]
	}
	if r.Status != 400 || !strings.Contains(item(r.Body, 0), "Needs a question") || !strings.Contains(item(r.Body, 2), "Choose the item its answers carry to") {
		t.Fatalf("problems are not shown beside their fields: %d\n%s", r.Status, r.Body)
	}
	if !strings.Contains(item(r.Body, 1), "Name the owner and the date of the last review.") || !strings.Contains(item(r.Body, n), `value="STR-90"`) {
		t.Fatal("a refused draft lost what was typed")
	}
	if !strings.Contains(item(r.Body, n), "Needs a rubric: what each level from 0 to 4 means for this item") {
		t.Fatal("a new item without a rubric is not refused beside its fields")
	}
	if !strings.Contains(item(r.Body, 1), "The mission holds the current text and can state its priorities.") && !strings.Contains(item(r.Body, 0), "The mission holds the current text and can state its priorities.") {
		t.Fatal("the editor does not carry the items' rubrics")
	}
	for lv, words := range []string{"No review.", "Reviewed now and then.", "A yearly review is planned.", "The review happens with the missions.", "The review changes the strategy."} {
		v.Set(fmt.Sprintf("item.%d.rubric.%d", n, lv), words)
	}
	v.Set("item.0.question", "Is there a written digital foreign policy strategy?")
	v.Set("item.2.into", "STR-04")
	if r = b.Post("/library/framework", v); r.Status != 400 || !strings.Contains(r.Body, "Choose which missions receive this version") {
		t.Fatalf("no scope chosen: %d", r.Status)
	}
	v.Set("scope", "missions")
	v.Set("missions", "FR-PAR")
	r = b.Post("/library/framework", v)
	if r.Status != 200 || !strings.Contains(r.Body, `id="review-section"`) {
		t.Fatalf("review: %d\n%s", r.Status, r.Body)
	}
	for _, want := range []string{"<td>renamed</td><td>STR-02</td><td>STR-12</td>", "<th scope=\"row\">STR-03</th><td>removed</td>", "answers carry to STR-04",
		"<th scope=\"row\">STR-90</th><td>added</td>", "<td>changed: guidance</td>", `id="reach-count">1 mission (the missions FR-PAR)`, "FR-PAR Embassy FR-PAR",
		"Publish version 2 to 1 mission"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the review lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "KE-NBO Embassy") {
		t.Error("the review lists a mission out of scope")
	}
	// Publishing without ticking the confirmation publishes nothing.
	v = webtest.FormValues(r.Body)
	v.Del("confirm")
	v.Set("action", "publish")
	if r := b.Post("/library/framework", v); r.Status != 400 || !strings.Contains(r.Body, "tick the box that names the 1 mission ") || e.newest().Version != 1 {
		t.Fatalf("unconfirmed publish: %d", r.Status)
	}
	v.Set("confirm", "1")
	if r := b.Post("/library/framework", v); r.Status != 303 {
		t.Fatalf("publish: %d\n%s", r.Status, r.Body)
	}
	f := e.newest()
	if f.Version != 2 || f.Renamed["STR-02"] != "STR-12" || f.Renamed["STR-03"] != "STR-04" || f.Items[len(f.Items)-1].ID != "STR-90" {
		t.Fatalf("published: version %d, renamed %v", f.Version, f.Renamed)
	}
	pubs, _ := e.db.Publications(context.Background(), "framework")
	if len(pubs) != 1 || pubs[0].Scope != "missions:FR-PAR" {
		t.Fatalf("publications: %+v", pubs)
	}
	// A draft made over a version since replaced is not published over it.
	v.Set("version", "3")
	if r := b.Post("/library/framework", v); r.Status != 409 || !strings.Contains(r.Body, "Version 2 was published while you edited") {
		t.Fatalf("stale draft: %d", r.Status)
	}
	ana := webtest.New(t, e.srv.URL, password)
	ana.Login("ana")
	if r := ana.Get("/library/framework/edit"); r.Status != 403 {
		t.Fatalf("analyst: %d", r.Status)
	}
}

// TestEvidenceHashCheckedAtHQ: an evidence file whose bytes do not match
// its hash is not kept, and HQ says it has not received it.
func TestEvidenceHashCheckedAtHQ(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	good, bad := []byte("the real screenshot"), []byte("something else")
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	now := time.Now().UTC().Truncate(time.Second)
	in := incident.Incident{ID: "INC-1", Title: "Forged letter", Kind: "impersonation", Severity: 2, Status: incident.Monitoring, FirstSeen: now, CreatedAt: now, UpdatedAt: now,
		Attachments: []incident.Attachment{{Name: "a.png", SHA256: sum(good), Size: int64(len(good))}, {Name: "b.png", SHA256: sum(bad), Size: int64(len(bad))}}}
	body, _ := json.Marshal(in)
	att := func(sha string, data []byte) json.RawMessage {
		b, _ := json.Marshal(incident.AttachmentData{Incident: "INC-1", SHA256: sha, Name: "x", Data: data})
		return b
	}
	changes := []changelog.Change{
		{Site: "FR-PAR", Seq: 1, Entity: changelog.EntityIncident, Key: "INC-1", Op: changelog.OpPut, Body: body, At: now},
		{Site: "FR-PAR", Seq: 2, Entity: changelog.EntityAttachment, Key: sum(good), Op: changelog.OpPut, Body: att(sum(good), good), At: now},
		{Site: "FR-PAR", Seq: 3, Entity: changelog.EntityAttachment, Key: sum(bad), Op: changelog.OpPut, Body: att(sum(bad), good), At: now}, // bytes do not match
	}
	lines, _ := pouch.ChangeLines(changes)
	r, _ := age.ParseX25519Recipient(m.hq.HQRecipients[0])
	var buf bytes.Buffer
	pouch.Seal(&buf, pouch.Sender{Site: "FR-PAR", Key: m.sk}, pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: []*age.X25519Recipient{r}, First: 1, Last: 3}, lines)
	if status, _, body := e.send(m, buf.Bytes()); status != 200 {
		t.Fatalf("send: %d %s", status, body)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("ana")
	page := b.Get("/incidents/FR-PAR/INC-1")
	if !strings.Contains(page.Body, "/attachments/"+sum(good)) || strings.Contains(page.Body, "/attachments/"+sum(bad)) || !strings.Contains(page.Body, "not received yet") {
		t.Fatalf("evidence at HQ:\n%s", page.Body)
	}
}

// TestIncidentTextInertAtHQ: what a mission typed, however hostile, is
// shown at HQ as text.
func TestIncidentTextInertAtHQ(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	x := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	now := time.Now().UTC().Truncate(time.Second)
	in := incident.Incident{ID: "INC-X", Title: x, Kind: "other", Severity: 2, Status: incident.Closed, Summary: x, Platforms: []string{x}, Languages: []string{x},
		Links: []string{`https://example.org/"><script>alert(3)</script>`}, FirstSeen: now, CreatedAt: now, UpdatedAt: now, ClosedAt: &now, Lessons: x,
		Timeline: []incident.Entry{{At: now, By: x, To: incident.Closed, Reason: x}}}
	body, _ := json.Marshal(in)
	lines, _ := pouch.ChangeLines([]changelog.Change{{Site: "FR-PAR", Seq: 1, Entity: changelog.EntityIncident, Key: "INC-X", Op: changelog.OpPut, Body: body, At: now}})
	r, _ := age.ParseX25519Recipient(m.hq.HQRecipients[0])
	var buf bytes.Buffer
	pouch.Seal(&buf, pouch.Sender{Site: "FR-PAR", Key: m.sk}, pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: []*age.X25519Recipient{r}, First: 1, Last: 1}, lines)
	e.send(m, buf.Bytes())
	b := webtest.New(t, e.srv.URL, password)
	b.Login("ana")
	for _, p := range []string{"/incidents", "/incidents/FR-PAR/INC-X", "/incidents/lessons", "/incidents/lessons?q=script", "/missions/FR-PAR"} {
		raw := rawBody(t, b, p)
		if !strings.Contains(raw, "INC-X") && p != "/missions/FR-PAR" {
			t.Fatalf("%s does not show the incident", p)
		}
		for _, bad := range []string{"<script>alert", "<img src=x onerror", `"><script>`} {
			if strings.Contains(raw, bad) {
				t.Errorf("%s carries live %q", p, bad)
			}
		}
	}
}

func rawBody(t *testing.T, b *webtest.Browser, p string) string {
	t.Helper()
	r, err := b.C.Get(b.Base + p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	out, _ := io.ReadAll(r.Body)
	return string(out)
}
