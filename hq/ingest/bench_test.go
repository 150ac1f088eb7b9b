package ingest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/labstack/echo/v4"

	"chancery/hq/ingest"
	"chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/protocol"
	"chancery/shared/readiness"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// benchHQ is an HQ database with its library, something of its own
// published, and n enrolled missions whose keys the benchmark holds.
type benchHQ struct {
	db  *store.DB
	svc *ingest.Service
	ms  []*benchMission
	hqR *age.X25519Recipient
	// version is the release in force once HQ has published; applied is
	// the one missions report they run (version, unless a benchmark
	// measures the replies that carry a release).
	version, applied int64
}

type benchMission struct {
	code string
	sk   ed25519.PrivateKey
	seq  atomic.Int64
}

func newBenchHQ(b *testing.B, n int) *benchHQ {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "hq.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	h := &benchHQ{db: db, svc: &ingest.Service{DB: db, Limits: pouch.DefaultLimits}, hqR: db.Keys().Identity.Recipient()}
	// A real HQ has its library, and has published something of its own:
	// every reply then checks whether the mission is up to date.
	if err := db.SeedLibrary(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Publish(ctx, account.System, protocol.Document{ID: "ai-use", Title: "AI rules", Category: "AI readiness", Body: "# Rules"}, "all"); err != nil {
		b.Fatal(err)
	}
	cat, err := db.Catalog(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range cat.Current(store.Mission{}) {
		h.version = max(h.version, p.Seq)
	}
	h.applied = h.version
	for i := range n {
		m := &benchMission{code: fmt.Sprintf("XX-M%04d", i)}
		db.AddMission(ctx, account.System, store.Mission{Code: m.code, Name: m.code})
		code, _, _ := db.IssueCode(ctx, account.System, m.code)
		id, _ := age.GenerateX25519Identity()
		var pub ed25519.PublicKey
		pub, m.sk, _ = ed25519.GenerateKey(nil)
		if _, err := h.svc.Enroll(ctx, exchange.NewEnrollRequest(code, m.code, id.Recipient().String(), base64.StdEncoding.EncodeToString(pub)), "bench"); err != nil {
			b.Fatal(err)
		}
		h.ms = append(h.ms, m)
	}
	return h
}

// pouch seals a mission's next pouch: one change, as a mission's
// sealing is its own work and is not timed. As at a real mission, the
// first change of each reports that it applied HQ's release (so the
// first reply carries it when HQ has published since, and later ones do
// not); the others are answers.
func (h *benchHQ) pouch(b *testing.B, m *benchMission) []byte {
	seq := m.seq.Add(1)
	a := readiness.Answer{ItemID: "NAR-02", Level: readiness.Level(seq % 5), Evidence: "Pathway reviewed", AnsweredBy: "amira", AnsweredAt: time.Now().UTC()}
	body, _ := json.Marshal(a)
	c := changelog.Change{Site: m.code, Seq: seq, Entity: changelog.EntityAnswer, Key: a.ItemID, Op: changelog.OpPut, Body: body, At: a.AnsweredAt}
	if seq == 1 {
		c.Entity, c.Key = changelog.EntityUpdate, fmt.Sprint(h.applied)
		c.Body, _ = json.Marshal(changelog.UpdateReport{Release: h.applied, Status: "applied", At: a.AnsweredAt})
	}
	line, _ := json.Marshal(c)
	var buf bytes.Buffer
	// Each pouch reports an audit chain grown since the last, as after a
	// day's logins: the most work the mark costs HQ.
	audit := &pouch.AuditMark{Entries: 2 * seq, Head: fmt.Sprint("head", 2*seq)}
	if seq > 1 {
		audit.At, audit.AtHash = 2*(seq-1), fmt.Sprint("head", 2*(seq-1))
	}
	if _, err := pouch.Seal(&buf, pouch.Sender{Site: m.code, Key: m.sk}, pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: []*age.X25519Recipient{h.hqR}, First: seq, Last: seq, Audit: audit, Format: pouch.Format}, [][]byte{line}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkThousandMissionsAtOnce is 1,000 missions syncing at the same
// moment, each over its own HTTP connection on loopback to HQ's real
// exchange endpoint: the time each waits for its reply. They sync just
// after HQ published a protocol, so each reply carries the signed release
// and the document, and HQ notes what it sent: the heaviest burst. The
// design's target is p99 under 2 s; the second wave's is 1 s.
func BenchmarkThousandMissionsAtOnce(b *testing.B) {
	const n = 1000
	h := newBenchHQ(b, n)
	h.applied = h.version - 1 // the release before HQ's newest
	e := echo.New()
	exchange.Routes(e, h.svc, pouch.DefaultLimits.MaxPouch, nil)
	srv := httptest.NewServer(e)
	defer srv.Close()
	var all []time.Duration
	for b.Loop() {
		b.StopTimer()
		pouches := make([][]byte, n)
		for i, m := range h.ms {
			pouches[i] = h.pouch(b, m)
		}
		clients := make([]*exchange.Client, n)
		for i := range clients {
			clients[i] = &exchange.Client{BaseURL: srv.URL, Attempts: 1, HTTP: &http.Client{Timeout: time.Minute, Transport: &http.Transport{}}}
		}
		took := make([]time.Duration, n)
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		b.StartTimer()
		for i := range n {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				t0 := time.Now()
				if _, err := clients[i].Exchange(context.Background(), pouches[i]); err != nil {
					b.Error(err)
				}
				took[i] = time.Since(t0)
			}()
		}
		ready.Wait()
		close(start)
		done.Wait()
		all = append(all, took...)
	}
	slices.Sort(all)
	at := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))].Milliseconds()) }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(at(1), "max-ms")
}

// BenchmarkIngestSmallPouches measures HQ taking in small pouches (one
// changed answer each) from 100 missions, 16 at a time on two cores: open
// and verify, store and apply in a synced transaction, seal the reply. The
// design's target is 1,000 a second.
func BenchmarkIngestSmallPouches(b *testing.B) {
	h := newBenchHQ(b, 100)
	pouches := make([][]byte, b.N)
	for i := range pouches {
		pouches[i] = h.pouch(b, h.ms[i%len(h.ms)])
	}
	svc, ctx := h.svc, context.Background()
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
