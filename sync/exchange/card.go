package exchange

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// A Card is HQ's word that a signing key is a mission's: HQ issues one at
// enrollment and at each key rotation, over the key it has just pinned.
// Missions that share a network show each other their cards, and check
// them with HQ's key pinned at their own enrollment; so a mission knows
// its peers' keys without any list to keep, and a machine that holds only
// the gossip key has no card to show.
type Card struct {
	Type       string    `json:"type"` // "card"
	Mission    string    `json:"mission"`
	SigningKey string    `json:"signing_key"` // Ed25519 public key, base64
	Issued     time.Time `json:"issued"`
}

const cardContext = "chancery card v1\x00"

// CardTTL is how long a card is good for: HQ renews a mission's card in
// an ordinary receipt once it is half as old, so a mission that syncs at
// all always holds a good one, while a card of a revoked mission or of a
// rotated-out key stops opening peers' doors within CardTTL.
const CardTTL = 90 * 24 * time.Hour

// ErrCardExpired refuses a card older than CardTTL.
var ErrCardExpired = errors.New("the peer's card has expired; it renews when the peer next syncs with HQ")

// Expired reports whether the card is past CardTTL at now.
func (c Card) Expired(now time.Time) bool { return now.After(c.Issued.Add(CardTTL)) }

// ErrCard is the refusal of a card HQ did not sign.
var ErrCard = errors.New("the peer's card is not signed by HQ")

// SignCard signs a card with HQ's key. The result is one line of text,
// fit for an HTTP header: the card's JSON and the signature, in base64,
// joined by a dot.
func SignCard(hq ed25519.PrivateKey, mission string, key ed25519.PublicKey, at time.Time) string {
	b, _ := json.Marshal(Card{Type: "card", Mission: mission, SigningKey: base64.StdEncoding.EncodeToString(key), Issued: at.UTC()})
	sig := ed25519.Sign(hq, append([]byte(cardContext), b...))
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// OpenCard checks a card with HQ's key and returns it with the key it
// vouches for.
func OpenCard(hq ed25519.PublicKey, s string) (Card, ed25519.PublicKey, error) {
	a, b, ok := strings.Cut(s, ".")
	body, err1 := base64.RawURLEncoding.DecodeString(a)
	sig, err2 := base64.RawURLEncoding.DecodeString(b)
	if !ok || err1 != nil || err2 != nil || !ed25519.Verify(hq, append([]byte(cardContext), body...), sig) {
		return Card{}, nil, ErrCard
	}
	var c Card
	if err := json.Unmarshal(body, &c); err != nil || c.Type != "card" || c.Mission == "" {
		return Card{}, nil, ErrCard
	}
	key, err := base64.StdEncoding.DecodeString(c.SigningKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return Card{}, nil, ErrCard
	}
	return c, ed25519.PublicKey(key), nil
}
