package relay

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// A card older than CardTTL opens no peer's door: a revoked mission's, or
// a rotated-out key's, stops working within that time.
func TestExpiredCardRefused(t *testing.T) {
	hqPub, hq, _ := ed25519.GenerateKey(nil)
	key, _, _ := ed25519.GenerateKey(nil)
	fresh := exchange.SignCard(hq, "FR-PAR", key, time.Now())
	if _, _, err := checkCard(Identity{HQ: hqPub}, fresh); err != nil {
		t.Fatalf("a fresh card: %v", err)
	}
	old := exchange.SignCard(hq, "FR-PAR", key, time.Now().Add(-exchange.CardTTL-time.Hour))
	if _, _, err := checkCard(Identity{HQ: hqPub}, old); !errors.Is(err, ErrNotPeer) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("a card past its lifetime: %v", err)
	}
}

// A card HQ has withdrawn (its mission revoked, or its key rotated out)
// is refused at once, long before it expires.
func TestWithdrawnCardRefused(t *testing.T) {
	hqPub, hq, _ := ed25519.GenerateKey(nil)
	key, _, _ := ed25519.GenerateKey(nil)
	card := exchange.SignCard(hq, "FR-PAR", key, time.Now())
	self := Identity{HQ: hqPub, Revoked: []string{"0123456789abcdef", pouch.KeyID(key)}}
	if _, _, err := checkCard(self, card); !errors.Is(err, ErrNotPeer) || !strings.Contains(err.Error(), "withdrawn") {
		t.Fatalf("a withdrawn card: %v", err)
	}
	self.Revoked = self.Revoked[:1]
	if _, _, err := checkCard(self, card); err != nil {
		t.Fatalf("a card not withdrawn: %v", err)
	}
}

// A badge fits in memberlist's metadata (512 bytes) at its largest: a long
// mission code, an IPv6 address, every field set.
func TestBadgeFitsMemberlistMeta(t *testing.T) {
	hqPub, hq, _ := ed25519.GenerateKey(nil)
	pub, sk, _ := ed25519.GenerateKey(nil)
	code := "ABCDEFGHIJKLMNOP"
	id := Identity{Mission: code, Key: sk, HQ: hqPub, Card: exchange.SignCard(hq, code, pub, time.Now()),
		PeerKeys: []PeerKey{{Epoch: 1 << 31, Key: make([]byte, 32)}}}
	m := Meta{HQLink: true, LastHQ: time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", 3600)), Release: 1 << 40,
		API: "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", TLS: true}
	node := "node-0123456789abcdef"
	b := sealBadge(id, node, m)
	if len(b) == 0 || len(b) > 512 {
		t.Fatalf("badge of %d bytes", len(b))
	}
	got, err := openBadge(id, node, b)
	if err != nil || got.Mission != code || got.API != m.API || !got.LastHQ.Equal(m.LastHQ) {
		t.Fatalf("badge read back: %+v %v", got, err)
	}
	// Moved to another node's name, it is refused.
	if _, err := openBadge(id, "node-other", b); err == nil {
		t.Fatal("a badge taken over by another node was accepted")
	}
}
