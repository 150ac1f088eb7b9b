package httpd_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"chancery/hq/demo"
	"chancery/shared/account"
	"chancery/sync/pouch"
	"chancery/web/webtest"
)

// benchMap measures the readiness map for 1,000 missions, each with the
// framework's 49 items answered and 12 monthly sign-offs: read from the
// database, built and rendered, over loopback HTTP. The design's target
// is under 200 ms.
func benchMap(b *testing.B, path string, token bool) {
	e := newEnv(b, pouch.DefaultLimits)
	if _, err := demo.Generate(context.Background(), e.db, demo.Options{Missions: 1000, Snapshots: 12, Seed: 1, Now: time.Now()}); err != nil {
		b.Fatal(err)
	}
	client, header := http.DefaultClient, ""
	if token {
		tok, err := e.acc.AddToken(context.Background(), account.System, "bench", "analyst")
		if err != nil {
			b.Fatal(err)
		}
		header = "Bearer " + tok
	} else {
		br := webtest.New(b, e.srv.URL, password)
		br.Login("ana")
		client = br.C
	}
	var times []time.Duration
	for b.Loop() {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		start := time.Now()
		r, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, r.Body)
		r.Body.Close()
		times = append(times, time.Since(start))
		if r.StatusCode != 200 || n < 100_000 {
			b.Fatalf("%s: %d, %d bytes", path, r.StatusCode, n)
		}
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
}

func BenchmarkMapPage1000(b *testing.B) { benchMap(b, "/", false) }
func BenchmarkMapAPI1000(b *testing.B)  { benchMap(b, "/api/v1/map", true) }
