package uplink_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/agent/store"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// missionKeys is the mission's signing key as its link holds it: what
// HQ pinned at enrollment.
type missionKeys struct{ pub ed25519.PublicKey }

func (k missionKeys) SigningKey(site, id string) (ed25519.PublicKey, error) {
	if site != "FR-PAR" || id != pouch.KeyID(k.pub) {
		return nil, fmt.Errorf("%w: %s/%s", pouch.ErrUnknownKey, site, id)
	}
	return k.pub, nil
}

// formatHQ answers the mission's pouches as an HQ does whose program
// reads pouch formats up to reads: an older one refuses the newer format
// as unreadable, as such a program did, and a newer one says in its
// receipt what it reads while the mission writes less. It stands for HQ
// programs of other versions than this one, which the test cannot run.
type formatHQ struct {
	h     *hq
	keys  missionKeys
	mu    sync.Mutex
	reads int
	seen  []int // the format of each pouch received
}

func (f *formatHQ) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	dec, err := age.Decrypt(bytes.NewReader(raw), f.h.id)
	if err != nil {
		http.Error(w, `{"error":"not for us"}`, http.StatusBadRequest)
		return
	}
	pt, _ := io.ReadAll(dec)
	format := 0
	fmt.Sscanf(string(pt), "CHANCERY-POUCH/%d\n", &format)
	f.seen = append(f.seen, format)
	if format > f.reads {
		http.Error(w, `{"error":"not a pouch: no pouch header inside the age file"}`, http.StatusBadRequest)
		return
	}
	p, err := pouch.Receiver{Site: "HQ", Identities: []*age.X25519Identity{f.h.id}, Keys: f.keys}.Open(bytes.NewReader(raw))
	if err != nil {
		http.Error(w, `{"error":"`+err.Error()+`"}`, http.StatusForbidden)
		return
	}
	rc := exchange.Receipt{Mission: "FR-PAR", Pouch: p.Manifest.ID, Through: p.Manifest.Last, At: time.Now()}
	if p.Manifest.Format < f.reads {
		rc.Reads = f.reads
	}
	lines, _ := exchange.Reply{Receipt: rc}.Encode()
	var buf bytes.Buffer
	if _, err := pouch.Seal(&buf, pouch.Sender{Site: "HQ", Key: f.h.sk}, pouch.Envelope{Kind: pouch.KindReply, To: "FR-PAR",
		Recipients: []*age.X25519Recipient{f.h.mission}, Format: p.Manifest.Format}, lines); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(buf.Bytes())
}

// The mission writes the newest pouch format once HQ's signed receipt
// says HQ reads it, and goes back to the first, in the same sync, when an
// HQ brought back on an older program refuses the newer one: its sync
// never stops for a format.
func TestPouchFormatFollowsHQ(t *testing.T) {
	ctx := context.Background()
	h := newHQ(t)
	k, err := h.db.Link(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if k.PouchFormat != 1 {
		t.Fatalf("enrolled with an HQ that did not say what it reads: format %d", k.PouchFormat)
	}
	_, seed, _ := strings.Cut(k.Keys.Current, " ")
	sk, _ := base64.StdEncoding.DecodeString(seed)
	f := &formatHQ{h: h, keys: missionKeys{ed25519.NewKeyFromSeed(sk).Public().(ed25519.PublicKey)}, reads: pouch.Format}
	srv := httptest.NewServer(f)
	defer srv.Close()
	if err := h.db.UpdateLink(ctx, func(l *store.Link) error { l.HQURL = srv.URL; return nil }); err != nil {
		t.Fatal(err)
	}
	h.link.Client = &exchange.Client{Attempts: 1}
	format := func() int {
		k, _ := h.db.Link(ctx)
		return k.PouchFormat
	}
	sync := func(want ...int) {
		t.Helper()
		f.seen = nil
		if err := h.link.Sync(ctx); err != nil {
			t.Fatalf("sync: %v", err)
		}
		if fmt.Sprint(f.seen) != fmt.Sprint(want) {
			t.Fatalf("HQ received pouches of formats %v, want %v", f.seen, want)
		}
	}
	sync(1)
	if format() != pouch.Format {
		t.Fatalf("after HQ's receipt said it reads %d: format %d", pouch.Format, format())
	}
	sync(pouch.Format)
	f.reads = 1 // HQ brought back on an older program
	sync(pouch.Format, 1)
	if format() != 1 {
		t.Fatalf("after an older HQ refused the newer format: format %d", format())
	}
	sync(1)
}
