package stats

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewHandler serves p on the kubelet's paths: GET /stats/summary (JSON; the kubelet's
// only_cpu_and_memory parameter is accepted, every figure here being one of those) and
// GET /metrics/resource (Prometheus text). Whoever mounts it authorizes the requests.
func NewHandler(p *Provider, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewResourceCollector(p.CPUAndMemory, log))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics/resource", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /stats/summary", func(w http.ResponseWriter, r *http.Request) {
		s, err := p.Summary(r.Context())
		if err != nil {
			log.Warn("reading the stats summary", "err", err)
			http.Error(w, "Internal Error: failed to get node stats: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})
	return mux
}
