package uplink

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"

	"chancery/agent/store"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// keyPair is one set of the mission's keys: an age identity that HQ seals
// replies to, and an Ed25519 key that signs the mission's pouches.
type keyPair struct {
	id *age.X25519Identity
	sk ed25519.PrivateKey
}

func newKeyPair() keyPair {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		panic(err)
	}
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return keyPair{id, sk}
}

func (k keyPair) String() string {
	return k.id.String() + " " + base64.StdEncoding.EncodeToString(k.sk.Seed())
}

func (k keyPair) public() ed25519.PublicKey { return k.sk.Public().(ed25519.PublicKey) }
func (k keyPair) keyID() string             { return pouch.KeyID(k.public()) }

func parseKeyPair(s string) (keyPair, error) {
	a, b, ok := strings.Cut(s, " ")
	id, err := age.ParseX25519Identity(a)
	if !ok || err != nil {
		return keyPair{}, errors.New("the mission's key in the database is damaged")
	}
	seed, err := base64.StdEncoding.DecodeString(b)
	if err != nil || len(seed) != ed25519.SeedSize {
		return keyPair{}, errors.New("the mission's signing key in the database is damaged")
	}
	return keyPair{id, ed25519.NewKeyFromSeed(seed)}, nil
}

// Rotate makes new keys for the mission. They are announced to HQ in a
// pouch signed with the current keys, by the next sync or export, and
// used once HQ's receipt confirms it holds them.
func (l *Link) Rotate(ctx context.Context) (string, error) {
	var next keyPair
	err := l.DB.UpdateLink(ctx, func(s *store.Link) error {
		if _, err := peerOf(*s); err != nil {
			return err
		}
		if s.Keys.Next != "" {
			var err error
			next, err = parseKeyPair(s.Keys.Next)
			return err
		}
		next = newKeyPair()
		s.Keys.Next = next.String()
		return nil
	})
	if err != nil {
		return "", err
	}
	return next.keyID(), nil
}

// Rekey is the body of a rekey pouch: the mission's new public keys.
type Rekey = exchange.Rekey

func (l *Link) sealRekey(p peer) ([]byte, pouch.Manifest, error) {
	line := Rekey{AgeRecipient: p.next.id.Recipient().String(), SigningKey: base64.StdEncoding.EncodeToString(p.next.public())}.Encode()
	var buf bytes.Buffer
	m, err := pouch.Seal(&buf, pouch.Sender{Site: p.mission, Key: p.current.sk},
		pouch.Envelope{Kind: pouch.KindRekey, To: "HQ", Recipients: p.recipients, Format: p.format}, [][]byte{line})
	if err != nil {
		return nil, m, fmt.Errorf("seal the key rotation: %w", err)
	}
	return buf.Bytes(), m, nil
}

// cardFor reports whether card is HQ's card for mission's key k.
func cardFor(hq ed25519.PublicKey, card, mission string, k keyPair) bool {
	c, key, err := exchange.OpenCard(hq, card)
	return err == nil && c.Mission == mission && key.Equal(k.public())
}
