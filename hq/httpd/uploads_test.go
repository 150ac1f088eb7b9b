package httpd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/shared/changelog"
	"chancery/shared/incident"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// bigPouch seals a pouch of one evidence file of n random bytes: larger
// than SmallPouch, so it goes by resumable upload.
func (m *mission) bigPouch(t testing.TB, seq int64, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	rand.Read(data)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	body, _ := json.Marshal(incident.AttachmentData{Incident: "inc", SHA256: sha, Name: "scan.pdf", Data: data})
	line, _ := json.Marshal(changelog.Change{Site: m.code, Seq: seq, Entity: changelog.EntityAttachment, Key: sha, Op: changelog.OpPut, Body: body, At: time.Now().UTC()})
	r, _ := age.ParseX25519Recipient(m.hq.HQRecipients[0])
	var buf bytes.Buffer
	if _, err := pouch.Seal(&buf, pouch.Sender{Site: m.code, Key: m.sk}, pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: []*age.X25519Recipient{r}, First: seq, Last: seq, Format: pouch.Format}, [][]byte{line}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func create(t *testing.T, base string, raw []byte) *http.Response {
	t.Helper()
	head := raw[:min(len(raw), pouch.HeadSize)]
	req, _ := http.NewRequest("POST", base+exchange.PathUploads, bytes.NewReader(head))
	req.Header.Set("Upload-Length", strconv.Itoa(len(raw)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Nobody opens an upload at HQ without a genuine pouch of an enrolled
// mission: a stranger's bytes are refused before one is stored, the same
// pouch sent again resumes its upload, and one mission's uploads are
// capped.
func TestUploadsNeedASignedPouch(t *testing.T) {
	dir := t.TempDir()
	e := newEnvWith(t, pouch.DefaultLimits, &exchange.Uploads{Dir: dir, Max: 16 << 20, MaxOpen: 100, PerMission: 3, TTL: time.Hour})
	m := e.enroll("FR-PAR")
	junk := make([]byte, 200<<10)
	rand.Read(junk)
	for _, raw := range [][]byte{junk, append([]byte("age-encryption.org/v1\n"), junk...)} {
		if r := create(t, e.srv.URL, raw); r.StatusCode < 400 || r.StatusCode >= 500 {
			t.Fatalf("a stranger's upload: %d", r.StatusCode)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("HQ stored %d files for uploads it refused", len(files))
	}
	raw := m.bigPouch(t, 1, 300<<10)
	first := create(t, e.srv.URL, raw)
	if first.StatusCode != http.StatusCreated || first.Header.Get("Upload-Offset") != strconv.Itoa(pouch.HeadSize) {
		t.Fatalf("a genuine pouch's upload: %d, offset %q", first.StatusCode, first.Header.Get("Upload-Offset"))
	}
	again := create(t, e.srv.URL, raw)
	if again.StatusCode != http.StatusCreated || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("the same pouch again opened %q, not %q", again.Header.Get("Location"), first.Header.Get("Location"))
	}
	for seq := int64(2); seq <= 3; seq++ {
		if r := create(t, e.srv.URL, m.bigPouch(t, seq, 100<<10)); r.StatusCode != http.StatusCreated {
			t.Fatalf("upload %d: %d", seq, r.StatusCode)
		}
	}
	if r := create(t, e.srv.URL, m.bigPouch(t, 4, 100<<10)); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a fourth upload from one mission: %d", r.StatusCode)
	}
	// Another mission is not held up by it.
	other := e.enroll("KE-NBO")
	if r := create(t, e.srv.URL, other.bigPouch(t, 1, 100<<10)); r.StatusCode != http.StatusCreated {
		t.Fatalf("another mission's upload: %d", r.StatusCode)
	}
}

// A slow sender holds up only its own upload: another mission's large
// pouch goes through while it dawdles.
func TestSlowUploadHoldsUpNoOther(t *testing.T) {
	e := newEnvWith(t, pouch.DefaultLimits, &exchange.Uploads{Dir: t.TempDir(), Max: 16 << 20, MaxOpen: 100, TTL: time.Hour})
	slow, fast := e.enroll("FR-PAR"), e.enroll("KE-NBO")
	raw := slow.bigPouch(t, 1, 300<<10)
	r := create(t, e.srv.URL, raw)
	loc := r.Header.Get("Location")
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("PATCH", e.srv.URL+loc, pr)
	req.Header.Set("Upload-Offset", strconv.Itoa(pouch.HeadSize))
	req.ContentLength = int64(len(raw) - pouch.HeadSize)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	pw.Write(raw[pouch.HeadSize : pouch.HeadSize+1000]) // and then nothing, for now
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := &exchange.Client{BaseURL: e.srv.URL, Attempts: 1}
	if _, err := cl.Exchange(ctx, fast.bigPouch(t, 1, 300<<10)); err != nil {
		t.Fatalf("another mission's upload while one dawdles: %v", err)
	}
	if n := e.received("KE-NBO"); n != 1 {
		t.Fatalf("HQ holds %d of the other mission's changes", n)
	}
	pw.Close()
	<-done
}
