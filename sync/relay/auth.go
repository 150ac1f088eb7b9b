package relay

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"chancery/shared/clock"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// Identity is how an agent proves to its peers which mission it is: its
// own signing key, pinned at HQ at enrollment, and HQ's card for that key.
// HQ is HQ's key as the mission pinned it, which checks the peers' cards.
type Identity struct {
	Mission string
	Card    string
	Key     ed25519.PrivateKey
	HQ      ed25519.PublicKey
	// Revoked are the key ids HQ has withdrawn (exchange.Receipt.Revoked):
	// a card for one of them is refused before it expires.
	Revoked []string
	// PeerKeys seal this node's badge (the first) and open its peers'
	// (see badge.go): the peer keys from HQ's receipts, newest first.
	PeerKeys []PeerKey
}

// IdentityFunc returns the agent's identity now: keys change when they
// are rotated.
type IdentityFunc func(context.Context) (Identity, error)

// Headers of a request between peers and of its answer. Each side shows
// its card and signs what it sends: the request binds the method, the
// path, the mission it is meant for, the time and the body; the answer
// binds the request's signature, the status and the body. A request more
// than MaxSkew away from the receiver's clock is refused.
const (
	HeaderCard = "Chancery-Card"
	HeaderTo   = "Chancery-To"
	HeaderDate = "Chancery-Date"
	HeaderSig  = "Chancery-Signature"
)

// MaxSkew is how far a peer's clock may be from ours.
const MaxSkew = 5 * time.Minute

// ErrNotPeer is the refusal of a request or answer that does not prove
// it comes from the mission it claims.
var ErrNotPeer = errors.New("not signed by a mission enrolled with our HQ")

func digest(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write(p)
	}
	return h.Sum(nil)
}

func requestDigest(method, path, to, date string, body []byte) []byte {
	b := sha256.Sum256(body)
	return digest([]byte("chancery peer request v1"), []byte(method), []byte(path), []byte(to), []byte(date), b[:])
}

func answerDigest(reqSig []byte, status int, body []byte) []byte {
	b := sha256.Sum256(body)
	return digest([]byte("chancery peer answer v1"), reqSig, []byte(strconv.Itoa(status)), b[:])
}

// signRequest adds the identity's card and signature to a request to the
// mission to.
func signRequest(r *http.Request, id Identity, to string, body []byte) {
	date := time.Now().UTC().Format(time.RFC3339Nano)
	sig := ed25519.Sign(id.Key, requestDigest(r.Method, r.URL.RequestURI(), to, date, body))
	r.Header.Set(HeaderCard, id.Card)
	r.Header.Set(HeaderTo, to)
	r.Header.Set(HeaderDate, date)
	r.Header.Set(HeaderSig, base64.StdEncoding.EncodeToString(sig))
}

// checkCard opens a card with HQ's key, and refuses one whose key HQ
// has withdrawn.
func checkCard(self Identity, card string) (exchange.Card, ed25519.PublicKey, error) {
	c, key, err := exchange.OpenCard(self.HQ, card)
	if err != nil {
		return c, nil, fmt.Errorf("%w: %v", ErrNotPeer, err)
	}
	if slices.Contains(self.Revoked, pouch.KeyID(key)) {
		return c, nil, fmt.Errorf("%w: HQ has withdrawn %s's key %s", ErrNotPeer, c.Mission, pouch.KeyID(key))
	}
	if c.Expired(clock.Now()) {
		return c, nil, fmt.Errorf("%w: %v (issued %s)", ErrNotPeer, exchange.ErrCardExpired, c.Issued.Format("2 January 2006"))
	}
	return c, key, nil
}

// checkHeaders checks what a request says of itself before its body is
// read: a card from our HQ, meant for this mission, sent about now. It
// returns the sender's card and key.
func checkHeaders(r *http.Request, self Identity) (exchange.Card, ed25519.PublicKey, error) {
	card, key, err := checkCard(self, r.Header.Get(HeaderCard))
	if err != nil {
		return card, nil, err
	}
	if to := r.Header.Get(HeaderTo); to != self.Mission {
		return card, nil, fmt.Errorf("%w: the request is meant for %q, this is %s", ErrNotPeer, to, self.Mission)
	}
	date := r.Header.Get(HeaderDate)
	t, err := time.Parse(time.RFC3339Nano, date)
	if err != nil || time.Since(t).Abs() > MaxSkew {
		return card, nil, fmt.Errorf("%w: the request's time %q is more than %s from this mission's clock; check both clocks", ErrNotPeer, date, MaxSkew)
	}
	return card, key, nil
}

// verifyRequest checks the signature of a request whose headers passed
// checkHeaders, over its body.
func verifyRequest(r *http.Request, self Identity, card exchange.Card, key ed25519.PublicKey, body []byte) error {
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get(HeaderSig))
	if err != nil || !ed25519.Verify(key, requestDigest(r.Method, r.URL.RequestURI(), self.Mission, r.Header.Get(HeaderDate), body), sig) {
		return fmt.Errorf("%w: the signature does not match %s's card", ErrNotPeer, card.Mission)
	}
	return nil
}

// signAnswer adds the identity's card and signature to an answer.
func signAnswer(h http.Header, id Identity, reqSig []byte, status int, body []byte) {
	h.Set(HeaderCard, id.Card)
	h.Set(HeaderSig, base64.StdEncoding.EncodeToString(ed25519.Sign(id.Key, answerDigest(reqSig, status, body))))
}

// verifyAnswer checks that an answer comes from the mission the request
// was meant for, and answers that very request.
func verifyAnswer(resp *http.Response, self Identity, peer string, reqSig, body []byte) error {
	card, key, err := checkCard(self, resp.Header.Get(HeaderCard))
	if err != nil {
		return err
	}
	if card.Mission != peer {
		return fmt.Errorf("%w: %s answered in place of %s", ErrNotPeer, card.Mission, peer)
	}
	sig, err := base64.StdEncoding.DecodeString(resp.Header.Get(HeaderSig))
	if err != nil || !ed25519.Verify(key, answerDigest(reqSig, resp.StatusCode, body), sig) {
		return fmt.Errorf("%w: %s's answer is not signed with its card's key", ErrNotPeer, peer)
	}
	return nil
}

// requestSig is the signature a signed request carries.
func requestSig(r *http.Request) []byte {
	b, _ := base64.StdEncoding.DecodeString(r.Header.Get(HeaderSig))
	return b
}
