package httpd

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"chancery/hq/readymap"
	"chancery/web"
)

// Metrics are HQ's own metrics, beside the HTTP ones every program has:
// the exchanges by outcome, the pouch bytes taken, how long ingest takes,
// the writer's queue, the uploads open, the missions by freshness, the
// rollout of HQ's releases and refused logins. The states are read at
// each scrape; the flows are counted as they happen (ingest.Service's
// Observe).
func (s *Server) metrics() *web.Metrics {
	m := web.NewMetrics("hq")
	exchanges := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chancery_hq_exchanges_total",
		Help: "Pouches taken from missions (over HTTP, by upload, from files or carried by peers), by outcome: ok, refused (not a genuine pouch of an enrolled key), invalid (a record that breaks the rules), error (HQ's own)."}, []string{"result"})
	for _, r := range []string{"ok", "refused", "invalid", "error"} {
		exchanges.WithLabelValues(r) // present at zero from the start
	}
	bytes := prometheus.NewCounter(prometheus.CounterOpts{Name: "chancery_hq_pouch_bytes_total", Help: "Bytes of the pouches taken, whatever their outcome."})
	took := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chancery_hq_ingest_seconds", Help: "Time to open, verify, store and answer a pouch.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10}})
	prev := s.Ingest.Observe
	s.Ingest.Observe = func(result string, n int, d time.Duration) {
		exchanges.WithLabelValues(result).Inc()
		bytes.Add(float64(n))
		took.Observe(d.Seconds())
		if prev != nil {
			prev(result, n, d)
		}
	}
	m.Register(exchanges, bytes, took,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chancery_hq_ingest_queue", Help: "Verified pouches waiting for, or being written by, the single writer."},
			func() float64 { return float64(s.Ingest.QueueDepth()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chancery_hq_login_failures_total", Help: "Logins refused since HQ started."},
			func() float64 { return float64(s.Accounts.Failures()) }),
		stateCollector{s})
	return m
}

// stateCollector reads, at each scrape, what HQ's database says of the
// missions and the uploads.
type stateCollector struct{ s *Server }

var (
	missionsDesc = prometheus.NewDesc("chancery_hq_missions", "Missions in the registry by freshness: fresh (a sync within a day), stale, never (no sync yet), revoked.", []string{"freshness"}, nil)
	rolloutDesc  = prometheus.NewDesc("chancery_hq_rollout_missions", "Active missions by the state of HQ's newest release at each: applied, failed, pending.", []string{"state"}, nil)
	uploadsDesc  = prometheus.NewDesc("chancery_hq_uploads_open", "Resumable uploads in progress.", nil, nil)
	upBytesDesc  = prometheus.NewDesc("chancery_hq_uploads_open_bytes", "Bytes the uploads in progress will add up to.", nil, nil)
)

func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- missionsDesc
	ch <- rolloutDesc
	ch <- uploadsDesc
	ch <- upBytesDesc
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.s.Uploads != nil {
		n, b := c.s.Uploads.Open()
		ch <- prometheus.MustNewConstMetric(uploadsDesc, prometheus.GaugeValue, float64(n))
		ch <- prometheus.MustNewConstMetric(upBytesDesc, prometheus.GaugeValue, float64(b))
	}
	ms, err := c.s.Store.Missions(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(missionsDesc, err)
		return
	}
	updates, err := c.s.Store.MissionUpdates(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(rolloutDesc, err)
		return
	}
	var newest int64
	for _, u := range updates {
		newest = max(newest, u.SentVersion)
	}
	fresh := map[string]int{"fresh": 0, "stale": 0, "never": 0, "revoked": 0}
	rollout := map[string]int{"applied": 0, "failed": 0, "pending": 0}
	now := c.s.Store.Now()
	for _, m := range ms {
		switch {
		case m.State == "revoked":
			fresh["revoked"]++
			continue
		case m.LastSeen == nil:
			fresh["never"]++
		default:
			if _, stale := readymap.Ago(m.LastSeen, now); stale {
				fresh["stale"]++
			} else {
				fresh["fresh"]++
			}
		}
		if newest == 0 {
			continue
		}
		switch u := updates[m.Code]; {
		case u.AppliedVersion >= newest:
			rollout["applied"]++
		case u.FailedVersion >= newest:
			rollout["failed"]++
		default:
			rollout["pending"]++
		}
	}
	for k, v := range fresh {
		ch <- prometheus.MustNewConstMetric(missionsDesc, prometheus.GaugeValue, float64(v), k)
	}
	for k, v := range rollout {
		ch <- prometheus.MustNewConstMetric(rolloutDesc, prometheus.GaugeValue, float64(v), k)
	}
}
