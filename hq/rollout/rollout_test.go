package rollout_test

import (
	"testing"
	"time"

	"chancery/hq/rollout"
	"chancery/hq/store"
)

func TestLedger(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	missions := []store.Mission{
		{Code: "FR-PAR", Region: "Europe", LastSeen: ago(5 * time.Minute)},  // applied
		{Code: "DE-BER", Region: "Europe", LastSeen: ago(10 * time.Minute)}, // failed
		{Code: "IT-ROM", Region: "Europe", LastSeen: ago(20 * time.Minute)}, // sent, no report yet
		{Code: "ES-MAD", Region: "Europe", LastSeen: ago(30 * time.Minute)}, // has not synced since
		{Code: "GR-ATH", Region: "Europe", LastSeen: ago(72 * time.Hour)},   // went quiet before it
		{Code: "KE-NBO", Region: "Africa", LastSeen: ago(time.Minute)},      // out of scope
	}
	pub := store.Publication{Seq: 12, Scope: "region:Europe"}
	updates := map[string]store.UpdateState{
		"FR-PAR": {SentVersion: 12, AppliedVersion: 12, AppliedAt: ago(4 * time.Minute)},
		"DE-BER": {SentVersion: 12, AppliedVersion: 9, FailedVersion: 12, FailedReason: "the update has expired", FailedAt: ago(9 * time.Minute)},
		"IT-ROM": {SentVersion: 12, AppliedVersion: 9, SentAt: ago(20 * time.Minute)},
		"ES-MAD": {SentVersion: 9, AppliedVersion: 9},
		"GR-ATH": {SentVersion: 9, AppliedVersion: 9},
	}
	rows := rollout.Ledger(pub, missions, updates, map[string]int{"FR-PAR": 3}, now)
	want := map[string]string{"FR-PAR": "applied", "DE-BER": "failed", "IT-ROM": "sent", "ES-MAD": "pending", "GR-ATH": "unknown"}
	if len(rows) != len(want) {
		t.Fatalf("%d rows; KE-NBO is out of scope: want %d", len(rows), len(want))
	}
	for _, r := range rows {
		if r.State != want[r.Mission.Code] {
			t.Errorf("%s: %s, want %s", r.Mission.Code, r.State, want[r.Mission.Code])
		}
	}
	for _, r := range rows {
		switch r.Mission.Code {
		case "FR-PAR":
			if r.Acks != 3 {
				t.Errorf("acks %d", r.Acks)
			}
		case "DE-BER":
			if r.Reason != "the update has expired" {
				t.Errorf("reason %q", r.Reason)
			}
		case "GR-ATH":
			if r.Since == nil || !r.Since.Equal(*missions[4].LastSeen) {
				t.Errorf("unknown since %v, want its last sync", r.Since)
			}
		}
	}
	if c := rollout.Count(rows); c["applied"] != 1 || c["unknown"] != 1 {
		t.Errorf("counts %v", c)
	}
}
