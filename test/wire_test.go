package test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"chancery/agent/store"
	"chancery/shared/framework"
)

// BenchmarkWireOneAnswer measures everything that crosses the link, both
// ways, HTTP included, when a mission syncs one changed answer. The
// design's target is under 2 KB in one round trip.
func BenchmarkWireOneAnswer(b *testing.B) {
	var up, down, requests int64
	for b.Loop() {
		s := newSiteB(b)
		a := startAgent(b, s.agentDir)
		c := login(b, a.URL, "admin", a.Password)
		m := csrfRE.FindStringSubmatch(get(b, c, a.URL+"/areas/narrative"))
		r, _ := c.PostForm(a.URL+"/answers/NAR-02", url.Values{"csrf": {m[1]}, "level": {"3"}, "evidence": {"Escalation pathway v3, exercised with HQ in May"}})
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
	}
	b.ReportMetric(float64(up+down), "bytes/exchange")
	b.ReportMetric(float64(up), "bytes-up")
	b.ReportMetric(float64(down), "bytes-down")
	b.ReportMetric(float64(requests), "connections")
}

// BenchmarkWireThousandRecords compares what 1,000 changed answers cost on
// the wire, both ways, with the same records as gzip-compressed JSON
// lines. The design's target is within 1.5 times.
func BenchmarkWireThousandRecords(b *testing.B) {
	var ratio, wire, base float64
	for b.Loop() {
		s := newSiteB(b)
		a := startAgent(b, s.agentDir)
		c := login(b, a.URL, "admin", a.Password)
		m := csrfRE.FindStringSubmatch(get(b, c, a.URL+"/areas/strategy"))
		f := framework.Builtin()
		for i := range 1000 {
			it := f.Items[i%len(f.Items)]
			r, _ := c.PostForm(a.URL+"/answers/"+it.ID, url.Values{"csrf": {m[1]}, "level": {strconv.Itoa(i % 5)},
				"evidence": {fmt.Sprintf("Review %d: %s", i, it.Evidence)}})
			r.Body.Close()
		}
		a.stop(b)
		s.px.upstream.Store(0)
		s.px.downstream.Store(0)
		out := run(b, "chancery-agent", "sync", "--data", s.agentDir)
		if !strings.Contains(out, "HQ holds every change up to 1000") {
			b.Fatal(out)
		}
		wire = float64(s.px.upstream.Load() + s.px.downstream.Load())
		base = float64(gzipLines(b, s))
		ratio = wire / base
	}
	b.ReportMetric(wire, "bytes-wire")
	b.ReportMetric(base, "bytes-gzip-jsonl")
	b.ReportMetric(ratio, "ratio")
}

// gzipLines is the size of the mission's change log, exactly as the
// agent stores it, written as JSON lines and compressed with gzip at its
// default level.
func gzipLines(b *testing.B, s *site) int {
	db, err := store.Open(context.Background(), filepath.Join(s.agentDir, "agent.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cs, err := db.Changes(context.Background(), 0, 10000)
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
