package httpd_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"chancery/shared/readiness"
	"chancery/web/account"
)

// benchPage measures one page over real HTTP on loopback with a complete
// assessment and a history of 100 snapshots, and reports the 95th
// percentile besides the mean.
func benchPage(b *testing.B, path string) {
	e := newEnvB(b)
	ctx := context.Background()
	for i := range 100 {
		for j, it := range e.db.Framework().Items {
			e.db.SaveAnswer(ctx, account.System, readiness.Answer{ItemID: it.ID, Level: readiness.Level((i + j) % 5), Evidence: fmt.Sprintf("evidence %d for %s", i, it.ID)})
		}
		e.db.SignOff(ctx, account.System, fmt.Sprintf("review %d", i))
	}
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

func BenchmarkHomePage(b *testing.B)     { benchPage(b, "/") }
func BenchmarkAreaPage(b *testing.B)     { benchPage(b, "/areas/narrative") }
func BenchmarkSnapshotPage(b *testing.B) { benchPage(b, "/snapshots") }

func (e *env) loggedIn(testing.TB) *http.Client {
	b := e.browser()
	b.Login("admin")
	return b.C
}
