package httpd_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/hq/httpd"
	"chancery/hq/ingest"
	"chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/enroll"
	"chancery/shared/framework"
	"chancery/shared/readiness"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/web/webtest"
)

const password = "correct horse battery"

type env struct {
	t   testing.TB
	srv *httptest.Server
	db  *store.DB
	acc *account.Service
	ing *ingest.Service
}

func newEnv(t testing.TB, limits pouch.Limits) *env {
	t.Helper()
	return newEnvWith(t, limits, nil)
}

// newEnvWith is newEnv with resumable uploads, if up is not nil.
func newEnvWith(t testing.TB, limits pouch.Limits, up *exchange.Uploads) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "hq.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := account.New(db.SQL(), httpd.Roles...)
	for _, u := range []struct{ name, role string }{{"admin", "admin"}, {"ana", "analyst"}, {"pub", "publisher"}} {
		if _, err := acc.CreateUser(ctx, account.System, u.name, u.name, u.role, password); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, db: db, acc: acc, ing: &ingest.Service{DB: db, Limits: limits}}
	h, err := (&httpd.Server{Store: db, Accounts: acc, Ingest: e.ing, Uploads: up, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// mission is an enrolled mission's keys, as its agent holds them.
type mission struct {
	code string
	id   *age.X25519Identity
	sk   ed25519.PrivateKey
	hq   exchange.EnrollResponse
	seq  int64
}

func (e *env) enroll(code string) *mission {
	e.t.Helper()
	ctx := context.Background()
	if err := e.db.AddMission(ctx, account.System, store.Mission{Code: code, Name: "Embassy " + code}); err != nil {
		e.t.Fatal(err)
	}
	c, _, err := e.db.IssueCode(ctx, account.System, code)
	if err != nil {
		e.t.Fatal(err)
	}
	m := &mission{code: code}
	m.id, _ = age.GenerateX25519Identity()
	_, m.sk, _ = ed25519.GenerateKey(nil)
	cl := &exchange.Client{BaseURL: e.srv.URL, Attempts: 1}
	m.hq, err = cl.Enroll(ctx, exchange.NewEnrollRequest(c, code, m.id.Recipient().String(),
		base64.StdEncoding.EncodeToString(m.sk.Public().(ed25519.PublicKey))))
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// pouch seals n new answers (or the given range) from the mission.
func (m *mission) pouch(t testing.TB, first, n int64, to string) []byte {
	t.Helper()
	var lines [][]byte
	for i := range n {
		a := readiness.Answer{ItemID: fmt.Sprintf("STR-%02d", i%8+1), Level: readiness.Level(i % 5), Evidence: fmt.Sprintf("change %d", first+i), AnsweredBy: "amira", AnsweredAt: time.Now().UTC()}
		body, _ := json.Marshal(a)
		b, _ := json.Marshal(changelog.Change{Site: m.code, Seq: first + i, Entity: changelog.EntityAnswer, Key: a.ItemID, Op: changelog.OpPut, Body: body, At: a.AnsweredAt})
		lines = append(lines, b)
	}
	r, _ := age.ParseX25519Recipient(m.hq.HQRecipients[0])
	var buf bytes.Buffer
	env := pouch.Envelope{Kind: pouch.KindChanges, To: to, Recipients: []*age.X25519Recipient{r}}
	if n > 0 {
		env.First, env.Last = first, first+n-1
	}
	if _, err := pouch.Seal(&buf, pouch.Sender{Site: m.code, Key: m.sk}, env, lines); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newest is the newest framework version HQ knows.
func (e *env) newest() *framework.Framework {
	e.t.Helper()
	cat, err := e.db.Catalog(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return cat.Framework()
}

// report seals the mission's report on a release as change seq.
func (m *mission) report(t testing.TB, seq int64, r changelog.UpdateReport) []byte {
	t.Helper()
	body, _ := json.Marshal(r)
	b, _ := json.Marshal(changelog.Change{Site: m.code, Seq: seq, Entity: changelog.EntityUpdate, Key: fmt.Sprint(r.Release), Op: changelog.OpPut, Body: body, At: r.At})
	rc, _ := age.ParseX25519Recipient(m.hq.HQRecipients[0])
	var buf bytes.Buffer
	env := pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: []*age.X25519Recipient{rc}, First: seq, Last: seq}
	if _, err := pouch.Seal(&buf, pouch.Sender{Site: m.code, Key: m.sk}, env, [][]byte{b}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// send posts a pouch and opens the receipt in HQ's reply.
func (e *env) send(m *mission, raw []byte) (int, exchange.Receipt, string) {
	e.t.Helper()
	resp, err := http.Post(e.srv.URL+exchange.PathExchange, "", bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, exchange.Receipt{}, string(body)
	}
	hqKey, _ := base64.StdEncoding.DecodeString(m.hq.HQSigningKey)
	rc := pouch.Receiver{Site: m.code, Identities: []*age.X25519Identity{m.id}, Keys: fixedKey(hqKey)}
	p, err := rc.Open(bytes.NewReader(body))
	if err != nil {
		e.t.Fatalf("reply: %v", err)
	}
	var r exchange.Receipt
	json.Unmarshal(p.Lines[0], &r)
	return 200, r, ""
}

type fixedKey ed25519.PublicKey

func (k fixedKey) SigningKey(site, id string) (ed25519.PublicKey, error) {
	if site != "HQ" || id != pouch.KeyID(ed25519.PublicKey(k)) {
		return nil, pouch.ErrUnknownKey
	}
	return ed25519.PublicKey(k), nil
}

func (e *env) received(code string) int {
	n, err := e.db.Received(context.Background(), code)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestExchangeReceiptAndOrder(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	p1, p2, p3 := m.pouch(t, 1, 10, "HQ"), m.pouch(t, 11, 10, "HQ"), m.pouch(t, 21, 5, "HQ")

	// Out of order: 3 and 2 wait for 1; then everything applies at once.
	for _, step := range []struct {
		raw  []byte
		want int64
	}{{p3, 0}, {p2, 0}, {p1, 25}, {p1, 25}, {p2, 25}} {
		status, r, body := e.send(m, step.raw)
		if status != 200 || r.Through != step.want || r.Mission != "FR-PAR" {
			t.Fatalf("status %d %s, receipt %+v; want through %d", status, body, r, step.want)
		}
	}
	if n := e.received("FR-PAR"); n != 25 {
		t.Fatalf("%d changes held, want 25", n)
	}
	answers, _ := e.db.Answers(context.Background(), "FR-PAR")
	// STR-01 is written by changes 1, 9, 11, 19 and 21 (the first of each
	// pouch and every eighth after): 21 is the last in sequence order,
	// although its pouch arrived first.
	if answers["STR-01"].Evidence != "change 21" {
		t.Fatalf("STR-01 = %+v: changes were not applied in sequence order", answers["STR-01"])
	}
	// The scores kept for the map are those of the answers as applied.
	scores, _ := e.db.AllScores(context.Background())
	stored, ok := scores["FR-PAR"].Summary.Report(e.newest())
	if want := readiness.Assess(e.newest(), answers); !ok || stored.Overall != want.Overall || stored.Areas[0].Score != want.Areas[0].Score {
		t.Fatalf("stored scores %+v, answers give %+v", stored.Overall, want.Overall)
	}
	// An empty pouch asks for the receipt only.
	if _, r, _ := e.send(m, m.pouch(t, 0, 0, "HQ")); r.Through != 25 {
		t.Fatalf("empty pouch: %+v", r)
	}
}

func TestExchangeRefusalsWriteNothing(t *testing.T) {
	e := newEnv(t, pouch.Limits{MaxPouch: 64 << 10, MaxRaw: 1 << 20, MaxRecords: 100})
	m := e.enroll("FR-PAR")
	other := e.enroll("KE-NBO")
	e.send(m, m.pouch(t, 1, 3, "HQ"))

	flipped := m.pouch(t, 4, 3, "HQ")
	flipped[len(flipped)-5] ^= 1
	stranger := &mission{code: "FR-PAR", id: m.id, hq: m.hq}
	_, stranger.sk, _ = ed25519.GenerateKey(nil)
	impostor := &mission{code: "FR-PAR", id: other.id, sk: other.sk, hq: other.hq}
	big := make([]byte, 70<<10)

	tests := []struct {
		name   string
		raw    []byte
		status int
		want   string
	}{
		{"garbage bytes", []byte("hello, HQ"), 400, "not a pouch"},
		{"flipped byte", flipped, 400, "damaged or was altered"},
		{"unknown key", stranger.pouch(t, 4, 1, "HQ"), 403, "unknown key"},
		{"a valid key claiming another mission", impostor.pouch(t, 4, 1, "HQ"), 403, "unknown key"},
		{"addressed to another HQ", m.pouch(t, 4, 1, "HQ-OTHER"), 403, "addressed to another site"},
		{"too many records", m.pouch(t, 4, 101, "HQ"), 413, "too many records"},
		{"oversized upload", big, 413, "larger than this server accepts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.send(m, tt.raw)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("status %d, body %s; want %d with %q", status, body, tt.status, tt.want)
			}
			if n := e.received("FR-PAR"); n != 3 {
				t.Fatalf("a refused pouch changed what HQ holds: %d changes", n)
			}
		})
	}
	// Revoked: the mission's own good pouch is refused from then on.
	if err := e.db.Revoke(context.Background(), account.System, "FR-PAR"); err != nil {
		t.Fatal(err)
	}
	if status, _, body := e.send(m, m.pouch(t, 4, 1, "HQ")); status != 403 || !strings.Contains(body, "revoked key") {
		t.Fatalf("revoked: %d %s", status, body)
	}
}

func TestEnrollmentCodeIsOneTime(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	e.db.AddMission(ctx, account.System, store.Mission{Code: "FR-PAR", Name: "Paris"})
	code, _, _ := e.db.IssueCode(ctx, account.System, "FR-PAR")
	id, _ := age.GenerateX25519Identity()
	pub, _, _ := ed25519.GenerateKey(nil)
	request := func(code string) exchange.EnrollRequest {
		return exchange.NewEnrollRequest(code, "FR-PAR", id.Recipient().String(), base64.StdEncoding.EncodeToString(pub))
	}
	cl := &exchange.Client{BaseURL: e.srv.URL, Attempts: 1}
	if _, err := cl.Enroll(ctx, request(strings.ToLower(code))); err != nil {
		t.Fatalf("first use (typed in lower case): %v", err)
	}
	_, err := cl.Enroll(ctx, request(code))
	if err == nil || !strings.Contains(err.Error(), "not valid: it is wrong, used or expired") {
		t.Fatalf("second use: %v", err)
	}
	// A code issued a week ago has expired.
	e.db.Now = func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) }
	old, _, _ := e.db.ResetKeys(ctx, account.System, "FR-PAR")
	e.db.Now = time.Now
	if _, err := cl.Enroll(ctx, request(old)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired code: %v", err)
	}
	// A fresh code with keys already registered is refused: every
	// enrollment brings new keys, so a revoked key never comes back.
	fresh, _, _ := e.db.ResetKeys(ctx, account.System, "FR-PAR")
	if _, err := cl.Enroll(ctx, request(fresh)); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("keys reused: %v", err)
	}
	pub, _, _ = ed25519.GenerateKey(nil)
	if _, err := cl.Enroll(ctx, request(fresh)); err != nil {
		t.Fatalf("fresh code, new keys: %v", err)
	}
}

// The code never travels: a request carries a MAC under it, and one made
// with another code, or changed on the way, is refused and logged in a
// bounded line.
func TestEnrollmentProvesTheCode(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	e.db.AddMission(ctx, account.System, store.Mission{Code: "FR-PAR", Name: "Paris"})
	code, _, _ := e.db.IssueCode(ctx, account.System, "FR-PAR")
	id, _ := age.GenerateX25519Identity()
	pub, _, _ := ed25519.GenerateKey(nil)
	req := exchange.NewEnrollRequest(code, "FR-PAR", id.Recipient().String(), base64.StdEncoding.EncodeToString(pub))
	body, _ := json.Marshal(req)
	if bytes.Contains(bytes.ToUpper(body), []byte(enroll.Normalize(code))) || bytes.Contains(body, []byte(code)) {
		t.Fatalf("the enrollment request carries the code: %s", body)
	}
	cl := &exchange.Client{BaseURL: e.srv.URL, Attempts: 1}
	// Another mission's keys slipped into the request on the way.
	other, _ := age.GenerateX25519Identity()
	swapped := req
	swapped.AgeRecipient = other.Recipient().String()
	if _, err := cl.Enroll(ctx, swapped); err == nil {
		t.Fatal("a request whose keys were changed on the way was taken")
	}
	// A guess, claiming a very long mission code.
	guess := exchange.NewEnrollRequest("AAAA-BBBB-CCCC-DDDD", strings.Repeat("X", 5000), id.Recipient().String(), base64.StdEncoding.EncodeToString(pub))
	if _, err := cl.Enroll(ctx, guess); err == nil {
		t.Fatal("a guessed code was taken")
	}
	entries, _ := e.acc.AuditLog(ctx, 5)
	if len(entries) == 0 || entries[0].Action != "enroll.fail" || len(entries[0].Target) > 2*store.MaxClaim || len(entries[0].Actor) > 2*store.MaxClaim+16 {
		t.Fatalf("the failed enrollment's audit line: %+v", entries)
	}
	// The genuine request still works: the failures spent nothing.
	resp, err := cl.Enroll(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.MAC != resp.Sum(enroll.Key(code), req) {
		t.Fatal("HQ's answer does not carry the code's MAC over the request")
	}
	if exchange.Fingerprint(resp.HQSigningKey) != exchange.Fingerprint(e.db.HQSigningPublic()) {
		t.Fatal("the answer's HQ key is not HQ's")
	}
}

// An enrolled mission moves to new keys only by a re-enrollment code HQ
// issued on purpose, and the audit log says who issued it.
func TestReenrollmentIsExplicit(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	e.enroll("FR-PAR")
	if _, _, err := e.db.IssueCode(ctx, account.Actor{Username: "admin", Remote: "127.0.0.1"}, "FR-PAR"); err == nil || !strings.Contains(err.Error(), "enrolled already") {
		t.Fatalf("a plain code for an enrolled mission: %v", err)
	}
	admin := webtest.New(t, e.srv.URL, password)
	admin.Login("admin")
	if r := admin.Post("/missions/FR-PAR/code", nil); r.Status != http.StatusConflict || !strings.Contains(r.Body, "enrolled already") {
		t.Fatalf("the missions page, asked for a plain code for an enrolled mission: %d", r.Status)
	}
	if _, _, err := e.db.ResetKeys(ctx, account.Actor{Username: "ana.admin", Remote: "127.0.0.1"}, "FR-PAR"); err != nil {
		t.Fatal(err)
	}
	entries, _ := e.acc.AuditLog(ctx, 10)
	found := false
	for _, en := range entries {
		if en.Action == "mission.code" && en.Actor == "ana.admin" && strings.Contains(en.Detail, "re-enrollment") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the audit log does not say who issued the re-enrollment code: %+v", entries)
	}
}

func TestRolesAtHQ(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	e.enroll("FR-PAR")
	e.db.AddMission(context.Background(), account.System, store.Mission{Code: "FR-LYO", Name: "Lyon"})
	tests := []struct {
		user, method, path string
		want               int
	}{
		{"ana", "GET", "/", 200},
		{"ana", "GET", "/missions/FR-PAR", 200},
		{"ana", "GET", "/missions/new", 403},
		{"ana", "POST", "/missions", 403},
		{"ana", "POST", "/missions/FR-PAR/code", 403},
		{"ana", "POST", "/missions/FR-PAR/revoke", 403},
		{"pub", "POST", "/missions/FR-PAR/code", 403},
		{"ana", "GET", "/pouches", 403},
		{"admin", "POST", "/missions/FR-LYO/code", 200},
		{"admin", "GET", "/missions/new", 200},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.method+" "+tt.path, func(t *testing.T) {
			b := webtest.New(t, e.srv.URL, password)
			b.Login(tt.user)
			var r webtest.Resp
			if tt.method == "GET" {
				r = b.Get(tt.path)
			} else {
				r = b.Post(tt.path, url.Values{"code": {"XX-NEW"}, "name": {"New"}})
			}
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d", r.Status, tt.want)
			}
		})
	}
	m, _ := e.db.Mission(context.Background(), "FR-PAR")
	if m.State != "enrolled" {
		t.Fatalf("an analyst's refused request changed the mission: %s", m.State)
	}
}

func TestRegisterMissionForm(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	b.Get("/missions/new")
	r := b.Post("/missions", url.Values{"code": {"paris"}, "name": {"Embassy in Paris"}, "lat": {"48.85"}})
	if r.Status != 400 || !strings.Contains(r.Body, "A mission code is a country code") || !strings.Contains(r.Body, `value="Embassy in Paris"`) {
		t.Fatalf("bad code: %d", r.Status)
	}
	r = b.Post("/missions", url.Values{"code": {"fr-par"}, "name": {"Embassy in Paris"}, "lat": {"north"}})
	if r.Status != 400 || !strings.Contains(r.Body, "is not a number") {
		t.Fatalf("bad latitude: %d", r.Status)
	}
	if err := e.db.AddRegion(context.Background(), account.System, "Europe"); err != nil {
		t.Fatal(err)
	}
	r = b.Post("/missions", url.Values{"code": {"fr-par"}, "name": {"Embassy in Paris"}, "lat": {"48.85"}, "lon": {"2.35"}, "region": {"Europe"}})
	if r.Status != 303 || r.Header.Get("Location") != "/missions/FR-PAR" {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	r = b.Get("/missions/FR-PAR")
	b.Post("/missions/FR-PAR/code", nil)
	r = b.Get("/missions/FR-PAR")
	if strings.Contains(r.Body, "enroll-code") {
		t.Fatal("the enrollment code is shown again after the page that issued it")
	}
	r = b.Post("/missions", url.Values{"code": {"FR-PAR"}, "name": {"Again"}})
	if r.Status != 409 || !strings.Contains(r.Body, "already registered") {
		t.Fatalf("duplicate: %d", r.Status)
	}
}

// TestUploadPage: a pouch carried by hand is taken in through HQ's page,
// which gives the reply to carry back; a damaged one is refused with the
// reason and changes nothing.
func TestUploadPage(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	b.Get("/pouches")
	upload := func(name string, raw []byte) webtest.Resp {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("csrf", b.CSRF)
		f, _ := w.CreateFormFile("pouch", name)
		f.Write(raw)
		w.Close()
		req, _ := http.NewRequest("POST", e.srv.URL+"/pouches", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Accept", "text/html")
		r, err := b.C.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		out, _ := io.ReadAll(r.Body)
		return webtest.Resp{Status: r.StatusCode, Header: r.Header, Body: string(out)}
	}
	bad := m.pouch(t, 1, 2, "HQ")
	bad[len(bad)-3] ^= 1
	r := upload("FR-PAR-1-2.pouch", bad)
	if r.Status != 400 || !strings.Contains(r.Body, "was refused") || !strings.Contains(r.Body, "Nothing was written") {
		t.Fatalf("damaged pouch: %d", r.Status)
	}
	if e.received("FR-PAR") != 0 {
		t.Fatal("a refused upload wrote changes")
	}
	r = upload("FR-PAR-1-2.pouch", m.pouch(t, 1, 2, "HQ"))
	if r.Status != 200 || !strings.Contains(r.Body, `download="reply-FR-PAR-1-2.pouch"`) {
		t.Fatalf("good pouch: %d %s", r.Status, r.Body)
	}
	if e.received("FR-PAR") != 2 {
		t.Fatal("the uploaded pouch was not taken in")
	}
	// The reply in the link is HQ's signed receipt for the mission.
	link := regexp.MustCompile(`id="reply"[^>]*href="data:[^,]*,([^"]*)"`).FindStringSubmatch(r.Body)
	if link == nil {
		t.Fatalf("no reply link:\n%s", r.Body)
	}
	reply, _ := base64.StdEncoding.DecodeString(html.UnescapeString(link[1]))
	hqKey, _ := base64.StdEncoding.DecodeString(m.hq.HQSigningKey)
	p, err := pouch.Receiver{Site: "FR-PAR", Identities: []*age.X25519Identity{m.id}, Keys: fixedKey(hqKey)}.Open(bytes.NewReader(reply))
	if err != nil || !strings.Contains(string(p.Lines[0]), `"through":2`) {
		t.Fatalf("reply: %v", err)
	}
}

// An address that keeps failing to enroll is answered at once, without a
// line in the audit log for each attempt.
func TestEnrollmentIsRateLimited(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	e.db.AddMission(ctx, account.System, store.Mission{Code: "FR-PAR", Name: "Paris"})
	code, _, _ := e.db.IssueCode(ctx, account.System, "FR-PAR")
	id, _ := age.GenerateX25519Identity()
	pub, _, _ := ed25519.GenerateKey(nil)
	cl := &exchange.Client{BaseURL: e.srv.URL, Attempts: 1}
	limited := 0
	for i := range 30 {
		_, err := cl.Enroll(ctx, exchange.NewEnrollRequest(fmt.Sprintf("GUES-SNUM-BER0-%04d", i), "FR-PAR", id.Recipient().String(), base64.StdEncoding.EncodeToString(pub)))
		var re *exchange.RemoteError
		if errors.As(err, &re) && re.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	entries, _ := e.acc.AuditLog(ctx, 100)
	fails := 0
	for _, en := range entries {
		if en.Action == "enroll.fail" {
			fails++
		}
	}
	if limited != 20 || fails != 10 {
		t.Fatalf("30 guesses: %d answered 429, %d audited; want 20 and 10", limited, fails)
	}
	// The genuine code from that address is refused too until the window
	// passes…
	if _, err := cl.Enroll(ctx, exchange.NewEnrollRequest(code, "FR-PAR", id.Recipient().String(), base64.StdEncoding.EncodeToString(pub))); err == nil {
		t.Fatal("an address over its limit enrolled")
	}
	// …and works once it has.
	e.db.Now = func() time.Time { return time.Now().Add(16 * time.Minute) }
	defer func() { e.db.Now = time.Now }()
	code, _, _ = e.db.IssueCode(ctx, account.System, "FR-PAR")
	if _, err := cl.Enroll(ctx, exchange.NewEnrollRequest(code, "FR-PAR", id.Recipient().String(), base64.StdEncoding.EncodeToString(pub))); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// A state-changing request from another site is refused, whether the
// browser says so (Sec-Fetch-Site), only its Origin does, or it carries
// the CSRF token in the query string instead of the form.
func TestCrossSiteRequestsRefused(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	issue := func(code string) webtest.Resp {
		e.db.AddMission(ctx, account.System, store.Mission{Code: code, Name: code})
		b.Get("/missions/" + code)
		return b.Post("/missions/"+code+"/code", nil)
	}
	b.Header = http.Header{"Sec-Fetch-Site": {"cross-site"}}
	if r := issue("FR-AAA"); r.Status != http.StatusForbidden || strings.Contains(r.Body, "enroll-code") {
		t.Fatalf("cross-site by Sec-Fetch-Site: %d", r.Status)
	}
	b.Header = http.Header{"Origin": {"http://evil.example"}}
	if r := issue("FR-BBB"); r.Status != http.StatusForbidden || strings.Contains(r.Body, "enroll-code") {
		t.Fatalf("cross-site by Origin: %d", r.Status)
	}
	b.Header = nil
	e.db.AddMission(ctx, account.System, store.Mission{Code: "FR-CCC", Name: "C"})
	b.Get("/missions/FR-CCC")
	if r := b.Do("POST", "/missions/FR-CCC/code?csrf="+url.QueryEscape(b.CSRF), url.Values{}); r.Status != http.StatusForbidden {
		t.Fatalf("CSRF token in the query string: %d", r.Status)
	}
	b.Header = http.Header{"Origin": {e.srv.URL}, "Sec-Fetch-Site": {"same-origin"}}
	if r := issue("FR-DDD"); r.Status != http.StatusOK || !strings.Contains(r.Body, "enroll-code") {
		t.Fatalf("same-origin request: %d", r.Status)
	}
}

// After login, the browser is sent only to a path on this site.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	for _, next := range []string{"/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/", "/%09/evil.example"} {
		b := webtest.New(t, e.srv.URL, password)
		b.Get("/login?next=" + url.QueryEscape(next))
		r := b.Post("/login", url.Values{"username": {"admin"}, "password": {password}, "next": {next}})
		loc := r.Header.Get("Location")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t") {
			t.Errorf("next=%q: %d to %q", next, r.Status, loc)
		}
	}
}
