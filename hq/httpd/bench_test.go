package httpd_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"chancery/hq/demo"
	"chancery/shared/account"
	"chancery/sync/pouch"
	"chancery/web/webtest"
)

// benchMap measures the readiness map for n missions, each with the
// framework's 49 items answered and 2 monthly sign-offs: read from the
// database, built and rendered, over loopback HTTP, as a browser that
// takes gzip asks for it. It reports the p95 of its samples (run it with
// -benchtime 100x or more) and the size of the answer as sent. The
// design's targets: p95 under 100 ms at 1,000 missions, under 200 ms at
// 10,000; the page under 150 KB compressed at 1,000.
func benchMap(b *testing.B, n int, path string, token bool) { benchMapWith(b, n, path, token, nil) }

// benchMapWith is benchMap with change run, untimed, before each request.
func benchMapWith(b *testing.B, n int, path string, token bool, change func(e *env, i int)) {
	e := newEnv(b, pouch.DefaultLimits)
	if _, err := demo.Generate(context.Background(), e.db, demo.Options{Missions: n, Snapshots: 2, Seed: 1, Now: time.Now()}); err != nil {
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
	var sent int64
	i := 0
	for b.Loop() {
		if change != nil {
			b.StopTimer()
			change(e, i)
			i++
			b.StartTimer()
		}
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: the client then leaves the body as sent
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		start := time.Now()
		r, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		sent, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		times = append(times, time.Since(start))
		if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "gzip" {
			b.Fatalf("%s: %d, %q", path, r.StatusCode, r.Header.Get("Content-Encoding"))
		}
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(sent)/1000, "gzip-KB")
	b.ReportMetric(float64(len(times)), "samples")
}

func BenchmarkMapPage(b *testing.B) {
	for _, n := range []int{1000, 3000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchMap(b, n, "/", false) })
	}
}

// BenchmarkMapPageAfterChange is the map read just after a write to what
// it shows (here a mission renamed; an answer arriving is the same): HQ
// builds it again from the database, as the first reader after each
// change meets it.
func BenchmarkMapPageAfterChange(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			benchMapWith(b, n, "/", false, func(e *env, i int) {
				ms, err := e.db.Missions(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				m := ms[0]
				m.Name = "Embassy " + strconv.Itoa(i)
				if err := e.db.UpdateMission(context.Background(), account.System, m); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func BenchmarkMapAPI1000(b *testing.B) { benchMap(b, 1000, "/api/v1/map", true) }
