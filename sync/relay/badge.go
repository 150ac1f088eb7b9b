package relay

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// What a node tells the cluster about itself (its memberlist metadata) is
// a badge: its Meta and its HQ card, signed with the key the card is for
// and bound to the node's name, the whole sealed with the peer key that HQ
// hands every enrolled mission in its receipts. So:
//
//   - a node that holds the gossip key and nothing else sees that other
//     nodes are there, and reads nothing of them: not which missions they
//     are, nor whether they reach HQ, nor where their agents answer;
//   - a node is listed as a mission only with a badge that opens, whose
//     card HQ signed, has not expired nor been withdrawn, and whose
//     signature is that card's key's: no one can be listed as another
//     mission, or as a mission at all, without that mission's key.
//
// HQ makes a new peer key whenever it revokes a mission or a mission's
// keys; a node reads badges sealed with the peer key in force or the one
// before, so that the missions need not hear from HQ all at once.
//
// A badge is: version byte 1, the peer key's epoch (4 bytes, big endian),
// a 24-byte nonce, and XChaCha20-Poly1305 over the node's name (as
// additional data) of: the card's JSON (2-byte length first) and HQ's
// 64-byte signature, the Meta's JSON (2-byte length first), and the
// node's 64-byte Ed25519 signature over badgeContext, the node's name, a
// NUL and the Meta's JSON.

// PeerKey is a peer key and its epoch, which only grows.
type PeerKey struct {
	Epoch uint32
	Key   []byte // 32 bytes
}

// ParsePeerKey reads a peer key as HQ sends it: "epoch.key", the key in
// base64.
func ParsePeerKey(s string) (PeerKey, error) {
	e, k, ok := strings.Cut(s, ".")
	epoch, err1 := strconv.ParseUint(e, 10, 32)
	key, err2 := base64.StdEncoding.DecodeString(k)
	if !ok || err1 != nil || err2 != nil || len(key) != chacha20poly1305.KeySize {
		return PeerKey{}, errors.New("a peer key is an epoch and 32 bytes in base64, joined by a dot")
	}
	return PeerKey{Epoch: uint32(epoch), Key: key}, nil
}

const badgeContext = "chancery peer badge v1\x00"

// ErrBadge is a badge that does not show a mission of our HQ's.
var ErrBadge = errors.New("the node shows no valid badge of a mission of our HQ's")

// sealBadge makes the badge of the node named node; nil if the identity
// lacks a card or a peer key (the node is then present and says nothing).
func sealBadge(id Identity, node string, m Meta) []byte {
	if len(id.PeerKeys) == 0 || id.Card == "" || id.Key == nil {
		return nil
	}
	a, b, ok := strings.Cut(id.Card, ".")
	body, err1 := base64.RawURLEncoding.DecodeString(a)
	sig, err2 := base64.RawURLEncoding.DecodeString(b)
	if !ok || err1 != nil || err2 != nil || len(sig) != ed25519.SignatureSize {
		return nil
	}
	m.Mission = "" // the card says it
	mj, _ := json.Marshal(m)
	var pt []byte
	pt = binary.BigEndian.AppendUint16(pt, uint16(len(body)))
	pt = append(append(pt, body...), sig...)
	pt = binary.BigEndian.AppendUint16(pt, uint16(len(mj)))
	pt = append(pt, mj...)
	pt = append(pt, ed25519.Sign(id.Key, badgeMessage(node, mj))...)

	k := id.PeerKeys[0]
	aead, err := chacha20poly1305.NewX(k.Key)
	if err != nil {
		return nil
	}
	out := []byte{1}
	out = binary.BigEndian.AppendUint32(out, k.Epoch)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, pt, []byte(node))
}

func badgeMessage(node string, mj []byte) []byte {
	return append([]byte(badgeContext+node+"\x00"), mj...)
}

// openBadge reads the badge of the node named node: the Meta, with the
// mission its card names.
func openBadge(id Identity, node string, b []byte) (Meta, error) {
	if len(b) < 5+chacha20poly1305.NonceSizeX || b[0] != 1 {
		return Meta{}, ErrBadge
	}
	epoch := binary.BigEndian.Uint32(b[1:5])
	var pt []byte
	for _, k := range id.PeerKeys {
		if k.Epoch != epoch {
			continue
		}
		aead, err := chacha20poly1305.NewX(k.Key)
		if err != nil {
			return Meta{}, ErrBadge
		}
		nonce := b[5 : 5+aead.NonceSize()]
		if pt, err = aead.Open(nil, nonce, b[5+aead.NonceSize():], []byte(node)); err != nil {
			return Meta{}, ErrBadge
		}
	}
	if pt == nil {
		return Meta{}, fmt.Errorf("%w: sealed with a peer key of epoch %d, which this mission does not hold", ErrBadge, epoch)
	}
	body, rest, ok := field(pt)
	if !ok || len(rest) < ed25519.SignatureSize {
		return Meta{}, ErrBadge
	}
	cardSig, rest := rest[:ed25519.SignatureSize], rest[ed25519.SignatureSize:]
	mj, rest, ok := field(rest)
	if !ok || len(rest) != ed25519.SignatureSize {
		return Meta{}, ErrBadge
	}
	card, key, err := checkCard(id, base64.RawURLEncoding.EncodeToString(body)+"."+base64.RawURLEncoding.EncodeToString(cardSig))
	if err != nil {
		return Meta{}, fmt.Errorf("%w: %v", ErrBadge, err)
	}
	if !ed25519.Verify(key, badgeMessage(node, mj), rest) {
		return Meta{}, fmt.Errorf("%w: not signed with %s's key", ErrBadge, card.Mission)
	}
	var m Meta
	if err := json.Unmarshal(mj, &m); err != nil {
		return Meta{}, ErrBadge
	}
	m.Mission = card.Mission
	return m, nil
}

// field reads a 2-byte length and that many bytes.
func field(b []byte) (f, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return nil, nil, false
	}
	return b[2 : 2+n], b[2+n:], true
}
