package pouch

import (
	"bytes"
	"compress/flate"
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

// Compressors are kept for reuse: one holds about a megabyte of state,
// which HQ would otherwise allocate and clear for every reply it seals.
// Small bodies take the faster levels, large ones the best.
var (
	gzipWriters     = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression); return w }}
	fastGzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
	// DEFLATE's fastest level leaves a preset dictionary unused: the
	// small bodies of format 2 take the default level.
	flateWriters     = sync.Pool{New: func() any { w, _ := flate.NewWriterDict(nil, flate.BestCompression, []byte(dictionary)); return w }}
	fastFlateWriters = sync.Pool{New: func() any { w, _ := flate.NewWriterDict(nil, flate.DefaultCompression, []byte(dictionary)); return w }}
)

// small is the size of body under which the faster compressors are used.
const small = 4 << 10

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
	// Format is the version of the format to write: 0 or 1 for version 1,
	// which every reader reads; a later one only to a site that has said
	// it reads it.
	Format int
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
	format := max(env.Format, 1)
	if format > Format {
		return Manifest{}, fmt.Errorf("pouch: seal: format %d, this program writes 1 to %d", env.Format, Format)
	}
	var raw bytes.Buffer
	for _, l := range lines {
		if bytes.IndexByte(l, '\n') >= 0 {
			return Manifest{}, errors.New("pouch: seal: a body line contains a newline")
		}
		raw.Write(l)
		raw.WriteByte('\n')
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Manifest{}, err
	}
	created := env.Created
	if created.IsZero() {
		created = time.Now()
	}
	m := Manifest{
		Format: format, Kind: env.Kind, ID: hex.EncodeToString(id),
		From: from.Site, KeyID: KeyID(from.Key.Public().(ed25519.PublicKey)), To: env.To,
		First: env.First, Last: env.Last, Created: created.UTC().Truncate(time.Second),
		Records: len(lines), RawSize: int64(raw.Len()),
		PeerDocuments: env.PeerDocuments, Root: env.Root, Roots: env.Roots, Audit: env.Audit, PeerEpoch: env.PeerEpoch,
	}
	recips := make([]age.Recipient, len(env.Recipients))
	for i, r := range env.Recipients {
		m.Recipients = append(m.Recipients, Fingerprint(r))
		var err error
		if recips[i], err = fast(r); err != nil {
			return Manifest{}, fmt.Errorf("pouch: seal: %w", err)
		}
	}
	aw, err := age.Encrypt(w, recips...)
	if err != nil {
		return Manifest{}, fmt.Errorf("pouch: seal: %w", err)
	}
	if format == 1 {
		err = seal1(aw, from, &m, raw.Bytes())
	} else {
		err = seal2(aw, from, &m, raw.Bytes())
	}
	if err == nil {
		err = aw.Close()
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("pouch: seal: %w", err)
	}
	return m, nil
}

// seal1 writes format 1's plaintext: the magic, the manifest's length and
// the manifest, its signature, and the body in gzip.
func seal1(w io.Writer, from Sender, m *Manifest, raw []byte) error {
	var body bytes.Buffer
	pool := &gzipWriters
	if len(raw) < small {
		pool = &fastGzipWriters
	}
	zw := pool.Get().(*gzip.Writer)
	zw.Reset(&body)
	_, err := zw.Write(raw)
	if err == nil {
		err = zw.Close()
	}
	pool.Put(zw)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body.Bytes())
	m.BodySHA256, m.BodySize = hex.EncodeToString(sum[:]), int64(body.Len())
	mj, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sig := ed25519.Sign(from.Key, append([]byte(sigContext1), mj...))
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(mj)))
	for _, part := range [][]byte{[]byte(magic1), hdr[:], mj, sig, body.Bytes()} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// seal2 writes format 2's plaintext: the magic, the manifest's signature,
// and one DEFLATE stream, with the format's dictionary, of the manifest's
// line followed by the body's lines.
func seal2(w io.Writer, from Sender, m *Manifest, raw []byte) error {
	sum := sha256.Sum256(raw)
	m.BodySHA256 = hex.EncodeToString(sum[:])
	mj, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sig := ed25519.Sign(from.Key, append([]byte(sigContext2), mj...))
	if _, err := w.Write(append([]byte(magic2), sig...)); err != nil {
		return err
	}
	pool := &flateWriters
	if len(raw) < small {
		pool = &fastFlateWriters
	}
	zw := pool.Get().(*flate.Writer)
	defer pool.Put(zw)
	zw.Reset(w)
	for _, part := range [][]byte{mj, {'\n'}, raw} {
		if _, err := zw.Write(part); err != nil {
			return err
		}
	}
	return zw.Close()
}
