package httpd_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"chancery/agent/httpd"
	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/readiness"
	"chancery/web/account"
)

const password = "correct horse battery"

// env is an agent web interface on a real database and a real loopback
// HTTP server.
type env struct {
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
	s := &httpd.Server{Store: db, Accounts: e.acc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SiteName: "Embassy in Testland",
		Link: &uplink.Link{DB: db}, SyncNow: func() {}}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// browser is a client with its own cookies, like one person's browser.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type resp struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) resp {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.srv.URL+path, body)
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer r.Body.Close()
	out, _ := io.ReadAll(r.Body)
	if m := csrfRE.FindSubmatch(out); m != nil {
		b.csrf = string(m[1])
	}
	return resp{r.StatusCode, r.Header, html.UnescapeString(string(out))}
}

func (b *browser) get(path string) resp { return b.do("GET", path, nil) }

// post sends a form with the CSRF token of the last page seen.
func (b *browser) post(path string, form url.Values) resp {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	return b.do("POST", path, form)
}

func (b *browser) login(user string) {
	b.e.t.Helper()
	b.get("/login")
	r := b.post("/login", url.Values{"username": {user}, "password": {password}})
	if r.status != http.StatusSeeOther {
		b.e.t.Fatalf("login as %s: status %d: %s", user, r.status, r.body)
	}
	b.get("/")
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if r := b.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2F" {
		t.Fatalf("anonymous visit: %d to %q", r.status, r.header.Get("Location"))
	}
	b.get("/login")
	r := b.post("/login", url.Values{"username": {"amira"}, "password": {"wrong password"}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong username or password") {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	if !strings.Contains(r.body, `value="amira"`) {
		t.Error("the login form forgot the username after a failure")
	}
	r = b.post("/login", url.Values{"username": {"amira"}, "password": {password}, "next": {"/areas/ai"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/areas/ai" {
		t.Fatalf("login: %d to %q", r.status, r.header.Get("Location"))
	}
	r = b.get("/areas/ai")
	if r.status != http.StatusOK || !strings.Contains(r.body, "AI readiness") || !strings.Contains(r.body, "AMIRA") {
		t.Fatalf("after login: %d", r.status)
	}
	// next must stay on this site.
	b2 := e.browser()
	b2.get("/login")
	r = b2.post("/login", url.Values{"username": {"vic"}, "password": {password}, "next": {"//evil.example/"}})
	if r.header.Get("Location") != "/" {
		t.Fatalf("open redirect to %q", r.header.Get("Location"))
	}
	// Logging out ends the session on the server.
	b.post("/logout", nil)
	if r := b.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", r.status)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/login")
	for i := range 5 {
		if r := b.post("/login", url.Values{"username": {"hom"}, "password": {"guess " + string(rune('a'+i))}}); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	r := b.post("/login", url.Values{"username": {"hom"}, "password": {password}})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed logins") {
		t.Fatalf("sixth attempt, right password: %d %s", r.status, r.body)
	}
	// Another account from the same address is not locked out by that.
	b.login("amira")
	// After the window, the account can log in again.
	e.clock = e.clock.Add(16 * time.Minute)
	b3 := e.browser()
	b3.login("hom")
}

func TestSessionRotatesAtLoginAndExpires(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login("amira")
	u, _ := url.Parse(e.srv.URL)
	first := cookie(b, u, account.SessionCookie)
	b.login("amira")
	second := cookie(b, u, account.SessionCookie)
	if first == "" || first == second {
		t.Fatal("the session token did not change at login")
	}
	if _, err := e.acc.Session(context.Background(), first); err == nil {
		t.Fatal("the session before the new login is still valid")
	}
	e.clock = e.clock.Add(31 * time.Minute)
	if r := b.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("idle session still served a page: %d", r.status)
	}
	b.login("amira")
	for range 13 {
		e.clock = e.clock.Add(59 * time.Minute)
		b.get("/")
	}
	if r := b.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("session older than 12 hours still served a page: %d", r.status)
	}
}

func cookie(b *browser, u *url.URL, name string) string {
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login("amira")
	form := url.Values{"level": {"3"}, "evidence": {"x"}}
	for _, token := range []string{"", "forged-token", strings.Repeat("A", 43)} {
		f := url.Values{"csrf": {token}}
		for k, v := range form {
			f[k] = v
		}
		r := b.post("/answers/STR-01", f)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "did not come from this site") {
			t.Fatalf("token %q: %d", token, r.status)
		}
	}
	// The token of another session does not work either.
	other := e.browser()
	other.login("hom")
	f := url.Values{"csrf": {other.csrf}, "level": {"3"}}
	if r := b.post("/answers/STR-01", f); r.status != http.StatusForbidden {
		t.Fatalf("another session's token: %d", r.status)
	}
	if got, _ := e.db.Answers(context.Background()); len(got) != 0 {
		t.Fatalf("a refused request changed answers: %v", got)
	}
	// The login form is protected too.
	anon := e.browser()
	if r := anon.do("POST", "/login", url.Values{"username": {"amira"}, "password": {password}}); r.status != http.StatusForbidden {
		t.Fatalf("login without token: %d", r.status)
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
			b.login(tt.user)
			var r resp
			if tt.method == "GET" {
				r = b.get(tt.path)
			} else {
				r = b.post(tt.path, url.Values{"level": {"2"}, "evidence": {"by " + tt.user}})
			}
			if r.status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.status, tt.want, r.body)
			}
			if tt.want == http.StatusForbidden && !strings.Contains(r.body, "cannot do this") {
				t.Errorf("refusal does not say why: %s", r.body)
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
	check := func(what string, r resp) {
		t.Helper()
		for h, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
		} {
			if !strings.Contains(r.header.Get(h), want) {
				t.Errorf("%s: header %s = %q, want %q", what, h, r.header.Get(h), want)
			}
		}
	}
	check("login", b.get("/login"))
	check("404 anonymous", b.get("/no/such/page"))
	check("redirect", b.get("/"))
	check("csrf refusal", b.do("POST", "/login", url.Values{}))
	b.login("amira")
	check("home", b.get("/"))
	r := b.get("/nope")
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "There is no page at this address") {
		t.Errorf("404: %d", r.status)
	}
	check("404", r)
	check("forbidden", b.get("/users"))
	check("bad area", b.get("/areas/astrology"))
	css := regexp.MustCompile(`/static/[0-9a-f]+/chancery.css`).FindString(b.get("/").body)
	r = b.get(css)
	if r.status != 200 || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Errorf("static file: %d %q", r.status, r.header.Get("Cache-Control"))
	}
	check("static", r)
}

func TestBadAnswersChangeNothing(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login("amira")
	b.get("/areas/governance")
	if r := b.post("/answers/GOV-01", url.Values{"level": {"2"}, "evidence": {"chart of 2026"}}); r.status != http.StatusSeeOther {
		t.Fatalf("good answer: %d", r.status)
	}
	tests := []struct {
		name, path string
		form       url.Values
		status     int
		want       string
	}{
		{"unknown item", "/answers/XYZ-99", url.Values{"level": {"2"}}, 400, `no checklist item "XYZ-99"`},
		{"level out of range", "/answers/GOV-01", url.Values{"level": {"7"}, "evidence": {"typed text"}}, 400, "Level 7 is not on the scale"},
		{"level not a number", "/answers/GOV-01", url.Values{"level": {"high"}}, 400, "must be a number from 0 to 4"},
		{"no level", "/answers/GOV-01", url.Values{"evidence": {"x"}}, 400, "Choose a maturity level"},
		{"oversized note", "/answers/GOV-01", url.Values{"level": {"2"}, "evidence": {strings.Repeat("é", 2001)}}, 400, "the limit is 4000"},
		{"oversized body", "/answers/GOV-01", url.Values{"level": {"2"}, "evidence": {strings.Repeat("x", 70_000)}}, 413, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.post(tt.path, tt.form)
			if r.status != tt.status || !strings.Contains(r.body, tt.want) {
				t.Fatalf("status %d, want %d with %q:\n%s", r.status, tt.status, tt.want, r.body)
			}
			got, _ := e.db.Answers(context.Background())
			if len(got) != 1 || got["GOV-01"].Level != 2 || got["GOV-01"].Evidence != "chart of 2026" {
				t.Fatalf("answers changed: %+v", got)
			}
		})
	}
	// A refused answer comes back with what was typed, so nothing is lost.
	r := b.post("/answers/GOV-01", url.Values{"level": {"9"}, "evidence": {"my careful note"}})
	if !strings.Contains(r.body, "my careful note") {
		t.Error("the refused form lost the evidence typed")
	}
	if n, _ := e.db.LastSeq(context.Background()); n != 1 {
		t.Fatalf("change log has %d entries, want 1", n)
	}
}

func TestChecklistScoresAndSignOff(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login("hom")
	r := b.get("/areas/narrative")
	if !strings.Contains(r.body, `id="area-score">0<`) {
		t.Fatal("empty area does not show score 0")
	}
	// NAR-02 weighs 3 of the area's 22 weight points: level 4 gives
	// 3×4/(22×4) = 13.6 → 13.
	r = b.post("/answers/NAR-02", url.Values{"level": {"4"}, "evidence": {"pathway v3, drilled in May"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	r = b.get(r.header.Get("Location"))
	if !strings.Contains(r.body, `id="area-score">13<`) || !strings.Contains(r.body, "Saved your answer to NAR-02") {
		t.Fatalf("area page after answer:\n%s", r.body)
	}
	// Level 3 without evidence is flagged on the area page and at home.
	b.post("/answers/NAR-01", url.Values{"level": {"3"}})
	r = b.get("/areas/narrative")
	if !strings.Contains(r.body, "Claimed at level 3 without evidence") {
		t.Error("unsupported claim not flagged on the area page")
	}
	r = b.get("/")
	if !strings.Contains(r.body, "1 answer at level 3 or 4 without evidence") {
		t.Error("unsupported claim not flagged on the home page")
	}
	if !strings.Contains(r.body, "Narrative resilience and crisis response") || !strings.Contains(r.body, "Risk:") {
		t.Error("models and their risks are not shown")
	}
	if r := b.post("/signoff", url.Values{"note": {strings.Repeat("n", 1001)}}); r.status != 400 || !strings.Contains(r.body, "limited to 1000 characters") {
		t.Fatalf("oversized sign-off note: %d", r.status)
	}
	r = b.post("/signoff", url.Values{"note": {"Quarterly review"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign-off: %d %s", r.status, r.body)
	}
	snap := r.header.Get("Location")
	b.post("/answers/NAR-02", url.Values{"level": {"1"}, "evidence": {"pathway lapsed"}})
	r = b.get(snap)
	if !strings.Contains(r.body, "Quarterly review") || !strings.Contains(r.body, "4 measured and improving") || !strings.Contains(r.body, "1 ad hoc") {
		t.Fatalf("snapshot comparison:\n%s", r.body)
	}
	r = b.get("/snapshots")
	if !strings.Contains(r.body, "Quarterly review") {
		t.Fatal("snapshot not listed")
	}
	audit := b.get("/audit").body
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
	b.login("admin")
	paths := []string{"/", "/snapshots", "/snapshots/" + s.ID, "/users", "/audit", "/sync"}
	for _, a := range e.db.Framework().Areas {
		paths = append(paths, "/areas/"+a.ID)
	}
	for _, p := range paths {
		req, _ := http.NewRequest("GET", e.srv.URL+p, nil)
		for _, c := range b.c.Jar.Cookies(req.URL) {
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
	b.login("admin")
	b.get("/users")
	r := b.post("/users", url.Values{"username": {"new.staff"}, "display_name": {"New Staff"}, "role": {"staff"}, "password": {"short"}})
	if r.status != 400 || !strings.Contains(r.body, "12 to 256 characters") || !strings.Contains(r.body, `value="new.staff"`) {
		t.Fatalf("short password: %d", r.status)
	}
	r = b.post("/users", url.Values{"username": {"new.staff"}, "display_name": {"New Staff"}, "role": {"emperor"}, "password": {password}})
	if r.status != 400 || !strings.Contains(r.body, `Unknown role "emperor"`) {
		t.Fatalf("bad role: %d", r.status)
	}
	r = b.post("/users", url.Values{"username": {"new.staff"}, "display_name": {"New Staff"}, "role": {"staff"}, "password": {password}})
	if r.status != 200 || !strings.Contains(r.body, "Added new.staff as staff") {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	nb := e.browser()
	nb.login("new.staff")
	b.post("/users/new.staff/disable", nil)
	if r := nb.get("/"); r.status != http.StatusSeeOther {
		t.Fatal("a disabled user's session still works")
	}
}
