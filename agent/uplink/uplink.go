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
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"filippo.io/age"

	"chancery/agent/store"
	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/fault"
	"chancery/shared/problem"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// Settings kept in the mission's meta table.
const (
	metaHQURL        = "uplink_hq_url"
	metaHQRecipients = "uplink_hq_recipients" // JSON array of age1… strings
	metaHQSigning    = "uplink_hq_signing"    // HQ's Ed25519 public key, base64
	metaAcked        = "uplink_acked"         // highest sequence HQ's receipts cover
	metaLastOK       = "uplink_last_ok"
	metaLastTry      = "uplink_last_try"
	metaLastError    = "uplink_last_error"
	metaUpload       = "uplink_upload" // progress of the last resumable upload
	metaCard         = "uplink_card"   // HQ's card for the signing key in use (see exchange.Card)
	metaReceiptAt    = "uplink_receipt_at"
	// Whether the last pouch asked HQ to leave a release's documents out
	// (the newest release its peers held then; empty if it did not ask),
	// and the release that waits because the peers lacked its documents,
	// with the newest release they held ("12 11"; empty if none waits).
	metaHinted        = "uplink_peer_documents"
	metaDocsFromPeers = "uplink_docs_from_peers"
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

	// Sent counts the pouches and their bytes that the last Sync sent
	// (each pouch once, however many times a connection dropped).
	Sent struct {
		Pouches int
		Bytes   int64
	}
}

// ErrReplay refuses a reply from HQ older than one already taken.
var ErrReplay = errors.New("HQ's reply is a replay")

// ErrNotEnrolled is returned by a sync before enrollment.
var ErrNotEnrolled = problem.Errorf(problem.Conflict, "This mission is not enrolled with HQ yet. Run: chancery-agent enroll --hq URL --code CODE")

// Status is what the sync page shows.
type Status struct {
	Enrolled  bool
	Mission   string
	HQURL     string
	LastOK    *time.Time
	LastTry   *time.Time
	LastError string
	Upload    string
	Acked     int64
	Pending   int64
}

func (l *Link) meta(ctx context.Context, key string) string {
	v, _ := l.DB.Meta(ctx, key, "")
	return v
}

// Status reports the link's state.
func (l *Link) Status(ctx context.Context) (Status, error) {
	last, err := l.DB.LastSeq(ctx)
	if err != nil {
		return Status{}, err
	}
	s := Status{HQURL: l.meta(ctx, metaHQURL), Mission: l.meta(ctx, store.MetaCode), LastError: l.meta(ctx, metaLastError), Upload: l.meta(ctx, metaUpload)}
	s.Enrolled = l.meta(ctx, metaHQSigning) != ""
	s.Acked, _ = strconv.ParseInt(l.meta(ctx, metaAcked), 10, 64)
	s.Pending = last - s.Acked
	for k, p := range map[string]**time.Time{metaLastOK: &s.LastOK, metaLastTry: &s.LastTry} {
		if t, err := time.Parse(time.RFC3339, l.meta(ctx, k)); err == nil {
			*p = &t
		}
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
	if err := l.DB.SetMetas(ctx, map[string]string{slotEnrolling: k.String()}); err != nil {
		return exchange.EnrollRequest{}, err
	}
	return exchange.EnrollRequest{Code: code, Mission: mission, AgeRecipient: k.id.Recipient().String(),
		SigningKey: base64.StdEncoding.EncodeToString(k.public())}, nil
}

// EnrollResponse checks HQ's answer to an enrollment request against the
// code, pins HQ's keys and puts the enrollment's keys in use. hqURL is
// empty for a mission enrolled by file, which then syncs by file.
func (l *Link) EnrollResponse(ctx context.Context, hqURL, code string, resp exchange.EnrollResponse) error {
	if !hmac.Equal([]byte(resp.MAC), []byte(resp.Sum(code))) {
		return errors.New("HQ's enrollment answer is not signed with this code: it did not come from the HQ that issued the code, or the code is another one")
	}
	k, ok, err := l.slot(ctx, slotEnrolling)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("there is no enrollment request waiting for this answer; make the request again")
	}
	if err := l.pin(ctx, hqURL, resp, k); err != nil {
		return err
	}
	return l.DB.Audit(ctx, account.System, "enroll", resp.Mission, cmp.Or(hqURL, "by file"))
}

func (l *Link) pin(ctx context.Context, hqURL string, resp exchange.EnrollResponse, k keyPair) error {
	for _, r := range resp.HQRecipients {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return fmt.Errorf("HQ sent a recipient that is not an age key: %w", err)
		}
	}
	if k, err := base64.StdEncoding.DecodeString(resp.HQSigningKey); err != nil || len(k) != ed25519.PublicKeySize {
		return errors.New("HQ sent a signing key that is not Ed25519")
	}
	hqKey, _ := base64.StdEncoding.DecodeString(resp.HQSigningKey)
	if resp.Card != "" && !cardFor(hqKey, resp.Card, resp.Mission, k) {
		return errors.New("HQ's card for the mission's key does not match the key enrolled; enroll again")
	}
	recips, _ := json.Marshal(resp.HQRecipients)
	prev := l.meta(ctx, slotCurrent)
	return l.DB.SetMetas(ctx, map[string]string{
		store.MetaCode: resp.Mission, store.MetaName: resp.Name,
		metaHQURL: hqURL, metaHQRecipients: string(recips), metaHQSigning: resp.HQSigningKey,
		slotCurrent: k.String(), slotPrevious: prev, slotEnrolling: "", slotNext: "",
		metaCard: resp.Card, metaReceiptAt: "",
	})
}

type pinnedHQ struct{ key ed25519.PublicKey }

func (p pinnedHQ) SigningKey(site, keyID string) (ed25519.PublicKey, error) {
	if site != "HQ" || keyID != pouch.KeyID(p.key) {
		return nil, fmt.Errorf("%w: %s/%s is not the HQ key pinned at enrollment", pouch.ErrUnknownKey, site, keyID)
	}
	return p.key, nil
}

type peer struct {
	mission    string
	current    keyPair
	next       *keyPair // keys being rotated to, until HQ confirms them
	readers    []*age.X25519Identity
	recipients []*age.X25519Recipient
	hq         pinnedHQ
}

func (l *Link) peer(ctx context.Context) (peer, error) {
	var p peer
	hqKey := l.meta(ctx, metaHQSigning)
	if hqKey == "" {
		return p, ErrNotEnrolled
	}
	cur, ok, err := l.slot(ctx, slotCurrent)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, ErrNotEnrolled
	}
	p.current = cur
	p.readers = []*age.X25519Identity{cur.id}
	if next, ok, err := l.slot(ctx, slotNext); err != nil {
		return p, err
	} else if ok {
		p.next = &next
		p.readers = append(p.readers, next.id)
	}
	if prev, ok, _ := l.slot(ctx, slotPrevious); ok {
		p.readers = append(p.readers, prev.id)
	}
	p.mission = l.meta(ctx, store.MetaCode)
	k, _ := base64.StdEncoding.DecodeString(hqKey)
	p.hq = pinnedHQ{ed25519.PublicKey(k)}
	var rs []string
	json.Unmarshal([]byte(l.meta(ctx, metaHQRecipients)), &rs)
	for _, s := range rs {
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return p, err
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
func (l *Link) Deferred(ctx context.Context) bool {
	v, _ := l.deferred(ctx)
	return v != 0
}

// deferred returns the release that waits for documents, and the newest
// release the peers held when the pouch that brought it was sealed.
func (l *Link) deferred(ctx context.Context) (release, peersHad int64) {
	fmt.Sscan(l.meta(ctx, metaDocsFromPeers), &release, &peersHad)
	return release, peersHad
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
	p, err := l.peer(ctx)
	if err != nil {
		return nil, pouch.Manifest{}, err
	}
	if p.next != nil {
		return l.sealRekey(p)
	}
	acked, _ := strconv.ParseInt(l.meta(ctx, metaAcked), 10, 64)
	cs, err := l.DB.Changes(ctx, acked, MaxChanges)
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
	hint, hinted := false, ""
	if viaPeers {
		v, had := l.deferred(ctx)
		hint = v == 0 || (had < v && peersHave >= v)
	}
	if hint {
		hinted = strconv.FormatInt(peersHave, 10)
	}
	if l.meta(ctx, metaHinted) != hinted {
		if err := l.DB.SetMetas(ctx, map[string]string{metaHinted: hinted}); err != nil {
			return nil, pouch.Manifest{}, err
		}
	}
	env := pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: p.recipients, PeerDocuments: hint}
	if len(cs) > 0 {
		env.First, env.Last = cs[0].Seq, cs[len(cs)-1].Seq
	}
	var buf bytes.Buffer
	m, err := pouch.Seal(&buf, pouch.Sender{Site: p.mission, Key: p.current.sk}, env, lines)
	return buf.Bytes(), m, err
}

// TakeReply opens HQ's reply pouch and records its receipt.
func (l *Link) TakeReply(ctx context.Context, raw []byte) (exchange.Receipt, error) {
	p, err := l.peer(ctx)
	if err != nil {
		return exchange.Receipt{}, err
	}
	rc := pouch.Receiver{Site: p.mission, Identities: p.readers, Keys: p.hq}
	rp, err := rc.Open(bytes.NewReader(raw))
	if err != nil {
		return exchange.Receipt{}, fmt.Errorf("HQ's reply was refused: %w", err)
	}
	var r exchange.Receipt
	if rp.Manifest.Kind != pouch.KindReply || len(rp.Lines) == 0 || json.Unmarshal(rp.Lines[0], &r) != nil || r.Type != "receipt" || r.Mission != p.mission {
		return r, fmt.Errorf("%w: HQ's reply carries no receipt for %s", pouch.ErrMalformed, p.mission)
	}
	// A reply older than one already taken is a replay (a relay, or a
	// file, bringing back an old answer): taking it would move the
	// mission's view of HQ backwards.
	if last, err := time.Parse(time.RFC3339Nano, l.meta(ctx, metaReceiptAt)); err == nil && r.At.Before(last) {
		return r, fmt.Errorf("%w: HQ signed it on %s, and a later reply (%s) was already taken", ErrReplay,
			r.At.Format(time.RFC3339), last.Format(time.RFC3339))
	}
	last, err := l.DB.LastSeq(ctx)
	if err != nil {
		return r, err
	}
	// HQ's receipt is the truth about what HQ holds, even when it is less
	// than an earlier receipt said (an HQ restored from a backup): the
	// changes after it are sent again. It cannot cover more than exists.
	through := min(r.Through, last)
	kv := map[string]string{metaAcked: strconv.FormatInt(through, 10), metaReceiptAt: r.At.Format(time.RFC3339Nano)}
	if p.next != nil && r.Rekeyed == p.next.keyID() {
		// HQ holds the new keys: they are the mission's from now on. The
		// old identity stays to read replies sealed before the change.
		kv[slotPrevious], kv[slotCurrent], kv[slotNext] = p.current.String(), p.next.String(), ""
		kv[metaCard] = ""
		if cardFor(p.hq.key, r.Card, p.mission, *p.next) {
			kv[metaCard] = r.Card
		}
	}
	if err := l.DB.SetMetas(ctx, kv); err != nil {
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
	if err := l.takeGuidance(ctx, rp.Lines[1:]); err != nil {
		return r, err
	}
	return r, l.takeRelease(ctx, p, rp.Lines[1:])
}

// Sync sends every pending change to HQ over HTTP, in pouches of at most
// MaxChanges, and takes HQ's receipts. It stops at the first error; what
// was not receipted is sent by the next sync.
func (l *Link) Sync(ctx context.Context) (err error) {
	now := func() string { return time.Now().UTC().Format(time.RFC3339) }
	l.DB.SetMetas(ctx, map[string]string{metaLastTry: now()})
	defer func() {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		m := map[string]string{metaLastError: msg}
		if err == nil {
			m[metaLastOK] = now()
		}
		l.DB.SetMetas(context.WithoutCancel(ctx), m)
	}()
	if _, err := l.peer(ctx); err != nil {
		return err
	}
	if st, err := l.Status(ctx); err != nil {
		return err
	} else if st.HQURL == "" {
		return problem.Errorf(problem.Conflict, "This mission was enrolled by file and has no HQ address: send its changes with 'chancery-agent pouch export'.")
	}
	stuck := int64(-1)
	l.Sent.Pouches, l.Sent.Bytes = 0, 0
	if err := l.sendUrgent(ctx); err != nil {
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
			l.DB.SetMetas(ctx, map[string]string{metaUpload: fmt.Sprintf("%d of %d bytes", sent, total)})
		}
		reply, err := c.Exchange(ctx, raw)
		if err != nil {
			return err
		}
		l.Sent.Pouches++
		l.Sent.Bytes += int64(len(raw))
		r, err := l.TakeReply(ctx, reply)
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

// sendUrgent sends each escalated incident not yet received by HQ in a
// pouch of its own, ahead of any backlog. HQ takes an incident's latest
// record at once, even before the changes ahead of it have arrived; they
// follow in the usual pouches.
func (l *Link) sendUrgent(ctx context.Context) error {
	urgent, err := l.DB.Urgent(ctx)
	if err != nil || len(urgent) == 0 {
		return err
	}
	p, err := l.peer(ctx)
	if err != nil {
		return err
	}
	st, err := l.Status(ctx)
	if err != nil {
		return err
	}
	for _, c := range urgent {
		lines, err := pouch.ChangeLines([]changelog.Change{c})
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		m, err := pouch.Seal(&buf, pouch.Sender{Site: p.mission, Key: p.current.sk},
			pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: p.recipients, First: c.Seq, Last: c.Seq}, lines)
		if err != nil {
			return err
		}
		if err := l.DB.SetDelivery(ctx, c.Key, store.DeliverySent); err != nil {
			return err
		}
		cl := *l.Client
		cl.BaseURL = st.HQURL
		reply, err := cl.Exchange(ctx, buf.Bytes())
		if err != nil {
			return err
		}
		r, err := l.TakeReply(ctx, reply)
		if err != nil {
			return err
		}
		l.Sent.Pouches++
		l.Sent.Bytes += int64(buf.Len())
		if r.Pouch == m.ID {
			if err := l.DB.SetDelivery(ctx, c.Key, store.DeliveryReceived); err != nil {
				return err
			}
		}
		fault.Point("agent-after-urgent")
	}
	return nil
}
