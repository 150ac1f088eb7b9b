package test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A link is one of the lines embassies really have, played by the test
// proxy between the agent and HQ: the backlog (answers × characters of
// evidence that does not compress) goes through it with the agent's own
// syncs, run one after another as its schedule would, until HQ holds
// every change exactly once.
type link struct {
	name          string
	answers, size int
	fault         func(s *site)
	// clear, if set, lifts the fault after this long, as a link that
	// comes back.
	clear time.Duration
}

// links are the lines of the table in BENCHMARKS.md. make test runs them
// at these sizes; make soak (CHANCERY_SOAK=1) at ten times the backlog.
var links = []link{
	{name: "600 ms round trip", answers: 300, size: 3000, fault: func(s *site) { s.px.latency.Store(int64(300 * time.Millisecond)) }},
	{name: "64 kbit/s", answers: 40, size: 2000, fault: func(s *site) { s.px.rate.Store(8000) }},
	{name: "9.6 kbit/s", answers: 20, size: 1000, fault: func(s *site) { s.px.rate.Store(1200) }},
	{name: "9.6 kbit/s, 100 KB by resumable upload", answers: 40, size: 2500, fault: func(s *site) { s.px.rate.Store(1200) }},
	{name: "reset every 100 KB", answers: 300, size: 3000, fault: func(s *site) { s.px.resetEvery.Store(100 << 10) }},
	{name: "black hole for 20 s", answers: 30, size: 1000, fault: func(s *site) { s.px.blackhole.Store(true) },
		clear: 20 * time.Second},
}

var sentRE = regexp.MustCompile(`Sent (\d+) pouch\(es\), (\d+) bytes`)

// converge runs the backlog through the link and returns how long HQ took
// to hold every change, and the bytes sent up the line beyond the pouches
// themselves, as a share of them (HTTP, and whatever was sent again).
func converge(tb testing.TB, l link) (time.Duration, float64) {
	tb.Helper()
	n, size := l.answers, l.size
	if os.Getenv("CHANCERY_SOAK") != "" {
		n *= 10
	}
	s := newSiteB(tb)
	s.work(n, size)
	l.fault(s)
	if l.clear > 0 {
		t := time.AfterFunc(l.clear, func() { s.px.blackhole.Store(false); s.px.down.Store(false) })
		defer t.Stop()
	}
	s.px.upstream.Store(0)
	start := time.Now()
	var pouchBytes int64
	for {
		out, err := s.sync()
		if os.Getenv("CHANCERY_LINK_DEBUG") != "" {
			tb.Logf("%s after %s: %v\n%s", l.name, time.Since(start).Round(time.Second), err, out)
		}
		for _, m := range sentRE.FindAllStringSubmatch(out, -1) {
			b, _ := strconv.ParseInt(m[2], 10, 64)
			pouchBytes += b
		}
		if err == nil && strings.Contains(out, fmt.Sprintf("HQ holds every change up to %d; 0 pending", n)) {
			break
		}
		if time.Since(start) > 20*time.Minute {
			tb.Fatalf("%s: HQ does not hold the backlog after 20 minutes:\n%s", l.name, out)
		}
	}
	took := time.Since(start)
	if held, through, _ := s.atHQ(); held != n || through != n {
		tb.Fatalf("%s: HQ holds %d changes, applied up to %d; want %d, each once", l.name, held, through, n)
	}
	return took, float64(s.px.upstream.Load()-pouchBytes) / float64(pouchBytes)
}

// TestLinks: over each bad line, every change reaches HQ exactly once, by
// the agent's ordinary syncs, and what is sent again after a cut stays
// under 5% of the pouches.
func TestLinks(t *testing.T) {
	for _, l := range links {
		t.Run(l.name, func(t *testing.T) {
			took, over := converge(t, l)
			t.Logf("%s: converged in %s, %.1f%% beyond the pouches", l.name, took.Round(100*time.Millisecond), over*100)
			if over > 0.05 {
				t.Errorf("%s: %.1f%% was sent beyond the pouches; a resumed upload must resend under 5%%", l.name, over*100)
			}
		})
	}
}

// BenchmarkLinks reports, for each line of the table, the time to converge
// and the bytes sent beyond the pouches.
func BenchmarkLinks(b *testing.B) {
	for _, l := range links {
		b.Run(strings.ReplaceAll(l.name, " ", "_"), func(b *testing.B) {
			var took time.Duration
			var over float64
			for b.Loop() {
				took, over = converge(b, l)
			}
			b.ReportMetric(took.Seconds(), "s-to-converge")
			b.ReportMetric(over*100, "%-beyond-pouches")
		})
	}
}
