package pouch

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"filippo.io/age"
)

// Keys looks up the signing key a sender's pouch must be signed with.
// Implementations must be safe for concurrent use.
type Keys interface {
	// SigningKey returns the public key with id keyID of site, or an
	// error wrapping ErrUnknownKey (no such site or key, or the site is not
	// enrolled) or ErrRevokedKey.
	SigningKey(site, keyID string) (ed25519.PublicKey, error)
}

// Receiver is who opens a pouch.
type Receiver struct {
	// Site is the receiving site; pouches addressed elsewhere are refused.
	Site string
	// Identities decrypt the pouch: the site's current key and, during a
	// rotation, its previous one.
	Identities []*age.X25519Identity
	Keys       Keys
	Limits     Limits
	// Follow, when set, is given the root statements a manifest carries
	// (see [Manifest]) and returns the keys to check that manifest with;
	// it must not keep what it followed before the pouch is open.
	Follow func(roots []json.RawMessage) (Keys, error)
}

// Pouch is an opened, verified pouch.
type Pouch struct {
	Manifest Manifest
	// Lines are the body's lines, each one JSON value.
	Lines [][]byte
}

// Decompressors are kept for reuse: each holds a 32 KiB window.
var gzipReaders, flateReaders sync.Pool

// readAll is io.ReadAll into buf, which is sized for what is expected.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// maxManifest caps the manifest, which is small.
const maxManifest = 16 << 10

// HeadSize is how much of a pouch file Peek needs at most: the age header
// (a few hundred bytes a recipient) and the first encrypted chunk, which
// holds the whole signed manifest.
const HeadSize = 72 << 10

// Peek verifies the signed manifest at the start of a pouch without the
// rest of it: given the first HeadSize bytes of the file (or the whole
// file, if shorter), it decrypts the first chunk and checks the manifest's
// signature, sender key and address as Open does. The body is not checked:
// only Open says a pouch is whole. It lets a receiver know who sends a
// large pouch before it stores any of it.
func (rc Receiver) Peek(head []byte) (Manifest, error) {
	ids, err := identities(rc.Identities)
	if err != nil {
		return Manifest{}, err
	}
	if !bytes.HasPrefix(head, []byte("age-encryption.org/v1\n")) {
		return Manifest{}, fmt.Errorf("%w: it does not start as an age file", ErrNotPouch)
	}
	dr, err := age.Decrypt(bytes.NewReader(head), ids...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return Manifest{}, fmt.Errorf("%w: %v", ErrNotForUs, err)
		}
		return Manifest{}, fmt.Errorf("%w: header: %v", ErrTampered, err)
	}
	head1 := make([]byte, len(magic1)+4)
	if _, err := io.ReadFull(dr, head1); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	if bytes.HasPrefix(head1, []byte(magic2)) {
		// The signature, whose first bytes were read with the magic, and
		// the manifest, the first line of the stream after it.
		sig := make([]byte, ed25519.SignatureSize)
		n := copy(sig, head1[len(magic2):])
		if _, err := io.ReadFull(dr, sig[n:]); err != nil {
			return Manifest{}, fmt.Errorf("%w: %v", ErrTampered, err)
		}
		zr := flate.NewReaderDict(dr, []byte(dictionary))
		mj, _, err := firstLine(zr)
		if err != nil {
			return Manifest{}, err
		}
		return rc.signed(2, mj, sig)
	}
	if !bytes.HasPrefix(head1, []byte(magic1)) {
		return Manifest{}, fmt.Errorf("%w: no pouch header inside the age file", ErrNotPouch)
	}
	n := binary.BigEndian.Uint32(head1[len(magic1):])
	if n > maxManifest {
		return Manifest{}, fmt.Errorf("%w: manifest length %d", ErrMalformed, n)
	}
	rest := make([]byte, int(n)+ed25519.SignatureSize)
	if _, err := io.ReadFull(dr, rest); err != nil {
		return Manifest{}, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	return rc.signed(1, rest[:n], rest[n:])
}

// firstLine reads the manifest's line from the start of a format 2
// stream, and returns it with what was read of the body after it.
func firstLine(zr io.Reader) (line, rest []byte, err error) {
	buf := make([]byte, 0, 1<<10)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := zr.Read(buf[len(buf):cap(buf)])
		i := bytes.IndexByte(buf[len(buf):len(buf)+n], '\n')
		if i >= 0 {
			i += len(buf)
		}
		buf = buf[:len(buf)+n]
		if i > maxManifest || i < 0 && len(buf) > maxManifest {
			return nil, nil, fmt.Errorf("%w: manifest longer than %d bytes", ErrMalformed, maxManifest)
		}
		if i >= 0 {
			return buf[:i], buf[i+1:], nil
		}
		if err == io.EOF {
			return nil, nil, fmt.Errorf("%w: the stream ends inside the manifest", ErrMalformed)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: manifest: %v", ErrMalformed, err)
		}
	}
}

// manifest1 reads and checks the signed manifest at the start of a format
// 1 plaintext, and returns it with the offset of the body after it.
func (rc Receiver) manifest1(pt []byte) (Manifest, int, error) {
	rest := pt[len(magic1):]
	if len(rest) < 4 {
		return Manifest{}, 0, fmt.Errorf("%w: truncated header", ErrMalformed)
	}
	n := binary.BigEndian.Uint32(rest)
	rest = rest[4:]
	if n > maxManifest || int(n)+ed25519.SignatureSize > len(rest) {
		return Manifest{}, 0, fmt.Errorf("%w: manifest length %d", ErrMalformed, n)
	}
	m, err := rc.signed(1, rest[:n], rest[n:n+ed25519.SignatureSize])
	return m, len(magic1) + 4 + int(n) + ed25519.SignatureSize, err
}

// signed checks a manifest of the given format and its signature: it is
// signed by a key the sender holds, addressed to this site, and sealed to
// one of its identities.
func (rc Receiver) signed(format int, mj, sig []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mj))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%w: manifest: %v", ErrMalformed, err)
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("%w: manifest: more than one JSON value", ErrMalformed)
	}
	if m.Format != format {
		return Manifest{}, fmt.Errorf("%w: format %d in a pouch of format %d", ErrMalformed, m.Format, format)
	}
	if format == 2 && m.BodySize != 0 {
		return Manifest{}, fmt.Errorf("%w: body_size is not a field of format 2", ErrMalformed)
	}
	keys := rc.Keys
	if len(m.Roots) > 0 && rc.Follow != nil {
		var err error
		if keys, err = rc.Follow(m.Roots); err != nil {
			return Manifest{}, fmt.Errorf("%w: HQ's root of trust: %v", ErrSignature, err)
		}
	}
	pub, err := keys.SigningKey(m.From, m.KeyID)
	if err != nil {
		return Manifest{}, err
	}
	context := sigContext1
	if format == 2 {
		context = sigContext2
	}
	if !ed25519.Verify(pub, append([]byte(context), mj...), sig) {
		return Manifest{}, fmt.Errorf("%w: manifest from %s key %s", ErrSignature, m.From, m.KeyID)
	}
	// The manifest is authentic from here on.
	if m.To != rc.Site {
		return Manifest{}, fmt.Errorf("%w: it is for %q, this is %q", ErrMisaddressed, m.To, rc.Site)
	}
	opened := false
	for _, id := range rc.Identities {
		if slices.Contains(m.Recipients, Fingerprint(id.Recipient())) {
			opened = true
		}
	}
	if !opened {
		return Manifest{}, fmt.Errorf("%w: the sender sealed it to %s", ErrRebound, strings.Join(m.Recipients, ", "))
	}
	return m, nil
}

// Open reads, decrypts and verifies a pouch. Nothing is returned unless
// every check passes; the checks run on a fully decrypted copy held in
// memory, within the receiver's limits.
func (rc Receiver) Open(r io.Reader) (*Pouch, error) {
	lim := rc.Limits
	if lim.MaxPouch == 0 {
		lim = DefaultLimits
	}
	ids, err := identities(rc.Identities)
	if err != nil {
		return nil, err
	}
	// Read the ciphertext within the cap first: a pouch over the limit is
	// refused before any decryption work.
	ct, err := io.ReadAll(io.LimitReader(r, lim.MaxPouch+1))
	if err != nil {
		return nil, fmt.Errorf("pouch: read: %w", err)
	}
	if int64(len(ct)) > lim.MaxPouch {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, lim.MaxPouch)
	}
	if !bytes.HasPrefix(ct, []byte("age-encryption.org/v1\n")) {
		return nil, fmt.Errorf("%w: it does not start as an age file", ErrNotPouch)
	}
	pt, err := decrypt(ct, ids)
	if err != nil {
		return nil, err
	}
	return rc.verify(pt, lim)
}

func (rc Receiver) verify(pt []byte, lim Limits) (*Pouch, error) {
	var (
		m   Manifest
		raw []byte
		err error
	)
	switch {
	case bytes.HasPrefix(pt, []byte(magic1)):
		m, raw, err = rc.open1(pt, lim)
	case bytes.HasPrefix(pt, []byte(magic2)):
		m, raw, err = rc.open2(pt, lim)
	default:
		err = fmt.Errorf("%w: no pouch header inside the age file", ErrNotPouch)
	}
	if err != nil {
		return nil, err
	}
	lines := bytes.Split(raw, []byte("\n"))
	if len(lines) == 0 || len(lines[len(lines)-1]) != 0 {
		if len(raw) != 0 {
			return nil, fmt.Errorf("%w: body does not end with a newline", ErrMalformed)
		}
	}
	if len(raw) == 0 {
		lines = nil
	} else {
		lines = lines[:len(lines)-1]
	}
	if len(lines) != m.Records {
		return nil, fmt.Errorf("%w: %d records, the manifest says %d", ErrMalformed, len(lines), m.Records)
	}
	for i, l := range lines {
		if !json.Valid(l) {
			return nil, fmt.Errorf("%w: record %d is not JSON", ErrMalformed, i+1)
		}
	}
	return &Pouch{Manifest: m, Lines: lines}, nil
}

// limits refuses a manifest that claims more than the receiver takes.
func (m Manifest) limits(lim Limits) error {
	if m.Records > lim.MaxRecords {
		return fmt.Errorf("%w: %d records, the limit is %d", ErrTooMany, m.Records, lim.MaxRecords)
	}
	if m.RawSize > lim.MaxRaw || m.RawSize < 0 {
		return fmt.Errorf("%w: body of %d bytes once decompressed, the limit is %d", ErrTooLarge, m.RawSize, lim.MaxRaw)
	}
	return nil
}

// inflate reads the body from zr: one byte past the signed raw size at
// most, so that a body larger than it says stops there (a decompression
// bomb). The buffer is sized for what the manifest says, up to a
// mebibyte: a claim is not worth more memory than what it decompresses
// to.
func inflate(zr io.Reader, m Manifest, start []byte) ([]byte, error) {
	if int64(len(start)) > m.RawSize {
		return nil, fmt.Errorf("%w: body decompresses to a size other than the signed one", ErrMalformed)
	}
	buf := append(make([]byte, 0, min(m.RawSize+1, 1<<20)), start...)
	raw, err := readAll(io.LimitReader(zr, m.RawSize+1-int64(len(start))), buf)
	if err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrMalformed, err)
	}
	if int64(len(raw)) != m.RawSize {
		return nil, fmt.Errorf("%w: body decompresses to a size other than the signed one", ErrMalformed)
	}
	return raw, nil
}

// open1 checks format 1's manifest and body and returns the body's
// lines, decompressed.
func (rc Receiver) open1(pt []byte, lim Limits) (Manifest, []byte, error) {
	m, n, err := rc.manifest1(pt)
	if err != nil {
		return m, nil, err
	}
	body := pt[n:]
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != m.BodySHA256 || int64(len(body)) != m.BodySize {
		return m, nil, fmt.Errorf("%w: body does not match the signed hash", ErrTampered)
	}
	if err := m.limits(lim); err != nil {
		return m, nil, err
	}
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	if zr == nil {
		zr = new(gzip.Reader)
	}
	defer gzipReaders.Put(zr)
	if err := zr.Reset(bytes.NewReader(body)); err != nil {
		return m, nil, fmt.Errorf("%w: body: %v", ErrMalformed, err)
	}
	raw, err := inflate(zr, m, nil)
	return m, raw, err
}

// open2 checks format 2's manifest, then reads the body after it in the
// same stream, which must end with the plaintext, and checks it against
// the signed hash.
func (rc Receiver) open2(pt []byte, lim Limits) (Manifest, []byte, error) {
	rest := pt[len(magic2):]
	if len(rest) < ed25519.SignatureSize {
		return Manifest{}, nil, fmt.Errorf("%w: truncated header", ErrMalformed)
	}
	sig, stream := rest[:ed25519.SignatureSize], bytes.NewReader(rest[ed25519.SignatureSize:])
	zr, _ := flateReaders.Get().(io.ReadCloser)
	if zr == nil {
		zr = flate.NewReaderDict(stream, []byte(dictionary))
	} else if err := zr.(flate.Resetter).Reset(stream, []byte(dictionary)); err != nil {
		return Manifest{}, nil, err
	}
	defer flateReaders.Put(zr)
	mj, start, err := firstLine(zr)
	if err != nil {
		return Manifest{}, nil, err
	}
	m, err := rc.signed(2, mj, sig)
	if err != nil {
		return m, nil, err
	}
	if err := m.limits(lim); err != nil {
		return m, nil, err
	}
	raw, err := inflate(zr, m, start)
	if err != nil {
		return m, nil, err
	}
	if stream.Len() != 0 {
		return m, nil, fmt.Errorf("%w: %d bytes after the body's stream", ErrMalformed, stream.Len())
	}
	sum := sha256.Sum256(raw)
	if hex.EncodeToString(sum[:]) != m.BodySHA256 {
		return m, nil, fmt.Errorf("%w: body does not match the signed hash", ErrTampered)
	}
	return m, raw, nil
}
