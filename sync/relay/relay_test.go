package relay_test

import (
	"bytes"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"chancery/sync/relay"
)

var key = bytes.Repeat([]byte{7}, 32)

func start(t *testing.T, name string, k []byte, seeds ...string) (*relay.Node, error) {
	return startAt(t, "127.0.0.1:0", name, k, seeds...)
}

func startAt(t *testing.T, bind, name string, k []byte, seeds ...string) (*relay.Node, error) {
	t.Helper()
	n, err := relay.Start(relay.Config{Name: name, Bind: bind, Seeds: seeds, Key: k, Fast: true,
		Networks: []net.IPNet{{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}}},
		relay.Meta{Mission: name, HQLink: name == "FR-PAR", API: "127.0.0.1:1"})
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
	b.Update(relay.Meta{Mission: "FR-LYO", HQLink: true, Release: 12})
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
	if _, err := relay.Start(relay.Config{Name: "X", Bind: "127.0.0.1:0", Key: []byte("short")}, relay.Meta{}); err == nil || !strings.Contains(err.Error(), "16, 24 or 32 bytes") {
		t.Fatalf("short key: %v", err)
	}
}

// TestNetworksAllowed: gossip from outside the allowed networks is
// dropped, whatever key it holds.
func TestNetworksAllowed(t *testing.T) {
	only := []net.IPNet{{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(32, 32)}}
	lan, err := relay.Start(relay.Config{Name: "FR-PAR", Bind: "127.0.0.1:0", Key: key, Fast: true, Networks: only}, relay.Meta{Mission: "FR-PAR"})
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
	if _, err := relay.Start(relay.Config{Name: "FR-MRS", Bind: "127.0.0.2:0", Key: key, Networks: only}, relay.Meta{}); err == nil || !strings.Contains(err.Error(), "outside the networks") {
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
	b.Update(relay.Meta{Mission: "FR-LYO", Release: 3})
	eventually(t, "the node goes on gossiping", func() bool {
		ps := a.Peers()
		return len(ps) == 1 && ps[0].Name == "FR-LYO" && ps[0].Meta.Release == 3
	})
}
