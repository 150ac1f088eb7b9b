package pouch

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"filippo.io/age"
)

// decrypt opens what age seals, of every size around a chunk's edges, and
// refuses what age refuses: a file cut anywhere (at a chunk's edge too),
// a byte changed, bytes added, another's key.
func TestDecryptIsAgesPayload(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	for _, n := range []int{0, 1, 700, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize, 2*chunkSize + 5} {
		pt := make([]byte, n)
		rand.Read(pt)
		var ct bytes.Buffer
		w, _ := age.Encrypt(&ct, id.Recipient())
		w.Write(pt)
		w.Close()
		got, err := decrypt(ct.Bytes(), []age.Identity{id})
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if _, err := decrypt(ct.Bytes(), []age.Identity{other}); !errors.Is(err, ErrNotForUs) {
			t.Fatalf("%d bytes, another key: %v", n, err)
		}
		b := ct.Bytes()
		hdr, _ := age.ExtractHeader(bytes.NewReader(b))
		cuts := []int{len(b) - 1, len(hdr) + payloadNonce, len(hdr) + 3}
		for c := len(hdr) + payloadNonce + chunkSize + 16; c < len(b); c += chunkSize + 16 {
			cuts = append(cuts, c) // at a chunk's edge: no chunk says it is the last
		}
		for _, c := range cuts {
			if _, err := decrypt(b[:c], []age.Identity{id}); !errors.Is(err, ErrTampered) {
				t.Fatalf("%d bytes cut to %d: %v", n, c, err)
			}
		}
		for _, at := range []int{len(hdr) + 1, len(hdr) + payloadNonce + 1, len(b) - 1} {
			bad := bytes.Clone(b)
			bad[at] ^= 1
			if _, err := decrypt(bad, []age.Identity{id}); !errors.Is(err, ErrTampered) {
				t.Fatalf("%d bytes, byte %d changed: %v", n, at, err)
			}
		}
		if _, err := decrypt(append(bytes.Clone(b), 0), []age.Identity{id}); !errors.Is(err, ErrTampered) {
			t.Fatalf("%d bytes and one more: %v", n, err)
		}
	}
}
