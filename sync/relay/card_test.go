package relay

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"chancery/sync/exchange"
)

// A card older than CardTTL opens no peer's door: a revoked mission's, or
// a rotated-out key's, stops working within that time.
func TestExpiredCardRefused(t *testing.T) {
	hqPub, hq, _ := ed25519.GenerateKey(nil)
	key, _, _ := ed25519.GenerateKey(nil)
	fresh := exchange.SignCard(hq, "FR-PAR", key, time.Now())
	if _, _, err := checkCard(hqPub, fresh); err != nil {
		t.Fatalf("a fresh card: %v", err)
	}
	old := exchange.SignCard(hq, "FR-PAR", key, time.Now().Add(-exchange.CardTTL-time.Hour))
	if _, _, err := checkCard(hqPub, old); !errors.Is(err, ErrNotPeer) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("a card past its lifetime: %v", err)
	}
}
