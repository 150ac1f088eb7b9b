// Package relay is how missions that share a network find each other:
// a memberlist cluster, its gossip encrypted with a key the missions
// share and refused without it, limited to the networks allowed. Each
// node says which mission it is, whether it can reach HQ and when it last
// did, which HQ release it holds, and where its agent answers, in a badge
// that only missions enrolled with the same HQ can read, and that only
// the mission itself can make (see badge.go).
//
// memberlist carries membership only. Pouches never travel in gossip:
// agents hand them to each other over their HTTP API, authenticated with
// the keys pinned at enrollment, so that holding the gossip key alone
// lets no one receive or hand over a pouch.
package relay

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Label keeps Chancery's gossip apart from any other memberlist cluster
// on the same network: packets without it are dropped.
const Label = "chancery-relay-v1"

// Meta is what a node tells its peers about itself.
type Meta struct {
	Mission string    `json:"m"`
	HQLink  bool      `json:"hq"`
	LastHQ  time.Time `json:"last,omitzero"`
	Release int64     `json:"rel,omitempty"`
	// API is where the node's agent answers its peers, host:port; TLS
	// says it answers over HTTPS.
	API string `json:"api,omitempty"`
	TLS bool   `json:"tls,omitempty"`
}

// Config sets up a node.
type Config struct {
	// Name is the node's name in the cluster; empty, a random one. It is
	// not the mission's code, which only the badge tells.
	Name string
	// Bind is the address to gossip on, host:port; port 0 picks one.
	Bind string
	// Seeds are peers to join, host:port.
	Seeds []string
	// Key encrypts and authenticates the gossip: 16, 24 or 32 bytes.
	Key []byte
	// Networks are the networks peers may be in; empty: any.
	Networks []net.IPNet
	// Fast shortens the failure detector's timings, for a LAN (and tests).
	Fast bool
	Log  io.Writer
}

// Peer is another node as seen from here.
type Peer struct {
	// Name is the peer's mission code, as its badge shows; empty for a
	// node that shows none.
	Name string
	Addr string
	Meta Meta
	// Node is its name in the cluster.
	Node string
	// Unknown says why the node is not listed as a mission: it shows no
	// badge this mission can open and check. Empty for a mission.
	Unknown string
}

// Node is this agent's membership in the cluster.
type Node struct {
	ml   *memberlist.Memberlist
	name string

	mu   sync.Mutex
	meta Meta
	id   Identity
	seen map[string]*Known
}

// Known is a peer this node has met since it started, alive or not.
type Known struct {
	Peer
	// State is "alive", "left" (it said goodbye) or "failed" (it stopped
	// answering); Since is when it came to be so.
	State string
	Since time.Time
	// Heard is the last time the peer was known alive.
	Heard time.Time
}

// NoBadge is the reason given for a node that shows no badge: a catalog
// key, which pages say in their reader's language.
const NoBadge = "relay.no_badge"

// peerOf reads a member's badge; the caller holds n.mu.
func (n *Node) peerOf(m *memberlist.Node) Peer {
	p := Peer{Addr: net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port))), Node: m.Name}
	meta, err := openBadge(n.id, m.Name, m.Meta)
	switch {
	case len(m.Meta) == 0:
		p.Unknown = NoBadge
	case err != nil:
		p.Unknown = err.Error()
	default:
		p.Meta, p.Name = meta, meta.Mission
	}
	return p
}

// events keeps the peers met, for the agent's Peers page. memberlist
// calls it under its own lock: it must not call back into memberlist.
type events struct{ n *Node }

func (e events) note(m *memberlist.Node, state string) {
	now := time.Now()
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	p := e.n.peerOf(m)
	k := e.n.seen[m.Name]
	if k == nil {
		k = &Known{}
		e.n.seen[m.Name] = k
	}
	if k.State != state {
		k.State, k.Since = state, now
	}
	k.Peer = p
	if state == "alive" {
		k.Heard = now
	}
}

func (e events) NotifyJoin(m *memberlist.Node)   { e.note(m, "alive") }
func (e events) NotifyUpdate(m *memberlist.Node) { e.note(m, "alive") }
func (e events) NotifyLeave(m *memberlist.Node) {
	if m.State == memberlist.StateLeft {
		e.note(m, "left")
	} else {
		e.note(m, "failed")
	}
}

type delegate struct{ n *Node }

// NodeMeta implements memberlist.Delegate: it must be fast and may not
// block; it returns this node's metadata within limit bytes.
func (d delegate) NodeMeta(limit int) []byte {
	d.n.mu.Lock()
	defer d.n.mu.Unlock()
	b := sealBadge(d.n.id, d.n.name, d.n.meta)
	if len(b) > limit {
		return nil
	}
	return b
}
func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}

// Start joins (or starts) the cluster, showing id's badge with m.
func Start(c Config, m Meta, id Identity) (*Node, error) {
	switch len(c.Key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("relay: the gossip key must be 16, 24 or 32 bytes, not %d", len(c.Key))
	}
	host, port, err := net.SplitHostPort(c.Bind)
	if err != nil {
		return nil, fmt.Errorf("relay: gossip address %q is not host:port", c.Bind)
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && len(c.Networks) > 0 &&
		!slices.ContainsFunc(c.Networks, func(n net.IPNet) bool { return n.Contains(ip) }) {
		return nil, fmt.Errorf("relay: the gossip address %s is outside the networks peers may be in; add its network to the relay networks", host)
	}
	if c.Name == "" {
		b := make([]byte, 8)
		rand.Read(b)
		c.Name = "node-" + hex.EncodeToString(b)
	}
	n := &Node{meta: m, id: id, name: c.Name, seen: map[string]*Known{}}
	conf := memberlist.DefaultLANConfig()
	if c.Fast {
		conf = memberlist.DefaultLocalConfig()
		conf.ProbeInterval = 200 * time.Millisecond
		conf.ProbeTimeout = 100 * time.Millisecond
		conf.SuspicionMult = 2
		conf.GossipInterval = 50 * time.Millisecond
		conf.PushPullInterval = time.Second
	}
	// A mission whose agent restarts on another port may take its name
	// back once its old self has been dead this long.
	conf.DeadNodeReclaimTime = 30 * time.Second
	if c.Fast {
		conf.DeadNodeReclaimTime = 500 * time.Millisecond
	}
	conf.Name = c.Name
	conf.BindAddr = host
	conf.BindPort, _ = strconv.Atoi(port)
	conf.AdvertisePort = conf.BindPort
	conf.SecretKey = c.Key
	conf.GossipVerifyIncoming = true
	conf.GossipVerifyOutgoing = true
	conf.Label = Label
	if len(c.Networks) > 0 {
		conf.CIDRsAllowed = c.Networks
	}
	conf.Delegate = delegate{n}
	conf.Events = events{n}
	if c.Log == nil {
		c.Log = io.Discard
	}
	conf.Logger = log.New(c.Log, "relay: ", log.LstdFlags)
	ml, err := memberlist.Create(conf)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	n.ml = ml
	if len(c.Seeds) > 0 {
		if _, err := ml.Join(c.Seeds); err != nil {
			ml.Shutdown()
			return nil, fmt.Errorf("relay: no peer could be joined (%v); check the seed addresses and that every mission has the same gossip key", err)
		}
	}
	return n, nil
}

// Addr is where this node gossips.
func (n *Node) Addr() string {
	l := n.ml.LocalNode()
	return net.JoinHostPort(l.Addr.String(), strconv.Itoa(int(l.Port)))
}

// Update changes what this node tells its peers, and the identity it
// shows and reads their badges with.
func (n *Node) Update(m Meta, id Identity) error {
	n.mu.Lock()
	n.meta, n.id = m, id
	n.mu.Unlock()
	return n.ml.UpdateNode(time.Second)
}

// Peers lists the live peers whose badges show missions of our HQ's, not
// this node: the only ones pouches go to or come from.
func (n *Node) Peers() []Peer {
	var out []Peer
	self := n.ml.LocalNode().Name
	members := n.ml.Members()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range members {
		if m.Name == self {
			continue
		}
		if p := n.peerOf(m); p.Unknown == "" {
			out = append(out, p)
		}
	}
	return out
}

// Known lists every peer met since this node started, by name, with
// the live ones marked heard now.
//
// Nodes that show no badge of a mission of ours are listed too, with
// Unknown saying so, and never under a mission's name.
func (n *Node) Known() []Known {
	live := map[string]*memberlist.Node{} // by node name
	for _, m := range n.ml.Members() {
		live[m.Name] = m
	}
	self := n.ml.LocalNode().Name
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Known
	for name, k := range n.seen {
		if name == self {
			continue
		}
		if m := live[name]; m != nil && k.State == "alive" {
			k.Heard = now
			k.Peer = n.peerOf(m) // read again: the peer keys may have changed
		}
		out = append(out, *k)
	}
	// Node names are new at each start: a mission whose agent restarted
	// is listed once, as its newest node.
	newest := map[string]int{}
	for i, k := range out {
		if k.Unknown == "" {
			if j, ok := newest[k.Name]; !ok || k.Heard.After(out[j].Heard) {
				newest[k.Name] = i
			}
		}
	}
	keep := map[string]string{} // mission → its newest node
	for name, i := range newest {
		keep[name] = out[i].Node
	}
	out = slices.DeleteFunc(out, func(k Known) bool { return k.Unknown == "" && keep[k.Name] != k.Node })
	slices.SortFunc(out, func(a, b Known) int {
		return cmp.Or(strings.Compare(a.Unknown, b.Unknown), strings.Compare(a.Name, b.Name), strings.Compare(a.Node, b.Node))
	})
	return out
}

// Leave tells the peers this node is going, then stops.
func (n *Node) Leave() error {
	if err := n.ml.Leave(time.Second); err != nil {
		n.ml.Shutdown()
		return err
	}
	return n.ml.Shutdown()
}

// Stop stops at once, as a crash would: peers find out by themselves.
func (n *Node) Stop() error { return n.ml.Shutdown() }
