package test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/labstack/echo/v4"

	"chancery/agent/store"
	"chancery/agent/uplink"
	hqstore "chancery/hq/store"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/sync/relay"
)

// hostile is a peer mission gone bad: enrolled with HQ, holding the
// gossip key and a card of its own, it takes pouches to carry and then
// flips their bytes, drops them, forges HQ's receipts or replays old
// ones. It is a fake on purpose: it stands for a machine we do not
// control. It speaks the relay protocol through the real package.
type hostile struct {
	t    *testing.T
	link *uplink.Link
	node *relay.Node
	hq   string
	// forgeTo is the age recipient of the mission whose receipts it
	// forges, as HQ knows it.
	forgeTo *age.X25519Recipient

	mode    atomic.Value // "honest", "flip", "drop", "forge", "replay"
	mu      sync.Mutex
	replies map[string][]relay.Reply // held for each mission
	old     map[string]relay.Reply   // a genuine reply kept back, to replay
	flipped atomic.Int32
}

func (k *cluster) hostile(code string) *hostile {
	t := k.t
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	run(t, "chancery-hq", "mission", "add", "--data", k.hqDir, "--code", code, "--name", "Mission "+code)
	enroll := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", k.hqDir, "--code", code))
	db, err := store.Open(ctx, filepath.Join(dir, "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &hostile{t: t, hq: k.hq.URL, replies: map[string][]relay.Reply{}, old: map[string]relay.Reply{},
		link: &uplink.Link{DB: db, Client: &exchange.Client{Attempts: 1}}}
	h.mode.Store("honest")
	if _, err := h.link.Enroll(ctx, k.hq.URL, enroll, code); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	(&relay.Server{Identity: h.link.Identity, Carrier: h}).Mount(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	key, _ := base64.StdEncoding.DecodeString(relayKey)
	id, err := h.link.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.node, err = relay.Start(relay.Config{Bind: "127.0.0.1:0", Seeds: []string{k.seed}, Key: key, Fast: true},
		relay.Meta{HQLink: true, LastHQ: time.Now(), API: strings.TrimPrefix(srv.URL, "http://")}, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.node.Stop() })
	return h
}

// forgeFor learns, as HQ knows it, the age recipient of the mission
// whose receipts it will forge: the strongest forger, who can seal to
// the mission and lacks only HQ's signing key.
func (h *hostile) forgeFor(hqDir, mission string) {
	db, err := hqstore.Open(context.Background(), filepath.Join(hqDir, "hq.db"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	if h.forgeTo, err = db.Recipient(context.Background(), mission); err != nil {
		h.t.Fatal(err)
	}
}

func (h *hostile) Offer(ctx context.Context, from, sum string, size int64) (relay.Offer, error) {
	return relay.Offer{Accept: true}, nil // always says it holds nothing: it is asked again
}

func (h *hostile) Hold(ctx context.Context, from, sum string, raw []byte) error {
	switch h.mode.Load() {
	case "drop", "forge", "replay":
		return nil // taken, and gone
	case "flip":
		bad := bytes.Clone(raw)
		bad[len(bad)/2] ^= 0x20
		_, err := (&exchange.Client{BaseURL: h.hq, Attempts: 1}).Exchange(ctx, bad)
		if err != nil { // HQ refuses it; the mission is not told
			h.flipped.Add(1)
		}
		return nil
	}
	reply, err := (&exchange.Client{BaseURL: h.hq, Attempts: 1}).Exchange(ctx, raw)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := relay.Reply{Pouch: sum, Reply: reply, At: time.Now()}
	h.replies[from] = append(h.replies[from], r)
	if _, ok := h.old[from]; !ok {
		h.old[from] = r
	}
	return nil
}

func (h *hostile) Replies(ctx context.Context, mission string) ([]relay.Reply, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.mode.Load() {
	case "forge":
		// "HQ holds everything": sealed to the mission, signed with this
		// peer's own key under HQ's name.
		id, err := h.link.Identity(ctx)
		if err != nil {
			return nil, err
		}
		lines, err := exchange.Reply{Receipt: exchange.Receipt{Mission: mission, Through: 1 << 40, At: time.Now().UTC()}}.Encode()
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if _, err := pouch.Seal(&buf, pouch.Sender{Site: "HQ", Key: id.Key},
			pouch.Envelope{Kind: pouch.KindReply, To: mission, Recipients: []*age.X25519Recipient{h.forgeTo}}, lines); err != nil {
			return nil, err
		}
		return []relay.Reply{{Pouch: strings.Repeat("f", 64), Reply: buf.Bytes(), At: time.Now()}}, nil
	case "replay":
		if r, ok := h.old[mission]; ok {
			return []relay.Reply{r}, nil
		}
		return nil, nil
	}
	return h.replies[mission], nil
}

func (h *hostile) Document(ctx context.Context, mission, sum string) ([]byte, error) {
	return nil, nil
}

func (h *hostile) Done(ctx context.Context, mission string, sums []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mode.Load() == "honest" {
		delete(h.replies, mission)
	}
	return nil
}

// TestRelayHostilePeer: among FR-PAR's peers is FR-BAD, which flips the
// bytes of what it carries, drops pouches, forges HQ's receipts and
// replays old ones. Each is caught: HQ refuses the altered pouch, FR-PAR
// refuses the forged and the replayed receipts and changes nothing, and
// every change reaches HQ exactly once, through the honest FR-LYO, at
// once or on retry.
func TestRelayHostilePeer(t *testing.T) {
	k := newCluster(t)
	ps := k.up("FR-PAR", "FR-LYO")
	par, lyo := ps[0], ps[1]
	bad := k.hostile("FR-BAD")
	bad.forgeFor(k.hqDir, "FR-PAR")
	k.linked(par, "FR-LYO", "FR-BAD")
	par.px.down.Store(true)

	// expect waits for FR-PAR's outbox to be as given, and checks HQ.
	expect := func(what string, acked, pending, atHQ int) {
		t.Helper()
		waitFor(t, 30*time.Second, func() bool {
			a, p := par.outbox(t)
			return a == acked && p == pending
		}, func() string {
			a, p := par.outbox(t)
			return what + ": acked " + itoa(a) + ", pending " + itoa(p) + "\n" + k.debug()
		})
		if held, through := k.held("FR-PAR"); held != atHQ || through != atHQ {
			t.Fatalf("%s: HQ holds %d changes of FR-PAR, applied up to %d; want %d, each once", what, held, through, atHQ)
		}
	}
	// round sends one change through the peers and collects the replies.
	round := func(item string) {
		t.Helper()
		par.answer(t, item, "3", "Evidence for "+item)
		n := lyo.events(t, "carried", "FR-PAR")
		par.syncNow(t) // hands the pouch to both peers
		waitFor(t, 30*time.Second, func() bool { return lyo.events(t, "carried", "FR-PAR") > n }, k.debug)
		par.syncNow(t) // takes the replies
	}

	// While FR-BAD behaves, both carry; HQ takes the change once. FR-BAD
	// keeps a genuine receipt back, to replay later.
	round("NAR-01")
	expect("both honest", 1, 0, 1)

	// FR-BAD flips a byte of what it carries: HQ refuses it; the change
	// arrives through FR-LYO.
	bad.mode.Store("flip")
	round("NAR-02")
	waitFor(t, 10*time.Second, func() bool { return bad.flipped.Load() > 0 })
	expect("a relay that flips bytes", 2, 0, 2)

	// FR-LYO loses HQ too, and finds out with a sync of its own (one
	// already running may have got through just before the link went
	// down; the request is folded into one more run after it). FR-BAD
	// drops what it is given and forges HQ's receipt for it: FR-PAR
	// refuses the receipt and keeps its change.
	lyo.px.down.Store(true)
	bad.mode.Store("forge")
	lyo.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { return strings.Contains(lyo.page(t, "/sync"), "last-error") }, k.debug, func() string { return lyo.page(t, "/sync") + "\n" + lyo.a.errs.String() })
	refused := par.events(t, "reply refused", "FR-BAD", "not the HQ key pinned at enrollment")
	par.answer(t, "AI-01", "2", "AI rules")
	par.syncNow(t)
	waitFor(t, 30*time.Second, func() bool {
		return par.events(t, "reply refused", "FR-BAD", "not the HQ key pinned at enrollment") > refused
	}, k.debug)
	expect("a forged receipt", 2, 1, 2)

	// FR-BAD replays the genuine receipt it kept from the first round: it
	// is older than one already taken, and changes nothing.
	bad.mode.Store("replay")
	stale := par.events(t, "stale", "FR-BAD", "replay")
	par.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { return par.events(t, "stale", "FR-BAD", "replay") > stale }, k.debug)
	expect("a replayed receipt", 2, 1, 2)

	// FR-LYO's link comes back: FR-PAR's change goes through it to HQ
	// (whatever FR-LYO held for it, or FR-PAR's next pouch), and HQ's
	// receipt clears FR-PAR's outbox.
	lyo.px.down.Store(false)
	lyo.syncNow(t)
	waitFor(t, 30*time.Second, func() bool { return !strings.Contains(lyo.page(t, "/sync"), "last-error") }, k.debug)
	waitFor(t, 60*time.Second, func() bool {
		par.syncNow(t)
		a, p := par.outbox(t)
		return a == 3 && p == 0
	}, k.debug)
	expect("the honest relay's retry", 3, 0, 3)
}

func itoa(n int) string { return strconv.Itoa(n) }
