package main

import (
	"strings"
	"testing"
	"time"
)

const out = `goos: linux
BenchmarkMapPage/1000-2         	     100	  21105072 ns/op	        10.73 gzip-KB	        28.50 p95-ms	       100.0 samples
BenchmarkMapPage/10000-2        	     100	  60961018 ns/op	        10.60 gzip-KB	       281.06 p95-ms	       100.0 samples
BenchmarkWireOneAnswer-2   	       1	 123 ns/op	      2031 bytes/exchange	      1063 bytes-up
BenchmarkIngestSmallPouches-2   	    3000	    882000 ns/op	      1134 pouches/s
BenchmarkLinks/600_ms-2 	1	1 ns/op	3.8 s-to-converge	0.2 %-beyond-pouches
BenchmarkLinks/reset-2 	1	1 ns/op	7.1 s-to-converge	6.5 %-beyond-pouches
PASS
`

// Each figure is judged against its target, the worst of several counts,
// and a target nothing measured is a miss that says so.
func TestTableJudges(t *testing.T) {
	res, err := parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]row{}
	for _, r := range judge(res) {
		got[r.What] = r
	}
	for what, pass := range map[string]bool{
		"readiness map, 1,000 missions":                      true,
		"readiness map, 1,000 missions, as sent":             true,
		"readiness map, 10,000 missions":                     false,
		"one changed answer, whole exchange":                 false,
		"HQ ingest, in process":                              true,
		"bytes beyond the pouches on a bad line, worst line": false,
		"HQ over real HTTP, ≥ 200 concurrent missions":       false,
	} {
		if r, ok := got[what]; !ok || r.Pass() != pass {
			t.Errorf("%s: %+v, want pass %v", what, r, pass)
		}
	}
	if r := got["bytes beyond the pouches on a bad line, worst line"]; r.Value != 6.5 {
		t.Errorf("the worst line is not the one that counts: %v", r.Value)
	}
	var b strings.Builder
	table(&b, judge(res), "static, 19.4 MB", time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
	tbl := b.String()
	for _, want := range []string{"| readiness map, 1,000 missions | 28.5 ms | p95 < 100 ms | PASS |", "| HQ over real HTTP, ≥ 200 concurrent missions | not measured |", "| agent binary | static, 19.4 MB |", "cores"} {
		if !strings.Contains(tbl, want) {
			t.Errorf("the table lacks %q:\n%s", want, tbl)
		}
	}
	// The table goes between the markers, and again in their place.
	doc := "# Benchmarks\n\nIntro.\n\n## Agent\n"
	once := splice(doc, tbl)
	twice := splice(once, tbl)
	if once != twice || !strings.Contains(once, "## Agent") || strings.Count(once, begin) != 1 {
		t.Fatalf("splice:\n%s", twice)
	}
}
