package stats

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	clocktesting "k8s.io/utils/clock/testing"
)

// get asks h for path and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Header(), string(body)
}

func TestResourceMetrics(t *testing.T) {
	tr := newTree(t)
	clk := clocktesting.NewFakePassiveClock(time.UnixMilli(1624396278302))
	src := &fakeSource{pods: []Pod{{
		Namespace: "ns1", Name: "busy", UID: "u1", StartTime: time.Unix(1624396200, 0), Cgroup: "/podium/podu1",
		Containers: []Container{
			{Name: "main", StartTime: time.Unix(1624396220, 500_000_000), Cgroup: "/podium/podu1/c1"},
			{Name: "side", StartTime: time.Unix(1624396230, 0), Cgroup: "/podium/podu1/c2"},
		},
	}}}
	tr.set("/", 10, 1000)
	tr.set("/podium", 3, 3000)
	tr.set("/podium/podu1", 3, 3000)
	tr.set("/podium/podu1/c1", 2.5, 2000)
	tr.set("/podium/podu1/c2", 0.5, 1000)
	h := NewHandler(newTestProvider(tr, src, clk), slog.New(slog.DiscardHandler))

	code, header, body := get(t, h, "/metrics/resource")
	if code != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics/resource: %d %s\n%s", code, header.Get("Content-Type"), body)
	}
	// The kubelet's output for the same figures, but the node's memory, which comes
	// from the fake meminfo.
	want := `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="main",namespace="ns1",pod="busy"} 2.5 1624396278302
container_cpu_usage_seconds_total{container="side",namespace="ns1",pod="busy"} 0.5 1624396278302
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="main",namespace="ns1",pod="busy"} 2000 1624396278302
container_memory_working_set_bytes{container="side",namespace="ns1",pod="busy"} 1000 1624396278302
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="main",namespace="ns1",pod="busy"} 1.6243962205e+09
container_start_time_seconds{container="side",namespace="ns1",pod="busy"} 1.62439623e+09
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 10 1624396278302
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 4.608e+09 1624396278302
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="ns1",pod="busy"} 3 1624396278302
# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes
# TYPE pod_memory_working_set_bytes gauge
pod_memory_working_set_bytes{namespace="ns1",pod="busy"} 3000 1624396278302
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
`
	if body != want {
		t.Errorf("GET /metrics/resource:\n%s\nwant:\n%s", body, want)
	}

	// What a scraper parses back.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	cpu := families["container_cpu_usage_seconds_total"]
	if cpu == nil || len(cpu.Metric) != 2 {
		t.Fatalf("container_cpu_usage_seconds_total: %v", cpu)
	}
	m := cpu.Metric[0]
	labels := map[string]string{}
	for _, l := range m.Label {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["container"] != "main" || labels["pod"] != "busy" || labels["namespace"] != "ns1" ||
		m.GetCounter().GetValue() != 2.5 || m.GetTimestampMs() != 1624396278302 {
		t.Errorf("parsed back: labels %v value %v at %d", labels, m.GetCounter().GetValue(), m.GetTimestampMs())
	}
}

func TestResourceMetricsScrapeError(t *testing.T) {
	tr := newTree(t)
	src := &fakeSource{err: errors.New("runtime down")}
	h := NewHandler(newTestProvider(tr, src, clocktesting.NewFakePassiveClock(t0)), slog.New(slog.DiscardHandler))
	code, _, body := get(t, h, "/metrics/resource")
	want := `# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 1
`
	if code != http.StatusOK || body != want {
		t.Errorf("GET /metrics/resource with the source failing: %d\n%s", code, body)
	}
	if code, _, _ := get(t, h, "/stats/summary"); code != http.StatusInternalServerError {
		t.Errorf("GET /stats/summary with the source failing: %d, want 500", code)
	}
}

func TestSummaryEndpoint(t *testing.T) {
	tr := newTree(t)
	src := &fakeSource{pods: []Pod{{Namespace: "ns1", Name: "p", UID: "u1", StartTime: t0, Cgroup: "/podium/podu1"}}}
	tr.set("/", 10, 1000)
	tr.set("/podium", 1, 1000)
	tr.set("/podium/podu1", 1, 1000)
	h := NewHandler(newTestProvider(tr, src, clocktesting.NewFakePassiveClock(t0)), slog.New(slog.DiscardHandler))
	code, header, body := get(t, h, "/stats/summary?only_cpu_and_memory=true")
	if code != http.StatusOK || header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /stats/summary: %d %s", code, header.Get("Content-Type"))
	}
	for _, want := range []string{`"nodeName":"n1"`, `"podRef":{"name":"p","namespace":"ns1","uid":"u1"}`, `"usageCoreNanoSeconds":1000000000`, `"workingSetBytes":1000`} {
		if !strings.Contains(body, want) {
			t.Errorf("summary lacks %s:\n%s", want, body)
		}
	}
	if code, _, _ := get(t, h, "/stats/other"); code != http.StatusNotFound {
		t.Errorf("GET /stats/other: %d, want 404", code)
	}
}
