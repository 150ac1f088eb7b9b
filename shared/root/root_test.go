package root

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
)

func rootKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	p := filepath.Join(t.TempDir(), "root.key")
	if _, err := NewKey(p); err != nil {
		t.Fatal(err)
	}
	k, err := ReadKey(p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func online(t *testing.T) (Online, string) {
	pub, _, _ := ed25519.GenerateKey(nil)
	id, _ := age.GenerateX25519Identity()
	k := base64.StdEncoding.EncodeToString(pub)
	return Online{Signing: []string{k}, Recipients: []string{id.Recipient().String()}}, k
}

func sign(t *testing.T, prev Trusted, role Role, on Online, keys ...ed25519.PrivateKey) []byte {
	t.Helper()
	s, err := New(prev, role, on, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		s.Sign(k)
	}
	return s.Encode()
}

func role(threshold int, keys ...ed25519.PrivateKey) Role {
	r := Role{Threshold: threshold}
	for _, k := range keys {
		r.Keys = append(r.Keys, PublicOf(k))
	}
	return r
}

// A mission enrolled before HQ had a root anchors on the first version
// that certifies the HQ key it pinned, then follows each rotation; it
// refuses a version the root keys did not sign, a rollback and a gap.
func TestRotationFollowedAndForgeriesRefused(t *testing.T) {
	a, b, c := rootKey(t), rootKey(t), rootKey(t)
	on1, k1 := online(t)
	on2, k2 := online(t)
	on3, k3 := online(t)

	v1 := sign(t, Trusted{}, role(1, a), on1, a)
	t1, err := Trusted{}.Follow([][]byte{v1}, k1)
	if err != nil || t1.Statement.Version != 1 || !t1.Certifies(k1) {
		t.Fatalf("anchor: %v %+v", err, t1.Statement)
	}
	if _, err := (Trusted{}).Follow([][]byte{v1}, k2); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("a root that does not certify the pinned key: %v", err)
	}

	// Version 2 moves the online keys and the root keys to 2 of {b, c}:
	// signed by a (version 1's root) and by b and c (its own).
	v2 := sign(t, t1, role(2, b, c), on2, a, b, c)
	// Version 3 moves the online keys again, signed by b and c.
	t2 := Trusted{}
	if t2, err = t1.Follow([][]byte{v2}, ""); err != nil {
		t.Fatal(err)
	}
	v3 := sign(t, t2, role(2, b, c), on3, b, c)

	// The whole chain, in any order, from nothing but the pinned key.
	got, err := Trusted{}.Follow([][]byte{v3, v1, v2}, k1)
	if err != nil || got.Statement.Version != 3 || !got.Certifies(k3) || got.Certifies(k1) || got.Certifies(k2) {
		t.Fatalf("chain: %v, version %d, online %v", err, got.Statement.Version, got.Statement.Online.Signing)
	}

	// An online key the root did not certify: a version 4 signed by a key
	// of the compromised server's own making.
	evil := rootKey(t)
	onE, kE := online(t)
	forged := sign(t, got, role(1, evil), onE, evil)
	if _, err := got.Follow([][]byte{forged}, ""); !errors.Is(err, ErrThreshold) {
		t.Fatalf("forged version 4: %v", err)
	}
	// One of the two root keys is not enough.
	half := sign(t, got, role(2, b, c), onE, b)
	if _, err := got.Follow([][]byte{half}, ""); !errors.Is(err, ErrThreshold) {
		t.Fatalf("version 4 with one signature of two: %v", err)
	}
	// a, retired at version 2, signs nothing any more.
	old := sign(t, got, role(1, a), onE, a)
	if _, err := got.Follow([][]byte{old}, ""); !errors.Is(err, ErrThreshold) {
		t.Fatalf("version 4 signed by a retired root key: %v", err)
	}
	if got.Certifies(kE) {
		t.Fatal("the uncertified key is trusted")
	}

	// Rollback: versions 1 and 2 offered to a mission at 3.
	if _, err := got.Follow([][]byte{v1, v2}, k1); !errors.Is(err, ErrRollback) {
		t.Fatalf("rollback: %v", err)
	}
	// A gap: version 3 offered to a mission at 1.
	if _, err := t1.Follow([][]byte{v3}, ""); !errors.Is(err, ErrGap) {
		t.Fatalf("gap: %v", err)
	}
	// A version 2 that differs from the one trusted.
	other := sign(t, t1, role(1, a), onE, a)
	if _, err := t2.Follow([][]byte{other}, ""); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a second version 2: %v", err)
	}
	// A signature moved onto other bytes.
	s, _, _ := Parse(v3)
	s.Signed = []byte(string(s.Signed[:len(s.Signed)-1]) + `,"x":1}`)
	if _, err := t2.Follow([][]byte{s.Encode()}, ""); err == nil {
		t.Fatal("an altered version 3 was followed")
	}
}

// Complete says what a version still lacks, so that the people holding
// root keys know when the signing is done.
func TestCompleteSaysWhatIsMissing(t *testing.T) {
	a, b := rootKey(t), rootKey(t)
	on, _ := online(t)
	v1, _ := New(Trusted{}, role(1, a), on, time.Now())
	if err := v1.Complete(Trusted{}); !errors.Is(err, ErrThreshold) {
		t.Fatalf("unsigned: %v", err)
	}
	v1.Sign(a)
	if err := v1.Complete(Trusted{}); err != nil {
		t.Fatal(err)
	}
	t1, _ := Load(v1.Encode())
	v2, _ := New(t1, role(1, b), on, time.Now())
	v2.Sign(b)
	if err := v2.Complete(t1); !errors.Is(err, ErrThreshold) {
		t.Fatalf("without the old root's signature: %v", err)
	}
	v2.Sign(a)
	if err := v2.Complete(t1); err != nil {
		t.Fatal(err)
	}
}
