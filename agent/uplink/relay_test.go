package uplink_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/account"
	"chancery/shared/protocol"
	"chancery/shared/readiness"
	"chancery/shared/sqlite"
	"chancery/sync/exchange"
	"chancery/sync/relay"
	"chancery/web"
)

// TestCarrierQuota: a mission carries its peers' pouches within its
// quota, and each peer within its share of it; beyond, it says so to the
// peer and logs it, and drops nothing it has taken, and the other peers
// are still served. Space comes back once the peer takes HQ's reply.
func TestCarrierQuota(t *testing.T) {
	ctx := context.Background()
	h := newHQ(t)
	c := uplink.Carrier{Link: h.link, Quota: 1000 * uplink.PeerShare}

	// Enrolled by file, the mission has no link to HQ to offer.
	if off, err := c.Offer(ctx, "FR-LYO", strings.Repeat("a", 64), 10); err != nil || off.Accept || !strings.Contains(off.Reason, "no link to HQ") {
		t.Fatalf("offer to a mission without a link: %+v %v", off, err)
	}
	if err := h.db.UpdateLink(ctx, func(l *store.Link) error { l.HQURL = "http://127.0.0.1:9"; return nil }); err != nil {
		t.Fatal(err)
	}

	first := bytes.Repeat([]byte{1}, 600)
	if off, err := c.Offer(ctx, "FR-LYO", relay.Sum(first), 600); err != nil || !off.Accept {
		t.Fatalf("first offer: %+v %v", off, err)
	}
	if err := c.Hold(ctx, "FR-LYO", relay.Sum(first), first); err != nil {
		t.Fatal(err)
	}
	second := bytes.Repeat([]byte{2}, 600)
	off, err := c.Offer(ctx, "FR-LYO", relay.Sum(second), 600)
	if err != nil || off.Accept || off.Holding != 1 || !strings.Contains(off.Reason, "full") {
		t.Fatalf("offer over quota: %+v %v", off, err)
	}
	if err := c.Hold(ctx, "FR-LYO", relay.Sum(second), second); !errors.Is(err, relay.ErrFull) {
		t.Fatalf("hold over quota: %v", err)
	}
	held, err := h.db.RelayToCarry(ctx)
	if err != nil || len(held) != 1 || !bytes.Equal(held[0].Raw, first) {
		t.Fatalf("held after the refusal: %d pouches, %v", len(held), err)
	}
	events, _ := h.db.RelayEvents(ctx, 10)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Event)
	}
	if strings.Join(kinds, " ") != "full full taken" {
		t.Fatalf("relay log: %q", kinds)
	}
	// FR-LYO at its share does not keep FR-MRS out.
	if off, err := c.Offer(ctx, "FR-MRS", relay.Sum(second), 600); err != nil || !off.Accept {
		t.Fatalf("another peer's offer while FR-LYO is at its share: %+v %v", off, err)
	}

	// HQ answers; the peer takes the reply; the space is free again.
	if err := h.db.RelayAnswered(ctx, relay.Sum(first), []byte("reply"), ""); err != nil {
		t.Fatal(err)
	}
	rs, err := c.Replies(ctx, "FR-LYO")
	if err != nil || len(rs) != 1 || string(rs[0].Reply) != "reply" {
		t.Fatalf("replies: %+v %v", rs, err)
	}
	if rs, _ := c.Replies(ctx, "FR-MRS"); len(rs) != 0 {
		t.Fatal("another mission is given FR-LYO's replies")
	}
	if err := c.Done(ctx, "FR-LYO", []string{relay.Sum(first)}); err != nil {
		t.Fatal(err)
	}
	if off, err := c.Offer(ctx, "FR-LYO", relay.Sum(second), 600); err != nil || !off.Accept || off.Holding != 0 {
		t.Fatalf("offer once the reply was taken: %+v %v", off, err)
	}
	// An answer never taken is forgotten after a while, and logged.
	third := bytes.Repeat([]byte{3}, 100)
	if err := c.Hold(ctx, "FR-MRS", relay.Sum(third), third); err != nil {
		t.Fatal(err)
	}
	h.db.RelayAnswered(ctx, relay.Sum(third), []byte("reply"), "")
	if gone, err := h.db.RelayExpire(ctx, time.Now().Add(time.Minute)); err != nil || len(gone) != 1 || gone[0].Mission != "FR-MRS" {
		t.Fatalf("expired: %+v %v", gone, err)
	}
}

// TestDocumentsFromPeers: a pouch that peers carry asks HQ to leave a
// release's documents out; the mission takes them from a peer, checked
// against the release HQ signed, and keeps them for its own peers. When
// no peer has them, the release waits, unrefused, and the next pouch asks
// HQ for the documents.
func TestDocumentsFromPeers(t *testing.T) {
	ctx := context.Background()
	h := newHQ(t)
	atPeers := map[string][]byte{}
	h.link.Documents = func(ctx context.Context, sum string) []byte { return atPeers[sum] }
	hinted := func(peersHave int64) bool {
		t.Helper()
		_, m, err := h.link.SealForPeers(ctx, peersHave)
		if err != nil {
			t.Fatal(err)
		}
		return m.PeerDocuments
	}
	if !hinted(4) {
		t.Fatal("a pouch for peers to carry does not ask HQ to leave documents out")
	}
	if _, m, _ := h.link.Seal(ctx); m.PeerDocuments {
		t.Fatal("a pouch for HQ itself asks it to leave documents out")
	}
	hinted(4) // the pouch HQ answers below, sealed while the peers held release 4

	// HQ left the document out of release 5, and no peer has it yet.
	var sum string
	without := func(rel *exchange.Release, bodies [][]byte) {
		sum = rel.Targets[0].SHA256
		atPeers["kept back"] = bodies[0]
		bodies[0] = nil
	}
	h.take(h.reply(exchange.Release{Mission: "FR-PAR", Version: 5, Expires: week}, []protocol.Document{doc("ai-use", 2, "\nNew rule.\n")}, without))
	if st, _ := h.db.Update(ctx); st.Version != 0 || st.Error != "" || h.inForce("ai-use") != 1 || len(h.reports()) != 0 {
		t.Fatalf("after a release whose document no peer had: %+v, ai-use v%d, reports %+v", st, h.inForce("ai-use"), h.reports())
	}
	if hinted(4) {
		t.Fatal("the next pouch still asks HQ to leave out documents its peers lack")
	}

	// A peer holds release 5 now: the next pouch asks again; the document
	// is taken from the peer, checked, applied and kept.
	if !hinted(5) {
		t.Fatal("once a peer holds the release, pouches do not ask HQ to leave its documents out")
	}
	atPeers[sum] = atPeers["kept back"]
	h.take(h.reply(exchange.Release{Mission: "FR-PAR", Version: 5, Expires: week}, []protocol.Document{doc("ai-use", 2, "\nNew rule.\n")}, without))
	if h.inForce("ai-use") != 2 {
		t.Fatal("the document from a peer was not applied")
	}
	if kept, _ := h.db.Document(ctx, sum); kept == nil {
		t.Fatal("the document is not kept for the peers")
	}
	if !hinted(5) {
		t.Fatal("once a release is applied, pouches for peers do not ask again to leave documents out")
	}

	// A peer that hands over something else is not believed; and when the
	// peers held the release and still lacked its document, pouches ask
	// HQ for the documents until a release is applied.
	atPeers = map[string][]byte{}
	hinted(6) // sealed while a peer held release 6
	var sum3 string
	h.take(h.reply(exchange.Release{Mission: "FR-PAR", Version: 6, Expires: week}, []protocol.Document{doc("ai-use", 3, "\nNewer rule.\n")}, func(rel *exchange.Release, bodies [][]byte) {
		sum3 = rel.Targets[0].SHA256
		atPeers[sum3] = []byte(`{"id":"ai-use","version":3,"body":"forged"}`)
		bodies[0] = nil
	}))
	if h.inForce("ai-use") != 2 {
		t.Fatal("a document that does not match the release was applied")
	}
	if hinted(6) {
		t.Fatal("pouches still ask HQ to leave out documents that peers holding the release lacked")
	}
}

// failingHQ stands for an HQ that fails one pouch with a 500 and answers
// the others: a fault at the network's far end, not a model of HQ.
func failingHQ(t *testing.T, bad []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Equal(body, bad) {
			http.Error(w, `{"error":"database is locked"}`, http.StatusInternalServerError)
			return
		}
		w.Write([]byte("reply to " + relay.Sum(body)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A pouch HQ keeps failing is set aside after a few tries, with its
// reason in the relay log, and never holds up the pouches carried after
// it; a pouch HQ never answers is dropped after UnansweredKept.
func TestCarrierSetsAsideAFailingPouch(t *testing.T) {
	ctx := context.Background()
	h := newHQ(t)
	bad, good := bytes.Repeat([]byte{7}, 300), bytes.Repeat([]byte{8}, 300)
	srv := failingHQ(t, bad)
	if err := h.db.UpdateLink(ctx, func(l *store.Link) error { l.HQURL = srv.URL; return nil }); err != nil {
		t.Fatal(err)
	}
	h.link.Client = &exchange.Client{Attempts: 1}
	c := uplink.Carrier{Link: h.link}
	for _, p := range [][]byte{bad, good} { // the failing one first, oldest
		if err := c.Hold(ctx, "FR-LYO", relay.Sum(p), p); err != nil {
			t.Fatal(err)
		}
	}
	for i := range uplink.MaxCarryFailures {
		if err := h.link.Carry(ctx); err != nil {
			t.Fatalf("carry %d: %v", i+1, err)
		}
		if i == 0 {
			rs, _ := c.Replies(ctx, "FR-LYO")
			if len(rs) != 1 || rs[0].Pouch != relay.Sum(good) {
				t.Fatalf("after the first carry, the pouch behind the failing one: %+v", rs)
			}
		}
	}
	rs, _ := c.Replies(ctx, "FR-LYO")
	if len(rs) != 2 {
		t.Fatalf("replies after %d carries: %+v", uplink.MaxCarryFailures, rs)
	}
	for _, r := range rs {
		if r.Pouch == relay.Sum(bad) && !strings.Contains(r.Error, "set aside") {
			t.Fatalf("the failing pouch's answer: %+v", r)
		}
	}
	events, _ := h.db.RelayEvents(ctx, 20)
	if !slices.ContainsFunc(events, func(e store.RelayEvent) bool {
		return e.Event == uplink.EventSetAside && strings.Contains(e.Detail, "database is locked")
	}) {
		t.Fatalf("no set-aside event with HQ's reason: %+v", events)
	}
	// A pouch HQ never answers is forgotten after UnansweredKept.
	old := bytes.Repeat([]byte{9}, 100)
	if err := c.Hold(ctx, "FR-MRS", relay.Sum(old), old); err != nil {
		t.Fatal(err)
	}
	h.db.Now = func() time.Time { return time.Now().Add(uplink.UnansweredKept + time.Hour) }
	defer func() { h.db.Now = time.Now }()
	srv.Close() // HQ unreachable: nothing would ever answer it
	h.link.Carry(ctx)
	if held, _ := h.db.RelayToCarry(ctx); len(held) != 0 {
		t.Fatalf("%d unanswered pouches still held after %s", len(held), uplink.UnansweredKept)
	}
}

// A full disk is said in words staff can act on, and nothing is lost:
// once there is room, saving goes on.
func TestDiskFullIsSaid(t *testing.T) {
	ctx := context.Background()
	h := newHQ(t)
	db := h.db.SQL()
	db.SetMaxOpenConns(1) // one connection, so the limit below holds for every statement
	// A backlog larger than one request: the sync keeps its pouch on disk.
	items := []string{"STR-01", "STR-02", "STR-03", "GOV-01", "GOV-02", "MIS-01", "MIS-02", "NAR-01", "NAR-02", "AI-01", "AI-02", "SOV-01", "SOV-03"}
	for i := range 40 {
		item := items[i%len(items)]
		noise := make([]byte, 2900)
		rand.Read(noise)
		if _, err := h.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: item, Level: readiness.Level(i % 5), Evidence: base64.StdEncoding.EncodeToString(noise)}); err != nil {
			t.Fatal(err)
		}
	}
	var pages int
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// SQLite's own "database or disk is full", as a full disk gives it.
	if _, err := db.ExecContext(ctx, "PRAGMA max_page_count = "+strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	full := false
	for i := range 200 {
		_, err := h.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: "STR-01", Level: readiness.Level(i % 5), Evidence: strings.Repeat(strconv.Itoa(i), 1300)})
		if sqlite.IsFull(err) {
			full = true
			break
		}
		if err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	if !full {
		t.Fatal("the database never filled up")
	}
	// Small writes fill what room the pages had left.
	for range 5000 {
		if err := h.db.Audit(ctx, account.System, "filler", "x", "y"); sqlite.IsFull(err) {
			break
		}
	}
	// The person saving is told, in words, not with a bare 500.
	_, err := h.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: "STR-02", Level: 1, Evidence: strings.Repeat("x", 3000)})
	if status, msg := web.StatusOf(nil, err); status != http.StatusInsufficientStorage || !strings.Contains(msg, "disk is full") || !strings.Contains(msg, "Free some space") {
		t.Fatalf("a save on a full disk answers %d %q (%v)", status, msg, err)
	}
	// A sync that cannot keep its large pouch for lack of room says why,
	// on the Sync page.
	if err := h.db.UpdateLink(ctx, func(l *store.Link) error { l.HQURL = "http://127.0.0.1:9"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.link.Sync(ctx); err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("a sync on a full disk: %v", err)
	}
	if st, _ := h.link.Status(ctx); !strings.Contains(st.LastError, "disk is full") {
		t.Fatalf("the Sync page on a full disk says %q", st.LastError)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: "STR-01", Level: 2, Evidence: "short"}); err != nil {
		t.Fatalf("a save once there is room: %v", err)
	}

}
