package uplink

import (
	"testing"
	"time"
)

// TestDeliveryOf: each state is read from what happened, in the order
// that decides: HQ holding the change first, then HQ's refusal, a peer
// carrying it, a sync under way, a failed try, and queued otherwise.
func TestDeliveryOf(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(m int) *time.Time { x := t0.Add(time.Duration(m) * time.Minute); return &x }
	next := t0.Add(time.Hour)
	for _, c := range []struct {
		name     string
		s        Status
		seq      int64
		received time.Time
		want     string
	}{
		{"covered by the receipt", Status{Acked: 9, LastOK: at(5)}, 9, time.Time{}, DeliveryReceived},
		{"taken ahead of the backlog", Status{Acked: 2}, 9, t0, DeliveryReceived},
		{"refused", Status{Acked: 2, Refused: "revoked", LastError: "403"}, 9, time.Time{}, DeliveryFailed},
		{"carried by a peer", Status{Acked: 2, CarriedThrough: 9, CarriedBy: "FR-LYO", LastError: "down"}, 9, time.Time{}, DeliveryCarried},
		{"a peer carries older changes only", Status{Acked: 2, CarriedThrough: 8, LastError: "down"}, 9, time.Time{}, DeliveryTrying},
		{"a sync under way", Status{Acked: 2, LastOK: at(1), LastTry: at(2)}, 9, time.Time{}, DeliverySending},
		{"the last try failed", Status{Acked: 2, LastOK: at(1), LastTry: at(2), LastError: "cannot reach HQ"}, 9, time.Time{}, DeliveryTrying},
		{"not tried yet", Status{Acked: 2, LastOK: at(3), LastTry: at(2)}, 9, time.Time{}, DeliveryQueued},
		{"never tried", Status{}, 1, time.Time{}, DeliveryQueued},
	} {
		d := c.s.DeliveryOf(c.seq, c.received, next)
		if d.State != c.want {
			t.Errorf("%s: %s, want %s", c.name, d.State, c.want)
		}
	}
	if d := (Status{Acked: 2, LastOK: at(1), LastError: "cannot reach HQ"}).DeliveryOf(9, time.Time{}, next); !d.Since.Equal(*at(1)) || !d.Next.Equal(next) {
		t.Errorf("trying: since %v (the last contact), next %v", d.Since, d.Next)
	}
}

// TestUnreachable: the banner shows when HQ refuses the mission, or has
// not answered for longer than a sync interval; not for a mission that
// has not tried, nor one enrolled by file.
func TestUnreachable(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	every := 15 * time.Minute
	for _, c := range []struct {
		name string
		s    Status
		want bool
	}{
		{"fine", Status{Enrolled: true, HQURL: "x", LastOK: ago(time.Minute)}, false},
		{"one failed try within the interval", Status{Enrolled: true, HQURL: "x", LastOK: ago(10 * time.Minute), LastError: "down"}, false},
		{"failing longer than the interval", Status{Enrolled: true, HQURL: "x", LastOK: ago(20 * time.Minute), LastError: "down"}, true},
		{"never reached", Status{Enrolled: true, HQURL: "x", LastError: "down"}, true},
		{"refused", Status{Enrolled: true, HQURL: "x", LastOK: ago(time.Minute), Refused: "revoked"}, true},
		{"enrolled by file", Status{Enrolled: true, LastError: "no address"}, false},
		{"not enrolled", Status{LastError: "not enrolled"}, false},
	} {
		if got := c.s.Unreachable(now, every); got != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
