package test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/agent/store"
	"chancery/shared/framework"
)

// BenchmarkWireOneAnswer measures everything that crosses the link, both
// ways, HTTP included, when a mission syncs one changed answer with an
// ordinary 200-character note. The design's target is 1,300 B in one
// round trip. Beside it, the floor: the record as the agent keeps it,
// compressed with gzip, sealed with age to HQ alone, and an Ed25519
// signature; no envelope, no reply.
func BenchmarkWireOneAnswer(b *testing.B) {
	var up, down, requests, floor int64
	for b.Loop() {
		s := newSiteB(b)
		a := startAgent(b, s.agentDir)
		c := login(b, a.URL, "admin", a.Password)
		m := csrfRE.FindStringSubmatch(get(b, c, a.URL+"/areas/narrative"))
		r, _ := c.PostForm(a.URL+"/answers/NAR-02", url.Values{"csrf": {m[1]}, "level": {"3"}, "evidence": {note200}})
		r.Body.Close()
		a.stop(b)
		s.px.upstream.Store(0)
		s.px.downstream.Store(0)
		s.px.conns.Store(0)
		out := run(b, "chancery-agent", "sync", "--data", s.agentDir)
		if !strings.Contains(out, "HQ holds every change up to 1") {
			b.Fatal(out)
		}
		up, down, requests = s.px.upstream.Load(), s.px.downstream.Load(), s.px.conns.Load()
		floor = floorOf(b, s)
	}
	b.ReportMetric(float64(up+down), "bytes/exchange")
	b.ReportMetric(float64(up), "bytes-up")
	b.ReportMetric(float64(down), "bytes-down")
	b.ReportMetric(float64(requests), "connections")
	b.ReportMetric(float64(floor), "bytes-floor")
}

// note200 is an evidence note of 200 characters, as staff write them.
const note200 = "Escalation pathway v3 exercised with the crisis cell in May; press officer and deputy head trained on deepfake triage, contact sheet for platform trust teams updated, next drill booked for the autumn."

// floorOf is the least a sealed, signed change can cost: the mission's
// one change, as stored, in gzip, sealed with age to one recipient, and
// 64 bytes of signature.
func floorOf(b *testing.B, s *site) int64 {
	db, err := store.Open(context.Background(), filepath.Join(s.agentDir, "agent.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cs, err := db.Changes(context.Background(), 0, 10)
	if err != nil || len(cs) != 1 {
		b.Fatalf("%d changes, %v", len(cs), err)
	}
	rec, _ := json.Marshal(cs[0])
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(rec)
	zw.Close()
	id, _ := age.GenerateX25519Identity()
	var sealed bytes.Buffer
	w, _ := age.Encrypt(&sealed, id.Recipient())
	w.Write(z.Bytes())
	w.Close()
	return int64(sealed.Len() + ed25519.SignatureSize)
}

// BenchmarkWireRecords compares what 1,000 and 10,000 changed answers
// cost on the wire, both ways, with the same records as gzip-compressed
// JSON lines. The design's target is within 1.05 times.
func BenchmarkWireRecords(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var ratio, wire, base float64
			for b.Loop() {
				s := newSiteB(b)
				a := startAgent(b, s.agentDir)
				c := login(b, a.URL, "admin", a.Password)
				m := csrfRE.FindStringSubmatch(get(b, c, a.URL+"/areas/strategy"))
				f := framework.Builtin()
				for i := range n {
					it := f.Items[i%len(f.Items)]
					r, _ := c.PostForm(a.URL+"/answers/"+it.ID, url.Values{"csrf": {m[1]}, "level": {strconv.Itoa(i % 5)},
						"evidence": {fmt.Sprintf("Review %d: %s", i, it.Evidence)}})
					r.Body.Close()
				}
				a.stop(b)
				s.px.upstream.Store(0)
				s.px.downstream.Store(0)
				out := run(b, "chancery-agent", "sync", "--data", s.agentDir)
				if !strings.Contains(out, fmt.Sprintf("HQ holds every change up to %d;", n)) {
					b.Fatal(out)
				}
				wire = float64(s.px.upstream.Load() + s.px.downstream.Load())
				base = float64(gzipLines(b, s, n))
				ratio = wire / base
			}
			b.ReportMetric(wire, "bytes-wire")
			b.ReportMetric(base, "bytes-gzip-jsonl")
			b.ReportMetric(ratio, "ratio")
		})
	}
}

// gzipLines is the size of the mission's change log, exactly as the
// agent stores it, written as JSON lines and compressed with gzip at its
// default level.
func gzipLines(b *testing.B, s *site, n int) int {
	db, err := store.Open(context.Background(), filepath.Join(s.agentDir, "agent.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cs, err := db.Changes(context.Background(), 0, n)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for _, c := range cs {
		enc.Encode(c)
	}
	zw.Close()
	return buf.Len()
}

// BenchmarkWireOverTLS is BenchmarkWireOneAnswer over HTTPS with the
// ministry's certificate, from the running agent as its schedule syncs:
// the first sync after the agent starts (a full TLS handshake, HQ's
// certificate chain included), a sync after the connection was closed in
// the interval (the TLS session resumed) and one on a connection kept
// open. Each carries one changed answer with a 200-character note.
func BenchmarkWireOverTLS(b *testing.B) {
	var cold, resumed, kept, conns int64
	for b.Loop() {
		hqDir, agentDir := b.TempDir(), b.TempDir()
		hq, _, caFile := startTLSHQ(b, hqDir, b.TempDir())
		px := newProxy(b, strings.TrimPrefix(hq.URL, "https://"))
		run(b, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "FR-PAR", "--name", "Paris")
		code := codeRE.FindString(run(b, "chancery-hq", "mission", "code", "--data", hqDir, "--code", "FR-PAR"))
		run(b, "chancery-agent", "enroll", "--data", agentDir, "--hq", "https://"+px.ln.Addr().String(), "--code", code, "--mission", "FR-PAR", "--hq-ca", caFile)
		b.Setenv("CHANCERY_AGENT_HQ_CA", caFile)
		a := startAgent(b, agentDir)
		c := login(b, a.URL, "admin", a.Password)
		n := 0
		syncOne := func() int64 {
			n++
			m := csrfRE.FindStringSubmatch(get(b, c, a.URL+"/areas/narrative"))
			r, _ := c.PostForm(a.URL+"/answers/NAR-02", url.Values{"csrf": {m[1]}, "level": {strconv.Itoa(n % 5)}, "evidence": {note200}})
			r.Body.Close()
			px.upstream.Store(0)
			px.downstream.Store(0)
			r, _ = c.PostForm(a.URL+"/sync", url.Values{"csrf": {m[1]}})
			r.Body.Close()
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if g := ackedRE.FindStringSubmatch(get(b, c, a.URL+"/sync")); g != nil && g[1] == strconv.Itoa(n) {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("HQ did not acknowledge change %d within 30 s", n)
				}
			}
			return px.upstream.Load() + px.downstream.Load()
		}
		px.conns.Store(0)
		cold = syncOne()
		px.closeLive()
		resumed = syncOne()
		kept = syncOne()
		conns = px.conns.Load()
		a.stop(b)
	}
	if conns != 2 {
		b.Fatalf("%d connections for three syncs; a kept one would make two", conns)
	}
	b.ReportMetric(float64(cold), "bytes-cold")
	b.ReportMetric(float64(resumed), "bytes-resumed")
	b.ReportMetric(float64(kept), "bytes-kept-alive")
}
