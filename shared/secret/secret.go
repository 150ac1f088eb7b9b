// Package secret keeps a program's private keys out of its database in
// any usable form: they are stored sealed (ChaCha20-Poly1305) under a key
// kept in a file of its own, beside the database by default or wherever
// the operator puts it (another disk, a systemd credential). A copy of
// the database alone, or a backup of it, opens nothing.
package secret

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// prefix marks a sealed value; a value without it is from before keys were
// sealed, and is sealed when next written.
const prefix = "sealed1:"

// Box seals and opens values with one key.
type Box struct{ key []byte }

// Load reads the key file at path, making it (mode 0600, 32 random bytes)
// if it does not exist and create is true.
func Load(path string, create bool) (*Box, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		key := make([]byte, chacha20poly1305.KeySize)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("make the key file %s: %w", path, err)
		}
		return &Box{key: key}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the key file %s: %w; it opens the private keys in the database, which cannot be used without it", path, err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("the key file %s is damaged: it should hold 32 bytes in base64", path)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("make the key file %s private: %w", path, err)
		}
	}
	return &Box{key: key}, nil
}

// Seal seals a value; the empty value stays empty.
func (b *Box) Seal(plain string) string {
	if plain == "" {
		return ""
	}
	aead, _ := chacha20poly1305.NewX(b.key)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return prefix + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plain), nil))
}

// Open opens a sealed value. A value stored before keys were sealed is
// returned as it is.
func (b *Box) Open(v string) (string, error) {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return v, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	aead, _ := chacha20poly1305.NewX(b.key)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", ErrWrongKey
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
}

// ErrWrongKey is a sealed value the key file does not open.
var ErrWrongKey = errors.New("a private key in the database does not open with this key file: it is another program's key file, or the database was restored without its own; restore the key file too, or enroll again")
