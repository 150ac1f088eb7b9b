package pouch

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/curve25519"
)

// The faster recipient writes what age's own identity opens, for many
// keys, and its shares are fresh every time.
func TestFastRecipientIsAge(t *testing.T) {
	shares := map[string]bool{}
	for range 200 {
		id, _ := age.GenerateX25519Identity()
		r, err := fast(id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		fileKey := make([]byte, 16)
		rand.Read(fileKey)
		st, err := r.Wrap(fileKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != 1 || st[0].Type != "X25519" || len(st[0].Args) != 1 {
			t.Fatalf("stanza %+v", st)
		}
		if shares[st[0].Args[0]] {
			t.Fatal("an ephemeral share came twice")
		}
		shares[st[0].Args[0]] = true
		got, err := id.Unwrap(st)
		if err != nil || !bytes.Equal(got, fileKey) {
			t.Fatalf("age's identity does not open it: %v", err)
		}
		// Another identity does not.
		other, _ := age.GenerateX25519Identity()
		if _, err := other.Unwrap(st); err == nil {
			t.Fatal("another key opened it")
		}
	}
	// A whole file, through age.
	id, _ := age.GenerateX25519Identity()
	r, _ := fast(id.Recipient())
	var buf bytes.Buffer
	w, _ := age.Encrypt(&buf, r)
	io.WriteString(w, "sealed by HQ")
	w.Close()
	d, err := age.Decrypt(&buf, id)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(d); string(b) != "sealed by HQ" {
		t.Fatalf("opened as %q", b)
	}
}

func TestRecipientBytesRefusesWhatIsNotAKey(t *testing.T) {
	for _, s := range []string{"", "age1", "AGE-SECRET-KEY-1XYZ", "age1qqqqqqqb", "age1" + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"} {
		if _, err := recipientBytes(s); err == nil {
			t.Errorf("%q was taken as a key", s)
		}
	}
}

// The ladder is X25519: RFC 7748's vectors (section 5.2, the first of
// them iterated a thousand times), golang.org/x/crypto's answer for
// random scalars and points (non-canonical ones too), and the same
// refusal of points of small order.
func TestLadderIsX25519(t *testing.T) {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	for _, v := range [][3]string{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	} {
		if got, err := ladder(h(v[0]), h(v[1])); err != nil || hex.EncodeToString(got) != v[2] {
			t.Fatalf("RFC 7748 vector: %x, %v", got, err)
		}
	}
	k, u := make([]byte, 32), make([]byte, 32)
	k[0], u[0] = 9, 9
	for i := 1; i <= 1000; i++ {
		out, err := ladder(k, u)
		if err != nil {
			t.Fatal(err)
		}
		k, u = out, k
		if i == 1 && hex.EncodeToString(k) != "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079" {
			t.Fatalf("one iteration: %x", k)
		}
	}
	if hex.EncodeToString(k) != "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51" {
		t.Fatalf("a thousand iterations: %x", k)
	}
	for i := range 500 {
		s, p := make([]byte, 32), make([]byte, 32)
		rand.Read(s)
		rand.Read(p)
		if i%50 == 0 {
			p = bytes.Repeat([]byte{0xff}, 32) // not below the field's prime
		}
		want, werr := curve25519.X25519(s, p)
		got, err := ladder(s, p)
		if (werr == nil) != (err == nil) || !bytes.Equal(got, want) {
			t.Fatalf("scalar %x, point %x: %x, %v; x/crypto says %x, %v", s, p, got, err, want, werr)
		}
	}
	for _, low := range []string{strings.Repeat("00", 32), "01" + strings.Repeat("00", 31), "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"} {
		s := make([]byte, 32)
		rand.Read(s)
		if _, err := ladder(s, h(low)); err == nil {
			t.Fatalf("a point of small order, %s, was taken", low)
		}
	}
}

// The faster identity opens what age's opens and refuses, stanza by
// stanza, what age's refuses, in the same way: another's file, a stanza
// of another type, a malformed share, a share of small order, a body of
// the wrong size, a changed body.
func TestFastIdentityIsAge(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	fi, err := fastIdentity(id)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	stanza := func(to *age.X25519Identity) *age.Stanza {
		st, err := to.Recipient().Wrap(make([]byte, 16))
		if err != nil {
			t.Fatal(err)
		}
		return st[0]
	}
	change := func(f func(*age.Stanza)) *age.Stanza {
		st := stanza(id)
		f(st)
		return st
	}
	cases := map[string][]*age.Stanza{
		"ours":                 {stanza(id)},
		"another's, then ours": {stanza(other), stanza(id)},
		"another's":            {stanza(other)},
		"another type":         {change(func(s *age.Stanza) { s.Type = "scrypt" })},
		"two arguments":        {change(func(s *age.Stanza) { s.Args = append(s.Args, "x") })},
		"a share not base64":   {change(func(s *age.Stanza) { s.Args[0] = "!!" })},
		"a padded share":       {change(func(s *age.Stanza) { s.Args[0] += "=" })},
		"a short share":        {change(func(s *age.Stanza) { s.Args[0] = s.Args[0][:40] })},
		"a share of small order": {change(func(s *age.Stanza) {
			s.Args[0] = base64.RawStdEncoding.EncodeToString(make([]byte, 32))
		})},
		"a short body":   {change(func(s *age.Stanza) { s.Body = s.Body[:31] })},
		"a changed body": {change(func(s *age.Stanza) { s.Body[3] ^= 1 })},
		"none":           nil,
	}
	for name, sts := range cases {
		want, werr := id.Unwrap(sts)
		got, err := fi.Unwrap(sts)
		if !bytes.Equal(got, want) || (werr == nil) != (err == nil) || errors.Is(werr, age.ErrIncorrectIdentity) != errors.Is(err, age.ErrIncorrectIdentity) {
			t.Errorf("%s: %x, %v; age's identity says %x, %v", name, got, err, want, werr)
		}
	}
	// And whole files, through age's own reader.
	for _, n := range []int{0, 1, 1000} {
		var buf bytes.Buffer
		w, _ := age.Encrypt(&buf, other.Recipient(), id.Recipient())
		w.Write(bytes.Repeat([]byte{'x'}, n))
		w.Close()
		d, err := age.Decrypt(bytes.NewReader(buf.Bytes()), fi)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(d); len(b) != n {
			t.Fatalf("%d bytes opened as %d", n, len(b))
		}
	}
}
