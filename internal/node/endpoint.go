package node

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/agent"
	"github.com/podium/podium/internal/agent/stream"
	"github.com/podium/podium/internal/runtime"
)

// nodeLogDir is the directory /logs/ serves, as the kubelet's.
const nodeLogDir = "/var/log"

// agentMux is the agent's HTTPS endpoint: the streaming paths (logs, exec, attach,
// port-forward) and, on the kubelet's paths, /healthz, /pods, /logs/ (the node's
// /var/log), /metrics, the resource usage (/stats/summary, /metrics/resource) and
// /debug/pprof/. The guard in front of it has admitted every request it gets.
func agentMux(a *agent.Agent, r runtime.Runtime, metrics *prometheus.Registry, log *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	admitted := func(*http.Request) bool { return true }
	mux.Handle("/", stream.NewHandler(stream.Config{Runtime: r, Pods: a.Lookup(r), Logger: log, Authorize: admitted}))
	mux.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	if h := statsHandler(a.NodeName(), r, log); h != nil {
		mux.Handle("GET /stats/", h)
		mux.Handle("GET /metrics/resource", h)
	}
	mux.Handle("/debug/pprof/", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/debug/pprof/profile":
			pprof.Profile(w, req)
		default:
			pprof.Index(w, req)
		}
	}))
	mux.Handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	}))
	mux.Handle("GET /pods", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		pods := a.Pods()
		slices.SortFunc(pods, func(x, y *corev1.Pod) int {
			return strings.Compare(x.Namespace+"/"+x.Name, y.Namespace+"/"+y.Name)
		})
		list := corev1.PodList{}
		list.Kind, list.APIVersion = "PodList", "v1"
		for _, p := range pods {
			list.Items = append(list.Items, *p)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&list)
	}))
	mux.Handle("GET /logs/", logFiles(nodeLogDir))
	return mux
}

// logFiles serves the files below dir, listings included, as the kubelet's /logs/
// does. The directory is opened as an os.Root, so that a symbolic link below it cannot
// lead the server out of it.
func logFiles(dir string) http.Handler {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return http.NotFoundHandler()
	}
	return http.StripPrefix("/logs", http.FileServerFS(root.FS()))
}
