package uplink_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"chancery/agent/uplink"
	"chancery/sync/relay"
)

// TestCarrierQuota: a mission carries its peers' pouches within its
// quota; beyond it, it says so to the peer and logs it, and drops
// nothing it has taken. Space comes back once the peer takes HQ's reply.
func TestCarrierQuota(t *testing.T) {
	ctx := context.Background()
	h := newHQ(t)
	c := uplink.Carrier{Link: h.link, Quota: 1000}

	// Enrolled by file, the mission has no link to HQ to offer.
	if off, err := c.Offer(ctx, "FR-LYO", strings.Repeat("a", 64), 10); err != nil || off.Accept || !strings.Contains(off.Reason, "no link to HQ") {
		t.Fatalf("offer to a mission without a link: %+v %v", off, err)
	}
	if err := h.db.SetMetas(ctx, map[string]string{"uplink_hq_url": "http://127.0.0.1:9"}); err != nil {
		t.Fatal(err)
	}

	first := bytes.Repeat([]byte{1}, 600)
	if off, err := c.Offer(ctx, "FR-LYO", relay.Sum(first), 600); err != nil || !off.Accept {
		t.Fatalf("first offer: %+v %v", off, err)
	}
	if err := c.Hold(ctx, "FR-LYO", relay.Sum(first), first); err != nil {
		t.Fatal(err)
	}
	second := bytes.Repeat([]byte{2}, 600)
	off, err := c.Offer(ctx, "FR-LYO", relay.Sum(second), 600)
	if err != nil || off.Accept || off.Holding != 1 || !strings.Contains(off.Reason, "full") {
		t.Fatalf("offer over quota: %+v %v", off, err)
	}
	if err := c.Hold(ctx, "FR-LYO", relay.Sum(second), second); !errors.Is(err, relay.ErrFull) {
		t.Fatalf("hold over quota: %v", err)
	}
	held, err := h.db.RelayToCarry(ctx)
	if err != nil || len(held) != 1 || !bytes.Equal(held[0].Raw, first) {
		t.Fatalf("held after the refusal: %d pouches, %v", len(held), err)
	}
	events, _ := h.db.RelayEvents(ctx, 10)
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Event)
	}
	if strings.Join(kinds, " ") != "full full taken" {
		t.Fatalf("relay log: %q", kinds)
	}

	// HQ answers; the peer takes the reply; the space is free again.
	if err := h.db.RelayAnswered(ctx, relay.Sum(first), []byte("reply"), ""); err != nil {
		t.Fatal(err)
	}
	rs, err := c.Replies(ctx, "FR-LYO")
	if err != nil || len(rs) != 1 || string(rs[0].Reply) != "reply" {
		t.Fatalf("replies: %+v %v", rs, err)
	}
	if rs, _ := c.Replies(ctx, "FR-MRS"); len(rs) != 0 {
		t.Fatal("another mission is given FR-LYO's replies")
	}
	if err := c.Done(ctx, "FR-LYO", []string{relay.Sum(first)}); err != nil {
		t.Fatal(err)
	}
	if off, err := c.Offer(ctx, "FR-LYO", relay.Sum(second), 600); err != nil || !off.Accept || off.Holding != 0 {
		t.Fatalf("offer once the reply was taken: %+v %v", off, err)
	}
	// An answer never taken is forgotten after a while, and logged.
	third := bytes.Repeat([]byte{3}, 100)
	if err := c.Hold(ctx, "FR-MRS", relay.Sum(third), third); err != nil {
		t.Fatal(err)
	}
	h.db.RelayAnswered(ctx, relay.Sum(third), []byte("reply"), "")
	if gone, err := h.db.RelayExpire(ctx, time.Now().Add(time.Minute)); err != nil || len(gone) != 1 || gone[0].Mission != "FR-MRS" {
		t.Fatalf("expired: %+v %v", gone, err)
	}
}
