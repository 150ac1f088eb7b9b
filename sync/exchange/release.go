package exchange

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Updates from HQ. HQ's reply can carry a release: the list of documents
// (protocols, framework versions) in force for one mission, signed by HQ,
// with a version that only goes up and an expiry; then the documents the
// mission does not hold yet. The checks follow The Update Framework's
// guarantees, made for one publisher and pouches:
//
//   - the release is signed with HQ's key pinned at enrollment;
//   - it names the mission it is for; another mission ignores it;
//   - its version only goes up: an older release is refused (rollback);
//   - it expires: an expired one is refused, and the mission shows that
//     its feed may be frozen;
//   - each document must match the length and SHA-256 the release gives,
//     and a release is applied whole or not at all: a missing, altered or
//     mismatched document leaves every document as it was (consistency).
type Release struct {
	Type    string    `json:"type"` // "release"
	Mission string    `json:"mission"`
	Version int64     `json:"version"`
	Expires time.Time `json:"expires"`
	Targets []Target  `json:"targets"`
}

// Target is one document in a release.
type Target struct {
	Kind    string `json:"kind"` // "protocol"
	ID      string `json:"id"`
	Version int    `json:"version"`
	SHA256  string `json:"sha256"`
	Length  int    `json:"length"`
}

// Document kinds. A framework target's id is "framework" and its version
// the framework's.
const (
	KindProtocol  = "protocol"
	KindFramework = "framework"
)

// ReleaseLine is the signed release as it travels in a reply pouch.
type ReleaseLine struct {
	Type    string `json:"type"`    // "release"
	Release string `json:"release"` // the release's JSON, base64
	Sig     string `json:"sig"`     // Ed25519 over releaseContext and those bytes, base64
}

// TargetLine carries one document; Body is the document's JSON, whose
// length and hash the release gives.
type TargetLine struct {
	Type string          `json:"type"` // "target"
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

const releaseContext = "chancery release v1\x00"

// SignRelease signs a release with HQ's key.
func SignRelease(key ed25519.PrivateKey, r Release) ReleaseLine {
	r.Type = "release"
	b, _ := json.Marshal(r)
	return ReleaseLine{Type: "release", Release: base64.StdEncoding.EncodeToString(b),
		Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(key, append([]byte(releaseContext), b...)))}
}

// Errors of a release.
var (
	ErrReleaseSignature = errors.New("the update's signature is not HQ's")
	ErrReleaseOther     = errors.New("the update is for another mission")
	ErrReleaseRollback  = errors.New("the update is older than the one in force")
	ErrReleaseExpired   = errors.New("the update has expired")
	ErrReleaseMismatch  = errors.New("the update's documents do not match what it lists")
)

// OpenRelease checks a release line's signature with HQ's key.
func OpenRelease(hq ed25519.PublicKey, l ReleaseLine) (Release, error) {
	b, err1 := base64.StdEncoding.DecodeString(l.Release)
	sig, err2 := base64.StdEncoding.DecodeString(l.Sig)
	if err1 != nil || err2 != nil || !ed25519.Verify(hq, append([]byte(releaseContext), b...), sig) {
		return Release{}, ErrReleaseSignature
	}
	var r Release
	if err := json.Unmarshal(b, &r); err != nil || r.Type != "release" {
		return Release{}, fmt.Errorf("%w: unreadable", ErrReleaseSignature)
	}
	return r, nil
}

// TargetOf describes a document body as a release lists it.
func TargetOf(kind, id string, version int, body []byte) Target {
	s := sha256.Sum256(body)
	return Target{Kind: kind, ID: id, Version: version, SHA256: hex.EncodeToString(s[:]), Length: len(body)}
}

// Matches reports whether a document body is the one the target names.
func (t Target) Matches(body []byte) bool {
	s := sha256.Sum256(body)
	return len(body) == t.Length && hex.EncodeToString(s[:]) == t.SHA256
}
