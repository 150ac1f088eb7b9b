package httpd_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"chancery/agent/httpd"
	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/framework"
	"chancery/shared/i18n"
	"chancery/shared/incident"
	"chancery/shared/protocol"
	"chancery/shared/readiness"
	"chancery/web"
	"chancery/web/webtest"
)

const password = "correct horse battery"

// env is an agent web interface on a real database and a real loopback
// HTTP server.
type env struct {
	syncs int // how many times a sync was asked for
	t     testing.TB
	srv   *httptest.Server
	db    *store.DB
	acc   *account.Service
	clock time.Time
}

func newEnv(t *testing.T) *env { return newEnvB(t) }

func newEnvB(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, clock: time.Now()}
	e.acc = account.New(db.SQL(), httpd.Roles...)
	e.acc.Now = func() time.Time { return e.clock }
	for _, u := range []struct{ name, role string }{{"admin", "admin"}, {"hom", "head"}, {"amira", "staff"}, {"vic", "viewer"}} {
		if _, err := e.acc.CreateUser(ctx, account.System, u.name, strings.ToUpper(u.name), u.role, password); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Install(ctx, account.System, protocol.Defaults()); err != nil {
		t.Fatal(err)
	}
	s := &httpd.Server{Store: db, Accounts: e.acc, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), SiteName: "Embassy in Testland",
		Link: &uplink.Link{DB: db}, SyncNow: func() { e.syncs++ }}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) browser() *webtest.Browser { return webtest.New(e.t, e.srv.URL, password) }

func TestLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if r := b.Get("/"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/login?next=%2F" {
		t.Fatalf("anonymous visit: %d to %q", r.Status, r.Header.Get("Location"))
	}
	b.Get("/login")
	r := b.Post("/login", url.Values{"username": {"amira"}, "password": {"wrong password"}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Wrong username or password") {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(r.Body, `value="amira"`) {
		t.Error("the login form forgot the username after a failure")
	}
	r = b.Post("/login", url.Values{"username": {"amira"}, "password": {password}, "next": {"/areas/ai"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/areas/ai" {
		t.Fatalf("login: %d to %q", r.Status, r.Header.Get("Location"))
	}
	r = b.Get("/areas/ai")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "AI readiness") || !strings.Contains(r.Body, "AMIRA") {
		t.Fatalf("after login: %d", r.Status)
	}
	// next must stay on this site.
	b2 := e.browser()
	b2.Get("/login")
	r = b2.Post("/login", url.Values{"username": {"vic"}, "password": {password}, "next": {"//evil.example/"}})
	if r.Header.Get("Location") != "/" {
		t.Fatalf("open redirect to %q", r.Header.Get("Location"))
	}
	// Logging out ends the session on the server.
	b.Post("/logout", nil)
	if r := b.Get("/"); r.Status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", r.Status)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Get("/login")
	for i := range 5 {
		if r := b.Post("/login", url.Values{"username": {"hom"}, "password": {"guess " + string(rune('a'+i))}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.Status)
		}
	}
	r := b.Post("/login", url.Values{"username": {"hom"}, "password": {password}})
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many failed logins") {
		t.Fatalf("sixth attempt, right password: %d %s", r.Status, r.Body)
	}
	// Another account from the same address is not locked out by that.
	b.Login("amira")
	// After the window, the account can log in again.
	e.clock = e.clock.Add(16 * time.Minute)
	b3 := e.browser()
	b3.Login("hom")
}

func TestSessionRotatesAtLoginAndExpires(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("amira")
	first := b.Cookie(web.SessionCookie)
	b.Login("amira")
	second := b.Cookie(web.SessionCookie)
	if first == "" || first == second {
		t.Fatal("the session token did not change at login")
	}
	if _, err := e.acc.Session(context.Background(), first); err == nil {
		t.Fatal("the session before the new login is still valid")
	}
	e.clock = e.clock.Add(31 * time.Minute)
	if r := b.Get("/"); r.Status != http.StatusSeeOther {
		t.Fatalf("idle session still served a page: %d", r.Status)
	}
	b.Login("amira")
	for range 13 {
		e.clock = e.clock.Add(59 * time.Minute)
		b.Get("/")
	}
	if r := b.Get("/"); r.Status != http.StatusSeeOther {
		t.Fatalf("session older than 12 hours still served a page: %d", r.Status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("amira")
	form := url.Values{"level": {"3"}, "evidence": {"x"}}
	for _, token := range []string{"", "forged-token", strings.Repeat("A", 43)} {
		f := url.Values{"csrf": {token}}
		for k, v := range form {
			f[k] = v
		}
		r := b.Post("/answers/STR-01", f)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "did not come from this site") {
			t.Fatalf("token %q: %d", token, r.Status)
		}
	}
	// The token of another session does not work either.
	other := e.browser()
	other.Login("hom")
	f := url.Values{"csrf": {other.CSRF}, "level": {"3"}}
	if r := b.Post("/answers/STR-01", f); r.Status != http.StatusForbidden {
		t.Fatalf("another session's token: %d", r.Status)
	}
	if got, _ := e.db.Answers(context.Background()); len(got) != 0 {
		t.Fatalf("a refused request changed answers: %v", got)
	}
	// The login form is protected too.
	anon := e.browser()
	if r := anon.Do("POST", "/login", url.Values{"username": {"amira"}, "password": {password}}); r.Status != http.StatusForbidden {
		t.Fatalf("login without token: %d", r.Status)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		user, method, path string
		want               int
	}{
		{"vic", "POST", "/answers/STR-01", http.StatusForbidden},
		{"vic", "GET", "/areas/strategy", http.StatusOK},
		{"vic", "GET", "/audit", http.StatusForbidden},
		{"amira", "POST", "/answers/STR-01", http.StatusSeeOther},
		{"amira", "POST", "/signoff", http.StatusForbidden},
		{"amira", "GET", "/users", http.StatusForbidden},
		{"hom", "POST", "/signoff", http.StatusSeeOther},
		{"hom", "GET", "/audit", http.StatusOK},
		{"hom", "POST", "/users", http.StatusForbidden},
		{"admin", "GET", "/users", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.method+" "+tt.path, func(t *testing.T) {
			b := e.browser()
			b.Login(tt.user)
			var r webtest.Resp
			if tt.method == "GET" {
				r = b.Get(tt.path)
			} else {
				r = b.Post(tt.path, url.Values{"level": {"2"}, "evidence": {"by " + tt.user}})
			}
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			if tt.want == http.StatusForbidden && !strings.Contains(r.Body, "cannot do this") {
				t.Errorf("refusal does not say why: %s", r.Body)
			}
		})
	}
	// The viewer's refused answer left nothing behind; staff's did land.
	got, _ := e.db.Answers(context.Background())
	if got["STR-01"].AnsweredBy != "amira" {
		t.Fatalf("STR-01 answered by %q", got["STR-01"].AnsweredBy)
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	check := func(what string, r webtest.Resp) {
		t.Helper()
		for h, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
		} {
			if !strings.Contains(r.Header.Get(h), want) {
				t.Errorf("%s: header %s = %q, want %q", what, h, r.Header.Get(h), want)
			}
		}
	}
	check("login", b.Get("/login"))
	check("404 anonymous", b.Get("/no/such/page"))
	check("redirect", b.Get("/"))
	check("csrf refusal", b.Do("POST", "/login", url.Values{}))
	b.Login("amira")
	check("home", b.Get("/"))
	r := b.Get("/nope")
	if r.Status != http.StatusNotFound || !strings.Contains(r.Body, "There is no page at this address") {
		t.Errorf("404: %d", r.Status)
	}
	check("404", r)
	check("forbidden", b.Get("/users"))
	check("bad area", b.Get("/areas/astrology"))
	css := regexp.MustCompile(`/static/[0-9a-f]+/chancery.css`).FindString(b.Get("/").Body)
	r = b.Get(css)
	if r.Status != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("static file: %d %q", r.Status, r.Header.Get("Cache-Control"))
	}
	check("static", r)
}

func TestBadAnswersChangeNothing(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("amira")
	b.Get("/areas/governance")
	if r := b.Post("/answers/GOV-01", url.Values{"level": {"2"}, "evidence": {"chart of 2026"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("good answer: %d", r.Status)
	}
	tests := []struct {
		name, path string
		form       url.Values
		status     int
		want       string
	}{
		{"unknown item", "/answers/XYZ-99", url.Values{"level": {"2"}}, 400, `no checklist item “XYZ-99”`},
		{"level out of range", "/answers/GOV-01", url.Values{"level": {"7"}, "evidence": {"typed text"}}, 400, "Level 7 is not on the scale"},
		{"level not a number", "/answers/GOV-01", url.Values{"level": {"high"}}, 400, "must be a number from 0 to 4"},
		{"no level", "/answers/GOV-01", url.Values{"evidence": {"x"}}, 400, "Choose a maturity level"},
		{"oversized note", "/answers/GOV-01", url.Values{"level": {"2"}, "evidence": {strings.Repeat("é", 2001)}}, 400, "the limit is 4,000"},
		{"oversized body", "/answers/GOV-01", url.Values{"level": {"2"}, "evidence": {strings.Repeat("x", incident.MaxAttachment+70_000)}}, 413, "larger than this server accepts"},
		{"evidence date not a day", "/answers/GOV-01", url.Values{"level": {"2"}, "evidence_on": {"last spring"}}, 400, "The evidence date is a day"},
		{"evidence date in the future", "/answers/GOV-01", url.Values{"level": {"2"}, "evidence_on": {e.db.Now().AddDate(0, 0, 10).Format(time.DateOnly)}}, 400, "is in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.Post(tt.path, tt.form)
			if r.Status != tt.status || !strings.Contains(r.Body, tt.want) {
				t.Fatalf("status %d, want %d with %q:\n%s", r.Status, tt.status, tt.want, r.Body)
			}
			got, _ := e.db.Answers(context.Background())
			if len(got) != 1 || got["GOV-01"].Level != 2 || got["GOV-01"].Evidence != "chart of 2026" {
				t.Fatalf("answers changed: %+v", got)
			}
		})
	}
	// A refused answer comes back with what was typed, so nothing is lost.
	r := b.Post("/answers/GOV-01", url.Values{"level": {"9"}, "evidence": {"my careful note"}})
	if !strings.Contains(r.Body, "my careful note") {
		t.Error("the refused form lost the evidence typed")
	}
	if n, _ := e.db.LastSeq(context.Background()); n != 1 {
		t.Fatalf("change log has %d entries, want 1", n)
	}
}

func TestChecklistScoresAndSignOff(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("hom")
	r := b.Get("/areas/narrative")
	if !strings.Contains(r.Body, `id="area-score">0<`) {
		t.Fatal("empty area does not show score 0")
	}
	// NAR-02 weighs 3 of the area's 22 weight points: level 4 gives
	// 3×4/(22×4) = 13.6 → 13.
	r = b.Post("/answers/NAR-02", url.Values{"level": {"4"}, "evidence": {"pathway v3, drilled in May"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", r.Status, r.Body)
	}
	saved := r.Header.Get("Location")
	r = b.Get(saved)
	if !strings.Contains(r.Body, `id="area-score">13<`) || !regexp.MustCompile(`id="NAR-02-saved">Saved your answer to NAR-02\. Narrative resilience now scores <strong>13</strong>/100`).MatchString(r.Body) {
		t.Fatalf("area page after answer:\n%s", r.Body)
	}
	// Said once: a reload does not say it again.
	if r = b.Get(saved); strings.Contains(r.Body, "Saved your answer") {
		t.Fatal("the page says Saved again on a reload")
	}
	// A refused answer comes back as typed: the level and the evidence.
	r = b.Post("/answers/NAR-03", url.Values{"level": {"7"}, "evidence": {"a long note nobody wants to type twice"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "a long note nobody wants to type twice") {
		t.Fatalf("a refused answer: %d\n%s", r.Status, r.Body)
	}
	// Level 3 without evidence is flagged on the area page and at home.
	b.Post("/answers/NAR-01", url.Values{"level": {"3"}})
	r = b.Get("/areas/narrative")
	if !strings.Contains(r.Body, "Claimed at level 3 without evidence") {
		t.Error("unsupported claim not flagged on the area page")
	}
	r = b.Get("/")
	if !strings.Contains(r.Body, "1 answer at level 3 or 4 without evidence") {
		t.Error("unsupported claim not flagged on the home page")
	}
	if !strings.Contains(r.Body, "Narrative resilience and crisis response") || !strings.Contains(r.Body, "Risk:") {
		t.Error("models and their risks are not shown")
	}
	if r := b.Post("/signoff", url.Values{"note": {strings.Repeat("n", 1001)}}); r.Status != 400 || !strings.Contains(r.Body, "limited to 1,000 characters") {
		t.Fatalf("oversized sign-off note: %d", r.Status)
	}
	r = b.Post("/signoff", url.Values{"note": {"Quarterly review"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign-off: %d %s", r.Status, r.Body)
	}
	snap := r.Header.Get("Location")
	b.Post("/answers/NAR-02", url.Values{"level": {"1"}, "evidence": {"pathway lapsed"}})
	r = b.Get(snap)
	if !strings.Contains(r.Body, "Quarterly review") || !strings.Contains(r.Body, "4 measured and improving") || !strings.Contains(r.Body, "1 ad hoc") {
		t.Fatalf("snapshot comparison:\n%s", r.Body)
	}
	r = b.Get("/snapshots")
	if !strings.Contains(r.Body, "Quarterly review") {
		t.Fatal("snapshot not listed")
	}
	audit := b.Get("/audit").Body
	for _, want := range []string{"signoff", "answer", "NAR-02", "login"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
}

func TestEveryPageRenders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: "AI-01", Level: 2, Evidence: "<script>alert(1)</script>"})
	s, _ := e.db.SignOff(ctx, account.System, "<b>note</b>")
	b := e.browser()
	b.Login("admin")
	in, err := e.db.CreateIncident(ctx, account.System, incident.Incident{Title: "Fake clip", Kind: "synthetic-media", Severity: 3, FirstSeen: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/", "/snapshots", "/snapshots/" + s.ID, "/users", "/audit", "/sync", "/protocols", "/protocols?q=escalation", "/protocols/ai-use", "/protocols/ai-use/changes", "/peers", "/incidents", "/incidents/new", "/incidents/" + in.ID, "/account"}
	for _, a := range fwInForce(t, e.db).Areas {
		paths = append(paths, "/areas/"+a.ID)
	}
	// Every page, in every language: each says its language, shows words
	// of it, and asks the catalog for no key it lacks.
	for _, lang := range i18n.Languages() {
		b.Header = http.Header{"Accept-Language": {lang}}
		for _, p := range append(paths, "/no-such-page") {
			raw := b.Get(p).Body
			if !strings.Contains(raw, `<html lang="`+lang+`">`) {
				t.Errorf("%s in %s: the page does not say its language", p, lang)
			}
			if foot := i18n.For(lang).T("layout.footer"); !strings.Contains(raw, foot) {
				t.Errorf("%s in %s: the page is not in %s", p, lang, lang)
			}
		}
	}
	if miss := i18n.Missing(); len(miss) > 0 {
		t.Errorf("pages asked for keys the catalog lacks: %v", miss)
	}
	b.Header = nil
	for _, p := range paths {
		req, _ := http.NewRequest("GET", e.srv.URL+p, nil)
		for _, c := range b.C.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
		if strings.HasPrefix(p, "/areas/") && !strings.Contains(string(raw), `name="level" value="3"`) {
			t.Errorf("%s: the level radio buttons do not post the level's number", p)
		}
		if strings.Contains(string(raw), "<script>alert") || strings.Contains(string(raw), "<b>note") {
			t.Errorf("%s: user text is not escaped", p)
		}
	}
}

func TestUsersPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("admin")
	b.Get("/users")
	r := b.Post("/users", url.Values{"username": {"new.staff"}, "display_name": {"New Staff"}, "role": {"staff"}, "password": {"short"}})
	if r.Status != 400 || !strings.Contains(r.Body, "12 to 256 characters") || !strings.Contains(r.Body, `value="new.staff"`) {
		t.Fatalf("short password: %d", r.Status)
	}
	r = b.Post("/users", url.Values{"username": {"new.staff"}, "display_name": {"New Staff"}, "role": {"emperor"}, "password": {password}})
	if r.Status != 400 || !strings.Contains(r.Body, `Unknown role “emperor”`) {
		t.Fatalf("bad role: %d", r.Status)
	}
	r = b.Post("/users", url.Values{"username": {"new.staff"}, "display_name": {"New Staff"}, "role": {"staff"}, "password": {password}})
	if r.Status != 200 || !strings.Contains(r.Body, "Added new.staff as staff") {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	nb := e.browser()
	nb.Login("new.staff")
	b.Post("/users/new.staff/disable", nil)
	if r := nb.Get("/"); r.Status != http.StatusSeeOther {
		t.Fatal("a disabled user's session still works")
	}
}

// fwInForce returns the framework in force at the mission.
func fwInForce(tb testing.TB, db *store.DB) *framework.Framework {
	tb.Helper()
	f, err := db.Framework(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// TestEndedSessionKeepsTheWork: an answer sent after the session ended
// is not lost: the login page holds it, and logging in again sends it.
// A form not made by this site for that session is refused, as before.
func TestEndedSessionKeepsTheWork(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("amira")
	b.Get("/areas/narrative")
	if _, err := e.db.SQL().Exec("DELETE FROM sessions"); err != nil { // the session ends, as after its idle time
		t.Fatal(err)
	}
	note := "Pathway drilled on 3 May with the press attaché; minutes filed"
	r := b.Post("/answers/NAR-02", url.Values{"level": {"3"}, "evidence": {note}})
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Nothing you typed is lost") || !strings.Contains(r.Body, `name="kept.evidence" value="`+html.EscapeString(note)) {
		t.Fatalf("an answer sent after the session ended: %d\n%s", r.Status, r.Body)
	}
	if n, _ := e.db.LastSeq(context.Background()); n != 0 {
		t.Fatal("the answer was saved without a session")
	}
	form := webtest.FormValues(r.Body)
	form.Set("username", "amira")
	form.Set("password", password)
	r = b.Post("/login", form)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `action="/answers/NAR-02"`) || !strings.Contains(r.Body, "data-autosubmit") {
		t.Fatalf("after logging in again: %d\n%s", r.Status, r.Body)
	}
	r = b.Post("/answers/NAR-02", webtest.FormValues(r.Body)) // what the page's script sends
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sending what was kept: %d\n%s", r.Status, r.Body)
	}
	answers, _ := e.db.Answers(context.Background())
	if a := answers["NAR-02"]; a.Evidence != note || a.Level != 3 {
		t.Fatalf("saved %+v", a)
	}

	// A form with a token this site never gave that session is refused.
	if _, err := e.db.SQL().Exec("DELETE FROM sessions"); err != nil {
		t.Fatal(err)
	}
	if r := b.Post("/answers/NAR-03", url.Values{"level": {"1"}, "csrf": {"forged"}}); r.Status != http.StatusForbidden {
		t.Fatalf("a forged form after the session ended: %d", r.Status)
	}
}

// TestSelfService: a person changes their own password (the present one
// checked); an administrator changes another's role and resets a
// forgotten password, shown once; nobody changes their own role.
func TestSelfService(t *testing.T) {
	e := newEnv(t)
	amira := e.browser()
	amira.Login("amira")
	if r := amira.Get("/account"); !strings.Contains(r.Body, `id="my-role">staff<`) {
		t.Fatalf("the account page:\n%s", r.Body)
	}
	if r := amira.Post("/account/password", url.Values{"current": {"not it at all"}, "new": {"a new long passphrase"}, "repeat": {"a new long passphrase"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "Nothing was changed") {
		t.Fatalf("a wrong present password: %d", r.Status)
	}
	if r := amira.Post("/account/password", url.Values{"current": {password}, "new": {"a new long passphrase"}, "repeat": {"another passphrase"}}); r.Status != http.StatusBadRequest {
		t.Fatalf("a repetition that differs: %d", r.Status)
	}
	r := amira.Post("/account/password", url.Values{"current": {password}, "new": {"a new long passphrase"}, "repeat": {"a new long passphrase"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("change password: %d %s", r.Status, r.Body)
	}
	if r := amira.Get("/account"); !strings.Contains(r.Body, "Your password is changed") {
		t.Fatal("after the change, this browser's session did not go on")
	}
	if _, _, err := e.acc.Login(context.Background(), "amira", password, "127.0.0.9"); err == nil {
		t.Fatal("the old password still works")
	}
	if _, _, err := e.acc.Login(context.Background(), "amira", "a new long passphrase", "127.0.0.9"); err != nil {
		t.Fatalf("the new password does not work: %v", err)
	}

	admin := e.browser()
	admin.Login("admin")
	admin.Get("/users")
	if r := admin.Post("/users/hom/role", url.Values{"role": {"viewer"}}); r.Status != http.StatusOK || !strings.Contains(r.Body, "hom is now viewer") {
		t.Fatalf("change a role: %d", r.Status)
	}
	hom := e.browser()
	hom.Login("hom")
	if r := hom.Get("/account"); !strings.Contains(r.Body, `id="my-role">viewer<`) {
		t.Fatal("the new role did not take")
	}
	if r := admin.Post("/users/admin/role", url.Values{"role": {"viewer"}}); r.Status != http.StatusConflict {
		t.Fatalf("changing one's own role: %d", r.Status)
	}
	if r := admin.Post("/users/hom/role", url.Values{"role": {"emperor"}}); r.Status != http.StatusBadRequest {
		t.Fatalf("a role that does not exist: %d", r.Status)
	}
	r = admin.Post("/users/hom/password", nil)
	m := regexp.MustCompile(`New password for hom: (\S+) \.`).FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("reset a password: %d\n%s", r.Status, r.Body)
	}
	if _, _, err := e.acc.Login(context.Background(), "hom", html.UnescapeString(m[1]), "127.0.0.9"); err != nil {
		t.Fatalf("the password shown does not work: %v", err)
	}
	if r := hom.Get("/account"); r.Status == http.StatusOK && strings.Contains(r.Body, `id="my-role"`) {
		t.Fatal("hom's old session goes on after the reset")
	}
}

// TestEveryStateHasWords: the values the mission's pages say through the
// catalog (incident kinds, severities, statuses and moves, levels, model
// coverage, relay events, peer states, roles) each have a message, in
// every language.
func TestEveryStateHasWords(t *testing.T) {
	var keys []string
	for _, k := range incident.Kinds {
		keys = append(keys, "kind."+string(k.Kind))
	}
	for _, s := range incident.Severities {
		keys = append(keys, fmt.Sprintf("severity.%d", s.Severity), fmt.Sprintf("severity_def.%d", s.Severity))
	}
	for _, s := range incident.Statuses {
		keys = append(keys, "incident_status."+string(s), "incident_verb."+string(s))
		if s != incident.Closed {
			keys = append(keys, "pathway."+string(s))
		}
	}
	for _, l := range readiness.Levels() {
		keys = append(keys, fmt.Sprintf("level.%d", int(l)))
	}
	for _, c := range []readiness.Coverage{readiness.Missing, readiness.Partial, readiness.Present} {
		keys = append(keys, "coverage."+string(c))
	}
	for _, e := range []string{uplink.EventHanded, uplink.EventReceipt, uplink.EventReplyRefused, uplink.EventStale, uplink.EventHQRefused, uplink.EventPeerRefused,
		uplink.EventTaken, uplink.EventCarried, uplink.EventReturned, uplink.EventFull, uplink.EventExpired, uplink.EventSetAside, uplink.EventDocument, uplink.EventServed} {
		keys = append(keys, "relay_event."+e)
	}
	for _, s := range []string{"alive", "left", "failed"} {
		keys = append(keys, "peers.state_"+s)
	}
	for _, r := range httpd.Roles {
		keys = append(keys, "role."+r)
	}
	for _, miss := range i18n.Lacking(keys...) {
		t.Errorf("the catalog lacks %s", miss)
	}
}

// Where people answer, each level says what it means for the item; an
// answer keeps its evidence date and files, downloads them inert, and
// flags evidence older than the item allows.
func TestAnswerRubricEvidenceDateAndFiles(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.Login("amira")
	page := b.Get("/areas/ai").Body
	it, _ := framework.Builtin().Item("AI-02")
	for lv, words := range it.Rubric {
		if !strings.Contains(page, words) {
			t.Errorf("the rubric of AI-02 at level %d is not shown where people answer: %q", lv, words)
		}
	}
	old := e.db.Now().AddDate(0, -14, 0).Format(time.DateOnly)
	payload := []byte("<script>alert(1)</script> training register, 14 names")
	r := b.PostFiles("/answers/AI-02", url.Values{"level": {"3"}, "evidence": {"Training register"}, "evidence_on": {old}},
		webtest.File{Field: "file", Name: "../../register.html", Data: payload})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("answer with a file: %d\n%s", r.Status, r.Body)
	}
	page = b.Get("/areas/ai").Body
	if !strings.Contains(page, `id="AI-02-stale"`) || !strings.Contains(page, "stays current for 12 months") {
		t.Error("training evidence of 14 months ago is not flagged as stale")
	}
	link := regexp.MustCompile(`href="(/answers/AI-02/files/[0-9a-f]{64})" download>register.html<`).FindStringSubmatch(page)
	if link == nil {
		t.Fatal("the evidence file is not listed under its own name, without its path")
	}
	resp, err := b.C.Get(e.srv.URL + link[1])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, payload) || resp.Header.Get("Content-Type") != "application/octet-stream" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("evidence file served as %q, CSP %q", resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"))
	}
	// Renewing the evidence clears the flag; the file stays with the answer.
	r = b.Post("/answers/AI-02", url.Values{"level": {"3"}, "evidence": {"Training register"}, "evidence_on": {e.db.Now().Format(time.DateOnly)}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("renewed answer: %d", r.Status)
	}
	page = b.Get("/areas/ai").Body
	if strings.Contains(page, `id="AI-02-stale"`) || !strings.Contains(page, "register.html") {
		t.Error("renewed evidence still flagged, or the file was lost")
	}
	// A file too large is refused and changes nothing.
	r = b.PostFiles("/answers/AI-02", url.Values{"level": {"4"}}, webtest.File{Field: "file", Name: "big.bin", Data: make([]byte, incident.MaxAttachment+1)})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "An evidence file is 1 byte to 10 MB") {
		t.Fatalf("oversized file: %d", r.Status)
	}
	a, _ := e.db.Answers(context.Background())
	if a["AI-02"].Level != 3 || len(a["AI-02"].Files) != 1 {
		t.Fatalf("a refused file changed the answer: %+v", a["AI-02"])
	}
	// The file travels to HQ as a change after the answer naming it.
	cs, _ := e.db.Changes(context.Background(), 0, 100)
	var answerAt, fileAt int
	for i, c := range cs {
		if c.Entity == changelog.EntityAnswer && c.Key == "AI-02" && answerAt == 0 {
			answerAt = i + 1
		}
		if c.Entity == changelog.EntityAttachment {
			fileAt = i + 1
		}
	}
	if answerAt == 0 || fileAt <= answerAt {
		t.Errorf("the file's change (%d) does not follow the answer's (%d)", fileAt, answerAt)
	}
}
