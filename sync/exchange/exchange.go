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
	"encoding/hex"
	"strings"
	"time"
)

// Paths of HQ's API.
const (
	PathEnroll   = "/api/v1/enroll"
	PathExchange = "/api/v1/exchange"
)

// ContentType is the media type of a pouch on the wire.
const ContentType = "application/vnd.chancery.pouch"

// EnrollRequest is what a mission sends to enroll with a one-time code.
type EnrollRequest struct {
	Code    string `json:"code"`
	Mission string `json:"mission"`
	// AgeRecipient is the mission's X25519 recipient (age1…).
	AgeRecipient string `json:"age_recipient"`
	// SigningKey is the mission's Ed25519 public key, base64.
	SigningKey string `json:"signing_key"`
}

// EnrollResponse tells the mission who HQ is. MAC proves that whoever
// answered knew the enrollment code: a machine in the middle that swaps
// HQ's keys cannot make it.
type EnrollResponse struct {
	Mission      string   `json:"mission"`
	Name         string   `json:"name"`
	HQSite       string   `json:"hq_site"`
	HQRecipients []string `json:"hq_recipients"`
	HQSigningKey string   `json:"hq_signing_key"`
	MAC          string   `json:"mac"`
	// Card is HQ's card for the mission's new signing key (see [Card]).
	// It is signed by HQ itself, so the MAC need not cover it.
	Card string `json:"card,omitempty"`
}

// Sum computes the response's MAC under code.
func (r EnrollResponse) Sum(code string) string {
	m := hmac.New(sha256.New, []byte(NormalizeCode(code)))
	m.Write([]byte("chancery enroll v1\x00" + r.Mission + "\x00" + r.HQSite + "\x00" + strings.Join(r.HQRecipients, ",") + "\x00" + r.HQSigningKey))
	return hex.EncodeToString(m.Sum(nil))
}

// NormalizeCode removes the dashes and spaces people type in a code and
// upper-cases it.
func NormalizeCode(c string) string {
	c = strings.ToUpper(c)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, c)
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
	// Rekeyed is the key id of the mission's new signing key, in the
	// answer to a rekey pouch: HQ holds the new keys and seals to them.
	Rekeyed string `json:"rekeyed,omitempty"`
	// Card is HQ's card for the new key, with Rekeyed.
	Card string `json:"card,omitempty"`
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
}
