// Package exchange is the conversation between a mission and headquarters
// over HTTP: enrollment, and the exchange in which a mission sends its
// pouch and receives HQ's reply in the same round trip. HQ never calls a
// mission; missions sit behind firewalls and NAT.
//
// The package holds the wire types, the mission's [Client], and [Routes],
// which mounts HQ's endpoints on Echo over an implementation of [HQ].
package exchange

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"chancery/shared/enroll"
)

// Paths of HQ's API.
const (
	PathEnroll   = "/api/v1/enroll"
	PathExchange = "/api/v1/exchange"
)

// Enrollment. The mission sends its new public keys with a MAC under the
// key derived from its one-time code (enroll.Key); HQ answers with its own
// keys and a MAC under the same key over its answer and the mission's
// keys. The code itself never travels, so a machine in the middle can
// neither read it nor forge either MAC: it can stop an enrollment, never
// turn it to keys of its own. Both sides then show HQ's key fingerprint,
// for people to compare by telephone.

// EnrollRequest is what a mission sends to enroll.
type EnrollRequest struct {
	// Mission is the mission's code at HQ, if the person enrolling gave
	// it; HQ then looks only at that mission's code.
	Mission string `json:"mission"`
	// AgeRecipient is the mission's X25519 recipient (age1…).
	AgeRecipient string `json:"age_recipient"`
	// SigningKey is the mission's Ed25519 public key, base64.
	SigningKey string `json:"signing_key"`
	// MAC is [EnrollRequest.Sum] under the code's key.
	MAC string `json:"mac"`
}

// NewEnrollRequest makes the request that enrolls a mission's new keys
// with a one-time code, its MAC set.
func NewEnrollRequest(code, mission, ageRecipient, signingKey string) EnrollRequest {
	r := EnrollRequest{Mission: mission, AgeRecipient: ageRecipient, SigningKey: signingKey}
	r.MAC = r.Sum(enroll.Key(code))
	return r
}

// Sum computes the request's MAC under key (enroll.Key of the code).
func (r EnrollRequest) Sum(key []byte) string {
	return mac(key, "chancery enroll request v2", r.Mission, r.AgeRecipient, r.SigningKey)
}

// EnrollResponse tells the mission who HQ is.
type EnrollResponse struct {
	Mission      string   `json:"mission"`
	Name         string   `json:"name"`
	HQSite       string   `json:"hq_site"`
	HQRecipients []string `json:"hq_recipients"`
	HQSigningKey string   `json:"hq_signing_key"`
	// Card is HQ's card for the mission's new signing key (see [Card]).
	Card string `json:"card,omitempty"`
	// Root is HQ's newest root statement (see chancery/shared/root), which
	// certifies HQSigningKey; empty while HQ has none.
	Root string `json:"root,omitempty"`
	// PeerKey is the key missions seal what they tell each other with
	// (see Receipt.PeerKey).
	PeerKey string `json:"peer_key,omitempty"`
	// PouchFormat is the newest pouch format HQ reads (see
	// chancery/sync/pouch). It is left out of the MAC, which agents that
	// predate it check: the receipts, which are signed, say it again, and
	// a wrong value costs bytes or one refused pouch, never a change.
	PouchFormat int `json:"pouch_format,omitempty"`
	// MAC is [EnrollResponse.Sum] under the code's key.
	MAC string `json:"mac"`
}

// Sum computes the answer's MAC under key, over the answer and the keys
// of the request it answers: an answer made for another request (another
// mission's, or an older one of this mission) does not verify.
func (r EnrollResponse) Sum(key []byte, req EnrollRequest) string {
	return mac(key, "chancery enroll answer v2", req.AgeRecipient, req.SigningKey,
		r.Mission, r.Name, r.HQSite, strings.Join(r.HQRecipients, ","), r.HQSigningKey, r.Card, r.Root, r.PeerKey)
}

// mac is HMAC-SHA-256 under key over a label and fields, each ended by a
// NUL so that no two field lists give the same bytes.
func mac(key []byte, label string, fields ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label + "\x00"))
	for _, f := range fields {
		m.Write([]byte(f + "\x00"))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Fingerprint is how people compare an Ed25519 public key (base64) by
// eye or by telephone: the first 16 bytes of its SHA-256, in eight groups
// of four hex digits.
func Fingerprint(signingKey string) string {
	k, err := base64.StdEncoding.DecodeString(signingKey)
	if err != nil {
		return "not a key"
	}
	s := sha256.Sum256(k)
	h := hex.EncodeToString(s[:16])
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h[i : i+4])
	}
	return b.String()
}

// Receipt is HQ's signed statement of what it holds from a mission. It
// travels as the first line of a reply pouch.
type Receipt struct {
	Type    string `json:"type"` // "receipt"
	Mission string `json:"mission"`
	// Pouch is the id of the pouch answered.
	Pouch string `json:"pouch"`
	// Through is the highest sequence number up to which HQ holds every
	// change of the mission.
	Through int64     `json:"through"`
	At      time.Time `json:"at"`
	// Serial is HQ's reply counter, which only grows: a mission takes a
	// reply whose Serial is below one it has taken for a replay, whatever
	// the clocks say. 0 from an HQ that keeps none.
	Serial int64 `json:"serial,omitempty"`
	// Recipients, when set, are the age recipients the mission must seal
	// its pouches to from now on: HQ's and the escrow keys. HQ sends them
	// when a pouch shows the mission lacks one.
	Recipients []string `json:"recipients,omitempty"`
	// Rekeyed is the key id of the mission's new signing key, in the
	// answer to a rekey pouch: HQ holds the new keys and seals to them.
	Rekeyed string `json:"rekeyed,omitempty"`
	// Card is HQ's card for the new key, with Rekeyed; or, without it,
	// a renewed card for the key in use (see CardTTL).
	Card string `json:"card,omitempty"`
	// Revoked are the ids of missions' signing keys that HQ revoked or
	// that a rotation retired, while cards for them may still be good:
	// peers refuse those cards. The whole list, each time: none when
	// absent.
	Revoked []string `json:"revoked,omitempty"`
	// AuditAt is how many entries of the mission's audit chain HQ holds:
	// the mission's next pouch gives the chain's hash at that entry (see
	// pouch.AuditMark).
	AuditAt int64 `json:"audit_at,omitempty"`
	// PeerKey is the key the missions seal what they tell each other
	// with, "epoch.key" (see chancery/sync/relay), sent when the pouch
	// answered shows another epoch (pouch.Manifest.PeerEpoch).
	PeerKey string `json:"peer_key,omitempty"`
	// Reads is the newest pouch format HQ reads, given when the pouch
	// answered was written in an older one: the mission writes that one
	// from then on.
	Reads int `json:"reads,omitempty"`
}

// Rekey is the one line of a rekey pouch.
type Rekey struct {
	Type         string `json:"type"` // "rekey"
	AgeRecipient string `json:"age_recipient"`
	SigningKey   string `json:"signing_key"` // Ed25519 public key, base64
}

// HQ is what headquarters offers the missions. Implementations must be
// safe for concurrent use.
type HQ interface {
	Enroll(ctx context.Context, req EnrollRequest, remote string) (EnrollResponse, error)
	// Exchange takes a pouch and returns the reply pouch.
	Exchange(ctx context.Context, pouch []byte, remote string) ([]byte, error)
	// Admit checks the start of a pouch to be uploaded (its first
	// pouch.HeadSize bytes, or all of a smaller one) and returns the
	// mission whose genuine, signed pouch it is and the pouch's id; an
	// error if it is not one. Nothing is stored for an upload it refuses.
	Admit(ctx context.Context, head []byte) (mission, pouchID string, err error)
}

// GuidanceLine is HQ's guidance on one of the mission's incidents, in a
// reply. HQ sends it until the incident's timeline at the mission shows it.
type GuidanceLine struct {
	Type     string    `json:"type"` // "guidance"
	ID       string    `json:"id"`
	Incident string    `json:"incident"`
	Text     string    `json:"text"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	// Ack marks HQ's acknowledgement of the escalation, as the crisis
	// pathway asks of HQ.
	Ack bool `json:"ack,omitempty"`
}
