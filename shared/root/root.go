// Package root is HQ's root of trust: an offline key (or several, with a
// threshold) that certifies HQ's online keys, the ones HQ signs replies,
// releases and cards with and that missions seal their pouches to. The
// root keys are made and kept off the HQ server (on a USB stick, in a
// safe); the server holds only the signed statement, so that a stolen or
// compromised HQ server can be given new online keys that every mission
// follows, while whoever stole the old ones can certify nothing.
//
// It follows the root-rotation model of The Update Framework (TUF):
//
//   - a root statement has a version; version n+1 must be signed by a
//     threshold of the root keys of version n and by a threshold of its
//     own, so that root keys themselves can be replaced, one version at a
//     time;
//   - a mission trusts one version and moves only forward, one version at
//     a time: a version at or below the one it trusts is a rollback and
//     is refused, and so is a gap;
//   - the online keys in force are the ones the newest trusted version
//     lists, and no other.
//
// Unlike TUF, a statement does not expire: missions' clocks are not to be
// trusted, and the freshness of what HQ says is given by the reply
// counter in its receipts. The format is written down in
// docs/sync-protocol.md, "Root of trust".
package root

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
)

// Statement is what a root version says.
type Statement struct {
	Type    string    `json:"type"` // "chancery-root"
	Version int64     `json:"version"`
	Issued  time.Time `json:"issued"`
	// Root lists the keys that sign the next version, and how many of them
	// must.
	Root Role `json:"root"`
	// Online are HQ's online keys in force.
	Online Online `json:"online"`
}

// Role is a set of Ed25519 public keys (base64) and a threshold.
type Role struct {
	Keys      []string `json:"keys"`
	Threshold int      `json:"threshold"`
}

// Online are HQ's online keys: the Ed25519 keys (base64) that sign what
// HQ sends, and HQ's age recipients, which missions seal to.
type Online struct {
	Signing    []string `json:"signing"`
	Recipients []string `json:"recipients"`
}

// Signed is a statement with its signatures, as it is kept and sent.
// Signatures are over the compact JSON of Signed.
type Signed struct {
	Signed     json.RawMessage `json:"signed"`
	Signatures []Signature     `json:"signatures"`
}

// Signature is one root key's signature.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"` // base64
}

const sigContext = "chancery root v1\x00"

// Errors of a root statement.
var (
	ErrMalformed = errors.New("not a root statement of HQ's")
	ErrThreshold = errors.New("not signed by enough of the root keys")
	ErrRollback  = errors.New("older than the root already trusted (a rollback)")
	ErrGap       = errors.New("a root version is missing in between")
	ErrNotOurs   = errors.New("the root does not certify the HQ key pinned at enrollment")
)

// KeyID names a root key: the first 8 bytes of the SHA-256 of the public
// key, in hex.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// Parse reads a signed statement and checks that it is well formed and
// signed by a threshold of its own root keys (which says nothing yet of
// whether those keys are to be trusted: see Trust).
func Parse(b []byte) (Signed, Statement, error) {
	var s Signed
	if err := json.Unmarshal(b, &s); err != nil {
		return s, Statement{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, s.Signed); err != nil {
		return s, Statement{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	s.Signed = c.Bytes()
	var st Statement
	dec := json.NewDecoder(bytes.NewReader(s.Signed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil || st.Type != "chancery-root" || st.Version < 1 {
		return s, st, fmt.Errorf("%w: %v", ErrMalformed, cmpErr(err, "wrong type or version"))
	}
	if err := st.check(); err != nil {
		return s, st, err
	}
	if !s.signedBy(st.Root) {
		return s, st, fmt.Errorf("version %d: %w of its own", st.Version, ErrThreshold)
	}
	return s, st, nil
}

func cmpErr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

func (st Statement) check() error {
	if st.Root.Threshold < 1 || st.Root.Threshold > len(st.Root.Keys) {
		return fmt.Errorf("%w: version %d needs %d of %d root keys", ErrMalformed, st.Version, st.Root.Threshold, len(st.Root.Keys))
	}
	for _, k := range append(slices.Clone(st.Root.Keys), st.Online.Signing...) {
		if _, err := publicKey(k); err != nil {
			return fmt.Errorf("%w: version %d: %v", ErrMalformed, st.Version, err)
		}
	}
	if len(st.Online.Signing) == 0 || len(st.Online.Recipients) == 0 {
		return fmt.Errorf("%w: version %d names no online key", ErrMalformed, st.Version)
	}
	for _, r := range st.Online.Recipients {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return fmt.Errorf("%w: version %d: %v", ErrMalformed, st.Version, err)
		}
	}
	return nil
}

func publicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%q is not an Ed25519 public key", s)
	}
	return ed25519.PublicKey(b), nil
}

// signedBy reports whether a threshold of the role's keys signed s, each
// key counted once.
func (s Signed) signedBy(r Role) bool {
	msg := append([]byte(sigContext), s.Signed...)
	good := map[string]bool{}
	for _, k := range r.Keys {
		pub, err := publicKey(k)
		if err != nil {
			continue
		}
		id := KeyID(pub)
		for _, sig := range s.Signatures {
			b, err := base64.StdEncoding.DecodeString(sig.Sig)
			if sig.KeyID == id && err == nil && ed25519.Verify(pub, msg, b) {
				good[id] = true
			}
		}
	}
	return len(good) >= r.Threshold
}

// Encode is the statement as it is kept and sent: one line of JSON.
func (s Signed) Encode() []byte {
	b, _ := json.Marshal(s)
	return b
}

// Trusted is the root a mission trusts: the newest version it has
// followed.
type Trusted struct {
	Signed    Signed
	Statement Statement
}

// Zero reports whether no root is trusted yet.
func (t Trusted) Zero() bool { return t.Statement.Version == 0 }

// Load reads a trusted root kept by Encode; an empty one is Zero.
func Load(b []byte) (Trusted, error) {
	if len(b) == 0 {
		return Trusted{}, nil
	}
	s, st, err := Parse(b)
	return Trusted{s, st}, err
}

// Certifies reports whether the root lists key (base64) as an online
// signing key.
func (t Trusted) Certifies(key string) bool { return slices.Contains(t.Statement.Online.Signing, key) }

// Follow moves the trust forward along a chain of statements, in any
// order: each next version must be signed by a threshold of the root keys
// of the version before it and by a threshold of its own. Statements at or
// below the version trusted are skipped, as already followed; a chain that
// only holds such statements gives ErrRollback when its newest is below
// the trusted one. With nothing trusted yet, the chain is anchored on the
// first statement that certifies pinned (the HQ key pinned at enrollment),
// so that a mission enrolled before HQ had a root comes to trust it
// through the key it already trusts.
func (t Trusted) Follow(chain [][]byte, pinned string) (Trusted, error) {
	var all []Trusted
	for _, b := range chain {
		s, st, err := Parse(b)
		if err != nil {
			return t, err
		}
		all = append(all, Trusted{s, st})
	}
	slices.SortFunc(all, func(a, b Trusted) int { return int(a.Statement.Version - b.Statement.Version) })
	cur := t
	for _, n := range all {
		switch {
		case cur.Zero():
			if !n.Certifies(pinned) {
				continue // an anchor comes later, or never
			}
			cur = n
		case n.Statement.Version <= cur.Statement.Version:
			if n.Statement.Version == cur.Statement.Version && !bytes.Equal(n.Signed.Signed, cur.Signed.Signed) {
				return t, fmt.Errorf("version %d: %w: it differs from the version %d already trusted", n.Statement.Version, ErrMalformed, cur.Statement.Version)
			}
		case n.Statement.Version > cur.Statement.Version+1:
			return t, fmt.Errorf("version %d after %d: %w", n.Statement.Version, cur.Statement.Version, ErrGap)
		default:
			if !n.Signed.signedBy(cur.Statement.Root) {
				return t, fmt.Errorf("version %d: %w of version %d", n.Statement.Version, ErrThreshold, cur.Statement.Version)
			}
			cur = n
		}
	}
	if t.Zero() && cur.Zero() && len(all) > 0 {
		return t, ErrNotOurs
	}
	if !t.Zero() && len(all) > 0 && all[len(all)-1].Statement.Version < t.Statement.Version {
		return t, fmt.Errorf("version %d, trusting %d: %w", all[len(all)-1].Statement.Version, t.Statement.Version, ErrRollback)
	}
	return cur, nil
}

// A root key file holds one private root key: "CHANCERY-ROOT-KEY-1 " and
// the key's seed in base64, on one line. It is made by NewKey and kept
// off the HQ server.
const keyPrefix = "CHANCERY-ROOT-KEY-1 "

// NewKey makes a root key and writes it to path, which must not exist
// yet; it returns the public key.
func NewKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write the root key: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%s%s\n", keyPrefix, base64.StdEncoding.EncodeToString(priv.Seed())); err != nil {
		f.Close()
		return nil, err
	}
	return pub, f.Close()
}

// ReadKey reads a root key file.
func ReadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the root key: %w", err)
	}
	s, ok := strings.CutPrefix(strings.TrimSpace(string(b)), keyPrefix)
	seed, err := base64.StdEncoding.DecodeString(s)
	if !ok || err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s is not a root key file (it starts %q)", path, keyPrefix)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// PublicOf is a private key's public half, base64, as a Role lists it.
func PublicOf(k ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}

// New makes the unsigned statement of a version: the first (prev Zero) or
// the one after prev.
func New(prev Trusted, rootRole Role, online Online, now time.Time) (Signed, error) {
	st := Statement{Type: "chancery-root", Version: prev.Statement.Version + 1, Issued: now.UTC().Truncate(time.Second), Root: rootRole, Online: online}
	if err := st.check(); err != nil {
		return Signed{}, err
	}
	b, err := json.Marshal(st)
	return Signed{Signed: b}, err
}

// Sign adds a root key's signature, once.
func (s *Signed) Sign(k ed25519.PrivateKey) {
	id := KeyID(k.Public().(ed25519.PublicKey))
	s.Signatures = slices.DeleteFunc(s.Signatures, func(g Signature) bool { return g.KeyID == id })
	sig := ed25519.Sign(k, append([]byte(sigContext), s.Signed...))
	s.Signatures = append(s.Signatures, Signature{KeyID: id, Sig: base64.StdEncoding.EncodeToString(sig)})
}

// Complete reports what a statement still lacks to be followed from prev
// (Zero for a first version): nil when it is signed by enough of its own
// root keys and of prev's.
func (s Signed) Complete(prev Trusted) error {
	_, st, err := Parse(s.Encode())
	if err != nil {
		return err
	}
	if !prev.Zero() && !s.signedBy(prev.Statement.Root) {
		return fmt.Errorf("version %d: %w of version %d (%d needed)", st.Version, ErrThreshold, prev.Statement.Version, prev.Statement.Root.Threshold)
	}
	return nil
}
