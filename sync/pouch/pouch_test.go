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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/shared/changelog"
)

// keyring is a fake registry of enrolled missions: a boundary we test
// against, not a part we own (HQ's store implements Keys for real).
type keyring struct {
	keys    map[string]ed25519.PublicKey // site/keyid → key
	revoked map[string]bool
}

func (k *keyring) SigningKey(site, id string) (ed25519.PublicKey, error) {
	if k.revoked[site+"/"+id] {
		return nil, fmt.Errorf("%w: %s/%s", ErrRevokedKey, site, id)
	}
	p, ok := k.keys[site+"/"+id]
	if !ok {
		return nil, fmt.Errorf("%w: %s/%s", ErrUnknownKey, site, id)
	}
	return p, nil
}

type fixture struct {
	// format is the format the fixture seals in (0: version 1).
	format      int
	hq, otherHQ *age.X25519Identity
	mission     Sender
	other       Sender
	keys        *keyring
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{keys: &keyring{keys: map[string]ed25519.PublicKey{}, revoked: map[string]bool{}}}
	f.hq, _ = age.GenerateX25519Identity()
	f.otherHQ, _ = age.GenerateX25519Identity()
	for _, s := range []*Sender{&f.mission, &f.other} {
		pub, priv, _ := ed25519.GenerateKey(nil)
		*s = Sender{Key: priv}
		_ = pub
	}
	f.mission.Site, f.other.Site = "FR-PAR", "KE-NBO"
	for _, s := range []Sender{f.mission, f.other} {
		pub := s.Key.Public().(ed25519.PublicKey)
		f.keys.keys[s.Site+"/"+KeyID(pub)] = pub
	}
	return f
}

// formats runs test once for each format this package writes, each with
// a new fixture that seals in it.
func formats(t *testing.T, test func(t *testing.T, f *fixture)) {
	for format := 1; format <= Format; format++ {
		t.Run(fmt.Sprintf("format %d", format), func(t *testing.T) {
			f := newFixture(t)
			f.format = format
			test(t, f)
		})
	}
}

func (f *fixture) receiver() Receiver {
	return Receiver{Site: "HQ", Identities: []*age.X25519Identity{f.hq}, Keys: f.keys}
}

func changes(site string, first, n int) []changelog.Change {
	var out []changelog.Change
	for i := range n {
		body, _ := json.Marshal(map[string]any{"item": fmt.Sprintf("STR-%02d", i%8+1), "level": i % 5, "evidence": strings.Repeat("evidence ", i%7)})
		out = append(out, changelog.Change{Site: site, Seq: int64(first + i), Entity: changelog.EntityAnswer, Key: fmt.Sprintf("STR-%02d", i%8+1), Op: changelog.OpPut, Body: body, At: time.Date(2026, 5, 1, 9, 0, i, 0, time.UTC)})
	}
	return out
}

// seal makes a changes pouch from s to HQ.
func (f *fixture) seal(t testing.TB, s Sender, to string, recips []*age.X25519Recipient, cs []changelog.Change) []byte {
	t.Helper()
	lines, err := ChangeLines(cs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	first, last := int64(0), int64(0)
	if len(cs) > 0 {
		first, last = cs[0].Seq, cs[len(cs)-1].Seq
	}
	if _, err := Seal(&buf, s, Envelope{Kind: KindChanges, To: to, Recipients: recips, First: first, Last: last, Format: f.format}, lines); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (f *fixture) good(t testing.TB, n int) []byte {
	return f.seal(t, f.mission, "HQ", []*age.X25519Recipient{f.hq.Recipient()}, changes("FR-PAR", 1, n))
}

func TestRoundTrip(t *testing.T) { formats(t, testRoundTrip) }

func testRoundTrip(t *testing.T, f *fixture) {
	want := changes("FR-PAR", 41, 25)
	raw := f.seal(t, f.mission, "HQ", []*age.X25519Recipient{f.hq.Recipient()}, want)
	p, err := f.receiver().Open(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.Manifest.From != "FR-PAR" || p.Manifest.First != 41 || p.Manifest.Last != 65 || p.Manifest.Records != 25 {
		t.Fatalf("manifest %+v", p.Manifest)
	}
	got, err := p.Changes()
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i].Seq != want[i].Seq || !bytes.Equal(got[i].Body, want[i].Body) || !got[i].At.Equal(want[i].At) {
			t.Fatalf("change %d differs: %+v vs %+v", i, got[i], want[i])
		}
	}
	if bytes.Contains(raw, []byte("STR-01")) || bytes.Contains(raw, []byte("FR-PAR")) {
		t.Fatal("the sealed pouch shows its content")
	}
}

// TestUpstreamAgeOpensPouch builds the upstream age command and decrypts a
// pouch with it, as the format promises.
func TestUpstreamAgeOpensPouch(t *testing.T) {
	dir := t.TempDir()
	ageBin := filepath.Join(dir, "age")
	build := exec.Command("go", "build", "-o", ageBin, "filippo.io/age/cmd/age")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build age: %v\n%s", err, out)
	}
	formats(t, func(t *testing.T, f *fixture) {
		pouchFile := filepath.Join(dir, "x.pouch")
		idFile := filepath.Join(dir, "hq-identity.txt")
		raw := f.good(t, 3)
		os.WriteFile(pouchFile, raw, 0o600)
		os.WriteFile(idFile, []byte(f.hq.String()+"\n"), 0o600)
		out, err := exec.Command(ageBin, "-d", "-i", idFile, pouchFile).Output()
		if err != nil {
			t.Fatalf("age -d: %v", err)
		}
		if want := fmt.Sprintf("CHANCERY-POUCH/%d\n", f.format); !bytes.HasPrefix(out, []byte(want)) {
			t.Fatalf("age decrypted something else: %q", out[:min(40, len(out))])
		}
		// What age decrypted is the pouch: it opens as one.
		if p, err := f.receiver().verify(out, DefaultLimits); err != nil || p.Manifest.Records != 3 {
			t.Fatalf("what age decrypted does not open as the pouch: %v", err)
		}
		// And the identity of another HQ cannot.
		os.WriteFile(idFile, []byte(f.otherHQ.String()+"\n"), 0o600)
		if err := exec.Command(ageBin, "-d", "-i", idFile, pouchFile).Run(); err == nil {
			t.Fatal("age opened the pouch with the wrong identity")
		}
	})
}

// reseal decrypts a pouch with id and encrypts the plaintext again to to.
func reseal(t *testing.T, raw []byte, id *age.X25519Identity, to *age.X25519Recipient) []byte {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(raw), id)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := io.ReadAll(r)
	return encrypt(t, pt, to)
}

func encrypt(t *testing.T, pt []byte, to *age.X25519Recipient) []byte {
	var out bytes.Buffer
	w, _ := age.Encrypt(&out, to)
	w.Write(pt)
	w.Close()
	return out.Bytes()
}

// forge builds a format 1 plaintext by hand, signed by s, so that tests
// can make a sender lie in ways Seal never would: body is the gzip body,
// and edit, if given, changes the manifest after it was signed.
func forge1(s Sender, m Manifest, body []byte, edit ...func([]byte) []byte) []byte {
	sum := sha256.Sum256(body)
	if m.Format == 0 {
		m.Format = 1
	}
	m.From, m.KeyID = s.Site, KeyID(s.Key.Public().(ed25519.PublicKey))
	if m.BodySHA256 == "" {
		m.BodySHA256 = hex.EncodeToString(sum[:])
	}
	m.BodySize = int64(len(body))
	mj, _ := json.Marshal(m)
	sig := ed25519.Sign(s.Key, append([]byte(sigContext1), mj...))
	for _, e := range edit {
		mj = e(mj)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(mj)))
	return bytes.Join([][]byte{[]byte(magic1), hdr[:], mj, sig, body}, nil)
}

// forge2 is forge1 for format 2: raw is the body's lines, and the stream
// after the signature is what deflate makes of the manifest's line and
// raw (see deflate2).
func forge2(s Sender, m Manifest, raw []byte, edit ...func([]byte) []byte) []byte {
	sum := sha256.Sum256(raw)
	if m.Format == 0 {
		m.Format = 2
	}
	m.From, m.KeyID = s.Site, KeyID(s.Key.Public().(ed25519.PublicKey))
	if m.BodySHA256 == "" {
		m.BodySHA256 = hex.EncodeToString(sum[:])
	}
	mj, _ := json.Marshal(m)
	sig := ed25519.Sign(s.Key, append([]byte(sigContext2), mj...))
	for _, e := range edit {
		mj = e(mj)
	}
	return bytes.Join([][]byte{[]byte(magic2), sig, deflate2(append(append(mj, '\n'), raw...))}, nil)
}

// deflate2 is a format 2 stream of b.
func deflate2(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriterDict(&buf, flate.BestCompression, []byte(dictionary))
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// forge is forge1 or forge2, in the fixture's format, of the body's
// lines.
func (f *fixture) forge(m Manifest, raw []byte, edit ...func([]byte) []byte) []byte {
	if f.format == 2 {
		return forge2(f.mission, m, raw, edit...)
	}
	return forge1(f.mission, m, gz(raw), edit...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

var errNotForUsOrTampered = errors.New("not for us, or tampered")

func TestRefusals(t *testing.T) { formats(t, testRefusals) }

func testRefusals(t *testing.T, f *fixture) {
	hqR := []*age.X25519Recipient{f.hq.Recipient()}
	// Random evidence does not compress: three 64 KiB age chunks and more.
	noisy := changes("FR-PAR", 1, 800)
	for i := range noisy {
		r := make([]byte, 300)
		rand.Read(r)
		noisy[i].Body, _ = json.Marshal(map[string]string{"evidence": hex.EncodeToString(r)})
	}
	big := f.seal(t, f.mission, "HQ", hqR, noisy)
	if len(big) < 3*64<<10 {
		t.Fatalf("test pouch of %d bytes spans fewer than three chunks", len(big))
	}
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 0x01; return c }
	headerEnd := bytes.Index(big, []byte("\n---")) + 4
	// age's payload: a 16-byte nonce after the header line, then 64 KiB
	// chunks each followed by a 16-byte tag.
	payload := bytes.IndexByte(big[headerEnd:], '\n') + headerEnd + 1 + 16
	chunk := 64<<10 + 16

	bomb := bytes.Repeat([]byte(`{"x":0}`+"\n"), 1<<20) // 8 MiB that compresses to ~8 KiB

	tests := []struct {
		name string
		raw  []byte
		rc   func(*Receiver)
		want error
	}{
		{"flipped byte in the header", flip(big, headerEnd+2), nil, ErrTampered},
		// Depending on the byte, the stanza no longer parses (damaged) or
		// no longer opens (not for us): refused either way.
		{"flipped byte in the header's recipient stanza", flip(big, 40), nil, errNotForUsOrTampered},
		{"flipped byte in the body", flip(big, payload+100), nil, ErrTampered},
		{"flipped byte in the last chunk", flip(big, len(big)-20), nil, ErrTampered},
		{"truncated at a chunk boundary", big[:payload+chunk], nil, ErrTampered},
		{"addressed to another HQ key", f.seal(t, f.mission, "HQ", []*age.X25519Recipient{f.otherHQ.Recipient()}, changes("FR-PAR", 1, 2)), nil, ErrNotForUs},
		{"re-encrypted to another HQ key", reseal(t, f.good(t, 2), f.hq, f.otherHQ.Recipient()), func(r *Receiver) { r.Identities = []*age.X25519Identity{f.otherHQ} }, ErrRebound},
		{"signed by an unknown key", f.seal(t, Sender{Site: "FR-PAR", Key: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))}, "HQ", hqR, changes("FR-PAR", 1, 2)), nil, ErrUnknownKey},
		{"signed by a revoked key", f.good(t, 2), func(r *Receiver) {
			r.Keys = &keyring{keys: f.keys.keys, revoked: map[string]bool{"FR-PAR/" + KeyID(f.mission.Key.Public().(ed25519.PublicKey)): true}}
		}, ErrRevokedKey},
		{"a valid key claiming another mission", f.seal(t, Sender{Site: "KE-NBO", Key: f.mission.Key}, "HQ", hqR, changes("KE-NBO", 1, 2)), nil, ErrUnknownKey},
		{"addressed to another site", f.seal(t, f.mission, "HQ-2", hqR, changes("FR-PAR", 1, 2)), nil, ErrMisaddressed},
		{"decompression bomb", encrypt(t, f.forge(Manifest{Kind: KindChanges, To: "HQ", Recipients: []string{Fingerprint(f.hq.Recipient())}, Records: 1, RawSize: 8}, bomb), f.hq.Recipient()), nil, ErrMalformed},
		{"body larger than the limit", encrypt(t, f.forge(Manifest{Kind: KindChanges, To: "HQ", Recipients: []string{Fingerprint(f.hq.Recipient())}, Records: 1 << 20, RawSize: int64(len(bomb))}, bomb), f.hq.Recipient()), func(r *Receiver) {
			r.Limits = Limits{MaxPouch: 1 << 20, MaxRaw: 1 << 20, MaxRecords: 1 << 21}
		}, ErrTooLarge},
		{"oversized pouch", big, func(r *Receiver) { r.Limits = Limits{MaxPouch: 1000, MaxRaw: 1 << 20, MaxRecords: 10} }, ErrTooLarge},
		{"too many records", f.good(t, 50), func(r *Receiver) { r.Limits = Limits{MaxPouch: 1 << 20, MaxRaw: 1 << 20, MaxRecords: 49} }, ErrTooMany},
		{"garbage bytes", bytes.Repeat([]byte("garbage!"), 100), nil, ErrNotPouch},
		{"empty file", nil, nil, ErrNotPouch},
		{"an age file that is not a pouch", encrypt(t, []byte("hello"), f.hq.Recipient()), nil, ErrNotPouch},
		{"signature over another manifest", encrypt(t, f.forge(Manifest{Kind: KindChanges, To: "HQ", Recipients: []string{Fingerprint(f.hq.Recipient())}}, nil, func(mj []byte) []byte {
			return bytes.Replace(mj, []byte(`"kind":"changes"`), []byte(`"kind":"replys" `), 1)
		}), f.hq.Recipient()), nil, ErrSignature},
		{"a body other than the signed one", encrypt(t, f.forge(Manifest{Kind: KindChanges, To: "HQ", Recipients: []string{Fingerprint(f.hq.Recipient())}, First: 1, Last: 1, Records: 1, RawSize: 3,
			BodySHA256: hex.EncodeToString(make([]byte, 32))}, []byte("{}\n")), f.hq.Recipient()), nil, ErrTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := f.receiver()
			if tt.rc != nil {
				tt.rc(&rc)
			}
			p, err := rc.Open(bytes.NewReader(tt.raw))
			if tt.want == errNotForUsOrTampered && (errors.Is(err, ErrNotForUs) || errors.Is(err, ErrTampered)) {
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if p != nil {
				t.Fatal("a refused pouch was returned")
			}
		})
	}
}

func TestChangesMustMatchManifest(t *testing.T) { formats(t, testChangesMustMatchManifest) }

func testChangesMustMatchManifest(t *testing.T, f *fixture) {
	cs := changes("FR-PAR", 5, 3)
	cs[1].Seq = 9
	raw := f.seal(t, f.mission, "HQ", []*age.X25519Recipient{f.hq.Recipient()}, cs)
	p, err := f.receiver().Open(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Changes(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "sequence 9, expected 6") {
		t.Fatalf("gap inside a pouch: %v", err)
	}
	cs = changes("KE-NBO", 1, 2)
	raw = f.seal(t, f.mission, "HQ", []*age.X25519Recipient{f.hq.Recipient()}, cs)
	p, _ = f.receiver().Open(bytes.NewReader(raw))
	if _, err := p.Changes(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("changes of another site: %v", err)
	}
}

func TestRotationKeepsOldIdentityReadable(t *testing.T) {
	formats(t, testRotationKeepsOldIdentityReadable)
}

func testRotationKeepsOldIdentityReadable(t *testing.T, f *fixture) {
	raw := f.good(t, 2)
	newID, _ := age.GenerateX25519Identity()
	rc := f.receiver()
	rc.Identities = []*age.X25519Identity{newID, f.hq}
	if _, err := rc.Open(bytes.NewReader(raw)); err != nil {
		t.Fatalf("pouch sealed to the previous key, during rotation: %v", err)
	}
}

// Peek reads who sent a large pouch from its first HeadSize bytes, with
// the manifest's signature checked, and refuses a head that is not a
// genuine pouch's.
func TestPeekVerifiesTheManifestFromTheHead(t *testing.T) {
	formats(t, testPeekVerifiesTheManifestFromTheHead)
}

func testPeekVerifiesTheManifestFromTheHead(t *testing.T, f *fixture) {
	// Evidence that does not compress: a pouch of several chunks.
	noise := make([]byte, 300<<10)
	rand.Read(noise)
	body, _ := json.Marshal(map[string]any{"data": noise})
	cs := []changelog.Change{{Site: "FR-PAR", Seq: 1, Entity: changelog.EntityAttachment, Key: "x", Op: changelog.OpPut, Body: body, At: time.Now()}}
	raw := f.seal(t, f.mission, "HQ", []*age.X25519Recipient{f.hq.Recipient()}, cs)
	if len(raw) < 3*HeadSize {
		t.Fatalf("the pouch is only %d bytes", len(raw))
	}
	m, err := f.receiver().Peek(raw[:HeadSize])
	if err != nil || m.From != "FR-PAR" || m.First != 1 {
		t.Fatalf("Peek: %+v, %v", m, err)
	}
	// A small pouch is its own head.
	small := f.seal(t, f.mission, "HQ", []*age.X25519Recipient{f.hq.Recipient()}, changes("FR-PAR", 1, 3))
	if _, err := f.receiver().Peek(small); err != nil {
		t.Fatalf("Peek of a small pouch: %v", err)
	}
	flipped := bytes.Clone(raw[:HeadSize])
	flipped[len(flipped)/2] ^= 1
	if _, err := f.receiver().Peek(flipped); err == nil {
		t.Fatal("a changed head passed")
	}
	if _, err := f.receiver().Peek(raw[:HeadSize/4]); err == nil {
		t.Fatal("a head cut short of the first chunk passed")
	}
	other := Receiver{Site: "HQ", Identities: []*age.X25519Identity{f.otherHQ}, Keys: f.keys}
	if _, err := other.Peek(raw[:HeadSize]); !errors.Is(err, ErrNotForUs) {
		t.Fatalf("a head sealed to another: %v", err)
	}
	delete(f.keys.keys, "FR-PAR/"+KeyID(f.mission.Key.Public().(ed25519.PublicKey)))
	if _, err := f.receiver().Peek(raw[:HeadSize]); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a head signed by an unknown key: %v", err)
	}
}

// A format 2 pouch is one stream after the signature: whatever a sender
// does to its framing, the manifest's or the stream's, is refused.
func TestFormat2Refusals(t *testing.T) {
	f := newFixture(t)
	f.format = 2
	to := []string{Fingerprint(f.hq.Recipient())}
	m := Manifest{Kind: KindChanges, To: "HQ", Recipients: to, First: 1, Last: 1, Records: 1, RawSize: 3}
	sign := func(context string, mj []byte) []byte {
		return ed25519.Sign(f.mission.Key, append([]byte(context), mj...))
	}
	mj := func(m Manifest) []byte {
		m.From, m.KeyID = "FR-PAR", KeyID(f.mission.Key.Public().(ed25519.PublicKey))
		b, _ := json.Marshal(m)
		return b
	}
	good := forge2(f.mission, m, []byte("{}\n"))
	if _, err := f.receiver().Open(bytes.NewReader(encrypt(t, good, f.hq.Recipient()))); err != nil {
		t.Fatalf("the forged pouch itself: %v", err)
	}
	long := m
	long.Recipients = append(long.Recipients, strings.Repeat("ab", maxManifest/2))
	v1 := m
	v1.Format = 1
	sized := m
	sized.BodySize = 30
	two := mj(Manifest{Format: 2, Kind: KindChanges, To: "HQ", Recipients: to, First: 1, Last: 1, Records: 1, RawSize: 3, BodySHA256: hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte("{}\n")); return s[:] }())})
	stream := deflate2(append(append(bytes.Clone(two), '\n'), "{}\n"...))
	tests := []struct {
		name string
		pt   []byte
		want error
	}{
		{"bytes after the stream", append(bytes.Clone(good), 0), ErrMalformed},
		{"the stream cut inside the body", good[:len(good)-3], ErrMalformed},
		{"the stream ends inside the manifest", bytes.Join([][]byte{[]byte(magic2), sign(sigContext2, two), deflate2(two)}, nil), ErrMalformed},
		{"a manifest longer than the limit", forge2(f.mission, long, []byte("{}\n")), ErrMalformed},
		{"a format 1 manifest in a format 2 pouch", forge2(f.mission, v1, []byte("{}\n")), ErrMalformed},
		{"body_size in format 2", forge2(f.mission, sized, []byte("{}\n")), ErrMalformed},
		{"signed as a format 1 manifest", bytes.Join([][]byte{[]byte(magic2), sign(sigContext1, two), stream}, nil), ErrSignature},
		{"a format 2 manifest in a format 1 pouch", forge1(f.mission, Manifest{Format: 2, Kind: KindChanges, To: "HQ", Recipients: to}, gz(nil)), ErrMalformed},
		{"no signature", []byte(magic2 + "short"), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.receiver().Open(bytes.NewReader(encrypt(t, tt.pt, f.hq.Recipient())))
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// The format's specification gives the dictionary byte for byte: a
// reader written from it alone opens what this package writes.
func TestSpecificationGivesTheDictionary(t *testing.T) {
	doc, err := os.ReadFile("../../docs/pouch-format.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "<!-- dictionary -->\n```\n")
	got, _, ok2 := strings.Cut(after, "```\n")
	if !ok || !ok2 {
		t.Fatal("docs/pouch-format.md has no dictionary block")
	}
	if got != dictionary {
		t.Fatalf("the dictionary in docs/pouch-format.md differs from the one in dictionary.go:\n%s", got)
	}
	sum := sha256.Sum256([]byte(dictionary))
	if !strings.Contains(string(doc), hex.EncodeToString(sum[:])) {
		t.Fatalf("docs/pouch-format.md does not give the dictionary's SHA-256, %x", sum)
	}
}
