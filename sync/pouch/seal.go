package pouch

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"filippo.io/age"
)

// gzipWriters keeps compressors for reuse: one at the best level holds
// about a megabyte of state, which HQ would otherwise allocate and clear
// for every reply it seals.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression)
	return w
}}

var fastGzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// Sender is who seals a pouch.
type Sender struct {
	Site string
	Key  ed25519.PrivateKey
}

// Envelope says where a pouch goes and what it carries.
type Envelope struct {
	Kind string
	To   string
	// Recipients can open the pouch: the addressee's keys, and an escrow
	// key if the ministry keeps one.
	Recipients  []*age.X25519Recipient
	First, Last int64
	// Created defaults to now.
	Created time.Time
	// PeerDocuments, Root, Roots: see [Manifest].
	PeerDocuments bool
	Root          int64
	Roots         []json.RawMessage
	Audit         *AuditMark
	PeerEpoch     uint32
}

// Seal writes a pouch with the given body lines (each one JSON value, no
// newline inside) to w, and returns its manifest.
func Seal(w io.Writer, from Sender, env Envelope, lines [][]byte) (Manifest, error) {
	if len(env.Recipients) == 0 {
		return Manifest{}, errors.New("pouch: seal: no recipients")
	}
	if from.Site == "" || env.To == "" {
		return Manifest{}, errors.New("pouch: seal: sender and addressee are required")
	}
	var raw bytes.Buffer
	for _, l := range lines {
		if bytes.IndexByte(l, '\n') >= 0 {
			return Manifest{}, errors.New("pouch: seal: a body line contains a newline")
		}
		raw.Write(l)
		raw.WriteByte('\n')
	}
	var body bytes.Buffer
	pool := &gzipWriters
	if raw.Len() < 4<<10 {
		pool = &fastGzipWriters
	}
	zw := pool.Get().(*gzip.Writer)
	zw.Reset(&body)
	_, err := zw.Write(raw.Bytes())
	if err == nil {
		err = zw.Close()
	}
	pool.Put(zw)
	if err != nil {
		return Manifest{}, err
	}
	sum := sha256.Sum256(body.Bytes())
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Manifest{}, err
	}
	created := env.Created
	if created.IsZero() {
		created = time.Now()
	}
	m := Manifest{
		Format: Format, Kind: env.Kind, ID: hex.EncodeToString(id),
		From: from.Site, KeyID: KeyID(from.Key.Public().(ed25519.PublicKey)), To: env.To,
		First: env.First, Last: env.Last, Created: created.UTC().Truncate(time.Second),
		Records: len(lines), BodySHA256: hex.EncodeToString(sum[:]), BodySize: int64(body.Len()), RawSize: int64(raw.Len()),
		PeerDocuments: env.PeerDocuments, Root: env.Root, Roots: env.Roots, Audit: env.Audit, PeerEpoch: env.PeerEpoch,
	}
	recips := make([]age.Recipient, len(env.Recipients))
	for i, r := range env.Recipients {
		m.Recipients = append(m.Recipients, Fingerprint(r))
		if recips[i], err = fast(r); err != nil {
			return Manifest{}, fmt.Errorf("pouch: seal: %w", err)
		}
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return Manifest{}, err
	}
	sig := ed25519.Sign(from.Key, append([]byte(sigContext), mj...))

	aw, err := age.Encrypt(w, recips...)
	if err != nil {
		return Manifest{}, fmt.Errorf("pouch: seal: %w", err)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(mj)))
	for _, part := range [][]byte{[]byte(magic), hdr[:], mj, sig, body.Bytes()} {
		if _, err := aw.Write(part); err != nil {
			return Manifest{}, fmt.Errorf("pouch: seal: %w", err)
		}
	}
	if err := aw.Close(); err != nil {
		return Manifest{}, fmt.Errorf("pouch: seal: %w", err)
	}
	return m, nil
}
