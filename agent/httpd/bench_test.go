package httpd_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"chancery/shared/account"
	"chancery/shared/incident"
	"chancery/shared/readiness"
)

// benchPage measures one page over real HTTP on loopback with a complete
// assessment and a history of 100 snapshots, and reports the 95th
// percentile besides the mean.
func benchPage(b *testing.B, path string) {
	e := newEnvB(b)
	ctx := context.Background()
	for i := range 100 {
		for j, it := range fwInForce(b, e.db).Items {
			e.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: it.ID, Level: readiness.Level((i + j) % 5), Evidence: fmt.Sprintf("evidence %d for %s", i, it.ID)})
		}
		e.db.SignOff(ctx, account.System, fmt.Sprintf("review %d", i))
	}
	measure(b, e, path)
}

// benchBusy measures a page of a mission at the design's scale: 10,000
// incidents and 2,000 answers in its history. The target is a p95 under
// 50 ms on two cores.
func benchBusy(b *testing.B, path string) {
	e := newEnvB(b)
	ctx := context.Background()
	items := fwInForce(b, e.db).Items
	for i := range 2000 {
		it := items[i%len(items)]
		e.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: it.ID, Level: readiness.Level(i % 5), Evidence: fmt.Sprintf("evidence %d", i)})
	}
	kinds := incident.Kinds
	for i := range 10_000 {
		in, err := e.db.CreateIncident(ctx, account.System, incident.Incident{Title: fmt.Sprintf("Rumour %d about visa fees", i), Kind: kinds[i%len(kinds)].Kind,
			Severity: incident.Severity(i%4 + 1), Summary: "Circulating on two platforms since the morning.", Platforms: []string{"X", "TikTok"}})
		if err != nil {
			b.Fatal(err)
		}
		if i%3 == 0 {
			e.db.MoveIncident(ctx, account.System, in.ID, incident.Closed, "Faded", "Pre-cleared lines worked; nothing else needed.")
		}
	}
	measure(b, e, path)
}

func BenchmarkBusyHomePage(b *testing.B)      { benchBusy(b, "/") }
func BenchmarkBusyIncidentsPage(b *testing.B) { benchBusy(b, "/incidents") }

func BenchmarkHomePage(b *testing.B)     { benchPage(b, "/") }
func BenchmarkAreaPage(b *testing.B)     { benchPage(b, "/areas/narrative") }
func BenchmarkSnapshotPage(b *testing.B) { benchPage(b, "/snapshots") }

func (e *env) loggedIn(testing.TB) *http.Client {
	b := e.browser()
	b.Login("admin")
	return b.C
}

// measure times GET path for a logged-in administrator and reports the
// 95th percentile besides the mean.
func measure(b *testing.B, e *env, path string) {
	c := e.loggedIn(b)
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		r, err := c.Get(e.srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode != 200 {
			b.Fatalf("%s: %d", path, r.StatusCode)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
}
