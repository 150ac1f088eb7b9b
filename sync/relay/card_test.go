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
