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
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/incident"
	"chancery/shared/readiness"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/web/webtest"
)

// seal seals a pouch of the given changes from the mission, signed now;
// each body is put in its line byte for byte, so a test can send what no
// agent would.
func (m *mission) seal(t testing.TB, first int64, changes ...changelog.Change) []byte {
	t.Helper()
	return m.sealAt(t, time.Now().UTC(), first, changes...)
}

func change(e changelog.Entity, key string, body any) changelog.Change {
	b, _ := json.Marshal(body)
	return changelog.Change{Entity: e, Key: key, Body: b}
}

func answerOf(item string, level int) readiness.Answer {
	return readiness.Answer{ItemID: item, Level: readiness.Level(level), AnsweredBy: "amira", AnsweredAt: time.Now().UTC()}
}

// A mission's pouch HQ cannot apply fails alone, at once, with a 4xx that
// names the change: a hundred other missions' exchanges at the same
// moment all go through, and nothing of the poison is kept.
func TestPoisonPouchFailsAlone(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ms := make([]*mission, 100)
	for i := range ms {
		ms[i] = e.enroll(fmt.Sprintf("XX-M%03d", i))
	}
	bad := e.enroll("XX-BAD")
	poison := bad.seal(t, 1, change(changelog.EntityAnswer, "STR-01", answerOf("STR-01", 2)), change(changelog.EntityAnswer, "STR-02", answerOf("STR-01", 3)))
	var wg sync.WaitGroup
	statuses := make([]int, len(ms))
	var poisonStatus int
	var poisonBody string
	for i, m := range ms {
		raw := m.pouch(t, 1, 1, "HQ")
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = e.send(m, raw)
		}()
		if i == len(ms)/2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				poisonStatus, _, poisonBody = e.send(bad, poison)
			}()
		}
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("mission %d's exchange beside the poison: %d", i, s)
		}
	}
	if poisonStatus != http.StatusUnprocessableEntity || !strings.Contains(poisonBody, "change 2") || !strings.Contains(poisonBody, "STR-02") {
		t.Fatalf("the poison pouch: %d %s", poisonStatus, poisonBody)
	}
	if n := e.received("XX-BAD"); n != 0 {
		t.Fatalf("HQ kept %d changes of the poison pouch", n)
	}
	if n := e.received("XX-M050"); n != 1 {
		t.Fatalf("HQ holds %d changes of a valid mission", n)
	}
}

// A change HQ kept before it checked changes on arrival, and that cannot
// be applied, fails its own mission's pouch only: the batch it shares with
// other missions' pouches is taken again one pouch at a time.
func TestStoredPoisonFailsOnlyItsMission(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	bad, good := e.enroll("XX-BAD"), e.enroll("XX-GOOD")
	// Change 1 of XX-BAD arrived long ago, not yet applied (change 2 was
	// missing): a level off the scale.
	body, _ := json.Marshal(answerOf("STR-01", 999))
	if _, err := e.db.SQL().ExecContext(ctx, `INSERT INTO received (mission, seq, entity, key, op, body, at, pouch) VALUES ('XX-BAD', 2, 'answer', 'STR-01', 'put', ?, '2026-01-01T00:00:00.000000000Z', 'old')`, string(body)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var badStatus, goodStatus int
	var badBody string
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); e.send(good, good.pouch(t, 1, 1, "HQ")) }()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		badStatus, _, badBody = e.send(bad, bad.seal(t, 1, change(changelog.EntityAnswer, "STR-02", answerOf("STR-02", 1))))
	}()
	go func() { defer wg.Done(); goodStatus, _, _ = e.send(good, good.pouch(t, 2, 1, "HQ")) }()
	wg.Wait()
	if badStatus != http.StatusBadRequest || !strings.Contains(badBody, "cannot apply") {
		t.Fatalf("the mission with a stored poison: %d %s", badStatus, badBody)
	}
	if goodStatus != http.StatusOK {
		t.Fatalf("another mission beside it: %d", goodStatus)
	}
}

// HQ holds what a mission sends to the rules the mission's own records
// follow, and refuses a pouch that breaks them, naming the change, with
// nothing written.
func TestHQValidatesWhatMissionsSend(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	good := incident.Incident{ID: "inc-1", Title: "A fake video", Kind: "synthetic-media", Severity: 3, Status: incident.Monitoring,
		FirstSeen: time.Now().UTC(), CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC(), CreatedBy: "amira"}
	with := func(f func(*incident.Incident)) incident.Incident { in := good; f(&in); return in }
	n := 0
	for name, c := range map[string]changelog.Change{
		"level 999":         change(changelog.EntityAnswer, "STR-01", answerOf("STR-01", 999)),
		"unknown item":      change(changelog.EntityAnswer, "XYZ-99", answerOf("XYZ-99", 2)),
		"NUL in evidence":   change(changelog.EntityAnswer, "STR-01", readiness.Answer{ItemID: "STR-01", Level: 2, Evidence: "a\x00b", AnsweredBy: "amira", AnsweredAt: time.Now()}),
		"invalid UTF-8":     {Entity: changelog.EntityAnswer, Key: "STR-01", Body: []byte("{\"item\":\"STR-01\",\"level\":2,\"evidence\":\"\xff\xfe\",\"by\":\"amira\",\"at\":\"2026-11-30T10:00:00Z\"}")},
		"dated 2099":        change(changelog.EntityAnswer, "STR-01", readiness.Answer{ItemID: "STR-01", Level: 2, AnsweredBy: "amira", AnsweredAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}),
		"severity 99":       change(changelog.EntityIncident, "inc-1", with(func(in *incident.Incident) { in.Severity = 99 })),
		"unknown kind":      change(changelog.EntityIncident, "inc-1", with(func(in *incident.Incident) { in.Kind = "alien" })),
		"unknown status":    change(changelog.EntityIncident, "inc-1", with(func(in *incident.Incident) { in.Status = "vanished" })),
		"50,000-char title": change(changelog.EntityIncident, "inc-1", with(func(in *incident.Incident) { in.Title = strings.Repeat("x", 50000) })),
		"javascript: link":  change(changelog.EntityIncident, "inc-1", with(func(in *incident.Incident) { in.Links = []string{"javascript:alert(1)"} })),
		"NUL in title":      change(changelog.EntityIncident, "inc-1", with(func(in *incident.Incident) { in.Title = "a\x00b" })),
		"another incident":  change(changelog.EntityIncident, "inc-2", good),
		"unknown report":    change(changelog.EntityUpdate, "3", changelog.UpdateReport{Release: 3, Status: "exploded", At: time.Now()}),
		"snapshot level 9":  change(changelog.EntitySnapshot, "s1", readiness.Snapshot{ID: "s1", FrameworkVersion: 1, SignedBy: "h", SignedAt: time.Now(), Answers: []readiness.Answer{answerOf("STR-01", 9)}}),
	} {
		t.Run(name, func(t *testing.T) {
			n++
			m := e.enroll(fmt.Sprintf("XX-V%02d", n))
			status, _, body := e.send(m, m.seal(t, 1, change(changelog.EntityAnswer, "STR-03", answerOf("STR-03", 1)), c))
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, "change 2") {
				t.Fatalf("%d %s", status, body)
			}
			if n := e.received(m.code); n != 0 {
				t.Fatalf("HQ kept %d changes of a refused pouch", n)
			}
		})
	}
	// The same pouch with valid records goes through.
	if status, _, body := e.send(m, m.seal(t, 1, change(changelog.EntityAnswer, "STR-03", answerOf("STR-03", 1)), change(changelog.EntityIncident, "inc-1", good))); status != 200 {
		t.Fatalf("a valid pouch: %d %s", status, body)
	}
	scores, _ := e.db.AllScores(context.Background())
	if o := scores["FR-PAR"].Summary.Overall.Value; o < 0 || o > 100 {
		t.Fatalf("overall score %d", o)
	}
}

// sealAt seals a pouch of changes from the mission, signed as created at.
func (m *mission) sealAt(t testing.TB, at time.Time, first int64, changes ...changelog.Change) []byte {
	t.Helper()
	var lines [][]byte
	for i, c := range changes {
		line := fmt.Appendf(nil, `{"site":%q,"seq":%d,"entity":%q,"key":%q,"op":"put","body":`, m.code, first+int64(i), c.Entity, c.Key)
		line = append(line, c.Body...)
		line = fmt.Appendf(line, `,"at":%q}`, at.Format(time.RFC3339Nano))
		lines = append(lines, line)
	}
	r, _ := age.ParseX25519Recipient(m.hq.HQRecipients[0])
	env := pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: []*age.X25519Recipient{r}, Created: at}
	if len(changes) > 0 {
		env.First, env.Last = first, first+int64(len(changes))-1
	}
	var buf bytes.Buffer
	if _, err := pouch.Seal(&buf, pouch.Sender{Site: m.code, Key: m.sk}, env, lines); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// "Last seen" moves only when HQ learns something new from the mission:
// old pouches sent again, by anyone, leave it where it was, and the
// mission goes stale on schedule; a pouch dated ahead of HQ's clock is
// refused.
func TestReplaysDoNotFakeLiveness(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	m := e.enroll("FR-PAR")
	t0 := time.Now().UTC().Truncate(time.Second)
	oldEmpty := m.sealAt(t, t0.Add(-time.Hour), 0)
	first := m.sealAt(t, t0, 1, change(changelog.EntityAnswer, "STR-01", answerOf("STR-01", 2)))
	if s, _, body := e.send(m, first); s != 200 {
		t.Fatalf("first pouch: %d %s", s, body)
	}
	seen := func() time.Time {
		mi, err := e.db.Mission(ctx, "FR-PAR")
		if err != nil || mi.LastSeen == nil {
			t.Fatalf("mission: %+v %v", mi, err)
		}
		return *mi.LastSeen
	}
	was := seen()
	// Three days on, the same pouch again, and an older empty one.
	e.db.Now = func() time.Time { return time.Now().Add(72 * time.Hour) }
	defer func() { e.db.Now = time.Now }()
	for _, raw := range [][]byte{first, oldEmpty, first} {
		if s, _, body := e.send(m, raw); s != 200 {
			t.Fatalf("a replay: %d %s", s, body)
		}
	}
	if got := seen(); !got.Equal(was) {
		t.Fatalf("a replay moved last seen from %s to %s", was, got)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	if page := b.Get("/missions"); !strings.Contains(page.Body, `<tr id="m-FR-PAR" class="stale">`) {
		t.Fatal("three days without news, the mission is not shown stale")
	}
	// A pouch signed in 2099 is refused, and moves nothing.
	if s, _, body := e.send(m, m.sealAt(t, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), 0)); s != http.StatusUnprocessableEntity || !strings.Contains(body, "ahead of this clock") {
		t.Fatalf("a pouch from 2099: %d %s", s, body)
	}
	// A new request for news, signed now, is new evidence.
	if s, _, _ := e.send(m, m.sealAt(t, time.Now().Add(72*time.Hour), 0)); s != 200 {
		t.Fatal("a fresh request for news was refused")
	}
	if got := seen(); !got.After(was) {
		t.Fatal("a fresh request for news did not move last seen")
	}
}

// An evidence file is served only for the mission whose signed change
// brought it: another mission naming the same hash in its incident does
// not get the file.
func TestEvidenceBoundToItsMission(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	owner, thief := e.enroll("FR-PAR"), e.enroll("KE-NBO")
	data := []byte("%PDF-1.4 the owner's confidential scan")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	att := incident.Attachment{Name: "scan.pdf", SHA256: sha, Size: int64(len(data)), Type: "application/pdf", At: time.Now().UTC(), By: "amira"}
	in := func(id string) incident.Incident {
		return incident.Incident{ID: id, Title: "A fake video", Kind: "synthetic-media", Severity: 3, Status: incident.Monitoring,
			FirstSeen: time.Now().UTC(), CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC(), CreatedBy: "amira", Attachments: []incident.Attachment{att}}
	}
	if s, _, body := e.send(owner, owner.seal(t, 1, change(changelog.EntityIncident, "inc-1", in("inc-1")),
		change(changelog.EntityAttachment, sha, incident.AttachmentData{Incident: "inc-1", SHA256: sha, Name: "scan.pdf", Data: data}))); s != 200 {
		t.Fatalf("owner: %d %s", s, body)
	}
	// The thief's incident lists the same file, without sending it.
	if s, _, body := e.send(thief, thief.seal(t, 1, change(changelog.EntityIncident, "inc-9", in("inc-9")))); s != 200 {
		t.Fatalf("thief: %d %s", s, body)
	}
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	if r := b.Get("/incidents/FR-PAR/inc-1/attachments/" + sha); r.Status != 200 || !strings.Contains(r.Body, "confidential") {
		t.Fatalf("the owner's file: %d", r.Status)
	}
	if r := b.Get("/incidents/KE-NBO/inc-9/attachments/" + sha); r.Status == 200 || strings.Contains(r.Body, "confidential") {
		t.Fatalf("the thief's incident served the owner's file: %d", r.Status)
	}
}

// A mission whose clock runs days ahead is still heard, but a request for
// news it dates past HQ's allowed skew does not count as news, nor stop a
// later one from counting.
func TestClockAheadIsHeardButNotBelieved(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	m := e.enroll("FR-PAR")
	if s, _, _ := e.send(m, m.sealAt(t, time.Now().Add(30*24*time.Hour), 1, change(changelog.EntityAnswer, "STR-01", answerOf("STR-01", 2)))); s != 200 {
		t.Fatal("a mission a month ahead was refused")
	}
	mi, _ := e.db.Mission(ctx, "FR-PAR")
	was := *mi.LastSeen
	if s, _, _ := e.send(m, m.sealAt(t, time.Now().Add(30*24*time.Hour), 0)); s != 200 {
		t.Fatal("an empty request a month ahead was refused")
	}
	if mi, _ := e.db.Mission(ctx, "FR-PAR"); !mi.LastSeen.Equal(was) {
		t.Fatal("an empty request dated a month ahead counted as news")
	}
	if s, _, _ := e.send(m, m.sealAt(t, time.Now().Add(time.Minute), 0)); s != 200 {
		t.Fatal("a request dated now was refused")
	}
	if mi, _ := e.db.Mission(ctx, "FR-PAR"); !mi.LastSeen.After(was) {
		t.Fatal("after a pouch dated a month ahead, a request dated now no longer counts as news")
	}
}

// HQ renews a mission's card in an ordinary receipt once it is half its
// lifetime old, and not on every exchange.
func TestCardRenewedInReceipts(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	m := e.enroll("FR-PAR")
	if _, r, _ := e.send(m, m.seal(t, 0)); r.Card != "" {
		t.Fatal("a fresh card was renewed")
	}
	later := time.Now().Add(exchange.CardTTL/2 + 24*time.Hour)
	e.db.Now = func() time.Time { return later }
	defer func() { e.db.Now = time.Now }()
	_, r, _ := e.send(m, m.sealAt(t, time.Now(), 0))
	c, key, err := exchange.OpenCard(ed25519.PublicKey(mustDecode(m.hq.HQSigningKey)), r.Card)
	if err != nil || c.Mission != "FR-PAR" || !key.Equal(m.sk.Public()) || c.Issued.Before(later.Add(-time.Minute)) {
		t.Fatalf("the renewed card: %+v %v", c, err)
	}
	if _, r, _ := e.send(m, m.sealAt(t, time.Now().Add(time.Second), 0)); r.Card != "" {
		t.Fatal("the card was renewed again at the next exchange")
	}
}

func mustDecode(s string) []byte {
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

// TestWithdrawnKeysInReceipts: once HQ revokes a mission, or its keys, the
// receipts every other mission gets list the withdrawn key, so that their
// peers refuse its card before it expires; a key whose cards have all
// expired leaves the list.
func TestWithdrawnKeysInReceipts(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	ctx := context.Background()
	par, lyo := e.enroll("FR-PAR"), e.enroll("FR-LYO")
	if _, r, _ := e.send(par, par.seal(t, 0)); len(r.Revoked) != 0 {
		t.Fatalf("withdrawn before anything was: %v", r.Revoked)
	}
	if err := e.db.Revoke(ctx, account.System, "FR-LYO"); err != nil {
		t.Fatal(err)
	}
	_, r, _ := e.send(par, par.sealAt(t, time.Now().Add(time.Second), 0))
	if !slices.Equal(r.Revoked, []string{pouch.KeyID(lyo.sk.Public().(ed25519.PublicKey))}) {
		t.Fatalf("after FR-LYO was revoked, the receipt lists %v", r.Revoked)
	}
	later := time.Now().Add(exchange.CardTTL + 24*time.Hour)
	e.db.Now = func() time.Time { return later }
	defer func() { e.db.Now = time.Now }()
	if _, r, _ := e.send(par, par.sealAt(t, time.Now().Add(2*time.Second), 0)); len(r.Revoked) != 0 {
		t.Fatalf("a key whose cards have expired is still listed: %v", r.Revoked)
	}
}
