package web

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is a program's Prometheus registry, served at /metrics: the Go
// runtime's and the process's own, every HTTP request by route and
// status, and what the program adds (see Register). Metrics carry counts
// and states, never a mission's data.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics makes the registry of the program named prog ("agent",
// "hq"): its metrics are named chancery_<prog>_….
func NewMetrics(prog string) *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chancery_" + prog + "_http_requests_total",
			Help: "HTTP requests answered, by route and status."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "chancery_" + prog + "_http_request_seconds",
			Help: "Time to answer an HTTP request, by route.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"route"}),
	}
	r.MustRegister(m.requests, m.latency)
	return m
}

// Register adds a program's own collectors.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.Registry.MustRegister(cs...) }

// observe answers each request, errors included (through the site's
// error handler, so that the status is the one sent), then counts it
// under its route's pattern (never its path, which holds ids) and, with
// an access log, writes a line for it.
func (s *Site) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "other"
		}
		code := c.Response().Status
		took := time.Since(start)
		if m := s.Metrics; m != nil {
			m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			m.latency.WithLabelValues(route).Observe(took.Seconds())
		}
		if s.AccessLog != nil {
			r := c.Request()
			s.AccessLog.Info("request", "method", r.Method, "path", r.URL.Path, "route", route, "status", code,
				"bytes", c.Response().Size, "ms", took.Milliseconds(), "remote", c.RealIP())
		}
		return nil
	}
}

func (m *Metrics) handler() echo.HandlerFunc {
	// The site compresses what it sends: promhttp must not do it again.
	return echo.WrapHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{DisableCompression: true}))
}
