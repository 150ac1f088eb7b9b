// Package pouch seals and opens pouches: the files that carry changes from
// a mission to headquarters and replies from headquarters to a mission,
// over HTTP or on a USB stick. The format is specified in
// docs/pouch-format.md; this package is its reference implementation.
//
// # Promises
//
// A pouch is a standard age file, so the upstream age tool opens it with
// the recipient's identity and nobody else can read it: not a relay, not a
// courier. Inside, a manifest signed with the sender's Ed25519 key binds the
// sender, the intended recipient site, the fingerprints of the age
// recipients it was sealed to, the pouch id, the sequence range and the
// hash of the body. [Open] decrypts the whole pouch into a buffer of capped
// size and checks every one of those bindings before it returns anything,
// because age releases plaintext before it has authenticated the end of
// the file.
//
// # Errors
//
// Each way a pouch can be refused has a sentinel error ([ErrNotPouch],
// [ErrTooLarge], [ErrSignature], …), so that callers map them to protocol
// answers with errors.Is; the wrapped message says what was wrong.
package pouch

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"filippo.io/age"
)

// Format is the newest version of the pouch format: this package reads
// every version from 1 to it, and writes the one an [Envelope] asks for.
const Format = 2

// The plaintext of a pouch starts with its version's magic line, and its
// manifest is signed under its version's context string: a signature over
// a manifest can never be mistaken for one over anything else made with
// the same key, nor over a manifest of another version.
const (
	magic1      = "CHANCERY-POUCH/1\n"
	magic2      = "CHANCERY-POUCH/2\n"
	sigContext1 = "chancery pouch manifest v1\x00"
	sigContext2 = "chancery pouch manifest v2\x00"
)

// Kinds of pouch.
const (
	// KindChanges carries a site's change log entries (changelog.Change).
	KindChanges = "changes"
	// KindReply carries what headquarters answers a mission: a receipt and
	// updates.
	KindReply = "reply"
	// KindRekey carries a mission's new public keys, signed with its
	// current ones.
	KindRekey = "rekey"
)

// Manifest describes and binds a pouch's content.
type Manifest struct {
	Format int    `json:"format"`
	Kind   string `json:"kind"`
	// ID is unique per pouch (random, 16 bytes hex).
	ID string `json:"id"`
	// From is the sending site: a mission code, or HQ.
	From string `json:"from"`
	// KeyID names the sender's signing key (see [KeyID]).
	KeyID string `json:"key"`
	// To is the site the pouch is addressed to.
	To string `json:"to"`
	// Recipients are the fingerprints of the age recipients the pouch was
	// sealed to (see [Fingerprint]).
	Recipients []string `json:"recipients"`
	// First and Last are the sequence range of the changes carried; both
	// zero when a pouch carries no changes.
	First   int64     `json:"first"`
	Last    int64     `json:"last"`
	Created time.Time `json:"created"`
	// Records is the number of lines in the body.
	Records int `json:"records"`
	// BodySHA256 is the hex SHA-256 of the body: in format 1, of the
	// gzip body as it is in the file, whose length is BodySize; in format
	// 2, of the body's lines themselves. RawSize is the length of the
	// lines.
	BodySHA256 string `json:"body_sha256"`
	BodySize   int64  `json:"body_size,omitempty"`
	RawSize    int64  `json:"raw_size"`
	// PeerDocuments, in a mission's pouch, asks HQ to leave the documents
	// of a release out of its reply: the mission takes them from its peers
	// by their hashes, which the signed release gives. Set only by the
	// mission, under its signature, so no carrier can set it.
	PeerDocuments bool `json:"peer_documents,omitempty"`
	// Root, in a mission's pouch, is the version of HQ's root of trust the
	// mission follows (see package chancery/shared/root); 0 for none.
	Root int64 `json:"root,omitempty"`
	// Roots, in HQ's reply, are the root statements after the version the
	// mission follows: with them the mission learns HQ's new online keys
	// before it checks the signature made with them.
	Roots []json.RawMessage `json:"roots,omitempty"`
	// Audit, in a mission's pouch, is where the mission's audit chain
	// stands, under the mission's signature.
	Audit *AuditMark `json:"audit,omitempty"`
	// PeerEpoch, in a mission's pouch, is the epoch of the peer key the
	// mission holds (0: none); HQ sends the key in force when it differs.
	PeerEpoch uint32 `json:"peer,omitempty"`
}

// AuditMark is a mission's audit chain as its pouch reports it: how many
// entries it holds and the hash of the last, and the hash at entry At,
// where HQ's last receipt said HQ's copy of the mark stood. The hashes
// are recomputed from the entries themselves, so an entry edited,
// removed or moved since HQ last heard changes the hash at At; they
// travel as their first 16 bytes, in unpadded base64url.
//
// It goes in every pouch, so its JSON names are short.
type AuditMark struct {
	Entries int64  `json:"n"`
	Head    string `json:"h"`
	At      int64  `json:"at,omitempty"`
	AtHash  string `json:"ah,omitempty"`
}

// Limits cap what [Open] accepts.
type Limits struct {
	// MaxPouch is the largest pouch file, encrypted.
	MaxPouch int64
	// MaxRaw is the largest body once decompressed.
	MaxRaw int64
	// MaxRecords is the most lines a body may hold.
	MaxRecords int
}

// DefaultLimits suit a mission's backlog: a week of heavy work is a few
// thousand changes of a few hundred bytes; 16 MiB of pouch and 64 MiB of
// JSON leave room for evidence notes, and a sender with more splits its
// backlog into several pouches (see the outbox).
var DefaultLimits = Limits{
	MaxPouch:   16 << 20,
	MaxRaw:     64 << 20,
	MaxRecords: 20_000,
}

// Refusals. Every error returned by Open wraps one of these.
var (
	ErrNotPouch     = errors.New("not a pouch")
	ErrNotForUs     = errors.New("pouch is not readable with our key")
	ErrTampered     = errors.New("pouch is damaged or was altered")
	ErrTooLarge     = errors.New("pouch is too large")
	ErrMalformed    = errors.New("pouch is malformed")
	ErrUnknownKey   = errors.New("pouch is signed by an unknown key")
	ErrRevokedKey   = errors.New("pouch is signed by a revoked key")
	ErrSignature    = errors.New("pouch signature is not valid")
	ErrMisaddressed = errors.New("pouch is addressed to another site")
	ErrRebound      = errors.New("pouch was re-encrypted to a recipient the sender did not choose")
	ErrTooMany      = errors.New("pouch holds too many records")
)

// KeyID is the short name of an Ed25519 public key: the first 8 bytes of
// its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// Fingerprint is the short name of an age recipient: the first 16 bytes of
// the SHA-256 of its string form ("age1…"), in hex.
func Fingerprint(r *age.X25519Recipient) string {
	s := sha256.Sum256([]byte(r.String()))
	return hex.EncodeToString(s[:16])
}
