package pouch

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"filippo.io/age"
)

// BenchmarkSealSmall and BenchmarkOpenSmall are HQ's share of one small
// exchange, format by format: a reply of one receipt sealed, a pouch of
// one change opened.
func BenchmarkSealSmall(b *testing.B) {
	f := newFixture(b)
	line := []byte(`{"type":"receipt","mission":"FR-PAR","pouch":"a9859b1fe8cc74bead76739f813f79b9","through":1,"at":"2026-12-02T18:57:39.893924807Z","serial":1,"audit_at":12}`)
	for format := 1; format <= Format; format++ {
		b.Run(fmt.Sprintf("format%d", format), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Seal(io.Discard, f.mission, Envelope{Kind: KindReply, To: "HQ", Recipients: []*age.X25519Recipient{f.hq.Recipient()}, Format: format}, [][]byte{line}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpenSmall(b *testing.B) {
	for format := 1; format <= Format; format++ {
		b.Run(fmt.Sprintf("format%d", format), func(b *testing.B) {
			f := newFixture(b)
			f.format = format
			raw := f.good(b, 1)
			rc := f.receiver()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rc.Open(bytes.NewReader(raw)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
