// Package ingest is headquarters' side of the exchange: it opens and
// verifies a mission's pouch, stores its changes, and answers with a reply
// pouch that carries HQ's signed receipt. The same path serves pouches
// that arrive over HTTP and those imported from files.
package ingest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"filippo.io/age"

	"chancery/hq/store"
	"chancery/shared/fault"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// Service implements exchange.HQ over the HQ database.
type Service struct {
	DB     *store.DB
	Limits pouch.Limits

	start sync.Once
	queue chan job
}

// job is a verified pouch waiting for the writer.
type job struct {
	p    store.Pouch
	done chan result
}

type result struct {
	through int64
	err     error
}

// maxBatch bounds how many pouches share one transaction, so that one
// commit stays short.
const maxBatch = 128

// write runs the single writer: it takes the pouches waiting, stores them
// in one transaction, and tells each caller its outcome. Verifying pouches
// and sealing replies, the costly parts, stay with the callers, in
// parallel.
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
		ps := make([]store.Pouch, len(batch))
		for i, j := range batch {
			ps[i] = j.p
		}
		through, err := s.DB.Ingest(context.Background(), ps)
		for i, j := range batch {
			r := result{err: err}
			if err == nil {
				r.through = through[i]
			}
			j.done <- r
		}
	}
}

// store hands a verified pouch to the writer and waits for the commit.
func (s *Service) store(ctx context.Context, p store.Pouch) (int64, error) {
	s.start.Do(func() {
		s.queue = make(chan job, maxBatch)
		go s.write()
	})
	j := job{p: p, done: make(chan result, 1)}
	select {
	case s.queue <- j:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Once queued, the pouch is committed or refused whatever the caller
	// does; wait for the outcome so that the reply tells the truth.
	r := <-j.done
	return r.through, r.err
}

func (s *Service) receiver() pouch.Receiver {
	return pouch.Receiver{Site: store.Site, Identities: []*age.X25519Identity{s.DB.Keys().Identity}, Keys: s.DB, Limits: s.Limits}
}

// Enroll registers a mission's keys.
func (s *Service) Enroll(ctx context.Context, req exchange.EnrollRequest, remote string) (exchange.EnrollResponse, error) {
	return s.DB.Enroll(ctx, req, remote)
}

// Exchange takes in a pouch received over HTTP.
func (s *Service) Exchange(ctx context.Context, raw []byte, remote string) ([]byte, error) {
	return s.Take(ctx, raw, "http "+remote)
}

// Take verifies and stores a pouch and returns the reply pouch. Nothing is
// written unless the pouch passes every check.
func (s *Service) Take(ctx context.Context, raw []byte, via string) ([]byte, error) {
	p, err := s.receiver().Open(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	m := p.Manifest
	state, err := s.DB.KeyState(m.From, m.KeyID)
	if err != nil {
		return nil, err
	}
	switch {
	case m.Kind == pouch.KindRekey:
		return s.rekey(ctx, p, state, via)
	case m.Kind != pouch.KindChanges:
		return nil, fmt.Errorf("%w: HQ takes changes and rekey pouches, not %q", pouch.ErrMalformed, m.Kind)
	case state != "active":
		// A rotation retired this key: only its replacement speaks for the
		// mission now. The mission resends whatever this pouch carried.
		return nil, fmt.Errorf("%w: key %s of %s was replaced by a rotation", pouch.ErrRevokedKey, m.KeyID, m.From)
	}
	changes, err := p.Changes()
	if err != nil {
		return nil, err
	}
	through, err := s.store(ctx, store.Pouch{Manifest: p.Manifest, Changes: changes, Size: len(raw), Via: via})
	if err != nil {
		return nil, err
	}
	fault.Point("hq-after-commit")
	return s.reply(ctx, p.Manifest, through)
}

// rekey takes a mission's new keys, signed with its active key. A replay
// signed with the key that was retired by this very rotation is answered
// again, so that a reply lost on the way does not strand the mission.
func (s *Service) rekey(ctx context.Context, p *pouch.Pouch, state, via string) ([]byte, error) {
	m := p.Manifest
	var rk exchange.Rekey
	if len(p.Lines) != 1 || json.Unmarshal(p.Lines[0], &rk) != nil || rk.Type != "rekey" {
		return nil, fmt.Errorf("%w: a rekey pouch holds one rekey line", pouch.ErrMalformed)
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
	if state == "retired" {
		if st, _ := s.DB.KeyState(m.From, newID); st != "active" {
			return nil, fmt.Errorf("%w: key %s of %s was replaced by a rotation", pouch.ErrRevokedKey, m.KeyID, m.From)
		}
	} else if err := s.DB.Rekey(ctx, m.From, m.KeyID, recip, pub, via); err != nil {
		return nil, err
	}
	mission, err := s.DB.Mission(ctx, m.From)
	if err != nil {
		return nil, err
	}
	return s.seal(ctx, exchange.Receipt{Type: "receipt", Mission: m.From, Pouch: m.ID, Through: mission.Through, Rekeyed: newID,
		Card: exchange.SignCard(s.DB.Keys().Signing, m.From, pub, s.DB.Now()), At: s.DB.Now().UTC()})
}

func (s *Service) reply(ctx context.Context, m pouch.Manifest, through int64) ([]byte, error) {
	updates, err := s.release(ctx, m.From, !m.PeerDocuments)
	if err != nil {
		return nil, err
	}
	guidance, err := s.DB.PendingGuidance(ctx, m.From)
	if err != nil {
		return nil, err
	}
	for _, g := range guidance {
		line, _ := json.Marshal(exchange.GuidanceLine{Type: "guidance", ID: g.ID, Incident: g.Incident, Text: g.Text, By: g.By, At: g.At})
		updates = append(updates, line)
	}
	return s.seal(ctx, exchange.Receipt{Type: "receipt", Mission: m.From, Pouch: m.ID, Through: through, At: s.DB.Now().UTC()}, updates...)
}

// Release timing: a release is valid for two weeks, and HQ sends a fresh
// one when a mission's copy has less than a week left, so that a mission
// that syncs at all never sees it expire, and one whose HQ has stopped
// publishing notices within two weeks.
const (
	ReleaseTTL     = 14 * 24 * time.Hour
	ReleaseRefresh = 7 * 24 * time.Hour
)

// release returns the lines that bring a mission up to date: the signed
// release of what is in force for it, and the documents it does not hold
// yet. Nothing, when the mission has applied the current release and its
// copy is fresh: the usual exchange stays small.
//
// With documents false (the mission takes them from its peers, which
// hold them), only the signed release goes.
func (s *Service) release(ctx context.Context, mission string, documents bool) ([][]byte, error) {
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
	var docs [][]byte
	for _, p := range cur {
		rel.Targets = append(rel.Targets, exchange.TargetOf(p.Kind, p.Doc.ID, p.Doc.Version, p.Body)) // a framework's id is "framework"
		if documents && !p.Builtin && p.Seq > st.AppliedVersion {
			tl, _ := json.Marshal(exchange.TargetLine{Type: "target", Kind: p.Kind, Body: p.Body})
			docs = append(docs, tl)
		}
	}
	rl, _ := json.Marshal(exchange.SignRelease(s.DB.Keys().Signing, rel))
	if err := s.DB.Sent(ctx, mission, version, rel.Expires); err != nil {
		return nil, err
	}
	return append([][]byte{rl}, docs...), nil
}

// seal makes the reply pouch carrying a receipt and any updates, sealed
// to the mission's active key and signed by HQ.
func (s *Service) seal(ctx context.Context, r exchange.Receipt, updates ...[]byte) ([]byte, error) {
	to, err := s.DB.Recipient(ctx, r.Mission)
	if err != nil {
		return nil, err
	}
	receipt, _ := json.Marshal(r)
	var buf bytes.Buffer
	_, err = pouch.Seal(&buf, pouch.Sender{Site: store.Site, Key: s.DB.Keys().Signing},
		pouch.Envelope{Kind: pouch.KindReply, To: r.Mission, Recipients: []*age.X25519Recipient{to}}, append([][]byte{receipt}, updates...))
	return buf.Bytes(), err
}
