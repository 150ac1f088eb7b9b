package uplink

import (
	"fmt"
	"net/http"
	"time"

	"chancery/sync/exchange"
)

// Delivery is how far a change has got towards HQ, as the pages say it:
// every state is read from what did happen (HQ's signed receipts, the
// tries and their outcome, the peers that took a pouch), never recorded
// ahead of the network call it stands for.
type Delivery struct {
	// State is one of the Delivery* constants.
	State string
	// Since is when the state began: the receipt, the hand-over to a
	// peer, the last contact with HQ, the start of the try under way.
	Since time.Time
	// Next is when the next try is due (zero when none is due).
	Next time.Time
	// Peer carries the pouch, for DeliveryCarried.
	Peer string
	// Why is HQ's refusal, or the last try's error.
	Why string
}

// The delivery states, in the order a change goes through them.
const (
	DeliveryQueued   = "queued"   // waits for the next sync
	DeliverySending  = "sending"  // a sync with HQ is under way
	DeliveryTrying   = "trying"   // HQ did not answer the last try; tried again on schedule
	DeliveryCarried  = "carried"  // a peer mission that reaches HQ took it there
	DeliveryReceived = "received" // HQ's signed receipt covers it
	DeliveryFailed   = "failed"   // HQ refused it, and trying again cannot mend that
)

// DeliveryOf says how far change seq has got. received is when HQ was
// seen to hold it, if it was (an escalation HQ took ahead of the changes
// before it, which its receipt does not cover yet); next is when the next
// scheduled sync runs (zero if unknown).
func (s Status) DeliveryOf(seq int64, received, next time.Time) Delivery {
	switch {
	case !received.IsZero() || seq <= s.Acked:
		at := received
		if at.IsZero() && s.LastOK != nil {
			at = *s.LastOK
		}
		return Delivery{State: DeliveryReceived, Since: at}
	case s.Refused != "":
		return Delivery{State: DeliveryFailed, Since: deref(s.LastTry), Why: s.Refused}
	case s.CarriedThrough >= seq:
		return Delivery{State: DeliveryCarried, Since: s.CarriedAt, Peer: s.CarriedBy, Next: next}
	case s.Sending():
		return Delivery{State: DeliverySending, Since: deref(s.LastTry)}
	case s.LastError != "":
		return Delivery{State: DeliveryTrying, Since: deref(s.LastOK), Next: next, Why: s.LastError}
	}
	return Delivery{State: DeliveryQueued, Next: next}
}

// Sending reports whether a sync is under way: it began after the last
// one ended well, and has not failed yet.
func (s Status) Sending() bool {
	return s.LastTry != nil && (s.LastOK == nil || s.LastTry.After(*s.LastOK)) && s.LastError == ""
}

// Unreachable reports whether HQ refuses the mission, or has not been
// reached for longer than every, the sync interval, although the mission
// has tried: the banner every page shows.
func (s Status) Unreachable(now time.Time, every time.Duration) bool {
	switch {
	case !s.Enrolled || s.HQURL == "":
		return false
	case s.Refused != "":
		return true
	}
	return s.LastError != "" && (s.LastOK == nil || now.Sub(*s.LastOK) > every)
}

// String is the state as one line, for logs and the command line.
func (d Delivery) String() string {
	switch d.State {
	case DeliveryReceived:
		return "received by HQ " + d.Since.UTC().Format(time.RFC3339)
	case DeliveryCarried:
		return fmt.Sprintf("carried by %s since %s", d.Peer, d.Since.UTC().Format(time.RFC3339))
	case DeliveryFailed, DeliveryTrying:
		return d.State + ": " + d.Why
	}
	return d.State
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// refusal says what HQ's final refusal means for the mission. HQ's error
// answers are not signed, so it says what was answered, not more.
func refusal(re *exchange.RemoteError) string {
	if re.Status == http.StatusForbidden {
		return "HQ's address answered that it does not accept this mission's key (" + re.Message + "). If HQ revoked the mission or its keys, ask HQ for a re-enrollment code and enroll again; if HQ says it did not, something on the network is answering in its place"
	}
	return "HQ's address refused the pouch (" + re.Message + "); trying again will not mend it. Tell HQ"
}
