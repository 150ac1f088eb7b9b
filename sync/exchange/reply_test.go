package exchange_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"chancery/sync/exchange"
)

// A reply encoded by HQ parses back whole at the mission, and a document's
// bytes arrive exactly as the release hashed them, however they are laid
// out.
func TestReplyRoundTrip(t *testing.T) {
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	protocol := []byte(`{"id":"ai-use","version":2,"title":"AI use"}`)
	fw := []byte(`{"version":3,"areas":[]}`)
	rel := exchange.Release{Mission: "FR-PAR", Version: 9, Expires: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC),
		Targets: []exchange.Target{exchange.TargetOf(exchange.KindProtocol, "ai-use", 2, protocol), exchange.TargetOf(exchange.KindFramework, "framework", 3, fw)}}
	rl := exchange.SignRelease(sk, rel)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	in := exchange.Reply{
		Receipt:   exchange.Receipt{Mission: "FR-PAR", Pouch: "p1", Through: 41, At: at},
		Release:   &rl,
		Documents: []exchange.Document{{Kind: exchange.KindProtocol, Body: protocol}, {Kind: exchange.KindFramework, Body: fw}},
		Guidance:  []exchange.GuidanceLine{{ID: "g1", Incident: "inc-1", Text: "Hold the statement.", By: "hq.duty", At: at}},
	}
	lines, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exchange.ParseReply(lines)
	if err != nil {
		t.Fatal(err)
	}
	if out.Receipt.Through != 41 || out.Receipt.Type != "receipt" || out.Release == nil || len(out.Guidance) != 1 || out.Guidance[0].Text != "Hold the statement." {
		t.Fatalf("parsed reply: %+v", out)
	}
	got, err := exchange.OpenRelease(ed25519.PublicKey(sk.Public().(ed25519.PublicKey)), *out.Release)
	if err != nil || !reflect.DeepEqual(got.Targets, rel.Targets) {
		t.Fatalf("release after the round trip: %+v, %v", got, err)
	}
	for i, tg := range got.Targets {
		if b := out.DocumentFor(tg); !bytes.Equal(b, in.Documents[i].Body) {
			t.Errorf("target %s: document %q, want the bytes HQ hashed", tg.ID, b)
		}
	}
	// A document other than the one a target names is not found for it.
	tampered := exchange.TargetOf(exchange.KindProtocol, "ai-use", 2, []byte(`{"id":"ai-use","version":2,"title":"changed"}`))
	if out.DocumentFor(tampered) != nil {
		t.Error("a document was found for a target it does not match")
	}
}

// Lines that are not a receipt first are refused; unknown or broken lines
// after it are passed over, and the receipt still counts.
func TestParseReplyTolerance(t *testing.T) {
	if _, err := exchange.ParseReply(nil); err == nil {
		t.Error("an empty reply parsed")
	}
	if _, err := exchange.ParseReply([][]byte{[]byte(`{"type":"guidance"}`)}); err == nil {
		t.Error("a reply without a receipt first parsed")
	}
	receipt, _ := json.Marshal(exchange.Receipt{Type: "receipt", Mission: "FR-PAR", Through: 3})
	r, err := exchange.ParseReply([][]byte{receipt, []byte(`{"type":"future-line","x":1}`), []byte(`not json`), []byte(`{"type":"guidance","at":"not a time"}`)})
	if err != nil || r.Receipt.Through != 3 || len(r.Guidance) != 0 {
		t.Fatalf("reply with unknown and broken lines: %+v, %v", r, err)
	}
}

func TestRekeyRoundTrip(t *testing.T) {
	k := exchange.Rekey{AgeRecipient: "age1x", SigningKey: "key"}
	got, err := exchange.ParseRekey([][]byte{k.Encode()})
	if err != nil || got.AgeRecipient != "age1x" || got.SigningKey != "key" {
		t.Fatalf("rekey: %+v, %v", got, err)
	}
	if _, err := exchange.ParseRekey([][]byte{k.Encode(), k.Encode()}); err == nil {
		t.Error("two rekey lines parsed")
	}
}
