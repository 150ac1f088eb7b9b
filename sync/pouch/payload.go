package pouch

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// decrypt opens an age file held whole in memory: age reads the header
// (its MAC, and the file key for one of ids), and the payload is opened
// here, chunk by chunk as age's STREAM defines it, into one buffer of the
// plaintext's size. age's streaming reader holds two 64 KiB buffers for
// every file however small, and HQ opens a pouch for every exchange: they
// were most of what HQ allocated, and its collector's work.
func decrypt(ct []byte, ids []age.Identity) ([]byte, error) {
	hdr, err := age.ExtractHeader(bytes.NewReader(ct))
	if err != nil || !bytes.HasPrefix(ct, hdr) {
		return nil, fmt.Errorf("%w: header: %v", ErrTampered, err)
	}
	key, err := age.DecryptHeader(hdr, ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, fmt.Errorf("%w: %v", ErrNotForUs, err)
		}
		return nil, fmt.Errorf("%w: header: %v", ErrTampered, err)
	}
	pt, err := openPayload(key, ct[len(hdr):])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	return pt, nil
}

// The payload's framing (age-encryption.org/v1): a 16-byte nonce, then
// chunks of 64 KiB of plaintext, each sealed with ChaCha20-Poly1305 under
// HKDF-SHA-256(file key, nonce, "payload"), the chunk's nonce being its
// index in 11 big-endian bytes and a byte that is 1 for the last chunk
// only. Every chunk but the last is full; the last is empty only when
// the whole plaintext is.
const (
	payloadNonce = 16
	chunkSize    = 64 << 10
)

func openPayload(fileKey, payload []byte) ([]byte, error) {
	if len(payload) < payloadNonce {
		return nil, errors.New("the payload has no nonce")
	}
	key, err := hkdf.Key(sha256.New, fileKey, payload[:payloadNonce], "payload", chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	body := payload[payloadNonce:]
	sealed := chunkSize + aead.Overhead()
	chunks := (len(body) + sealed - 1) / sealed
	if chunks == 0 {
		return nil, errors.New("the payload is truncated")
	}
	out := make([]byte, 0, max(0, len(body)-chunks*aead.Overhead()))
	var nonce [chacha20poly1305.NonceSize]byte
	for i := range chunks {
		c := body[i*sealed : min((i+1)*sealed, len(body))]
		last := i == chunks-1
		if last && i > 0 && len(c) == aead.Overhead() {
			return nil, errors.New("the last chunk is empty")
		}
		binary.BigEndian.PutUint64(nonce[3:11], uint64(i))
		if last {
			nonce[11] = 1
		}
		if out, err = aead.Open(out, nonce[:], c, nil); err != nil {
			return nil, fmt.Errorf("chunk %d: %v", i, err)
		}
	}
	return out, nil
}
