package uplink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"chancery/agent/store"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/sync/relay"
)

// The mission's side of the peer relay. A mission that cannot reach HQ
// hands its sealed pouch to the peers that can; they carry it to HQ and
// keep HQ's reply, sealed to the mission and signed by HQ, until the
// mission fetches it. The mission takes that reply exactly as one from
// HQ: only HQ's signed receipt moves what the mission counts as
// delivered, never a peer's word. Every step is logged for the Peers
// page, at both ends.

// Events in the relay log.
const (
	EventHanded       = "handed"        // this mission gave a peer a pouch to carry
	EventReceipt      = "receipt"       // HQ's receipt came back through a peer
	EventReplyRefused = "reply refused" // a peer brought back something that is not a good reply from HQ
	EventStale        = "stale"         // a peer brought back a reply older than one already taken
	EventHQRefused    = "HQ refused"    // HQ refused a pouch carried
	EventPeerRefused  = "peer refused"  // a peer would not, or could not, take a pouch
	EventTaken        = "taken"         // this mission took a peer's pouch to carry
	EventCarried      = "carried"       // this mission handed a peer's pouch to HQ
	EventReturned     = "returned"      // a peer fetched HQ's replies from here
	EventFull         = "full"          // a peer's pouch was refused: the store is full
	EventExpired      = "expired"       // HQ's answer for a peer, never taken, was forgotten; or a pouch HQ never answered
	EventSetAside     = "set aside"     // a peer's pouch HQ kept failing, answered with the error
	EventDocument     = "document"      // a peer gave this mission a document of HQ's update
	EventServed       = "served"        // this mission gave a peer a document of HQ's update
)

// AnswerKept is how long HQ's answer to a carried pouch waits for its
// mission. A mission that comes back later sends its changes again: only
// HQ's receipt ever cleared them.
const AnswerKept = 30 * 24 * time.Hour

// UnansweredKept is how long a peer's pouch waits here for HQ to answer
// it. Its mission keeps every change until HQ's receipt covers it, so a
// pouch dropped costs nothing but a resend; one kept for good would keep
// its peer's share of the store.
const UnansweredKept = 14 * 24 * time.Hour

// MaxCarryFailures is how many times HQ may fail a carried pouch (an
// error of HQ's, such as a 500) before it is set aside, answered with
// the error, so that it holds up none of the pouches after it.
const MaxCarryFailures = 3

// PeerShare is the part of the relay store one peer may fill.
const PeerShare = 4

// DefaultRelayQuota bounds the bytes held for peers; one peer may use a
// PeerShare-th of it.
const DefaultRelayQuota = 256 << 20

// Identity is the mission's identity towards its peers: its signing key
// and HQ's card for it.
func (l *Link) Identity(ctx context.Context) (relay.Identity, error) {
	k, err := l.DB.Link(ctx)
	if err != nil {
		return relay.Identity{}, err
	}
	p, err := peerOf(k)
	if err != nil {
		return relay.Identity{}, err
	}
	card := k.Card
	if card == "" {
		return relay.Identity{}, errors.New("HQ has issued no card for this mission's key (it was enrolled by an older HQ); rotate the keys or enroll again")
	}
	id := relay.Identity{Mission: p.mission, Card: card, Key: p.current.sk, HQ: p.hq.key, Revoked: k.Revoked}
	for _, s := range []string{k.PeerKey, k.PeerKeyPrev} {
		if pk, err := relay.ParsePeerKey(s); err == nil {
			id.PeerKeys = append(id.PeerKeys, pk)
		}
	}
	return id, nil
}

func (l *Link) log(ctx context.Context, e store.RelayEvent) {
	l.DB.LogRelay(context.WithoutCancel(ctx), e)
}

// Relay sends the mission's changes through its peers: first it takes
// every reply they hold for it, then, if the peers that reach HQ hold
// none of its pouches unanswered, it hands them the next pouch (a pouch
// with no changes asks HQ for its news). It returns an error when no peer
// could be given the pouch and none is carrying one.
func (l *Link) Relay(ctx context.Context, peers []relay.Peer, c *relay.Client) error {
	if _, err := l.peer(ctx); err != nil {
		return err
	}
	l.Collect(ctx, peers, c)
	linked := slices.DeleteFunc(slices.Clone(peers), func(p relay.Peer) bool { return !p.Meta.HQLink })
	if len(linked) == 0 {
		return errors.New("no peer mission can reach HQ either; the changes wait here")
	}
	slices.SortFunc(linked, func(a, b relay.Peer) int { return b.Meta.LastHQ.Compare(a.Meta.LastHQ) })
	var peersHave int64
	for _, p := range peers {
		peersHave = max(peersHave, p.Meta.Release)
	}
	raw, m, err := l.SealForPeers(ctx, peersHave)
	if err != nil {
		return err
	}
	sum := relay.Sum(raw)
	carrying, handed := 0, 0
	var errs []error
	for _, p := range linked {
		off, err := c.Offer(ctx, p, raw)
		switch {
		case err != nil:
			l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventPeerRefused, Pouch: sum, Bytes: int64(len(raw)), Detail: err.Error()})
			errs = append(errs, err)
			continue
		case !off.Accept:
			l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventPeerRefused, Pouch: sum, Bytes: int64(len(raw)), Detail: off.Reason})
			errs = append(errs, fmt.Errorf("%s: %s", p.Name, off.Reason))
			continue
		case off.Holding > 0 && time.Since(l.handedTo(p.Name)) < Patience:
			carrying++ // it has one of ours on the way; wait for HQ's answer
			continue
		}
		if err := c.Hand(ctx, p, raw); err != nil {
			l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventPeerRefused, Pouch: sum, Bytes: int64(len(raw)), Detail: err.Error()})
			errs = append(errs, err)
			continue
		}
		handed++
		l.await(sum, true)
		l.mu.Lock()
		l.handed[p.Name] = time.Now()
		l.mu.Unlock()
		l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventHanded, Pouch: sum, Bytes: int64(len(raw)), Detail: describe(m)})
		if m.Kind == pouch.KindChanges && m.Records > 0 {
			if err := l.DB.UpdateLink(ctx, func(k *store.Link) error {
				k.CarriedThrough, k.CarriedBy, k.CarriedAt = max(k.CarriedThrough, m.Last), p.Name, l.DB.Now()
				return nil
			}); err != nil {
				return err
			}
		}
	}
	if handed+carrying == 0 {
		return fmt.Errorf("no peer took the pouch: %w", errors.Join(errs...))
	}
	return nil
}

// Patience is how long a mission leaves a pouch with a peer that says it
// still holds one of its pouches for HQ, before it hands that peer the
// next one anyway: a peer that keeps saying so and never answers must not
// keep the mission's changes from HQ.
const Patience = 10 * time.Minute

// handedTo is when this agent last handed a pouch to peer; zero if not
// since it started.
func (l *Link) handedTo(peer string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.handed[peer]
}

// await notes a pouch handed to peers, or one whose answer came back.
func (l *Link) await(sum string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.awaiting == nil {
		l.awaiting, l.handed = map[string]bool{}, map[string]time.Time{}
	}
	if on {
		l.awaiting[sum] = true
	} else {
		delete(l.awaiting, sum)
	}
}

// Awaiting reports how many pouches handed to peers since the agent
// started still wait for an answer from HQ.
func (l *Link) Awaiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.awaiting)
}

func describe(m pouch.Manifest) string {
	switch {
	case m.Kind == pouch.KindRekey:
		return "the mission's new keys"
	case m.Records == 0:
		return "no changes: asks HQ for its news"
	}
	return fmt.Sprintf("changes %d to %d", m.First, m.Last)
}

// Collect takes the replies the peers hold for this mission, and returns
// how many of HQ's receipts it took.
func (l *Link) Collect(ctx context.Context, peers []relay.Peer, c *relay.Client) int {
	n := 0
	for _, p := range peers {
		n += l.collect(ctx, p, c)
	}
	return n
}

// collect takes the replies a peer holds for this mission. A reply that
// is not HQ's, or not for this mission, or older than one already taken,
// is refused and logged; it changes nothing. Either way the peer may
// forget it: what it carried is sent again until HQ's receipt covers it.
func (l *Link) collect(ctx context.Context, p relay.Peer, c *relay.Client) (taken int) {
	rs, err := c.Replies(ctx, p)
	if err != nil || len(rs) == 0 {
		return 0
	}
	var done []string
	for _, r := range rs {
		done = append(done, r.Pouch)
		l.await(r.Pouch, false)
		if r.Error != "" {
			l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventHQRefused, Pouch: r.Pouch, Detail: r.Error})
			continue
		}
		rc, err := l.TakeReply(ctx, r.Reply)
		if errors.Is(err, ErrReplay) {
			// Two peers carried the same pouch, or one replays an old
			// reply: either way it is ignored.
			l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventStale, Pouch: r.Pouch, Bytes: int64(len(r.Reply)), Detail: err.Error()})
			continue
		}
		if err != nil {
			l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventReplyRefused, Pouch: r.Pouch, Bytes: int64(len(r.Reply)), Detail: err.Error()})
			continue
		}
		l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventReceipt, Pouch: r.Pouch, Bytes: int64(len(r.Reply)),
			Detail: fmt.Sprintf("HQ holds every change up to %d", rc.Through)})
		taken++
	}
	c.Done(ctx, p, done)
	return taken
}

// Carrier is the relay store of this mission: the pouches it carries to
// HQ for its peers, within Quota bytes.
type Carrier struct {
	Link  *Link
	Quota int64
}

var _ relay.Carrier = Carrier{}

func (c Carrier) quota() int64 { return cmp.Or(c.Quota, DefaultRelayQuota) }

func (c Carrier) peerQuota() int64 { return c.quota() / PeerShare }

// Offer implements relay.Carrier.
func (c Carrier) Offer(ctx context.Context, from, sum string, size int64) (relay.Offer, error) {
	k, err := c.Link.DB.Link(ctx)
	if err != nil {
		return relay.Offer{}, err
	}
	if k.HQURL == "" {
		return relay.Offer{Reason: "this mission has no link to HQ either"}, nil
	}
	used, mine, holding, err := c.Link.DB.RelayUse(ctx, from)
	if err != nil {
		return relay.Offer{}, err
	}
	if used+size > c.quota() {
		c.Link.log(ctx, store.RelayEvent{Peer: from, Event: EventFull, Pouch: sum, Bytes: size, Detail: fmt.Sprintf("%d of %d bytes in use", used, c.quota())})
		return relay.Offer{Holding: holding, Reason: fmt.Sprintf("the relay store here is full (%d of %d bytes)", used, c.quota())}, nil
	}
	if mine+size > c.peerQuota() {
		c.Link.log(ctx, store.RelayEvent{Peer: from, Event: EventFull, Pouch: sum, Bytes: size, Detail: fmt.Sprintf("its share: %d of %d bytes in use", mine, c.peerQuota())})
		return relay.Offer{Holding: holding, Reason: fmt.Sprintf("your share of the relay store here is full (%d of %d bytes); try another peer", mine, c.peerQuota())}, nil
	}
	return relay.Offer{Accept: true, Holding: holding}, nil
}

// Hold implements relay.Carrier.
func (c Carrier) Hold(ctx context.Context, from, sum string, raw []byte) error {
	added, err := c.Link.DB.RelayHold(ctx, from, sum, raw, c.quota(), c.peerQuota())
	if errors.Is(err, store.ErrRelayFull) {
		c.Link.log(ctx, store.RelayEvent{Peer: from, Event: EventFull, Pouch: sum, Bytes: int64(len(raw))})
		return relay.ErrFull
	}
	if err == nil && added {
		c.Link.log(ctx, store.RelayEvent{Peer: from, Event: EventTaken, Pouch: sum, Bytes: int64(len(raw))})
	}
	return err
}

// Replies implements relay.Carrier.
func (c Carrier) Replies(ctx context.Context, mission string) ([]relay.Reply, error) {
	as, err := c.Link.DB.RelayAnswers(ctx, mission)
	out := make([]relay.Reply, len(as))
	for i, a := range as {
		out[i] = relay.Reply{Pouch: a.Sum, Reply: a.Reply, Error: a.Error, At: a.At}
	}
	return out, err
}

// Document implements relay.Carrier.
func (c Carrier) Document(ctx context.Context, mission, sum string) ([]byte, error) {
	body, err := c.Link.DB.Document(ctx, sum)
	if err == nil && body != nil {
		c.Link.log(ctx, store.RelayEvent{Peer: mission, Event: EventServed, Pouch: sum, Bytes: int64(len(body))})
	}
	return body, err
}

// DocumentsFrom finds release documents at the peers peers lists, for
// Link.Documents.
func (l *Link) DocumentsFrom(peers func() []relay.Peer, c *relay.Client) func(context.Context, string) []byte {
	return func(ctx context.Context, sum string) []byte {
		for _, p := range peers() {
			body, err := c.Document(ctx, p, sum)
			if err == nil && body != nil && relay.Sum(body) == sum {
				l.log(ctx, store.RelayEvent{Peer: p.Name, Event: EventDocument, Pouch: sum, Bytes: int64(len(body))})
				return body
			}
		}
		return nil
	}
}

// Done implements relay.Carrier.
func (c Carrier) Done(ctx context.Context, mission string, sums []string) error {
	n, err := c.Link.DB.RelayTaken(ctx, mission, sums)
	if err == nil && n > 0 {
		c.Link.log(ctx, store.RelayEvent{Peer: mission, Event: EventReturned, Detail: fmt.Sprintf("%d repl%s", n, map[bool]string{true: "y", false: "ies"}[n == 1])})
	}
	return err
}

// Carry hands HQ the pouches held for peers, and keeps HQ's answers for
// them. A pouch HQ refuses is answered with the refusal; one that could
// not be sent stays for the next try.
func (l *Link) Carry(ctx context.Context) error {
	gone, err := l.DB.RelayExpire(ctx, l.DB.Now().Add(-AnswerKept))
	if err != nil {
		return err
	}
	for _, g := range gone {
		l.log(ctx, store.RelayEvent{Peer: g.Mission, Event: EventExpired, Pouch: g.Sum, Detail: "not taken in 30 days"})
	}
	unanswered, err := l.DB.RelayExpireUnanswered(ctx, l.DB.Now().Add(-UnansweredKept))
	if err != nil {
		return err
	}
	for _, g := range unanswered {
		l.log(ctx, store.RelayEvent{Peer: g.Mission, Event: EventExpired, Pouch: g.Sum, Detail: "HQ did not answer it in 14 days; the mission sends its changes again"})
	}
	held, err := l.DB.RelayToCarry(ctx)
	if err != nil || len(held) == 0 {
		return err
	}
	st, err := l.Status(ctx)
	if err != nil {
		return err
	}
	for _, h := range held {
		c := *l.Client
		c.BaseURL, c.CarriedBy = st.HQURL, st.Mission
		reply, err := c.Exchange(ctx, h.Raw)
		var re *exchange.RemoteError
		switch {
		case errors.As(err, &re) && re.Final:
			if err := l.DB.RelayAnswered(ctx, h.Sum, nil, re.Message); err != nil {
				return err
			}
			l.log(ctx, store.RelayEvent{Peer: h.Mission, Event: EventHQRefused, Pouch: h.Sum, Bytes: int64(len(h.Raw)), Detail: re.Message})
		case errors.As(err, &re):
			// HQ's own failure: tried again at the next carry, and set
			// aside after a few, never holding up the pouches after it.
			n, ferr := l.DB.RelayFailed(ctx, h.Sum, re.Message)
			if ferr != nil {
				return ferr
			}
			if n >= MaxCarryFailures {
				why := fmt.Sprintf("set aside after HQ failed it %d times: %s", n, re.Message)
				if err := l.DB.RelayAnswered(ctx, h.Sum, nil, why); err != nil {
					return err
				}
				l.log(ctx, store.RelayEvent{Peer: h.Mission, Event: EventSetAside, Pouch: h.Sum, Bytes: int64(len(h.Raw)), Detail: why})
			}
		case err != nil:
			return fmt.Errorf("carrying %s's pouch: %w", h.Mission, err)
		default:
			if err := l.DB.RelayAnswered(ctx, h.Sum, reply, ""); err != nil {
				return err
			}
			l.log(ctx, store.RelayEvent{Peer: h.Mission, Event: EventCarried, Pouch: h.Sum, Bytes: int64(len(h.Raw))})
		}
	}
	return nil
}
