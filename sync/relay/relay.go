// Package relay is how missions that share a network find each other:
// a memberlist cluster, its gossip encrypted with a key the missions
// share and refused without it, limited to the networks allowed. Each
// node says which mission it is, whether it can reach HQ and when it last
// did, which HQ release it holds, and where its agent answers.
//
// memberlist carries membership only. Pouches never travel in gossip:
// agents hand them to each other over their HTTP API, authenticated with
// the keys pinned at enrollment, so that holding the gossip key alone
// lets no one receive or hand over a pouch.
package relay

import (
	"cmp"
	"encoding/json"
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
	// Name is the node's mission code.
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
	// Name is the peer's mission code, as its metadata says; its node
	// name until it says one (an agent enrolled after it started).
	Name string
	Addr string
	Meta Meta
}

// Node is this agent's membership in the cluster.
type Node struct {
	ml *memberlist.Memberlist

	mu   sync.Mutex
	meta Meta
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

func peerOf(m *memberlist.Node) Peer {
	p := Peer{Addr: net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))}
	json.Unmarshal(m.Meta, &p.Meta)
	p.Name = cmp.Or(p.Meta.Mission, m.Name)
	return p
}

// events keeps the peers met, for the agent's Peers page. memberlist
// calls it under its own lock: it must not call back into memberlist.
type events struct{ n *Node }

func (e events) note(m *memberlist.Node, state string) {
	now := time.Now()
	p := peerOf(m)
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
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
	b, _ := json.Marshal(d.n.meta)
	if len(b) > limit {
		return nil
	}
	return b
}
func (delegate) NotifyMsg([]byte)                           {}
func (delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (delegate) LocalState(join bool) []byte                { return nil }
func (delegate) MergeRemoteState(buf []byte, join bool)     {}

// Start joins (or starts) the cluster.
func Start(c Config, m Meta) (*Node, error) {
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
	n := &Node{meta: m, seen: map[string]*Known{}}
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

// Update changes what this node tells its peers.
func (n *Node) Update(m Meta) error {
	n.mu.Lock()
	n.meta = m
	n.mu.Unlock()
	return n.ml.UpdateNode(time.Second)
}

// Peers lists the live peers, not this node.
func (n *Node) Peers() []Peer {
	var out []Peer
	self := n.ml.LocalNode().Name
	for _, m := range n.ml.Members() {
		if m.Name == self {
			continue
		}
		out = append(out, peerOf(m))
	}
	return out
}

// Known lists every peer met since this node started, by name, with
// the live ones marked heard now.
func (n *Node) Known() []Known {
	live := map[string]bool{} // by node name
	for _, m := range n.ml.Members() {
		live[m.Name] = true
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
		if live[name] && k.State == "alive" {
			k.Heard = now
		}
		out = append(out, *k)
	}
	slices.SortFunc(out, func(a, b Known) int { return strings.Compare(a.Name, b.Name) })
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
