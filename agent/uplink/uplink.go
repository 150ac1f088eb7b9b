// Package uplink is the mission's side of the link to headquarters:
// enrollment, the exchange that sends the change log and takes HQ's
// receipt, and the same by file for a mission with no link at all.
//
// The mission keeps its whole change log. What HQ holds is known only
// from HQ's signed receipts: the next pouch starts after the last change a
// receipt covers, so a pouch lost on the way, or an HQ restored from an
// older backup, is simply sent again.
package uplink

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"filippo.io/age"

	"chancery/agent/store"
	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/enroll"
	"chancery/shared/fault"
	"chancery/shared/problem"
	"chancery/shared/root"
	"chancery/shared/sqlite"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/sync/relay"
)

// MaxChanges is the most changes one pouch carries, and MaxBytes about
// the most bytes of them before compression. A backlog is sent as several
// pouches, oldest first.
const (
	MaxChanges = 2000
	MaxBytes   = 8 << 20
)

// Link is the mission's link to HQ.
type Link struct {
	DB     *store.DB
	Client *exchange.Client
	// Pause is the wait between two pouches of a backlog, so that many
	// missions coming back at once do not flatten HQ.
	Pause time.Duration

	// Documents, if set, finds a release document by its SHA-256 (hex)
	// at the peers; nil if none holds it. The caller checks it.
	Documents func(ctx context.Context, sha256 string) []byte

	// awaiting holds the pouches handed to peers whose reply has not come
	// back yet (see Relay).
	mu       sync.Mutex
	awaiting map[string]bool
	handed   map[string]time.Time // when a pouch was last handed to each peer

	// Observe, if set, is told how each Sync ended, what it sent and how
	// long it took: the agent's metrics count them.
	Observe func(err error, pouches int, bytes int64, took time.Duration)

	// Sent counts the pouches and their bytes that the last Sync sent
	// (each pouch once, however many times a connection dropped).
	Sent struct {
		Pouches int
		Bytes   int64
	}

	// audit is the audit mark last computed, reused by the pouches of one
	// backlog (see auditMark).
	auditMu sync.Mutex
	audit   struct {
		at, last int64
		when     time.Time
		mark     pouch.AuditMark
	}
}

// short is a chain hash (hex) as it travels: its first 16 bytes, in
// unpadded base64url.
func short(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) < 16 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b[:16])
}

// auditMark is where the mission's audit chain stands, recomputed from
// its entries, with its hash at entry at (see pouch.AuditMark). Reading
// a long log costs about 100 ms for 20,000 entries, so the pouches of
// one backlog share a mark computed in the last minute while no entry
// was added.
func (l *Link) auditMark(ctx context.Context, at int64) (pouch.AuditMark, error) {
	var last int64
	if err := l.DB.SQL().QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM audit").Scan(&last); err != nil {
		return pouch.AuditMark{}, err
	}
	l.auditMu.Lock()
	defer l.auditMu.Unlock()
	if c := l.audit; c.at == at && c.last == last && time.Since(c.when) < time.Minute {
		return c.mark, nil
	}
	var m pouch.AuditMark
	var err error
	if m.Entries, m.Head, m.AtHash, err = account.AuditMark(ctx, l.DB.SQL(), at); err != nil {
		return m, err
	}
	if m.AtHash != "" {
		m.At = at
	}
	m.Head, m.AtHash = short(m.Head), short(m.AtHash)
	l.audit.at, l.audit.last, l.audit.when, l.audit.mark = at, last, time.Now(), m
	return m, nil
}

// MaxClockSkew is how far this machine's clock may be from HQ's before
// the Sync page says so. Nothing depends on the clocks agreeing; people
// reading dates do.
const MaxClockSkew = 3 * time.Minute

// ErrReplay refuses a reply from HQ older than one already taken.
var ErrReplay = errors.New("HQ's reply is a replay")

// ErrNotEnrolled is returned by a sync before enrollment.
var ErrNotEnrolled = problem.New(problem.Conflict, "uplink.not_enrolled")

// Status is what the sync page shows.
type Status struct {
	Enrolled bool
	Mission  string
	HQURL    string
	// HQFingerprint is the fingerprint of HQ's signing key pinned at
	// enrollment, for staff to compare with the one HQ shows.
	HQFingerprint string
	// RootVersion is the version of HQ's root of trust followed; 0 for
	// none (the key pinned at enrollment is trusted).
	RootVersion int64
	// ClockSkew is how far this machine's clock is ahead of HQ's, when it
	// is more than MaxClockSkew either way; 0 otherwise.
	ClockSkew time.Duration
	LastOK    *time.Time
	LastTry   *time.Time
	LastError string
	// Refused is HQ's last refusal that trying again cannot mend (see
	// store.Link.Refused).
	Refused string
	// CarriedThrough, CarriedBy and CarriedAt: the newest pouch a peer
	// took to HQ for this mission.
	CarriedThrough int64
	CarriedBy      string
	CarriedAt      time.Time
	Upload         string
	Acked          int64
	Pending        int64
}

// Status reports the link's state.
func (l *Link) Status(ctx context.Context) (Status, error) {
	last, err := l.DB.LastSeq(ctx)
	if err != nil {
		return Status{}, err
	}
	k, err := l.DB.Link(ctx)
	if err != nil {
		return Status{}, err
	}
	s := Status{Enrolled: k.Enrolled(), Mission: k.Mission, HQURL: k.HQURL, LastError: k.LastError, Acked: k.Acked, Pending: max(0, last-k.Acked),
		Refused: k.Refused, CarriedThrough: k.CarriedThrough, CarriedBy: k.CarriedBy, CarriedAt: k.CarriedAt}
	if k.HQSigning != "" {
		s.HQFingerprint = exchange.Fingerprint(k.HQSigning)
	}
	if t, err := root.Load([]byte(k.Root)); err == nil {
		s.RootVersion = t.Statement.Version
	}
	if k.ClockSkew > MaxClockSkew || k.ClockSkew < -MaxClockSkew {
		s.ClockSkew = k.ClockSkew
	}
	if k.UploadTotal > 0 {
		s.Upload = fmt.Sprintf("%d of %d bytes", k.UploadSent, k.UploadTotal)
	}

	if !k.LastOK.IsZero() {
		s.LastOK = &k.LastOK
	}
	if !k.LastTry.IsZero() {
		s.LastTry = &k.LastTry
	}
	return s, nil
}

// Enroll registers the mission with HQ using a one-time code, and pins
// HQ's keys.
func (l *Link) Enroll(ctx context.Context, hqURL, code, mission string) (exchange.EnrollResponse, error) {
	req, err := l.EnrollRequest(ctx, code, mission)
	if err != nil {
		return exchange.EnrollResponse{}, err
	}
	c := *l.Client
	c.BaseURL = hqURL
	resp, err := c.Enroll(ctx, req)
	if err != nil {
		return resp, err
	}
	return resp, l.EnrollResponse(ctx, hqURL, code, resp)
}

// EnrollRequest makes fresh keys for this enrollment and the request
// that registers them. Every enrollment gets new keys, so that a key HQ
// revoked is never brought back. Until HQ answers, the keys in use stay.
func (l *Link) EnrollRequest(ctx context.Context, code, mission string) (exchange.EnrollRequest, error) {
	k := newKeyPair()
	if err := l.DB.UpdateLink(ctx, func(s *store.Link) error { s.Keys.Enrolling = k.String(); return nil }); err != nil {
		return exchange.EnrollRequest{}, err
	}
	return exchange.NewEnrollRequest(code, mission, k.id.Recipient().String(), base64.StdEncoding.EncodeToString(k.public())), nil
}

// EnrollResponse checks HQ's answer to an enrollment request against the
// code, pins HQ's keys and puts the enrollment's keys in use. hqURL is
// empty for a mission enrolled by file, which then syncs by file.
func (l *Link) EnrollResponse(ctx context.Context, hqURL, code string, resp exchange.EnrollResponse) error {
	if err := l.pin(ctx, hqURL, enroll.Key(code), resp); err != nil {
		return err
	}
	return l.DB.Audit(ctx, account.System, "enroll", resp.Mission, cmp.Or(hqURL, "by file"))
}

// ErrEnrollAnswer refuses an enrollment answer that does not carry the
// code's MAC over it and this mission's request.
var ErrEnrollAnswer = errors.New("HQ's enrollment answer is not authenticated by this code: it did not come from the HQ that issued the code (something on the way may have changed it), or the code is another one. Nothing was pinned; check the code and try again")

func (l *Link) pin(ctx context.Context, hqURL string, codeKey []byte, resp exchange.EnrollResponse) error {
	return l.DB.UpdateLink(ctx, func(s *store.Link) error {
		if s.Keys.Enrolling == "" {
			return errors.New("there is no enrollment request waiting for this answer; make the request again")
		}
		k, err := parseKeyPair(s.Keys.Enrolling)
		if err != nil {
			return err
		}
		// Nothing of the answer is read before its MAC is checked.
		req := exchange.EnrollRequest{AgeRecipient: k.id.Recipient().String(), SigningKey: base64.StdEncoding.EncodeToString(k.public())}
		if !hmac.Equal([]byte(resp.MAC), []byte(resp.Sum(codeKey, req))) {
			return ErrEnrollAnswer
		}
		for _, r := range resp.HQRecipients {
			if _, err := age.ParseX25519Recipient(r); err != nil {
				return fmt.Errorf("HQ sent a recipient that is not an age key: %w", err)
			}
		}
		hqKey, err := base64.StdEncoding.DecodeString(resp.HQSigningKey)
		if err != nil || len(hqKey) != ed25519.PublicKeySize {
			return errors.New("HQ sent a signing key that is not Ed25519")
		}
		if resp.Card != "" && !cardFor(hqKey, resp.Card, resp.Mission, k) {
			return errors.New("HQ's card for the mission's key does not match the key enrolled; enroll again")
		}
		if resp.Root != "" {
			// HQ's root of trust, authenticated by the code like the rest
			// of the answer: from now on only keys it certifies are HQ's.
			t, err := root.Load([]byte(resp.Root))
			if err != nil {
				return fmt.Errorf("HQ's root of trust in its answer: %w", err)
			}
			if !t.Certifies(resp.HQSigningKey) {
				return errors.New("HQ's root of trust does not certify the key HQ signs with; tell HQ, and do not use this enrollment")
			}
		}
		s.Root = resp.Root
		if resp.PeerKey != "" {
			if _, err := relay.ParsePeerKey(resp.PeerKey); err != nil {
				return fmt.Errorf("HQ's answer carries a peer key that is not one: %w", err)
			}
			s.PeerKey, s.PeerKeyPrev = resp.PeerKey, ""
		}
		s.Mission, s.Name = resp.Mission, resp.Name
		// Unsigned, and so only a first guess: the receipts say it again.
		s.PouchFormat = max(1, min(resp.PouchFormat, pouch.Format))
		s.HQURL, s.HQRecipients, s.HQSigning, s.Card = hqURL, resp.HQRecipients, resp.HQSigningKey, resp.Card
		s.Keys = store.Keys{Current: s.Keys.Enrolling, Previous: s.Keys.Current}
		s.ReceiptAt = time.Time{}
		return nil
	})
}

// pinnedHQ is HQ as the mission trusts it: the key HQ signs with, pinned
// at enrollment or certified by the root of trust followed since, and
// that root.
type pinnedHQ struct {
	key  ed25519.PublicKey
	root root.Trusted
}

func (p pinnedHQ) SigningKey(site, keyID string) (ed25519.PublicKey, error) {
	if site == "HQ" && keyID == pouch.KeyID(p.key) {
		return p.key, nil
	}
	for _, k := range p.root.Statement.Online.Signing {
		if b, err := base64.StdEncoding.DecodeString(k); err == nil && len(b) == ed25519.PublicKeySize && site == "HQ" && keyID == pouch.KeyID(b) {
			return ed25519.PublicKey(b), nil
		}
	}
	what := "the HQ key pinned at enrollment"
	if !p.root.Zero() {
		what = fmt.Sprintf("certified by HQ's root of trust (version %d)", p.root.Statement.Version)
	}
	return nil, fmt.Errorf("%w: %s/%s is not %s", pouch.ErrUnknownKey, site, keyID, what)
}

// follow is HQ as trusted once the root statements a reply carries are
// followed (see root.Trusted.Follow): the root's first online key
// becomes the one HQ signs with.
func (p pinnedHQ) follow(roots []json.RawMessage) (pinnedHQ, error) {
	chain := make([][]byte, len(roots))
	for i, r := range roots {
		chain[i] = r
	}
	t, err := p.root.Follow(chain, base64.StdEncoding.EncodeToString(p.key))
	if err != nil {
		return p, err
	}
	if t.Statement.Version == p.root.Statement.Version {
		return p, nil
	}
	k, _ := base64.StdEncoding.DecodeString(t.Statement.Online.Signing[0])
	return pinnedHQ{key: ed25519.PublicKey(k), root: t}, nil
}

type peer struct {
	mission    string
	current    keyPair
	next       *keyPair // keys being rotated to, until HQ confirms them
	readers    []*age.X25519Identity
	recipients []*age.X25519Recipient
	hq         pinnedHQ
	format     int // the pouch format HQ reads
}

func (l *Link) peer(ctx context.Context) (peer, error) {
	k, err := l.DB.Link(ctx)
	if err != nil {
		return peer{}, err
	}
	return peerOf(k)
}

// peerOf reads the keys of a link record: the mission's pairs by slot and
// HQ's pinned keys. A damaged key is an error, never an empty slot.
func peerOf(k store.Link) (peer, error) {
	var p peer
	if !k.Enrolled() {
		return p, ErrNotEnrolled
	}
	cur, err := parseKeyPair(k.Keys.Current)
	if err != nil {
		return p, err
	}
	p.mission, p.current, p.readers, p.format = k.Mission, cur, []*age.X25519Identity{cur.id}, k.PouchFormat
	if k.Keys.Next != "" {
		next, err := parseKeyPair(k.Keys.Next)
		if err != nil {
			return p, err
		}
		p.next = &next
		p.readers = append(p.readers, next.id)
	}
	if k.Keys.Previous != "" {
		prev, err := parseKeyPair(k.Keys.Previous)
		if err != nil {
			return p, err
		}
		p.readers = append(p.readers, prev.id)
	}
	hq, err := base64.StdEncoding.DecodeString(k.HQSigning)
	if err != nil || len(hq) != ed25519.PublicKeySize {
		return p, errors.New("HQ's signing key pinned in the database is damaged; enroll again")
	}
	p.hq = pinnedHQ{key: ed25519.PublicKey(hq)}
	if p.hq.root, err = root.Load([]byte(k.Root)); err != nil {
		return p, fmt.Errorf("HQ's root of trust kept in the database is damaged: %w", err)
	}
	for _, s := range k.HQRecipients {
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return p, fmt.Errorf("HQ's recipient pinned in the database is damaged: %w", err)
		}
		p.recipients = append(p.recipients, r)
	}
	return p, nil
}

// Seal makes the next pouch: while a key rotation waits for HQ, the
// pouch that announces the new keys; otherwise the changes after the last
// receipt, at most MaxChanges of them (none: a request for HQ's reply).
func (l *Link) Seal(ctx context.Context) ([]byte, pouch.Manifest, error) {
	return l.seal(ctx, false, 0)
}

// Deferred reports whether a release waits for documents that the peers
// did not have.
func (l *Link) Deferred(ctx context.Context) (bool, error) {
	k, err := l.DB.Link(ctx)
	return k.Deferred != 0, err
}

// SealForPeers is Seal for a pouch that peers carry, peersHave being the
// newest HQ release they hold. It asks HQ to leave out the documents of a
// release, which the peers hold; but not after the peers lacked them,
// unless they lacked them only for not having that release yet and hold
// it now.
func (l *Link) SealForPeers(ctx context.Context, peersHave int64) ([]byte, pouch.Manifest, error) {
	return l.seal(ctx, true, peersHave)
}

func (l *Link) seal(ctx context.Context, viaPeers bool, peersHave int64) ([]byte, pouch.Manifest, error) {
	k, err := l.DB.Link(ctx)
	if err != nil {
		return nil, pouch.Manifest{}, err
	}
	p, err := peerOf(k)
	if err != nil {
		return nil, pouch.Manifest{}, err
	}
	if p.next != nil {
		return l.sealRekey(p)
	}
	if !viaPeers {
		// A large pouch already on its way goes again, byte for byte, so
		// that its upload resumes where HQ got to; once HQ holds its
		// first change it is of no more use.
		o, ok, err := l.DB.PendingOutgoing(ctx)
		if err != nil {
			return nil, pouch.Manifest{}, err
		}
		if ok && o.First == k.Acked+1 {
			return o.Raw, pouch.Manifest{ID: o.ID, Kind: pouch.KindChanges, From: p.mission, To: "HQ", First: o.First, Last: o.Last, Records: o.Records}, nil
		}
		if ok {
			if err := l.DB.DropOutgoing(ctx); err != nil {
				return nil, pouch.Manifest{}, err
			}
		}
	}
	cs, err := l.DB.Changes(ctx, k.Acked, MaxChanges)
	if k.RestoredSeq >= 0 {
		// Restored from a backup: nothing goes before HQ has said how far
		// the log really went (see store.Reconcile).
		cs = nil
	}
	if err != nil {
		return nil, pouch.Manifest{}, err
	}
	lines, err := pouch.ChangeLines(cs)
	if err != nil {
		return nil, pouch.Manifest{}, err
	}
	// Evidence files make some changes large: a pouch stops at MaxBytes,
	// and always holds at least one change.
	size := 0
	for i, l := range lines {
		size += len(l)
		if i > 0 && size > MaxBytes {
			cs, lines = cs[:i], lines[:i]
			break
		}
	}
	hint, hinted := false, int64(-1)
	if viaPeers {
		hint = k.Deferred == 0 || (k.DeferredHad < k.Deferred && peersHave >= k.Deferred)
	}
	if hint {
		hinted = peersHave
	}
	if k.PeerDocuments != hinted {
		if err := l.DB.UpdateLink(ctx, func(s *store.Link) error { s.PeerDocuments = hinted; return nil }); err != nil {
			return nil, pouch.Manifest{}, err
		}
	}
	env := pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: p.recipients, PeerDocuments: hint, Root: p.hq.root.Statement.Version, Format: p.format}
	// Where the audit chain stands, recomputed from its entries: HQ sees
	// a history rewritten since it last heard.
	mark, err := l.auditMark(ctx, k.AuditAt)
	if err != nil {
		return nil, pouch.Manifest{}, err
	}
	env.Audit = &mark
	if pk, err := relay.ParsePeerKey(k.PeerKey); err == nil {
		env.PeerEpoch = pk.Epoch
	}
	if len(cs) > 0 {
		env.First, env.Last = cs[0].Seq, cs[len(cs)-1].Seq
	}
	var buf bytes.Buffer
	m, err := pouch.Seal(&buf, pouch.Sender{Site: p.mission, Key: p.current.sk}, env, lines)
	if err != nil {
		return nil, m, err
	}
	if !viaPeers && buf.Len() > exchange.SmallPouch && len(cs) > 0 {
		// Large enough to go by resumable upload: kept, so that a cut
		// link or a restart costs only the bytes in flight.
		if err := l.DB.KeepOutgoing(ctx, store.Outgoing{ID: m.ID, First: m.First, Last: m.Last, Records: m.Records, Raw: buf.Bytes()}); err != nil {
			return nil, m, err
		}
	}
	return buf.Bytes(), m, nil
}

// TakeReply opens HQ's reply pouch and records its receipt.
func (l *Link) TakeReply(ctx context.Context, raw []byte) (exchange.Receipt, error) {
	return l.takeReply(ctx, raw, "")
}

// takeReply is TakeReply; sent, if not empty, is the pouch this reply
// answers in the same HTTP exchange. Such a reply is HQ's answer now,
// whatever its counter says (an HQ restored from a backup counts from
// where the backup stood); a reply brought by a peer or a file must not be
// older than one already taken.
func (l *Link) takeReply(ctx context.Context, raw []byte, sent string) (exchange.Receipt, error) {
	p, err := l.peer(ctx)
	if err != nil {
		return exchange.Receipt{}, err
	}
	// A reply may bring root statements the mission has not followed:
	// HQ's new online keys are learnt from them, and checked against the
	// root, before the signature made with them is.
	followed := p.hq
	rc := pouch.Receiver{Site: p.mission, Identities: p.readers, Keys: p.hq, Follow: func(roots []json.RawMessage) (pouch.Keys, error) {
		var err error
		followed, err = p.hq.follow(roots)
		return followed, err
	}}
	rp, err := rc.Open(bytes.NewReader(raw))
	if err != nil {
		return exchange.Receipt{}, fmt.Errorf("HQ's reply was refused: %w", err)
	}
	rootMoved := followed.root.Statement.Version != p.hq.root.Statement.Version
	p.hq = followed
	reply, err := exchange.ParseReply(rp.Lines)
	r := reply.Receipt
	if rp.Manifest.Kind != pouch.KindReply || err != nil || r.Mission != p.mission {
		return r, fmt.Errorf("%w: HQ's reply carries no receipt for %s", pouch.ErrMalformed, p.mission)
	}
	if k, err := l.DB.Link(ctx); err != nil {
		return r, err
	} else if k.RestoredSeq >= 0 && sent != "" && r.Pouch == sent {
		// The first answer since a restore: the changes made since are
		// numbered after what HQ holds.
		if _, err := l.DB.Reconcile(ctx, r.Through); err != nil {
			return r, err
		}
	}
	last, err := l.DB.LastSeq(ctx)
	if err != nil {
		return r, err
	}
	// HQ's receipt is the truth about what HQ holds, even when it is less
	// than an earlier receipt said (an HQ restored from a backup): the
	// changes after it are sent again. It cannot cover more than exists.
	through := min(r.Through, last)
	err = l.DB.UpdateLink(ctx, func(s *store.Link) error {
		// A reply older than one already taken is a replay (a relay, or a
		// file, bringing back an old answer): taking it would move the
		// mission's view of HQ backwards. Older is by HQ's reply counter,
		// not by a clock; an HQ that keeps no counter is judged by its.
		live := sent != "" && r.Pouch == sent
		switch {
		case live:
		case r.Serial > 0 && r.Serial < s.ReplySerial:
			return fmt.Errorf("%w: it is HQ's reply number %d, and number %d was already taken", ErrReplay, r.Serial, s.ReplySerial)
		case r.Serial == 0 && r.At.Before(s.ReceiptAt):
			return fmt.Errorf("%w: HQ signed it on %s, and a later reply (%s) was already taken", ErrReplay,
				r.At.Format(time.RFC3339), s.ReceiptAt.Format(time.RFC3339))
		}
		s.Acked, s.ReceiptAt = through, r.At
		if rootMoved {
			if cur, err := root.Load([]byte(s.Root)); err != nil || cur.Statement.Version >= followed.root.Statement.Version {
				return fmt.Errorf("HQ's root of trust moved while this reply was read; it is taken again at the next exchange")
			}
			s.Root = string(followed.root.Signed.Encode())
			s.HQSigning = base64.StdEncoding.EncodeToString(followed.key)
			s.Card = "" // signed with HQ's old key; the renewed one is in this receipt
		}
		s.Revoked = slices.Clone(r.Revoked)
		s.AuditAt = r.AuditAt
		if r.Reads > 0 {
			// HQ's signed word on the pouch format it reads.
			s.PouchFormat = min(r.Reads, pouch.Format)
		}
		if r.PeerKey != "" && r.PeerKey != s.PeerKey {
			if _, err := relay.ParsePeerKey(r.PeerKey); err != nil {
				return fmt.Errorf("HQ's receipt carries a peer key that is not one: %w", err)
			}
			s.PeerKeyPrev, s.PeerKey = s.PeerKey, r.PeerKey
		}
		if r.Card != "" && r.Rekeyed == "" && cardFor(p.hq.key, r.Card, p.mission, p.current) {
			s.Card = r.Card // renewed: the peers take it for another CardTTL
		}
		if len(r.Recipients) > 0 {
			// HQ's signed word on whom pouches are sealed to from now on
			// (an escrow key added after enrollment).
			for _, rc := range r.Recipients {
				if _, err := age.ParseX25519Recipient(rc); err != nil {
					return fmt.Errorf("HQ's receipt names a recipient that is not an age key: %w", err)
				}
			}
			s.HQRecipients = slices.Clone(r.Recipients)
		}
		if live {
			// HQ signed it a moment ago: the difference is the clocks'.
			s.ClockSkew = l.DB.Now().Sub(r.At).Round(time.Second)
			// And HQ is reached, now, in the same write as the receipt:
			// no page may show a change received by HQ beside a banner
			// saying HQ is out of reach (the sync's end says it again).
			s.LastOK, s.LastError, s.Refused = l.DB.Now(), "", ""
		}
		if r.Serial > 0 {
			s.ReplySerial = r.Serial
		}
		if p.next != nil && r.Rekeyed == p.next.keyID() && s.Keys.Next == p.next.String() {
			// HQ holds the new keys: they are the mission's from now on.
			// The old identity stays to read replies sealed before the
			// change.
			s.Keys.Previous, s.Keys.Current, s.Keys.Next = s.Keys.Current, s.Keys.Next, ""
			s.Card = ""
			if cardFor(p.hq.key, r.Card, p.mission, *p.next) {
				s.Card = r.Card
			}
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	// An escalated incident whose latest change the receipt covers is at
	// HQ, whichever pouch took it there (its own, a backlog's, a peer's).
	urgent, err := l.DB.Urgent(ctx)
	if err != nil {
		return r, err
	}
	for _, c := range urgent {
		if c.Seq <= through {
			if err := l.DB.SetDelivery(ctx, c.Key, store.DeliveryReceived); err != nil {
				return r, err
			}
		}
	}
	if err := l.takeGuidance(ctx, reply.Guidance); err != nil {
		return r, err
	}
	return r, l.takeRelease(ctx, p, reply)
}

// Sync sends every pending change to HQ over HTTP, in pouches of at most
// MaxChanges, and takes HQ's receipts. It stops at the first error; what
// was not receipted is sent by the next sync.
func (l *Link) Sync(ctx context.Context) (err error) {
	start := time.Now()
	defer func() {
		if err != nil && sqlite.IsFull(err) {
			err = fmt.Errorf("%s (%w)", problem.MessageOf(sqlite.ErrFull), err)
		}
		if l.Observe != nil {
			l.Observe(err, l.Sent.Pouches, l.Sent.Bytes, time.Since(start))
		}
	}()
	if err := l.DB.UpdateLink(ctx, func(s *store.Link) error { s.LastTry = l.DB.Now(); return nil }); err != nil {
		return err
	}
	defer func() {
		werr := l.DB.UpdateLink(context.WithoutCancel(ctx), func(s *store.Link) error {
			s.LastError = ""
			var re *exchange.RemoteError
			if err != nil {
				s.LastError = err.Error()
				if sqlite.IsFull(err) {
					s.LastError = problem.MessageOf(sqlite.ErrFull)
				}
				if errors.As(err, &re) && re.Final {
					s.Refused = refusal(re)
				}
			} else {
				s.LastOK, s.Refused = l.DB.Now(), ""
			}
			return nil
		})
		err = cmp.Or(err, werr)
	}()
	if _, err := l.peer(ctx); err != nil {
		return err
	}
	if st, err := l.Status(ctx); err != nil {
		return err
	} else if st.HQURL == "" {
		return problem.New(problem.Conflict, "uplink.by_file")
	}
	stuck := int64(-1)
	l.Sent.Pouches, l.Sent.Bytes = 0, 0
	var n int
	var b int64
	if k, kerr := l.DB.Link(ctx); kerr != nil {
		return kerr
	} else if k.RestoredSeq < 0 { // after a restore, the log is reconciled first
		n, b, err = l.sendUrgent(ctx, 0)
	}
	l.Sent.Pouches, l.Sent.Bytes = l.Sent.Pouches+n, l.Sent.Bytes+b
	if err != nil {
		return err
	}
	// A sync sends what was pending when it started, and then at most
	// followUps more pouches for what taking HQ's replies logged (reports
	// on releases): it always ends, whatever HQ answers.
	const followUps = 2
	startLast, err := l.DB.LastSeq(ctx)
	if err != nil {
		return err
	}
	extra := 0
	for i := 0; ; i++ {
		st, err := l.Status(ctx)
		if err != nil {
			return err
		}
		if i > 0 {
			if st.Pending <= 0 {
				return nil
			}
			if st.Acked >= startLast {
				if extra++; extra > followUps {
					return nil // the rest goes with the next sync
				}
			}
			select {
			case <-time.After(l.Pause):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		fault.Point("agent-before-seal")
		raw, m, err := l.Seal(ctx)
		if err != nil {
			return err
		}
		fault.Point("agent-after-seal")
		c := *l.Client
		c.BaseURL = st.HQURL
		c.Progress = func(sent, total int) {
			// Progress is for the Sync page; an upload does not fail for
			// want of showing it.
			_ = l.DB.UpdateLink(ctx, func(s *store.Link) error {
				s.UploadSent, s.UploadTotal = int64(sent), int64(total)
				return nil
			})
		}
		o, kept, oerr := l.DB.PendingOutgoing(ctx)
		if oerr != nil {
			return oerr
		}
		kept = kept && o.ID == m.ID
		if kept {
			c.Location = o.Location // resume the upload begun before
			c.Created = func(loc string) {
				// Kept at once: the next attempt resumes from it, even
				// after this process dies. Failing to keep it costs only
				// the pouch's head sent again.
				_ = l.DB.SetOutgoingLocation(ctx, o.Sum, loc)
			}
		}
		reply, err := c.Exchange(ctx, raw)
		if l.olderHQ(ctx, err) {
			i-- // the same pouch again, sealed in the format HQ reads
			continue
		}
		if err != nil {
			return err
		}
		l.Sent.Pouches++
		l.Sent.Bytes += int64(len(raw))
		r, err := l.takeReply(ctx, reply, m.ID)
		if err != nil {
			return err
		}
		fault.Point("agent-after-receipt")
		if m.Kind == pouch.KindRekey {
			if r.Rekeyed == "" {
				return errors.New("HQ did not take the mission's new keys; the old ones stay in use")
			}
			continue
		}
		if m.Records == 0 {
			// Nothing was sent; but taking the reply may have logged a
			// report for HQ (an update applied), which goes now.
			if st, err := l.Status(ctx); err != nil || st.Pending <= 0 || i > 0 {
				return err
			}
			continue
		}
		if r.Through < m.Last {
			// HQ holds less than this pouch reaches: it is missing earlier
			// changes, which the next pouch carries. Twice the same answer
			// means HQ is not taking them.
			if r.Through == stuck {
				return fmt.Errorf("HQ keeps answering that it holds changes up to %d only; it is not taking the changes after that", r.Through)
			}
			stuck = r.Through
		}
	}
}

// olderHQ reports whether err is HQ refusing as unreadable a pouch
// written in a format newer than 1, which an HQ brought back on an older
// program does: the mission then writes format 1, which every HQ reads,
// until a receipt says HQ reads more, and a kept pouch of the newer
// format is dropped to be sealed again.
func (l *Link) olderHQ(ctx context.Context, err error) bool {
	var re *exchange.RemoteError
	if !errors.As(err, &re) || re.Status != http.StatusBadRequest {
		return false
	}
	downgraded := false
	werr := l.DB.UpdateLink(ctx, func(s *store.Link) error {
		downgraded = s.PouchFormat > 1
		s.PouchFormat = 1
		return nil
	})
	if werr != nil || !downgraded {
		return false
	}
	return l.DB.DropOutgoing(ctx) == nil
}

// SendUrgent sends each escalated incident not yet received by HQ, each
// in an exchange of its own, at once: it does not wait for a sync that is
// busy with a backlog. It is safe to run beside Sync (HQ takes a change
// twice as once).
func (l *Link) SendUrgent(ctx context.Context) error {
	st, err := l.Status(ctx)
	if err != nil || !st.Enrolled || st.HQURL == "" {
		return err
	}
	if k, err := l.DB.Link(ctx); err != nil || k.RestoredSeq >= 0 {
		return err // restored: the next sync reconciles the log first
	}
	// One try: if HQ does not answer within the request's budget, the
	// peers are asked at once rather than after the retries a backlog
	// gets.
	_, _, err = l.sendUrgent(ctx, 1)
	return err
}

// sendUrgent sends each escalated incident not yet received by HQ in a
// pouch of its own, ahead of any backlog. HQ takes an incident's latest
// record at once, even before the changes ahead of it have arrived; they
// follow in the usual pouches.
func (l *Link) sendUrgent(ctx context.Context, attempts int) (pouches int, size int64, err error) {
	urgent, err := l.DB.Urgent(ctx)
	if err != nil || len(urgent) == 0 {
		return 0, 0, err
	}
	p, err := l.peer(ctx)
	if err != nil {
		return pouches, size, err
	}
	st, err := l.Status(ctx)
	if err != nil {
		return pouches, size, err
	}
	for i := 0; i < len(urgent); i++ {
		c := urgent[i]
		lines, err := pouch.ChangeLines([]changelog.Change{c})
		if err != nil {
			return pouches, size, err
		}
		var buf bytes.Buffer
		m, err := pouch.Seal(&buf, pouch.Sender{Site: p.mission, Key: p.current.sk},
			pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: p.recipients, First: c.Seq, Last: c.Seq, Format: p.format}, lines)
		if err != nil {
			return pouches, size, err
		}
		cl := *l.Client
		cl.BaseURL = st.HQURL
		if attempts > 0 {
			cl.Attempts = attempts
		}
		reply, err := cl.Exchange(ctx, buf.Bytes())
		if l.olderHQ(ctx, err) {
			p.format, i = 1, i-1 // this one again, in the format HQ reads
			continue
		}
		if err != nil {
			return pouches, size, err
		}
		r, err := l.takeReply(ctx, reply, m.ID)
		if err != nil {
			return pouches, size, err
		}
		pouches++
		size += int64(buf.Len())
		if r.Pouch == m.ID {
			if err := l.DB.SetDelivery(ctx, c.Key, store.DeliveryReceived); err != nil {
				return pouches, size, err
			}
		}
		fault.Point("agent-after-urgent")
	}
	return pouches, size, nil
}
