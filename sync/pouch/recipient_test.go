package pouch

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"

	"filippo.io/age"
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
