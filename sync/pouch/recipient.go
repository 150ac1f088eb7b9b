package pouch

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/curve25519"
)

// x25519 is an age X25519 recipient that writes exactly the stanza age's
// own does (an ephemeral share, and the file key wrapped under HKDF of
// the shared secret), but makes the ephemeral share with the fixed-base
// multiplication of edwards25519, on precomputed tables, instead of a
// Montgomery ladder: a third of the time. And the shared secret takes
// one ladder (see [ladder]), where golang.org/x/crypto's X25519, which
// age calls, runs two. HQ seals a reply for every exchange, and the
// ladders were the largest single cost of sealing. Any age
// implementation opens what it writes; TestFastRecipientIsAge checks it
// against age's own identity.
type x25519 struct{ pub []byte }

const x25519Label = "age-encryption.org/v1/X25519"

// fast returns the faster form of r.
func fast(r *age.X25519Recipient) (age.Recipient, error) {
	pub, err := recipientBytes(r.String())
	if err != nil {
		return nil, err
	}
	return x25519{pub}, nil
}

func (r x25519) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	var e [64]byte
	if _, err := rand.Read(e[:32]); err != nil {
		return nil, err
	}
	s, err := edwards25519.NewScalar().SetBytesWithClamping(e[:32])
	if err != nil {
		return nil, err
	}
	// X25519(e, 9) is the Montgomery form of [e]B on edwards25519, for
	// the same clamped scalar.
	share := new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery()
	shared, err := ladder(e[:32], r.pub)
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Key(sha256.New, shared, append(append([]byte{}, share...), r.pub...), x25519Label, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, chacha20poly1305.NonceSize)
	return []*age.Stanza{{
		Type: "X25519",
		Args: []string{base64.RawStdEncoding.EncodeToString(share)},
		Body: aead.Seal(nil, nonce, fileKey, nil),
	}}, nil
}

// recipientBytes is the public key an "age1…" string, already checked
// by age.ParseX25519Recipient, encodes.
func recipientBytes(s string) ([]byte, error) { return keyBytes(s, "age1") }

// keyBytes is the 32-byte key that an age key string with the given
// prefix ("age1", "AGE-SECRET-KEY-1") encodes: its bech32 data, without
// the checksum, which age checked when it parsed the key.
func keyBytes(s, prefix string) ([]byte, error) {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	data, ok := strings.CutPrefix(strings.ToLower(s), strings.ToLower(prefix))
	if !ok || len(data) < 6 {
		return nil, errors.New("pouch: not an age X25519 key")
	}
	data = data[:len(data)-6]
	var out []byte
	var acc, bits uint
	for _, c := range data {
		v := strings.IndexRune(charset, c)
		if v < 0 {
			return nil, errors.New("pouch: not an age X25519 key")
		}
		acc = acc<<5 | uint(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if len(out) != curve25519.PointSize {
		return nil, errors.New("pouch: not an age X25519 key")
	}
	return out, nil
}

// identity is an age X25519 identity that opens exactly what age's own
// does, and refuses what it refuses, but with one ladder where age's
// runs two (see [ladder]): HQ opens a pouch at every exchange.
// TestFastIdentityIsAge holds it to age's identity, stanza by stanza.
type identity struct{ secret, pub []byte }

// fastIdentity returns the faster form of id.
func fastIdentity(id *age.X25519Identity) (identity, error) {
	secret, err := keyBytes(id.String(), "AGE-SECRET-KEY-1")
	if err != nil {
		return identity{}, err
	}
	pub, err := recipientBytes(id.Recipient().String())
	if err != nil {
		return identity{}, err
	}
	return identity{secret, pub}, nil
}

func (i identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, st := range stanzas {
		key, err := i.unwrap(st)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		return key, err
	}
	return nil, age.ErrIncorrectIdentity
}

// unwrap is age's X25519 unwrapping of one stanza (the file key, wrapped
// under HKDF-SHA-256 of the shared secret, salted with both shares).
func (i identity) unwrap(st *age.Stanza) ([]byte, error) {
	if st.Type != "X25519" {
		return nil, age.ErrIncorrectIdentity
	}
	if len(st.Args) != 1 {
		return nil, errors.New("invalid X25519 recipient block")
	}
	share, err := base64.RawStdEncoding.Strict().DecodeString(st.Args[0])
	if err != nil || len(share) != curve25519.PointSize {
		return nil, errors.New("invalid X25519 recipient block")
	}
	shared, err := ladder(i.secret, share)
	if err != nil {
		return nil, fmt.Errorf("invalid X25519 recipient: %v", err)
	}
	key, err := hkdf.Key(sha256.New, shared, append(append([]byte{}, share...), i.pub...), x25519Label, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	if len(st.Body) != 16+aead.Overhead() {
		return nil, errors.New("invalid X25519 recipient block: incorrect file key size")
	}
	fileKey, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), st.Body, nil)
	if err != nil {
		return nil, age.ErrIncorrectIdentity
	}
	return fileKey, nil
}

// identities are the faster forms of ids, as age identities.
func identities(ids []*age.X25519Identity) ([]age.Identity, error) {
	out := make([]age.Identity, len(ids))
	for n, id := range ids {
		i, err := fastIdentity(id)
		if err != nil {
			return nil, err
		}
		out[n] = i
	}
	return out, nil
}

// ladder is X25519 (RFC 7748): the Montgomery ladder over the u
// coordinate, for the clamped scalar, in constant time. It runs one
// ladder, where golang.org/x/crypto's X25519 makes a crypto/ecdh private
// key first, which costs a ladder over the base point for a public key
// nobody reads. As X25519 does, it refuses a point whose product is
// zero (one of small order). TestLadderIsX25519 holds it to RFC 7748's
// vectors and to golang.org/x/crypto.
func ladder(scalar, point []byte) ([]byte, error) {
	var e [32]byte
	copy(e[:], scalar)
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64
	var x1, x2, z2, x3, z3, t0, t1 field.Element
	if _, err := x1.SetBytes(point); err != nil {
		return nil, err
	}
	x2.One()
	x3.Set(&x1)
	z3.One()
	swap := 0
	for pos := 254; pos >= 0; pos-- {
		b := int(e[pos/8]>>uint(pos&7)) & 1
		swap ^= b
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = b
		t0.Subtract(&x3, &z3)
		t1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&t0, &x2)
		z2.Multiply(&z2, &t1)
		t0.Square(&t1)
		t1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&t1, &t0)
		t1.Subtract(&t1, &t0)
		z2.Square(&z2)
		z3.Mult32(&t1, 121666)
		x3.Square(&x3)
		t0.Add(&t0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&t1, &t0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	out := x2.Bytes()
	if subtle.ConstantTimeCompare(out, make([]byte, 32)) == 1 {
		return nil, errors.New("bad input point: low order point")
	}
	return out, nil
}
