// Package ingest is headquarters' side of the exchange protocol: it
// enrolls missions (checking the one-time code, answering with HQ's keys,
// the code's MAC and the mission's signed card), opens and verifies a
// mission's pouch, hands the verified changes to the store, and answers
// with a reply pouch that carries HQ's signed receipt, the release in
// force and HQ's guidance. The same path serves pouches that arrive over
// HTTP and those imported from files.
//
// What a change does to HQ's records is the store's: store.DB.Ingest
// applies each mission's log in sequence order (hq/store/apply.go),
// reading every change through changelog.Change.Record as the mission
// wrote it.
package ingest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/fault"
	"chancery/shared/problem"
	"chancery/shared/readiness"
	"chancery/shared/text"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// Service implements exchange.HQ over the HQ database.
type Service struct {
	DB     *store.DB
	Limits pouch.Limits

	start   sync.Once
	queue   chan job
	turns   chan struct{} // see turn
	waiting atomic.Int64  // pouches queued and not yet answered

	// Observe, if set, is told of every pouch taken or refused: the
	// outcome ("ok", "refused": not a genuine pouch of an enrolled key,
	// "invalid": a record that breaks the rules, "error": HQ's own), its
	// size and how long it took. HQ's metrics count them.
	Observe func(result string, bytes int, took time.Duration)

	// enrolling limits enrollment attempts per client address; a
	// successful one gives its slot back.
	enrollOnce sync.Once
	enrolling  *account.Limiter
}

// Enrollment attempts: ten failures per address in fifteen minutes is
// more than a person mistyping a code makes, and far too few to guess an
// 80-bit code; beyond it HQ answers at once, without a database write.
const (
	enrollFailures = 10
	enrollWindow   = 15 * time.Minute
)

// ErrEnrollLimit answers an address that has failed to enroll too often.
var ErrEnrollLimit = problem.New(problem.TooMany, "enroll.too_many")

// job is what waits for the writer: a verified pouch, or the note that a
// reply carries a release (sent).
type job struct {
	p    store.Pouch
	sent *store.Sending
	done chan result
}

type result struct {
	through int64
	serial  int64
	err     error
}

// maxBatch bounds how many pouches share one transaction, so that one
// commit stays short.
const maxBatch = 128

// write runs the single writer: it takes the jobs waiting, stores their
// pouches in one transaction and their release notes in another, and
// tells each caller its outcome. Verifying pouches and sealing replies,
// the costly parts, stay with the callers, in parallel.
func (s *Service) write() {
	for j := range s.queue {
		batch := []job{j}
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-s.queue:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		var pouches, notes []job
		for _, j := range batch {
			if j.sent != nil {
				notes = append(notes, j)
			} else {
				pouches = append(pouches, j)
			}
		}
		s.writePouches(pouches)
		if len(notes) > 0 {
			ns := make([]store.Sending, len(notes))
			for i, j := range notes {
				ns[i] = *j.sent
			}
			err := s.DB.Sent(context.Background(), ns...)
			for _, j := range notes {
				j.done <- result{err: err}
			}
		}
	}
}

func (s *Service) writePouches(batch []job) {
	if len(batch) == 0 {
		return
	}
	ps := make([]store.Pouch, len(batch))
	for i, j := range batch {
		ps[i] = j.p
	}
	through, serial, err := s.DB.Ingest(context.Background(), ps)
	if err != nil && len(batch) > 1 {
		// One pouch must not cost the others theirs: the batch is taken
		// again one pouch at a time, so that only a pouch that cannot be
		// applied fails, and alone.
		for _, j := range batch {
			t, serial, err := s.DB.Ingest(context.Background(), []store.Pouch{j.p})
			r := result{err: refusal(j.p, err), serial: serial}
			if err == nil {
				r.through = t[0]
			}
			j.done <- r
		}
		return
	}
	for i, j := range batch {
		r := result{err: refusal(j.p, err), serial: serial}
		if err == nil {
			r.through = through[i]
		}
		j.done <- r
	}
}

// refusal is the error a mission hears when its pouch could not be
// applied: for a record that breaks the rules (one kept from before HQ
// checked them on arrival), the mission's fault, refused for good and not
// HQ's to retry; for anything else, HQ's own error.
func refusal(p store.Pouch, err error) error {
	if err == nil || !(errors.Is(err, changelog.ErrInvalid) || errors.Is(err, changelog.ErrMismatch)) {
		return err
	}
	return problem.New(problem.Invalid, "ingest.cannot_apply", "First", p.First, "Last", p.Last, "Why", err)
}

// check holds every change of a pouch to the rules the mission's own
// records follow (changelog.Change.Record), and an answer to an item that
// no framework version HQ knows has. The first change that breaks them
// refuses the whole pouch, naming it, before anything is written. A change
// of a kind HQ does not know yet passes: it is kept, and applied once HQ
// is upgraded.
func (s *Service) check(ctx context.Context, changes []changelog.Change) error {
	if len(changes) == 0 {
		return nil
	}
	cat, err := s.DB.Catalog(ctx)
	if err != nil {
		return err
	}
	now := s.DB.Now()
	for _, c := range changes {
		rec, err := c.Record(now)
		if errors.Is(err, changelog.ErrUnknown) || (errors.Is(err, changelog.ErrMismatch) && c.Entity == changelog.EntityAttachment) {
			// Kept for later; or an evidence file that arrived damaged,
			// which the incident lists and HQ shows as not received.
			continue
		}
		if err == nil {
			if a, ok := rec.(readiness.Answer); ok && !knownItem(cat, a.ItemID) {
				err = fmt.Errorf("no framework version HQ knows has the checklist item %q", a.ItemID)
			}
		}
		if err != nil {
			return &Rejected{Seq: c.Seq, Entity: c.Entity, Key: c.Key, Err: err}
		}
	}
	return nil
}

func knownItem(cat *store.Catalog, id string) bool {
	for _, f := range cat.Frameworks() {
		if _, err := f.Item(id); err == nil {
			return true
		}
	}
	return false
}

// Rejected refuses a pouch for one of its changes. It is the mission's to
// correct, so it is answered 422 and the mission does not retry it as if
// HQ had failed.
type Rejected struct {
	Seq    int64
	Entity changelog.Entity
	Key    string
	Err    error
}

func (r *Rejected) Error() string {
	key := r.Key
	if len(key) > 64 {
		key = key[:64] + "…"
	}
	if r.Entity == "pouch" {
		return fmt.Sprintf("HQ refuses this pouch: %v. Nothing of it was taken", r.Err)
	}
	return fmt.Sprintf("HQ refuses change %d (%s %q) of this pouch: %v. Nothing of the pouch was taken; correct the record at the mission", r.Seq, r.Entity, key, r.Err)
}

func (r *Rejected) Unwrap() error { return r.Err }

// store hands a verified pouch to the writer and waits for the commit.
func (s *Service) store(ctx context.Context, p store.Pouch) (through, serial int64, err error) {
	r, err := s.queued(ctx, job{p: p})
	return r.through, r.serial, err
}

// queued hands a job to the writer and waits for its outcome.
func (s *Service) queued(ctx context.Context, j job) (result, error) {
	s.init()
	j.done = make(chan result, 1)
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	select {
	case s.queue <- j:
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	// Once queued, the job is committed or refused whatever the caller
	// does; wait for the outcome so that the reply tells the truth.
	r := <-j.done
	return r, r.err
}

func (s *Service) init() {
	s.start.Do(func() {
		s.queue = make(chan job, maxBatch)
		s.turns = make(chan struct{}, runtime.GOMAXPROCS(0))
		go s.write()
	})
}

// receiver opens one pouch. Its registry keeps the state of the key
// that signed it, read with the key itself: the state Take acts on is the
// one the signature was checked against, and the key is looked up once.
func (s *Service) receiver() (pouch.Receiver, *registry) {
	reg := &registry{db: s.DB}
	return pouch.Receiver{Site: store.Site, Identities: s.DB.Keys().Readers(), Keys: reg, Limits: s.Limits}, reg
}

// registry is pouch.Keys over the store's registry of mission keys. It
// returns active keys and retired ones (replaced by a rotation): a pouch
// signed with a retired key is authentic, and Take decides what it may
// still do, from state.
type registry struct {
	db    *store.DB
	state string // of the key last returned
}

func (r *registry) SigningKey(site, keyID string) (ed25519.PublicKey, error) {
	key, state, err := r.db.MissionKey(site, keyID)
	r.state = state
	switch {
	case errors.Is(err, store.ErrNoKey):
		return nil, fmt.Errorf("%w: %s has no key %s", pouch.ErrUnknownKey, site, keyID)
	case err != nil:
		return nil, err
	case state == store.KeyRevoked:
		return nil, fmt.Errorf("%w: key %s of %s", pouch.ErrRevokedKey, keyID, site)
	}
	return key, nil
}

// keyState is the state of a mission's key.
func (s *Service) keyState(site, keyID string) (string, error) {
	_, state, err := s.DB.MissionKey(site, keyID)
	return state, err
}

// Enroll registers a mission's keys with a one-time code and returns what
// the mission must pin about HQ: HQ's recipients and signing key, HQ's
// card for the mission's key, and a MAC under the code that proves the
// answer comes from the HQ that issued it.
func (s *Service) Enroll(ctx context.Context, req exchange.EnrollRequest, remote string) (exchange.EnrollResponse, error) {
	recip, err := age.ParseX25519Recipient(req.AgeRecipient)
	if err != nil {
		return exchange.EnrollResponse{}, problem.New(problem.Invalid, "enroll.bad_recipient")
	}
	pub, err := base64.StdEncoding.DecodeString(req.SigningKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return exchange.EnrollResponse{}, problem.New(problem.Invalid, "enroll.bad_key")
	}
	key := store.NewKey{ID: pouch.KeyID(pub), Signing: pub, Recipient: recip}
	s.enrollOnce.Do(func() { s.enrolling = account.NewLimiter(enrollFailures, enrollWindow) })
	now := s.DB.Now()
	if ok, _ := s.enrolling.Attempt(remote, now); !ok {
		return exchange.EnrollResponse{}, ErrEnrollLimit
	}
	want, err := hex.DecodeString(req.MAC)
	if err != nil || len(want) != sha256.Size {
		want = nil // proves nothing: the code is refused, and the attempt audited
	}
	proves := func(codeKey []byte) bool {
		got, _ := hex.DecodeString(req.Sum(codeKey))
		return want != nil && hmac.Equal(got, want)
	}
	m, codeKey, err := s.DB.EnrollMission(ctx, req.Mission, proves, key, remote)
	if err != nil {
		return exchange.EnrollResponse{}, err
	}
	s.enrolling.Refund(remote, now)
	keys := s.DB.Keys()
	resp := exchange.EnrollResponse{Mission: m.Code, Name: m.Name, HQSite: store.Site,
		HQRecipients: []string{keys.Identity.Recipient().String()}, HQSigningKey: s.DB.HQSigningPublic(), PouchFormat: pouch.Format}
	escrow, err := s.DB.Escrow(ctx)
	if err != nil {
		return exchange.EnrollResponse{}, err
	}
	resp.HQRecipients = append(resp.HQRecipients, escrow...)
	resp.Card = exchange.SignCard(keys.Signing, m.Code, pub, s.DB.Now())
	if r, err := s.DB.Root(ctx); err != nil {
		return exchange.EnrollResponse{}, err
	} else if !r.Zero() {
		resp.Root = string(r.Signed.Encode())
	}
	if resp.PeerKey, err = s.DB.PeerKey(ctx); err != nil {
		return exchange.EnrollResponse{}, err
	}
	resp.MAC = resp.Sum(codeKey, req)
	return resp, nil
}

// Admit checks the signed manifest at the head of a pouch to be uploaded:
// only an active key's pouch of changes opens an upload at HQ.
func (s *Service) Admit(ctx context.Context, head []byte) (string, string, error) {
	rc, reg := s.receiver()
	m, err := rc.Peek(head)
	if err != nil {
		return "", "", err
	}
	if m.Kind != pouch.KindChanges {
		return "", "", fmt.Errorf("%w: only a pouch of changes is uploaded, not %q", pouch.ErrMalformed, m.Kind)
	}
	if reg.state != store.KeyActive {
		return "", "", fmt.Errorf("%w: key %s of %s was replaced by a rotation", pouch.ErrRevokedKey, m.KeyID, m.From)
	}
	return m.From, m.ID, nil
}

// Exchange takes in a pouch received over HTTP.
func (s *Service) Exchange(ctx context.Context, raw []byte, remote string) ([]byte, error) {
	return s.Take(ctx, raw, "http "+remote)
}

// Take verifies and stores a pouch and returns the reply pouch. Nothing is
// written unless the pouch passes every check.
func (s *Service) Take(ctx context.Context, raw []byte, via string) (reply []byte, err error) {
	if s.Observe != nil {
		start := time.Now()
		defer func() { s.Observe(Outcome(err), len(raw), time.Since(start)) }()
	}
	return s.take(ctx, raw, via)
}

// Outcome names what became of a pouch whose taking ended with err (see
// Service.Observe).
func Outcome(err error) string {
	var rej *Rejected
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &rej), errors.Is(err, changelog.ErrInvalid), errors.Is(err, changelog.ErrMismatch), problem.CodeOf(err) == problem.Invalid:
		return "invalid"
	case errors.Is(err, pouch.ErrNotPouch), errors.Is(err, pouch.ErrNotForUs), errors.Is(err, pouch.ErrTampered), errors.Is(err, pouch.ErrTooLarge),
		errors.Is(err, pouch.ErrMalformed), errors.Is(err, pouch.ErrUnknownKey), errors.Is(err, pouch.ErrRevokedKey), errors.Is(err, pouch.ErrSignature),
		errors.Is(err, pouch.ErrMisaddressed), errors.Is(err, pouch.ErrRebound), errors.Is(err, pouch.ErrTooMany):
		return "refused"
	}
	return "error"
}

// QueueDepth is how many verified pouches (and notes of releases sent)
// wait for the writer, or are being written.
func (s *Service) QueueDepth() int64 { return s.waiting.Load() }

func (s *Service) take(ctx context.Context, raw []byte, via string) ([]byte, error) {
	done, err := s.turn(ctx)
	if err != nil {
		return nil, err
	}
	p, sp, state, err := s.verify(ctx, raw, via)
	done()
	switch {
	case err != nil:
		return nil, err
	case p.Manifest.Kind == pouch.KindRekey:
		return s.rekey(ctx, p, state, via)
	}
	through, serial, err := s.store(ctx, sp)
	if err != nil {
		return nil, err
	}
	fault.Point("hq-after-commit")
	if done, err = s.turn(ctx); err != nil {
		return nil, err
	}
	reply, sent, err := s.reply(ctx, p.Manifest, through, serial)
	done()
	if err == nil && sent != nil {
		// Noted by the writer with others, as pouches are: a thousand
		// missions syncing after a publication each wrote their own synced
		// transaction before, one after another. The reply goes only once
		// HQ has noted what it carries.
		_, err = s.queued(ctx, job{sent: sent})
	}
	if err != nil {
		return nil, err
	}
	return reply, nil
}

// turn waits for one of the turns that bound the takes verifying or
// sealing at one time (one a core): that work is all processor, and a burst of a thousand at once left the writer, one
// goroutine among a thousand runnable, too little of it to commit what
// they had verified. A take waits for a turn without spending processor,
// and gives it back while the writer commits its pouch.
func (s *Service) turn(ctx context.Context) (done func(), err error) {
	s.init()
	select {
	case s.turns <- struct{}{}:
		return func() { <-s.turns }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// verify opens a pouch and checks what it carries. A pouch of changes
// comes back ready to store; a rekey pouch, to be taken by rekey.
func (s *Service) verify(ctx context.Context, raw []byte, via string) (*pouch.Pouch, store.Pouch, string, error) {
	rc, reg := s.receiver()
	p, err := rc.Open(bytes.NewReader(raw))
	if err != nil {
		return nil, store.Pouch{}, "", err
	}
	m, state := p.Manifest, reg.state
	switch {
	case m.Kind == pouch.KindRekey:
		return p, store.Pouch{}, state, nil
	case m.Kind != pouch.KindChanges:
		return nil, store.Pouch{}, "", fmt.Errorf("%w: HQ takes changes and rekey pouches, not %q", pouch.ErrMalformed, m.Kind)
	case state != store.KeyActive:
		// A rotation retired this key: only its replacement speaks for the
		// mission now. The mission resends whatever this pouch carried.
		return nil, store.Pouch{}, "", fmt.Errorf("%w: key %s of %s was replaced by a rotation", pouch.ErrRevokedKey, m.KeyID, m.From)
	}
	changes, err := p.Changes()
	if err != nil {
		return nil, store.Pouch{}, "", err
	}
	// A pouch dated beyond any clock's error is no pouch of a mission's.
	if err := text.When("field.pouch", m.Created, s.DB.Now()); err != nil {
		return nil, store.Pouch{}, "", &Rejected{Seq: m.First, Entity: "pouch", Key: m.ID, Err: err}
	}
	if err := s.check(ctx, changes); err != nil {
		return nil, store.Pouch{}, "", err
	}
	sp := store.Pouch{ID: m.ID, Mission: m.From, First: m.First, Last: m.Last, Created: m.Created, Changes: changes, Size: len(raw), Via: via}
	if a := m.Audit; a != nil {
		sp.Audit = &store.AuditMark{Entries: a.Entries, Head: a.Head, At: a.At, AtHash: a.AtHash}
	}
	return p, sp, state, nil
}

// rekey takes a mission's new keys, signed with its active key. A replay
// signed with the key that was retired by this very rotation is answered
// again, so that a reply lost on the way does not strand the mission.
func (s *Service) rekey(ctx context.Context, p *pouch.Pouch, state, via string) ([]byte, error) {
	m := p.Manifest
	rk, err := exchange.ParseRekey(p.Lines)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", pouch.ErrMalformed, err)
	}
	recip, err := age.ParseX25519Recipient(rk.AgeRecipient)
	if err != nil {
		return nil, fmt.Errorf("%w: the new age recipient is not valid", pouch.ErrMalformed)
	}
	pub, err := base64.StdEncoding.DecodeString(rk.SigningKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: the new signing key is not Ed25519", pouch.ErrMalformed)
	}
	newID := pouch.KeyID(pub)
	if state == store.KeyRetired {
		if st, _ := s.keyState(m.From, newID); st != store.KeyActive {
			return nil, fmt.Errorf("%w: key %s of %s was replaced by a rotation", pouch.ErrRevokedKey, m.KeyID, m.From)
		}
	} else if err := s.DB.Rekey(ctx, m.From, m.KeyID, store.NewKey{ID: newID, Signing: pub, Recipient: recip}, via); err != nil {
		return nil, err
	}
	mission, err := s.DB.Mission(ctx, m.From)
	if err != nil {
		return nil, err
	}
	serial, err := s.DB.Serial(ctx)
	if err != nil {
		return nil, err
	}
	return s.seal(ctx, m, exchange.Reply{Receipt: exchange.Receipt{Mission: m.From, Pouch: m.ID, Through: mission.Through, Rekeyed: newID,
		Card: exchange.SignCard(s.DB.Keys().Signing, m.From, pub, s.DB.Now()), At: s.DB.Now().UTC(), Serial: serial}})
}

// reply seals the reply to a stored pouch, and says the release it
// carries, if any, for the writer to note.
func (s *Service) reply(ctx context.Context, m pouch.Manifest, through, serial int64) ([]byte, *store.Sending, error) {
	r := exchange.Reply{Receipt: exchange.Receipt{Mission: m.From, Pouch: m.ID, Through: through, At: s.DB.Now().UTC(), Serial: serial}}
	if err := s.recipients(ctx, m, &r.Receipt); err != nil {
		return nil, nil, err
	}
	if m.Audit != nil {
		// Taken in with the pouch (store.DB.NoteAudit): the receipt says
		// how far HQ holds the chain now.
		at, err := s.DB.AuditAt(ctx, m.From)
		if err != nil {
			return nil, nil, err
		}
		r.Receipt.AuditAt = at
	}
	// A card half its lifetime old is renewed in the ordinary reply.
	if due, err := s.DB.CardDue(ctx, m.From, m.KeyID, exchange.CardTTL/2); err != nil {
		return nil, nil, err
	} else if due {
		if key, _, err := s.DB.MissionKey(m.From, m.KeyID); err == nil {
			r.Receipt.Card = exchange.SignCard(s.DB.Keys().Signing, m.From, key, s.DB.Now())
		}
	}
	sent, err := s.release(ctx, &r, !m.PeerDocuments)
	if err != nil {
		return nil, nil, err
	}
	guidance, err := s.DB.PendingGuidance(ctx, m.From)
	if err != nil {
		return nil, nil, err
	}
	for _, g := range guidance {
		r.Guidance = append(r.Guidance, exchange.GuidanceLine{ID: g.ID, Incident: g.Incident, Text: g.Text, By: g.By, At: g.At, Ack: g.Ack})
	}
	sealed, err := s.seal(ctx, m, r)
	return sealed, sent, err
}

// recipients puts in the receipt the recipients the mission must seal to,
// when its pouch shows it does not seal to all of them (an escrow key
// added after it enrolled): the mission takes them from HQ's signed
// receipt. The usual exchange does not carry them.
func (s *Service) recipients(ctx context.Context, m pouch.Manifest, r *exchange.Receipt) error {
	escrow, err := s.DB.Escrow(ctx)
	if err != nil {
		return err
	}
	hq := s.DB.Keys().Identity.Recipient()
	all := append([]string{hq.String()}, escrow...)
	if !slices.Contains(m.Recipients, pouch.Fingerprint(hq)) {
		r.Recipients = all
		return nil
	}
	for _, a := range escrow {
		rc, err := age.ParseX25519Recipient(a)
		if err != nil {
			return err
		}
		if !slices.Contains(m.Recipients, pouch.Fingerprint(rc)) {
			r.Recipients = all
			return nil
		}
	}
	return nil
}

// Release timing: a release is valid for two weeks, and HQ sends a fresh
// one when a mission's copy has less than a week left, so that a mission
// that syncs at all never sees it expire, and one whose HQ has stopped
// publishing notices within two weeks.
const (
	ReleaseTTL     = 14 * 24 * time.Hour
	ReleaseRefresh = 7 * 24 * time.Hour
)

// release adds to the reply what brings its mission up to date: the
// signed release of what is in force for it, and the documents it does
// not hold yet. Nothing, when the mission has applied the current release
// and its copy is fresh: the usual exchange stays small.
//
// With documents false (the mission takes them from its peers, which
// hold them), only the signed release goes.
func (s *Service) release(ctx context.Context, r *exchange.Reply, documents bool) (*store.Sending, error) {
	mission := r.Receipt.Mission
	cat, err := s.DB.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	m := store.Mission{Code: mission}
	if cat.RegionScoped() { // only then does the mission's region matter
		if m, err = s.DB.Mission(ctx, mission); err != nil {
			return nil, err
		}
	}
	cur := cat.Current(m)
	if len(cur) == 0 {
		return nil, nil
	}
	st, err := s.DB.MissionUpdate(ctx, mission)
	if err != nil {
		return nil, err
	}
	// Until HQ publishes something of its own, missions hold everything in
	// force (the documents every agent ships with): no release is needed.
	var version int64
	published := false
	for _, p := range cur {
		version = max(version, p.Seq)
		published = published || !p.Builtin
	}
	if !published {
		return nil, nil
	}
	now := s.DB.Now().UTC()
	if st.AppliedVersion >= version && st.SentExpires != nil && st.SentExpires.Sub(now) > ReleaseRefresh {
		return nil, nil
	}
	rel := exchange.Release{Mission: mission, Version: version, Expires: now.Add(ReleaseTTL).Truncate(time.Second)}
	for _, p := range cur {
		rel.Targets = append(rel.Targets, exchange.TargetOf(p.Kind, p.Doc.ID, p.Doc.Version, p.Body)) // a framework's id is "framework"
		if documents && !p.Builtin && p.Seq > st.AppliedVersion {
			r.Documents = append(r.Documents, exchange.Document{Kind: p.Kind, Body: p.Body})
		}
	}
	rl := exchange.SignRelease(s.DB.Keys().Signing, rel)
	r.Release = &rl
	return &store.Sending{Mission: mission, Version: version, Expires: rel.Expires}, nil
}

// seal makes the reply to the pouch m, sealed to the mission's active key
// and signed by HQ. It carries the root statements the mission has not
// followed yet, and the keys HQ has withdrawn.
func (s *Service) seal(ctx context.Context, m pouch.Manifest, r exchange.Reply) ([]byte, error) {
	to, err := s.DB.Recipient(ctx, r.Receipt.Mission)
	if err != nil {
		return nil, err
	}
	roots, err := s.DB.RootsAfter(ctx, m.Root)
	if err != nil {
		return nil, err
	}
	if r.Receipt.Revoked, err = s.DB.WithdrawnKeys(ctx, exchange.CardTTL); err != nil {
		return nil, err
	}
	pk, err := s.DB.PeerKey(ctx)
	if err != nil {
		return nil, err
	}
	if e, _, _ := strings.Cut(pk, "."); e != strconv.FormatUint(uint64(m.PeerEpoch), 10) {
		r.Receipt.PeerKey = pk // the mission holds another, or none
	}
	if m.Format < pouch.Format {
		r.Receipt.Reads = pouch.Format
	}
	if len(roots) > 0 && r.Receipt.Card == "" && r.Receipt.Rekeyed == "" {
		// Until the mission says it follows HQ's newest root, each reply
		// renews its card with HQ's key in use: a card signed by a key a
		// rotation replaced is refused by peers that follow the root.
		if key, _, err := s.DB.MissionKey(m.From, m.KeyID); err == nil {
			r.Receipt.Card = exchange.SignCard(s.DB.Keys().Signing, m.From, key, s.DB.Now())
		}
	}
	lines, err := r.Encode()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_, err = pouch.Seal(&buf, pouch.Sender{Site: store.Site, Key: s.DB.Keys().Signing},
		pouch.Envelope{Kind: pouch.KindReply, To: r.Receipt.Mission, Recipients: []*age.X25519Recipient{to}, Roots: roots, Format: m.Format}, lines)
	return buf.Bytes(), err
}
