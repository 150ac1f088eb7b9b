package ingest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"chancery/hq/ingest"
	"chancery/hq/store"
	"chancery/shared/account"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

type hqKey struct{ pub ed25519.PublicKey }

func (k hqKey) SigningKey(site, id string) (ed25519.PublicKey, error) {
	if site != "HQ" || id != pouch.KeyID(k.pub) {
		return nil, fmt.Errorf("%w: %s/%s", pouch.ErrUnknownKey, site, id)
	}
	return k.pub, nil
}

// HQ answers each pouch in its own format, so that a mission on an
// older program is never sent what it cannot read, and tells a mission
// that writes an older format, in the signed receipt, the newest one it
// reads; enrollment says it first.
func TestReplyInThePouchsFormat(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "hq.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := &ingest.Service{DB: db, Limits: pouch.DefaultLimits}
	db.AddMission(ctx, account.System, store.Mission{Code: "FR-PAR", Name: "Paris"})
	code, _, _ := db.IssueCode(ctx, account.System, "FR-PAR")
	id, _ := age.GenerateX25519Identity()
	pub, sk, _ := ed25519.GenerateKey(nil)
	resp, err := svc.Enroll(ctx, exchange.NewEnrollRequest(code, "FR-PAR", id.Recipient().String(), base64.StdEncoding.EncodeToString(pub)), "test")
	if err != nil {
		t.Fatal(err)
	}
	if resp.PouchFormat != pouch.Format {
		t.Fatalf("enrollment says HQ reads format %d, want %d", resp.PouchFormat, pouch.Format)
	}
	hqPub, _ := base64.StdEncoding.DecodeString(resp.HQSigningKey)
	mission := pouch.Receiver{Site: "FR-PAR", Identities: []*age.X25519Identity{id}, Keys: hqKey{hqPub}}
	for format := 1; format <= pouch.Format; format++ {
		var buf bytes.Buffer
		if _, err := pouch.Seal(&buf, pouch.Sender{Site: "FR-PAR", Key: sk}, pouch.Envelope{Kind: pouch.KindChanges, To: "HQ",
			Recipients: []*age.X25519Recipient{db.Keys().Identity.Recipient()}, Format: format}, nil); err != nil {
			t.Fatal(err)
		}
		raw, err := svc.Take(ctx, buf.Bytes(), "test")
		if err != nil {
			t.Fatalf("format %d: %v", format, err)
		}
		p, err := mission.Open(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("the reply to format %d: %v", format, err)
		}
		r, err := exchange.ParseReply(p.Lines)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if format < pouch.Format {
			want = pouch.Format
		}
		if p.Manifest.Format != format || r.Receipt.Reads != want {
			t.Fatalf("a pouch of format %d is answered in format %d, its receipt saying HQ reads %d", format, p.Manifest.Format, r.Receipt.Reads)
		}
	}
}
