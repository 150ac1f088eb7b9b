package uplink_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/enroll"
	"chancery/shared/framework"
	"chancery/shared/protocol"
	"chancery/shared/readiness"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// hq is a headquarters' keys, real ones, and the mission's enrollment
// with them, made through the mission's own enrollment code path.
type hq struct {
	t       *testing.T
	id      *age.X25519Identity
	sk      ed25519.PrivateKey
	db      *store.DB
	link    *uplink.Link
	mission *age.X25519Recipient
}

func newHQ(t *testing.T) *hq {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Install(ctx, account.System, protocol.Defaults()); err != nil {
		t.Fatal(err)
	}
	h := &hq{t: t, db: db, link: &uplink.Link{DB: db, Client: &exchange.Client{}}}
	h.id, _ = age.GenerateX25519Identity()
	_, h.sk, _ = ed25519.GenerateKey(nil)
	req, err := h.link.EnrollRequest(ctx, "CODE-CODE-CODE-CODE", "FR-PAR")
	if err != nil {
		t.Fatal(err)
	}
	h.mission, _ = age.ParseX25519Recipient(req.AgeRecipient)
	resp := exchange.EnrollResponse{Mission: "FR-PAR", Name: "Paris", HQSite: "HQ", HQRecipients: []string{h.id.Recipient().String()},
		HQSigningKey: base64.StdEncoding.EncodeToString(h.sk.Public().(ed25519.PublicKey))}
	resp.MAC = resp.Sum(enroll.Key("CODE-CODE-CODE-CODE"), req)
	if err := h.link.EnrollResponse(ctx, "", "CODE-CODE-CODE-CODE", resp); err != nil {
		t.Fatal(err)
	}
	return h
}

// doc is a new version of a default protocol.
func doc(id string, version int, extra string) protocol.Document {
	for _, d := range protocol.Defaults() {
		if d.ID == id {
			d.Version, d.Body, d.Issued = version, d.Body+extra, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
			return d
		}
	}
	panic(id)
}

// reply seals HQ's reply with a receipt, a release and documents; edit
// may change the lines before sealing.
func (h *hq) reply(rel exchange.Release, docs []protocol.Document, edit func(rel *exchange.Release, bodies [][]byte)) []byte {
	h.t.Helper()
	var bodies [][]byte
	for _, d := range docs {
		b, _ := json.Marshal(d)
		bodies = append(bodies, b)
		rel.Targets = append(rel.Targets, exchange.TargetOf(exchange.KindProtocol, d.ID, d.Version, b))
	}
	if edit != nil {
		edit(&rel, bodies)
	}
	return h.seal(h.sk, exchange.SignRelease(h.sk, rel), exchange.KindProtocol, bodies)
}

// seal seals HQ's reply to FR-PAR with pouchKey: a receipt, the release
// and the documents of kind (a nil body is one HQ left out), through the
// reply codec HQ uses.
func (h *hq) seal(pouchKey ed25519.PrivateKey, rl exchange.ReleaseLine, kind string, bodies [][]byte) []byte {
	h.t.Helper()
	r := exchange.Reply{Receipt: exchange.Receipt{Mission: "FR-PAR", At: time.Now()}, Release: &rl}
	for _, b := range bodies {
		if b == nil {
			continue
		}
		r.Documents = append(r.Documents, exchange.Document{Kind: kind, Body: b})
	}
	lines, err := r.Encode()
	if err != nil {
		h.t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := pouch.Seal(&buf, pouch.Sender{Site: "HQ", Key: pouchKey}, pouch.Envelope{Kind: pouch.KindReply, To: "FR-PAR", Recipients: []*age.X25519Recipient{h.mission}}, lines); err != nil {
		h.t.Fatal(err)
	}
	return buf.Bytes()
}

func (h *hq) take(raw []byte) {
	h.t.Helper()
	if _, err := h.link.TakeReply(context.Background(), raw); err != nil {
		h.t.Fatal(err)
	}
}

func (h *hq) inForce(id string) int {
	h.t.Helper()
	vs, err := h.db.Versions(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return vs[0].Version
}

func (h *hq) reports() []changelog.UpdateReport {
	cs, _ := h.db.Changes(context.Background(), 0, 100)
	var out []changelog.UpdateReport
	for _, c := range cs {
		if c.Entity == changelog.EntityUpdate {
			var r changelog.UpdateReport
			json.Unmarshal(c.Body, &r)
			out = append(out, r)
		}
	}
	return out
}

var week = time.Now().Add(7 * 24 * time.Hour)

func TestReleaseApplied(t *testing.T) {
	h := newHQ(t)
	h.take(h.reply(exchange.Release{Mission: "FR-PAR", Version: 5, Expires: week}, []protocol.Document{doc("ai-use", 2, "\nNew rule.\n")}, nil))
	if v := h.inForce("ai-use"); v != 2 {
		t.Fatalf("ai-use version %d in force, want 2", v)
	}
	st, _ := h.db.Update(context.Background())
	if st.Version != 5 || st.Error != "" {
		t.Fatalf("update state %+v", st)
	}
	if r := h.reports(); len(r) != 1 || r[0].Status != "applied" || r[0].Release != 5 {
		t.Fatalf("reports to HQ: %+v", r)
	}
}

func TestReleaseGuarantees(t *testing.T) {
	tests := []struct {
		name   string
		rel    exchange.Release
		docs   []protocol.Document
		edit   func(*exchange.Release, [][]byte)
		reason string // "" when the release is ignored without a report
	}{
		{"older version refused", exchange.Release{Mission: "FR-PAR", Version: 4, Expires: week}, []protocol.Document{doc("ai-use", 3, "x")}, nil, "older than the one in force"},
		{"expired refused", exchange.Release{Mission: "FR-PAR", Version: 6, Expires: time.Now().Add(-time.Hour)}, []protocol.Document{doc("ai-use", 3, "x")}, nil, "has expired"},
		{"mixed metadata refused", exchange.Release{Mission: "FR-PAR", Version: 6, Expires: week}, []protocol.Document{doc("ai-use", 3, "x"), doc("sensitive-post", 2, "y")},
			func(r *exchange.Release, b [][]byte) {
				r.Targets[1] = exchange.TargetOf(exchange.KindProtocol, "sensitive-post", 2, []byte("another document"))
			}, "do not match"},
		{"flipped byte refused", exchange.Release{Mission: "FR-PAR", Version: 6, Expires: week}, []protocol.Document{doc("ai-use", 3, "x")},
			func(r *exchange.Release, b [][]byte) { b[0][bytes.Index(b[0], []byte("Rules"))] ^= 1 }, "missing or altered"},
		{"another mission's update ignored", exchange.Release{Mission: "KE-NBO", Version: 9, Expires: week}, []protocol.Document{doc("ai-use", 3, "x")}, nil, ""},
		{"signed by another key refused", exchange.Release{Mission: "FR-PAR", Version: 7, Expires: week}, []protocol.Document{doc("ai-use", 3, "x")}, nil, "signature is not HQ's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHQ(t)
			h.take(h.reply(exchange.Release{Mission: "FR-PAR", Version: 5, Expires: week}, []protocol.Document{doc("ai-use", 2, "\nv2\n")}, nil))
			raw := h.reply(tt.rel, tt.docs, tt.edit)
			if strings.Contains(tt.name, "another key") {
				// The same release signed with a key HQ never pinned.
				_, other, _ := ed25519.GenerateKey(nil)
				keep := h.sk
				h.sk = other
				raw = h.replyWithReleaseKey(tt.rel, tt.docs, keep)
				h.sk = keep
			}
			h.take(raw)
			if v := h.inForce("ai-use"); v != 2 {
				t.Fatalf("ai-use version %d in force; the refused release must leave version 2", v)
			}
			if v := h.inForce("sensitive-post"); v != 1 {
				t.Fatalf("sensitive-post version %d in force: a release applies whole or not at all", v)
			}
			st, _ := h.db.Update(context.Background())
			reports := h.reports()
			if tt.reason == "" {
				if st.Error != "" || len(reports) != 1 || st.Version != 5 {
					t.Fatalf("ignored release left state %+v, reports %+v", st, reports)
				}
				return
			}
			if st.Version != 5 || !strings.Contains(st.Error, tt.reason) {
				t.Fatalf("state %+v; want version 5 and an error saying %q", st, tt.reason)
			}
			if last := reports[len(reports)-1]; last.Status != "failed" || !strings.Contains(last.Reason, tt.reason) {
				t.Fatalf("report to HQ %+v", last)
			}
		})
	}
}

// replyWithReleaseKey seals a reply whose pouch is HQ's but whose
// release is signed by the key in h.sk, which is not HQ's.
func (h *hq) replyWithReleaseKey(rel exchange.Release, docs []protocol.Document, pouchKey ed25519.PrivateKey) []byte {
	var bodies [][]byte
	for _, d := range docs {
		b, _ := json.Marshal(d)
		bodies = append(bodies, b)
		rel.Targets = append(rel.Targets, exchange.TargetOf(exchange.KindProtocol, d.ID, d.Version, b))
	}
	return h.seal(pouchKey, exchange.SignRelease(h.sk, rel), exchange.KindProtocol, bodies)
}

// TestFrameworkUpdateCarriesAnswers: HQ publishes framework version 2,
// which renames an item; the mission's answer to the old item counts for
// the new one, and its scores do not move.
func TestFrameworkUpdateCarriesAnswers(t *testing.T) {
	h := newHQ(t)
	ctx := context.Background()
	if _, err := h.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: "STR-01", Level: 3, Evidence: "Strategy 2025"}); err != nil {
		t.Fatal(err)
	}
	before, _ := h.db.Answers(ctx)
	scoreBefore := readiness.Assess(fwInForce(t, h.db), before).Overall.Value

	v2 := *framework.Builtin()
	v2.Version = 2
	v2.Items = append([]framework.Item(nil), v2.Items...)
	v2.Items[0].ID = "STR-11"
	v2.Renamed = map[string]string{"STR-01": "STR-11"}
	v2.Text = nil // the texts name STR-01, which this version renames
	body, _ := json.Marshal(v2)

	rel := exchange.Release{Mission: "FR-PAR", Version: 8, Expires: week, Targets: []exchange.Target{exchange.TargetOf(exchange.KindFramework, "framework", 2, body)}}
	h.take(h.seal(h.sk, exchange.SignRelease(h.sk, rel), exchange.KindFramework, [][]byte{body}))

	f := fwInForce(t, h.db)
	if f.Version != 2 {
		t.Fatalf("framework %d in force after the update, want 2", f.Version)
	}
	answers, _ := h.db.Answers(ctx)
	carried := readiness.Carry(f, answers)
	if carried["STR-11"].Level != 3 || carried["STR-11"].Evidence != "Strategy 2025" {
		t.Fatalf("the answer to STR-01 did not carry over to STR-11: %+v", carried)
	}
	if after := readiness.Assess(f, answers).Overall.Value; after != scoreBefore {
		t.Fatalf("overall score %d after the update, %d before", after, scoreBefore)
	}
	// New answers go to the new items; the old id is no longer an item.
	if _, err := h.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: "STR-01", Level: 2}); err == nil {
		t.Fatal("an answer to a renamed item was accepted")
	}
	// The framework survives a restart.
	path := h.db.Path()
	h.db.Close()
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fwInForce(t, db).Version != 2 {
		t.Fatal("the framework in force was lost over a restart")
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

// TestRefusedReleaseBackoff: a release the mission refuses comes back in
// every reply until HQ publishes again; the mission reports it once and
// tries it again only after a backoff that doubles, and a newer release
// is tried at once.
func TestRefusedReleaseBackoff(t *testing.T) {
	h := newHQ(t)
	ctx := context.Background()
	now := time.Now()
	h.db.Now = func() time.Time { return now }
	h.take(h.reply(exchange.Release{Mission: "FR-PAR", Version: 5, Expires: week}, []protocol.Document{doc("ai-use", 2, "\nv2\n")}, nil))
	old := func() []byte {
		return h.reply(exchange.Release{Mission: "FR-PAR", Version: 4, Expires: week}, []protocol.Document{doc("ai-use", 3, "x")}, nil)
	}
	failed := func() int {
		n := 0
		for _, r := range h.reports() {
			if r.Status == "failed" {
				n++
			}
		}
		return n
	}
	before, _ := h.db.LastSeq(ctx)
	for range 50 { // fifty exchanges in a row bring the same old release
		h.take(old())
	}
	after, _ := h.db.LastSeq(ctx)
	st, _ := h.db.Update(ctx)
	if after-before != 1 || failed() != 1 || st.Failures != 1 || !st.RetryAt.Equal(now.Add(uplink.RetryBase)) {
		t.Fatalf("after 50 exchanges: %d changes logged, %d failure reports, state %+v", after-before, failed(), st)
	}
	// Past the backoff it is tried again: refused for the same reason, it
	// is not reported again, and the next wait is twice as long.
	now = now.Add(uplink.RetryBase + time.Second)
	h.take(old())
	st, _ = h.db.Update(ctx)
	if failed() != 1 || st.Failures != 2 || !st.RetryAt.Equal(now.Add(2*uplink.RetryBase)) {
		t.Fatalf("after the retry: %d failure reports, state %+v", failed(), st)
	}
	// The wait never exceeds a day, and a clock set back a year does not
	// hold the release off for a year.
	now = now.Add(-365 * 24 * time.Hour)
	h.take(old())
	if st, _ = h.db.Update(ctx); st.Failures != 3 {
		t.Fatalf("a retry time a year away was waited for: %+v", st)
	}
	// A newer release is tried at once, and clears the refusal.
	h.take(h.reply(exchange.Release{Mission: "FR-PAR", Version: 6, Expires: now.Add(7 * 24 * time.Hour)}, []protocol.Document{doc("ai-use", 3, "\nv3\n")}, nil))
	st, _ = h.db.Update(ctx)
	if st.Version != 6 || st.Error != "" || st.Failures != 0 || h.inForce("ai-use") != 3 {
		t.Fatalf("the newer release: state %+v, ai-use v%d", st, h.inForce("ai-use"))
	}
}
