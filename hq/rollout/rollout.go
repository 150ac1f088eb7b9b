// Package rollout is the ledger of a publication: for each mission it is
// meant for, whether the mission has it, has refused it and why, or has
// not been heard from. A mission that stopped syncing is "unknown since"
// its last sync, never "up to date".
package rollout

import (
	"time"

	"chancery/hq/readymap"
	"chancery/hq/store"
)

// States of a mission in a rollout.
const (
	Pending = "pending" // published since the mission last synced
	Sent    = "sent"    // in a reply to the mission; no report yet
	Applied = "applied"
	Failed  = "failed"
	Unknown = "unknown" // the mission has gone quiet
)

// Row is one mission in the ledger.
type Row struct {
	Mission store.Mission
	State   string
	// Since is when the mission reached the state (sent, applied, failed)
	// or, for unknown, when it was last heard of (nil: never).
	Since  *time.Time
	Reason string
	// Acks is how many people at the mission acknowledged the version.
	Acks int
}

// Ledger builds the ledger of one publication.
func Ledger(p store.Publication, missions []store.Mission, updates map[string]store.UpdateState, acks map[string]int, now time.Time) []Row {
	var out []Row
	for _, m := range missions {
		if !store.InScope(p.Scope, m) {
			continue
		}
		u := updates[m.Code]
		r := Row{Mission: m, Acks: acks[m.Code]}
		switch {
		case u.AppliedVersion >= p.Seq:
			r.State, r.Since = Applied, u.AppliedAt
		case u.FailedVersion >= p.Seq:
			r.State, r.Since, r.Reason = Failed, u.FailedAt, u.FailedReason
		case u.SentVersion >= p.Seq:
			r.State, r.Since = Sent, u.SentAt
		default:
			r.State = Pending
		}
		if _, stale := readymap.Ago(m.LastSeen, now); stale && r.State != Applied {
			r.State, r.Since = Unknown, m.LastSeen
		}
		out = append(out, r)
	}
	return out
}

// Count tallies the ledger by state.
func Count(rows []Row) map[string]int {
	c := map[string]int{}
	for _, r := range rows {
		c[r.State]++
	}
	return c
}
