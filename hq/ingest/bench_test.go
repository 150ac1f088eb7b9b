package ingest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/hq/ingest"
	"chancery/hq/store"
	"chancery/shared/changelog"
	"chancery/shared/protocol"
	"chancery/shared/readiness"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/web/account"
)

// BenchmarkIngestSmallPouches measures HQ taking in small pouches (one
// changed answer each) from 100 missions, 16 at a time on two cores: open
// and verify, store and apply in a synced transaction, seal the reply. The
// design's target is 1,000 a second.
func BenchmarkIngestSmallPouches(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "hq.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := &ingest.Service{DB: db, Limits: pouch.DefaultLimits}
	// A real HQ has its library, and has published something of its own:
	// every reply then checks whether the mission is up to date.
	if err := db.SeedLibrary(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Publish(ctx, account.System, protocol.Document{ID: "ai-use", Title: "AI rules", Category: "AI readiness", Body: "# Rules"}, "all"); err != nil {
		b.Fatal(err)
	}
	type mission struct {
		code string
		sk   ed25519.PrivateKey
		seq  atomic.Int64
	}
	var ms []*mission
	for i := range 100 {
		m := &mission{code: fmt.Sprintf("XX-M%03d", i)}
		db.AddMission(ctx, account.System, store.Mission{Code: m.code, Name: m.code})
		code, _, _ := db.IssueCode(ctx, account.System, m.code)
		id, _ := age.GenerateX25519Identity()
		var pub ed25519.PublicKey
		pub, m.sk, _ = ed25519.GenerateKey(nil)
		if _, err := db.Enroll(ctx, exchange.EnrollRequest{Code: code, Mission: m.code, AgeRecipient: id.Recipient().String(), SigningKey: base64.StdEncoding.EncodeToString(pub)}, "bench"); err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
	}
	hqR := db.Keys().Identity.Recipient()
	// Seal the pouches before timing: sealing is the missions' work. As at
	// a real mission, the first change of each reports that it applied
	// HQ's release; the others are answers.
	pouches := make([][]byte, b.N)
	for i := range pouches {
		m := ms[i%len(ms)]
		seq := m.seq.Add(1)
		a := readiness.Answer{ItemID: "NAR-02", Level: readiness.Level(seq % 5), Evidence: "Pathway reviewed", AnsweredBy: "amira", AnsweredAt: time.Now().UTC()}
		body, _ := json.Marshal(a)
		c := changelog.Change{Site: m.code, Seq: seq, Entity: changelog.EntityAnswer, Key: a.ItemID, Op: changelog.OpPut, Body: body, At: a.AnsweredAt}
		if seq == 1 {
			c.Entity, c.Key = changelog.EntityUpdate, "7"
			c.Body, _ = json.Marshal(exchange.UpdateReport{Release: 7, Status: "applied", At: a.AnsweredAt})
		}
		line, _ := json.Marshal(c)
		var buf bytes.Buffer
		if _, err := pouch.Seal(&buf, pouch.Sender{Site: m.code, Key: m.sk}, pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: []*age.X25519Recipient{hqR}, First: seq, Last: seq}, [][]byte{line}); err != nil {
			b.Fatal(err)
		}
		pouches[i] = buf.Bytes()
	}
	var next atomic.Int64
	// Many missions sync at once: 16 requests in flight on the two cores.
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if _, err := svc.Take(ctx, pouches[i], "bench"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pouches/s")
}
