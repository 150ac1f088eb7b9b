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
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"filippo.io/age"

	"chancery/agent/store"
	"chancery/shared/fault"
	"chancery/shared/problem"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/web/account"
)

// Settings kept in the mission's meta table.
const (
	metaIdentity     = "uplink_identity"     // the mission's age identity
	metaSigningSeed  = "uplink_signing_seed" // the mission's Ed25519 seed, base64
	metaHQURL        = "uplink_hq_url"
	metaHQRecipients = "uplink_hq_recipients" // JSON array of age1… strings
	metaHQSigning    = "uplink_hq_signing"    // HQ's Ed25519 public key, base64
	metaAcked        = "uplink_acked"         // highest sequence HQ's receipts cover
	metaLastOK       = "uplink_last_ok"
	metaLastTry      = "uplink_last_try"
	metaLastError    = "uplink_last_error"
	metaUpload       = "uplink_upload" // progress of the last resumable upload
)

// MaxChanges is the most changes one pouch carries. A backlog is sent as
// several pouches, oldest first.
const MaxChanges = 2000

// Link is the mission's link to HQ.
type Link struct {
	DB     *store.DB
	Client *exchange.Client
	// Pause is the wait between two pouches of a backlog, so that many
	// missions coming back at once do not flatten HQ.
	Pause time.Duration

	// Sent counts the pouches and their bytes that the last Sync sent
	// (each pouch once, however many times a connection dropped).
	Sent struct {
		Pouches int
		Bytes   int64
	}
}

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

// keys returns the mission's own keys, making them on first use.
func (l *Link) keys(ctx context.Context) (*age.X25519Identity, ed25519.PrivateKey, error) {
	idStr, seed := l.meta(ctx, metaIdentity), l.meta(ctx, metaSigningSeed)
	if idStr == "" {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, nil, err
		}
		s := make([]byte, ed25519.SeedSize)
		rand.Read(s)
		idStr, seed = id.String(), base64.StdEncoding.EncodeToString(s)
		if err := l.DB.SetMetas(ctx, map[string]string{metaIdentity: idStr, metaSigningSeed: seed}); err != nil {
			return nil, nil, err
		}
	}
	id, err := age.ParseX25519Identity(idStr)
	if err != nil {
		return nil, nil, fmt.Errorf("the mission's key in the database is damaged: %w", err)
	}
	s, err := base64.StdEncoding.DecodeString(seed)
	if err != nil || len(s) != ed25519.SeedSize {
		return nil, nil, errors.New("the mission's signing key in the database is damaged")
	}
	return id, ed25519.NewKeyFromSeed(s), nil
}

// Enroll registers the mission with HQ using a one-time code, and pins
// HQ's keys.
func (l *Link) Enroll(ctx context.Context, hqURL, code, mission string) (exchange.EnrollResponse, error) {
	id, sk, err := l.keys(ctx)
	if err != nil {
		return exchange.EnrollResponse{}, err
	}
	c := *l.Client
	c.BaseURL = hqURL
	resp, err := c.Enroll(ctx, exchange.EnrollRequest{Code: code, Mission: mission, AgeRecipient: id.Recipient().String(),
		SigningKey: base64.StdEncoding.EncodeToString(sk.Public().(ed25519.PublicKey))})
	if err != nil {
		return resp, err
	}
	if err := l.pin(ctx, hqURL, resp); err != nil {
		return resp, err
	}
	return resp, l.DB.Audit(ctx, account.System, "enroll", resp.Mission, hqURL)
}

func (l *Link) pin(ctx context.Context, hqURL string, resp exchange.EnrollResponse) error {
	for _, r := range resp.HQRecipients {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return fmt.Errorf("HQ sent a recipient that is not an age key: %w", err)
		}
	}
	if k, err := base64.StdEncoding.DecodeString(resp.HQSigningKey); err != nil || len(k) != ed25519.PublicKeySize {
		return errors.New("HQ sent a signing key that is not Ed25519")
	}
	recips, _ := json.Marshal(resp.HQRecipients)
	return l.DB.SetMetas(ctx, map[string]string{
		store.MetaCode: resp.Mission, store.MetaName: resp.Name,
		metaHQURL: hqURL, metaHQRecipients: string(recips), metaHQSigning: resp.HQSigningKey,
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
	id         *age.X25519Identity
	sk         ed25519.PrivateKey
	recipients []*age.X25519Recipient
	hq         pinnedHQ
}

func (l *Link) peer(ctx context.Context) (peer, error) {
	var p peer
	hqKey := l.meta(ctx, metaHQSigning)
	if hqKey == "" {
		return p, ErrNotEnrolled
	}
	var err error
	if p.id, p.sk, err = l.keys(ctx); err != nil {
		return p, err
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

// Seal makes the next pouch: the changes after the last receipt, at most
// MaxChanges of them (none: a request for HQ's reply).
func (l *Link) Seal(ctx context.Context) ([]byte, pouch.Manifest, error) {
	p, err := l.peer(ctx)
	if err != nil {
		return nil, pouch.Manifest{}, err
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
	env := pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: p.recipients}
	if len(cs) > 0 {
		env.First, env.Last = cs[0].Seq, cs[len(cs)-1].Seq
	}
	var buf bytes.Buffer
	m, err := pouch.Seal(&buf, pouch.Sender{Site: p.mission, Key: p.sk}, env, lines)
	return buf.Bytes(), m, err
}

// TakeReply opens HQ's reply pouch and records its receipt.
func (l *Link) TakeReply(ctx context.Context, raw []byte) (exchange.Receipt, error) {
	p, err := l.peer(ctx)
	if err != nil {
		return exchange.Receipt{}, err
	}
	rc := pouch.Receiver{Site: p.mission, Identities: []*age.X25519Identity{p.id}, Keys: p.hq}
	rp, err := rc.Open(bytes.NewReader(raw))
	if err != nil {
		return exchange.Receipt{}, fmt.Errorf("HQ's reply was refused: %w", err)
	}
	var r exchange.Receipt
	if rp.Manifest.Kind != pouch.KindReply || len(rp.Lines) == 0 || json.Unmarshal(rp.Lines[0], &r) != nil || r.Type != "receipt" || r.Mission != p.mission {
		return r, fmt.Errorf("%w: HQ's reply carries no receipt for %s", pouch.ErrMalformed, p.mission)
	}
	last, err := l.DB.LastSeq(ctx)
	if err != nil {
		return r, err
	}
	// HQ's receipt is the truth about what HQ holds, even when it is less
	// than an earlier receipt said (an HQ restored from a backup): the
	// changes after it are sent again. It cannot cover more than exists.
	through := min(r.Through, last)
	return r, l.DB.SetMetas(ctx, map[string]string{metaAcked: strconv.FormatInt(through, 10)})
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
	stuck := int64(-1)
	l.Sent.Pouches, l.Sent.Bytes = 0, 0
	for i := 0; ; i++ {
		st, err := l.Status(ctx)
		if err != nil {
			return err
		}
		if i > 0 {
			if st.Pending <= 0 {
				return nil
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
		if m.Records == 0 {
			return nil
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
