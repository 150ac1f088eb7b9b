package httpd

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"chancery/web"
)

// metrics are the agent's own metrics, beside the HTTP ones every
// program has: syncs by outcome with what they sent and how long they
// took, and, read at each scrape, the changes waiting for HQ, when HQ was
// last reached, the peers in touch and refused logins.
func (s *Server) metrics() *web.Metrics {
	m := web.NewMetrics("agent")
	syncs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chancery_agent_syncs_total", Help: "Syncs with HQ, by outcome: ok or failed."}, []string{"result"})
	syncs.WithLabelValues("ok")
	syncs.WithLabelValues("failed")
	pouches := prometheus.NewCounter(prometheus.CounterOpts{Name: "chancery_agent_pouches_sent_total", Help: "Pouches sent to HQ directly."})
	bytes := prometheus.NewCounter(prometheus.CounterOpts{Name: "chancery_agent_pouch_bytes_sent_total", Help: "Bytes of the pouches sent to HQ directly (each pouch once)."})
	took := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chancery_agent_sync_seconds", Help: "Time a sync took.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900}})
	if s.Link != nil {
		prev := s.Link.Observe
		s.Link.Observe = func(err error, p int, b int64, d time.Duration) {
			r := "ok"
			if err != nil {
				r = "failed"
			}
			syncs.WithLabelValues(r).Inc()
			pouches.Add(float64(p))
			bytes.Add(float64(b))
			took.Observe(d.Seconds())
			if prev != nil {
				prev(err, p, b, d)
			}
		}
	}
	m.Register(syncs, pouches, bytes, took,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "chancery_agent_login_failures_total", Help: "Logins refused since the agent started."},
			func() float64 { return float64(s.Accounts.Failures()) }),
		linkCollector{s})
	return m
}

// linkCollector reads the link to HQ at each scrape.
type linkCollector struct{ s *Server }

var (
	pendingDesc = prometheus.NewDesc("chancery_agent_changes_pending", "Changes not yet covered by HQ's receipt.", nil, nil)
	ackedDesc   = prometheus.NewDesc("chancery_agent_changes_acked", "The last change HQ's receipts cover.", nil, nil)
	lastOKDesc  = prometheus.NewDesc("chancery_agent_last_sync_ok_timestamp_seconds", "When a sync last succeeded, in Unix seconds; 0 if never.", nil, nil)
	failingDesc = prometheus.NewDesc("chancery_agent_sync_failing", "1 if the last sync failed.", nil, nil)
	enrolled    = prometheus.NewDesc("chancery_agent_enrolled", "1 once the mission is enrolled with HQ.", nil, nil)
	peersDesc   = prometheus.NewDesc("chancery_agent_peers", "Peer missions in touch on the shared network.", nil, nil)
)

func (linkCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pendingDesc, ackedDesc, lastOKDesc, failingDesc, enrolled, peersDesc} {
		ch <- d
	}
}

func (c linkCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.Peers != nil {
		ch <- prometheus.MustNewConstMetric(peersDesc, prometheus.GaugeValue, float64(len(c.s.Peers.Peers())))
	}
	if c.s.Link == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.s.Link.Status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	var lastOK, failing, in float64
	if st.LastOK != nil {
		lastOK = float64(st.LastOK.Unix())
	}
	if st.LastError != "" {
		failing = 1
	}
	if st.Enrolled {
		in = 1
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(ackedDesc, prometheus.GaugeValue, float64(st.Acked))
	ch <- prometheus.MustNewConstMetric(lastOKDesc, prometheus.GaugeValue, lastOK)
	ch <- prometheus.MustNewConstMetric(failingDesc, prometheus.GaugeValue, failing)
	ch <- prometheus.MustNewConstMetric(enrolled, prometheus.GaugeValue, in)
}
