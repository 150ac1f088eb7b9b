package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/sync/relay"
)

// startRelay joins the peer missions on a shared network, when the agent
// is configured to; nil otherwise.
func startRelay(ctx context.Context, c Config, db *store.DB, link *uplink.Link) (*relay.Node, error) {
	if c.RelayBind == "" {
		return nil, nil
	}
	var seeds []string
	for _, s := range strings.Split(c.RelaySeeds, ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	// The node's name in the cluster is random: which mission it is, only
	// its badge tells, to peers enrolled with the same HQ.
	return relay.Start(relay.Config{Bind: c.RelayBind, Seeds: seeds, Key: c.relayKey, Networks: c.relayNets, Fast: c.RelayFast},
		relayMeta(ctx, link, "", c.tls()), relayIdentity(ctx, link))
}

// relayIdentity is the identity the agent shows its peers: none before it
// is enrolled and holds a card and a peer key from HQ, and then it is
// present on the network but says nothing.
func relayIdentity(ctx context.Context, link *uplink.Link) relay.Identity {
	id, err := link.Identity(ctx)
	if err != nil {
		return relay.Identity{}
	}
	return id
}

// relayMeta is what this agent tells its peers.
// tls says whether the agent's web interface, through which peers hand
// over pouches, is served over HTTPS.
func relayMeta(ctx context.Context, link *uplink.Link, api string, tls bool) relay.Meta {
	st, _ := link.Status(ctx)
	up, _ := link.DB.Update(ctx)
	m := relay.Meta{Mission: st.Mission, Release: up.Version, API: api, TLS: tls}
	if st.LastOK != nil {
		m.LastHQ = *st.LastOK
		m.HQLink = st.HQURL != "" && time.Since(*st.LastOK) < time.Hour && st.LastError == ""
	}
	return m
}

// relaying runs the agent's part in the peer relay after each sync.
type relaying struct {
	node   *relay.Node
	link   *uplink.Link
	c      Config
	logger *slog.Logger

	mu        sync.Mutex
	api       string
	syncNow   func() // asks the agent's scheduler for a sync at once
	following atomic.Bool
	handed    atomic.Int64 // relays that handed a pouch over
	// asked is the newest release seen at a peer for which this agent
	// has already asked HQ, through the peers, for its own update;
	// askedAgain, the newest it asked for again when the peers lacked
	// the documents.
	asked, askedAgain int64
}

// watch notices when a peer holds a newer HQ release than this mission:
// HQ has published something. A mission without its own link to HQ then
// syncs at once, so its update comes through the peers without waiting
// for the schedule; once per release seen.
func (r *relaying) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var newest int64
		for _, p := range r.node.Peers() {
			newest = max(newest, p.Meta.Release)
		}
		own, err := r.link.DB.Update(ctx)
		if err != nil || newest <= own.Version {
			continue
		}
		if m := relayMeta(ctx, r.link, "", r.c.tls()); m.HQLink {
			continue // its own sync brings it
		}
		deferred, err := r.link.Deferred(ctx)
		if err != nil {
			r.logger.Warn("peer relay: read the link to HQ", "err", err)
			continue
		}
		switch {
		case newest > r.asked:
			r.asked = newest
			r.syncNow()
		case deferred && newest > r.askedAgain:
			// The peers lacked the release's documents: ask once more,
			// for HQ to send them this time.
			r.askedAgain = newest
			r.syncNow()
		}
	}
}

// start lets the link take release documents from the peers.
func (r *relaying) start() {
	r.link.Documents = r.link.DocumentsFrom(r.node.Peers, r.client())
}

// listening records where the web interface, and so the relay API,
// answers, and tells the peers.
func (r *relaying) listening(addr string) {
	r.mu.Lock()
	r.api = addr
	r.mu.Unlock()
	r.announce(context.Background())
}

func (r *relaying) announce(ctx context.Context) {
	r.mu.Lock()
	api := r.api
	r.mu.Unlock()
	r.node.Update(relayMeta(ctx, r.link, api, r.c.tls()), relayIdentity(ctx, r.link))
}

func (r *relaying) client() *relay.Client {
	return &relay.Client{Identity: r.link.Identity}
}

// afterSync follows a sync whose outcome was err. With HQ reached, this
// agent carries its peers' pouches to HQ and takes any replies peers
// still hold for it; without, it sends its own changes through the peers
// that reach HQ. It returns the outcome of the whole.
func (r *relaying) afterSync(ctx context.Context, err error) error {
	defer r.announce(ctx)
	peers := r.node.Peers()
	if err == nil {
		r.link.Collect(ctx, peers, r.client())
		if err := r.link.Carry(ctx); err != nil {
			r.logger.Warn("carrying peers' pouches to HQ failed; they stay here for the next sync", "err", err)
		}
		return nil
	}
	r.announce(ctx) // tell the peers at once that this mission lost HQ
	if rerr := r.link.Relay(ctx, peers, r.client()); rerr != nil {
		return fmt.Errorf("%w; and through peer missions: %v", err, rerr)
	}
	r.logger.Info("HQ cannot be reached; changes sent through peer missions", "err", err)
	r.handed.Add(1)
	if r.following.CompareAndSwap(false, true) {
		go r.followUp(context.WithoutCancel(ctx))
	}
	return nil
}

// followUp looks for HQ's replies at the peers soon after a pouch was
// handed to them, rather than at the next scheduled sync: at growing
// intervals, while some pouch awaits its answer, starting again from the
// shortest each time another is handed over; a peer that never answers
// (a pouch lost with it) is given up on after about four minutes, and the
// next sync sends the changes again.
func (r *relaying) followUp(ctx context.Context) {
	before, _ := r.link.Status(ctx)
	base := 2 * time.Second
	if r.c.RelayFast {
		base = 200 * time.Millisecond
	}
	wait, seen := base, r.handed.Load()
	for tries := 0; tries < 7; tries++ {
		time.Sleep(wait)
		wait *= 2
		if n := r.handed.Load(); n != seen {
			seen, wait, tries = n, base, 0
		}
		if r.link.Collect(ctx, r.node.Peers(), r.client()) > 0 {
			r.announce(ctx)
		}
		if r.link.Awaiting() == 0 {
			break
		}
	}
	r.following.Store(false)
	// A pouch handed over just as this one gave up gets a follow-up too.
	if r.handed.Load() != seen && r.following.CompareAndSwap(false, true) {
		go r.followUp(ctx)
		return
	}
	// A backlog goes a pouch at a time: while HQ's receipts show progress,
	// the next pouch goes at once rather than at the next scheduled sync.
	if after, err := r.link.Status(ctx); err == nil && after.Acked > before.Acked && after.Pending > 0 {
		r.syncNow()
	}
}
