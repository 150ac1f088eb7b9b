package relay_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"chancery/sync/pouch"
	"chancery/sync/relay"
)

var key = bytes.Repeat([]byte{7}, 32)

// The HQ of the tests' missions, the peer key it hands out, and each
// mission's identity, made once.
var (
	_, testHQ, _ = ed25519.GenerateKey(rand.Reader)
	peerKey      = relay.PeerKey{Epoch: 1, Key: bytes.Repeat([]byte{9}, 32)}
	idsMu        sync.Mutex
	ids          = map[string]relay.Identity{}
)

// ident is a mission's identity towards its peers, with its badge's keys.
func ident(t testing.TB, mission string) relay.Identity {
	idsMu.Lock()
	defer idsMu.Unlock()
	id, ok := ids[mission]
	if !ok {
		id = identity(t, testHQ, mission)
		id.PeerKeys = []relay.PeerKey{peerKey}
		ids[mission] = id
	}
	return id
}

func start(t *testing.T, name string, k []byte, seeds ...string) (*relay.Node, error) {
	return startAt(t, "127.0.0.1:0", name, k, seeds...)
}

func startAt(t *testing.T, bind, name string, k []byte, seeds ...string) (*relay.Node, error) {
	t.Helper()
	n, err := relay.Start(relay.Config{Name: name, Bind: bind, Seeds: seeds, Key: k, Fast: true,
		Networks: []net.IPNet{{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}}},
		relay.Meta{HQLink: name == "FR-PAR", API: "127.0.0.1:1"}, ident(t, name))
	if err == nil {
		t.Cleanup(func() { n.Stop() })
	}
	return n, err
}

func names(n *relay.Node) string {
	var out []string
	for _, p := range n.Peers() {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMembership(t *testing.T) {
	a, err := start(t, "FR-PAR", key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := start(t, "FR-LYO", key, a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c, err := start(t, "FR-MRS", key, b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "three nodes see each other", func() bool { return names(a) == "FR-LYO FR-MRS" && names(c) == "FR-LYO FR-PAR" })

	// What a node says of itself reaches the others.
	for _, p := range c.Peers() {
		if p.Name == "FR-PAR" && (!p.Meta.HQLink || p.Meta.Mission != "FR-PAR") {
			t.Fatalf("meta of FR-PAR as seen by FR-MRS: %+v", p.Meta)
		}
	}
	b.Update(relay.Meta{HQLink: true, Release: 12}, ident(t, "FR-LYO"))
	eventually(t, "an update of meta spreads", func() bool {
		for _, p := range a.Peers() {
			if p.Name == "FR-LYO" && p.Meta.HQLink && p.Meta.Release == 12 {
				return true
			}
		}
		return false
	})

	// A node without the gossip key is not admitted.
	wrong := bytes.Repeat([]byte{8}, 32)
	d, err := start(t, "XX-BAD", wrong, a.Addr())
	time.Sleep(time.Second)
	if strings.Contains(names(a), "XX-BAD") || (err == nil && names(d) != "") {
		t.Fatalf("a node with another key joined: FR-PAR sees %q", names(a))
	}
	if err == nil || !strings.Contains(err.Error(), "same gossip key") {
		t.Fatalf("joining with another key should fail and say why: %v", err)
	}

	// A node that dies is noticed; one that comes back rejoins.
	where := c.Addr()
	c.Stop()
	eventually(t, "a dead node is noticed", func() bool { return names(a) == "FR-LYO" })
	c2, err := startAt(t, where, "FR-MRS", key, a.Addr()) // its agent restarts, on the same address
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "it rejoins", func() bool { return names(a) == "FR-LYO FR-MRS" && names(c2) == "FR-LYO FR-PAR" })
}

func TestBadKey(t *testing.T) {
	if _, err := relay.Start(relay.Config{Name: "X", Bind: "127.0.0.1:0", Key: []byte("short")}, relay.Meta{}, relay.Identity{}); err == nil || !strings.Contains(err.Error(), "16, 24 or 32 bytes") {
		t.Fatalf("short key: %v", err)
	}
}

// TestNetworksAllowed: gossip from outside the allowed networks is
// dropped, whatever key it holds.
func TestNetworksAllowed(t *testing.T) {
	only := []net.IPNet{{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(32, 32)}}
	lan, err := relay.Start(relay.Config{Name: "FR-PAR", Bind: "127.0.0.1:0", Key: key, Fast: true, Networks: only}, relay.Meta{}, ident(t, "FR-PAR"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lan.Stop() })
	startAt(t, "127.0.0.2:0", "FR-LYO", key, lan.Addr())
	time.Sleep(time.Second)
	if names(lan) != "" {
		t.Fatalf("a node on 127.0.0.2 joined a cluster that allows 127.0.0.1 only: %q", names(lan))
	}
	// A node told to gossip outside its own allowed networks is stopped
	// with what to do.
	if _, err := relay.Start(relay.Config{Name: "FR-MRS", Bind: "127.0.0.2:0", Key: key, Networks: only}, relay.Meta{}, relay.Identity{}); err == nil || !strings.Contains(err.Error(), "outside the networks") {
		t.Fatalf("gossip address outside the networks: %v", err)
	}
}

// TestGarbageOnTheGossipPort: random and truncated packets, over UDP and
// TCP, do not bring a node down or into the cluster; it keeps its peers.
func TestGarbageOnTheGossipPort(t *testing.T) {
	a, err := start(t, "FR-PAR", key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := start(t, "FR-LYO", key, a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	junk := [][]byte{{}, {0}, {0xff}, bytes.Repeat([]byte{0xff}, 1400), append([]byte{1, 0xff, 0xff}, make([]byte, 64)...)}
	for i := range 200 {
		p := make([]byte, i*7%1400)
		for j := range p {
			p[j] = byte(i*31 + j*17)
		}
		junk = append(junk, p)
	}
	u, err := net.Dial("udp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	for _, p := range junk {
		u.Write(p)
		c, err := net.Dial("tcp", a.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(p)
		c.Close()
	}
	b.Update(relay.Meta{Release: 3}, ident(t, "FR-LYO"))
	eventually(t, "the node goes on gossiping", func() bool {
		ps := a.Peers()
		return len(ps) == 1 && ps[0].Name == "FR-LYO" && ps[0].Meta.Release == 3
	})
}

// TestKeyedNodeWithoutBadgeLearnsNothing: nodes that hold the gossip key
// but no badge of a mission of our HQ's — one with nothing else, one with
// the peer key and a card of its own making in FR-PAR's name, one with
// the peer key and a card for a key HQ has withdrawn — are seen to be
// there, and listed as missions nowhere; the first reads nothing of the
// missions, not even their codes from their node names.
func TestKeyedNodeWithoutBadgeLearnsNothing(t *testing.T) {
	par, lyo := ident(t, "FR-PAR"), ident(t, "FR-LYO")
	withdrawn := identity(t, testHQ, "FR-NCE")
	withdrawn.PeerKeys = []relay.PeerKey{peerKey}
	par.Revoked = []string{keyID(withdrawn.Key)}
	lyo.Revoked = par.Revoked
	_, otherHQ, _ := ed25519.GenerateKey(rand.Reader)
	forged := identity(t, otherHQ, "FR-PAR")
	forged.PeerKeys = []relay.PeerKey{peerKey}

	node := func(id relay.Identity, m relay.Meta, seeds ...string) *relay.Node {
		n, err := relay.Start(relay.Config{Bind: "127.0.0.1:0", Seeds: seeds, Key: key, Fast: true}, m, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Stop() })
		return n
	}
	a := node(par, relay.Meta{HQLink: true, API: "127.0.0.1:4242"})
	b := node(lyo, relay.Meta{API: "127.0.0.1:4343"}, a.Addr())
	x := node(relay.Identity{}, relay.Meta{}, a.Addr())
	node(forged, relay.Meta{HQLink: true, API: "127.0.0.1:6666"}, a.Addr())
	node(withdrawn, relay.Meta{HQLink: true, API: "127.0.0.1:6667"}, a.Addr())

	eventually(t, "the five nodes see each other", func() bool { return len(a.Known()) == 4 && len(x.Known()) == 4 })
	eventually(t, "the missions see each other", func() bool { return names(a) == "FR-LYO" && names(b) == "FR-PAR" })
	unknown := 0
	for _, k := range a.Known() {
		if k.Unknown != "" {
			unknown++
			if k.Name != "" || k.Meta != (relay.Meta{}) {
				t.Fatalf("a node without a valid badge is listed as %q: %+v", k.Name, k)
			}
		}
	}
	if unknown != 3 {
		t.Fatalf("FR-PAR lists %d unknown nodes, not 3: %+v", unknown, a.Known())
	}
	if names(x) != "" {
		t.Fatalf("the node with only the gossip key sees missions: %q", names(x))
	}
	for _, k := range x.Known() {
		if k.Name != "" || k.Meta != (relay.Meta{}) || strings.Contains(k.Node, "FR-") {
			t.Fatalf("the node with only the gossip key learnt %+v", k)
		}
	}
}

func keyID(sk ed25519.PrivateKey) string { return pouch.KeyID(sk.Public().(ed25519.PublicKey)) }
