package prober

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the prober's Prometheus metrics, named as the kubelet names them.
type Metrics struct {
	duration *prometheus.HistogramVec
	total    *prometheus.CounterVec
}

// NewMetrics registers the prober's metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "prober_probe_duration_seconds",
			Help:    "Duration in seconds for a probe response.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"probe_type"}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prober_probe_total",
			Help: "Cumulative number of a liveness, readiness or startup probe for a container by result.",
		}, []string{"probe_type", "result"}),
	}
	reg.MustRegister(m.duration, m.total)
	return m
}

func (m *Metrics) observe(kind Kind, res Result, took time.Duration) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(kind.String()).Observe(took.Seconds())
	r := "successful"
	if res == Failure {
		r = "failed"
	}
	m.total.WithLabelValues(kind.String(), r).Inc()
}
