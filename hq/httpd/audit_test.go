package httpd_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"chancery/hq/demo"
	"chancery/shared/changelog"
	"chancery/shared/evidence"
	"chancery/shared/framework"
	"chancery/shared/incident"
	"chancery/shared/readiness"
	"chancery/sync/pouch"
	"chancery/web/webtest"
)

// Headquarters answers its own, ministry-level checklist: the rubric where
// it answers, evidence files kept and served inert, the profile changing
// what is expected, and a sign-off only an administrator gives.
func TestHeadquartersAssessesItself(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	page := b.Get("/ministry")
	if page.Status != 200 || !strings.Contains(page.Body, "Judged as a <strong>mid-sized ministry</strong>") || !strings.Contains(page.Body, "Not set yet") {
		t.Fatalf("ministry page: %d, or its default profile is not said", page.Status)
	}
	dir, _ := framework.Builtin().MinistryItem("MIN-GOV-01")
	for _, words := range dir.Rubric {
		if !strings.Contains(page.Body, words) {
			t.Errorf("the rubric of MIN-GOV-01 is not shown where HQ answers: %q", words)
		}
	}
	if !strings.Contains(page.Body, "Not expected of a mid-sized ministry") {
		t.Error("a directorate is not said to be unexpected of a mid-sized ministry")
	}
	payload := []byte("<script>steal()</script> strategy adopted 2026-03-02")
	r := b.PostFiles("/ministry/answers/MIN-STR-01", url.Values{"level": {"3"}, "evidence": {"Digital foreign policy 2026–2030"}, "evidence_on": {"2026-03-02"}},
		webtest.File{Field: "file", Name: "C:\\docs\\strategy.pdf", Data: payload})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("HQ's answer: %d\n%s", r.Status, r.Body)
	}
	b.Post("/ministry/answers/MIN-GOV-02", url.Values{"level": {"1"}})
	page = b.Get("/ministry")
	link := regexp.MustCompile(`href="(/ministry/answers/MIN-STR-01/files/[0-9a-f]{64})" download>strategy.pdf<`).FindStringSubmatch(page.Body)
	if link == nil {
		t.Fatal("HQ's evidence file is not listed under its own name")
	}
	resp, err := b.C.Get(e.srv.URL + link[1])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, payload) || resp.Header.Get("Content-Type") != "application/octet-stream" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("HQ's evidence served as %q", resp.Header.Get("Content-Type"))
	}
	overall := func() string {
		return regexp.MustCompile(`Headquarters scores <strong>(\d+)</strong>/100, (\d+) of (\d+)`).FindString(b.Get("/ministry").Body)
	}
	b.Get("/ministry")
	b.Post("/ministry/profile", url.Values{"profile": {"large"}})
	large := overall()
	// A small ministry is not expected to have a directorate, an envoy
	// or an AI unit: fewer items count, and the envoy is no risk.
	b.Get("/ministry")
	if r := b.Post("/ministry/profile", url.Values{"profile": {"small"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("set profile: %d", r.Status)
	}
	page = b.Get("/ministry")
	if !strings.Contains(page.Body, "The ministry is now judged as a small ministry") || !strings.Contains(page.Body, `data-profile="small"`) {
		t.Fatal("the new profile is not shown")
	}
	if small := overall(); small == large || small == "" {
		t.Errorf("the profile changed nothing in HQ's scores: %q then %q", large, small)
	}
	if !strings.Contains(page.Body, "Tech ambassador: <span class=\"not-expected\">not expected of a small ministry") {
		t.Error("a small ministry is judged on the tech envoy model")
	}
	// Bad input changes nothing.
	if r := b.Post("/ministry/profile", url.Values{"profile": {"enormous"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "“enormous” is not a ministry profile") {
		t.Errorf("bad profile: %d", r.Status)
	}
	if p, _ := e.db.Profile(context.Background()); p.Profile != "small" {
		t.Errorf("a refused profile changed it to %q", p.Profile)
	}
	if r := b.Post("/ministry/answers/STR-01", url.Values{"level": {"2"}}); r.Status != http.StatusBadRequest {
		t.Errorf("a mission's item answered as HQ's: %d", r.Status)
	}
	if r := b.PostFiles("/ministry/answers/MIN-STR-01", url.Values{"level": {"4"}}, webtest.File{Field: "file", Name: "big", Data: make([]byte, incident.MaxAttachment+1)}); r.Status != http.StatusBadRequest {
		t.Errorf("oversized file: %d", r.Status)
	}
	if a, _ := e.db.MinistryAnswers(context.Background()); a["MIN-STR-01"].Level != 3 || len(a["MIN-STR-01"].Files) != 1 {
		t.Fatalf("a refused answer changed HQ's: %+v", a["MIN-STR-01"])
	}
	// Only an administrator signs off; an analyst answers; a publisher
	// does neither.
	ana := webtest.New(t, e.srv.URL, password)
	ana.Login("ana")
	ana.Get("/ministry")
	if r := ana.Post("/ministry/signoff", url.Values{"note": {"x"}}); r.Status != http.StatusForbidden {
		t.Errorf("analyst signs off: %d", r.Status)
	}
	if r := ana.Post("/ministry/answers/MIN-MIS-01", url.Values{"level": {"2"}}); r.Status != http.StatusSeeOther {
		t.Errorf("analyst answers: %d", r.Status)
	}
	pub := webtest.New(t, e.srv.URL, password)
	pub.Login("pub")
	pub.Get("/ministry")
	if r := pub.Post("/ministry/answers/MIN-MIS-01", url.Values{"level": {"4"}}); r.Status != http.StatusForbidden {
		t.Errorf("publisher answers: %d", r.Status)
	}
	b.Get("/ministry")
	if r := b.Post("/ministry/signoff", url.Values{"note": {"Board of 3 December"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign-off: %d", r.Status)
	}
	page = b.Get("/ministry")
	if !strings.Contains(page.Body, "Last signed off by admin") || !strings.Contains(page.Body, "Board of 3 December") {
		t.Error("HQ's sign-off is not shown")
	}
	// HQ stands above the missions on the map.
	if m := b.Get("/").Body; !strings.Contains(m, `id="hq-row"`) || !strings.Contains(m, "Headquarters' own assessment, as a small ministry") {
		t.Error("the map does not show HQ's own assessment beside the missions")
	}
}

// The six questions page answers each question from HQ and the missions,
// links every answer to the items and missions behind it, and reaches
// every item of the sovereignty area and those of learning.
func TestSixQuestionsAnswered(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	if _, err := demo.Generate(context.Background(), e.db, demo.Options{Missions: 20, Snapshots: 2, Seed: 5, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("ana")
	page := b.Get("/questions")
	if page.Status != 200 {
		t.Fatalf("questions: %d", page.Status)
	}
	for _, h := range []string{"1. What is our digital diplomacy model today?", "2. Where are the gaps across missions?", "3. Who owns narrative risk?",
		"4. Who owns AI risk?", "5. How do we protect sovereignty?", "6. How do we turn digital activity into institutional learning?",
		"Which model is missing from our institution, and what risk does that create?"} {
		if !strings.Contains(page.Body, h) {
			t.Errorf("the page does not answer %q", h)
		}
	}
	for _, id := range []string{"SOV-01", "SOV-02", "SOV-03", "SOV-04", "SOV-05", "SOV-06", "SOV-07", "SOV-08", "MIS-08", "NAR-07", "GOV-08", "GOV-06", "STR-02"} {
		if !strings.Contains(page.Body, `data-lacking="`+id+`"`) {
			t.Errorf("%s is not reachable from the six questions", id)
		}
	}
	for _, id := range []string{"MIN-STR-02", "MIN-SOV-01", "MIN-MIS-02", "MIN-AI-01", "MIN-NAR-01", "MIN-MIS-01"} {
		if !strings.Contains(page.Body, `href="/ministry#`+id+`"`) {
			t.Errorf("HQ's item %s is not linked from the six questions", id)
		}
	}
	if !regexp.MustCompile(`href="/missions/[A-Z]{2}-[A-Z0-9]+#a-[A-Z]+-\d\d"`).MatchString(page.Body) {
		t.Error("no answer links to the missions behind it")
	}
	// Each answer counts HQ's lacking items as its own assessment says:
	// expected of the profile, and below "defined" or unanswered.
	hq, _ := e.db.MinistryAnswers(context.Background())
	f := framework.Builtin()
	for _, q := range []string{"q-1", "q-2", "q-3", "q-4", "q-5", "q-6"} {
		want, of := 0, 0
		for _, it := range f.Ministry {
			if !slices.Contains(it.Addresses, q) {
				continue
			}
			of++
			if a, ok := hq[it.ID]; it.ExpectedOf(framework.Mid) && (!ok || (!a.NA && a.Level < 2)) {
				want++
			}
		}
		line := regexp.MustCompile(`data-answer="` + q + `">At headquarters, (\d+) of (\d+) lacking`).FindStringSubmatch(page.Body)
		if line == nil || line[1] != strconv.Itoa(want) || line[2] != strconv.Itoa(of) {
			t.Errorf("%s: the answer says %v; HQ lacks %d of %d", q, line, want, of)
		}
	}
}

// The printable audit report, for the ministry and for one mission, holds
// the six areas, the six models with their risks, the six questions,
// trends, gaps and the top actions, with charts drawn as SVG.
func TestCapabilityAuditReport(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	if _, err := demo.Generate(context.Background(), e.db, demo.Options{Missions: 12, Snapshots: 3, Seed: 9, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	b.Get("/ministry")
	b.Post("/ministry/answers/MIN-STR-02", url.Values{"level": {"2"}, "evidence": {"Models statement of May"}})
	b.Post("/ministry/signoff", url.Values{})
	sections := []string{`id="r-areas"`, `id="r-models"`, `id="r-questions"`, `id="r-trends"`, `id="r-gaps"`, `id="r-actions"`}
	for _, path := range []string{"/report", "/missions/" + firstMission(t, b) + "/report"} {
		r := b.Get(path)
		if r.Status != 200 {
			t.Fatalf("%s: %d", path, r.Status)
		}
		for _, s := range sections {
			if !strings.Contains(r.Body, s) {
				t.Errorf("%s lacks the section %s", path, s)
			}
		}
		if n := strings.Count(r.Body, `<svg class="bars"`); n != 1 {
			t.Errorf("%s: %d area charts, want 1", path, n)
		}
		if strings.Count(r.Body, `<g data-area=`) != 6 || strings.Count(r.Body, `data-model=`) != 6 || strings.Count(r.Body, `data-question="q-`) != 6 {
			t.Errorf("%s does not hold the six areas, six models and six questions", path)
		}
		if !strings.Contains(r.Body, `<svg class="trend"`) {
			t.Errorf("%s draws no trend", path)
		}
		if !strings.Contains(r.Body, `data-action=`) || !strings.Contains(r.Body, "Next level:") {
			t.Errorf("%s names no action with its next level", path)
		}
		report := r.Body[strings.Index(r.Body, `<article class="report"`):strings.Index(r.Body, "</article>")]
		if strings.Contains(report, "<script") {
			t.Errorf("%s needs a script to draw", path)
		}
	}
	ministry := b.Get("/report").Body
	if !strings.Contains(ministry, `data-profile="mid"`) || !strings.Contains(ministry, "Mean of the missions") {
		t.Error("the ministry's report does not say its profile, or compare HQ with the missions")
	}
}

func firstMission(t *testing.T, b *webtest.Browser) string {
	t.Helper()
	m := rowRE.FindStringSubmatch(b.Get("/").Body)
	if m == nil {
		t.Fatal("no mission on the map")
	}
	return m[1]
}

// A mission's answer names its evidence files; the bytes follow as a
// change of their own. HQ lists the file at once, says it has not arrived
// until it has, and then serves it inert; the stale evidence is flagged.
func TestMissionEvidenceFilesReachHQ(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	data := []byte("register of the AI training, 12 names")
	f, err := evidence.New("register.txt", data, "amira", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a := readiness.Answer{ItemID: "AI-02", Level: readiness.Practised, Evidence: "Training register", AnsweredBy: "amira", AnsweredAt: time.Now().UTC(),
		EvidenceOn: time.Now().UTC().AddDate(-2, 0, 0), Files: []evidence.File{f}}
	if s, _, msg := e.send(m, m.seal(t, 1, change(changelog.EntityAnswer, "AI-02", a))); s != 200 {
		t.Fatalf("answer: %d %s", s, msg)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("ana")
	page := b.Get("/missions/FR-PAR").Body
	link := regexp.MustCompile(`href="(/missions/FR-PAR/answers/AI-02/files/[0-9a-f]{64})" download>register.txt<`).FindStringSubmatch(page)
	if link == nil {
		t.Fatal("the mission's evidence file is not listed at HQ")
	}
	if !strings.Contains(page, `data-stale="AI-02"`) {
		t.Error("evidence of two years ago for a training item is not flagged at HQ")
	}
	if r := b.Get(link[1]); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "has not received this evidence file yet") {
		t.Errorf("a file not yet received: %d %s", r.Status, r.Body)
	}
	file := evidence.Data{Item: "AI-02", SHA256: f.SHA256, Name: f.Name, Data: data}
	if s, _, msg := e.send(m, m.seal(t, 2, change(changelog.EntityAttachment, f.SHA256, file))); s != 200 {
		t.Fatalf("file: %d %s", s, msg)
	}
	resp, err := b.C.Get(e.srv.URL + link[1])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, data) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("the mission's file served as %q: %q", resp.Header.Get("Content-Type"), got)
	}
}
