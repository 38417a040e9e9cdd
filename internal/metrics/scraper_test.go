package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// resourceMetrics is a node agent's /metrics/resource, as the kubelet writes it, read
// at t0 plus s seconds: the node and container "app" of default/web at cpu seconds.
func resourceMetrics(s, cpu float64) string {
	ms := at(s).UnixMilli()
	return fmt.Sprintf(`# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} %[2]g %[1]d
container_cpu_usage_seconds_total{container="app",namespace="default",pod="nomem"} 1 %[1]d
container_cpu_usage_seconds_total{container="side",namespace="default",pod="web"} 0.5 %[1]d
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 1.048576e+06 %[1]d
container_memory_working_set_bytes{container="side",namespace="default",pod="web"} 2048 %[1]d
# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web"} %[3]d
container_start_time_seconds{container="side",namespace="default",pod="web"} %[3]d
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total %[4]g %[1]d
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 4.608e+09 %[1]d
# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise
# TYPE resource_scrape_error gauge
resource_scrape_error 0
`, ms, cpu, at(-600).Unix(), 10*cpu)
}

func TestDecode(t *testing.T) {
	got, err := Decode(strings.NewReader(resourceMetrics(0, 2.5)), at(99))
	if err != nil {
		t.Fatal(err)
	}
	want := Scrape{
		Node: &Point{Timestamp: at(0), CPU: 25e9, Memory: 4_608_000_000},
		Pods: map[types.NamespacedName]map[string]Point{
			// default/nomem is left out: its container has no working set.
			{Namespace: "default", Name: "web"}: {
				"app":  {StartTime: at(-600), Timestamp: at(0), CPU: 2.5e9, Memory: 1 << 20},
				"side": {StartTime: at(-600), Timestamp: at(0), CPU: 0.5e9, Memory: 2048},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}

	// Samples without a timestamp count as read at the scrape; a node without its
	// memory is left out.
	got, err = Decode(strings.NewReader("node_cpu_usage_seconds_total 3\ncontainer_cpu_usage_seconds_total{container=\"c\",namespace=\"n\",pod=\"p\"} 1\n"+
		"container_memory_working_set_bytes{container=\"c\",namespace=\"n\",pod=\"p\"} 10\n"), at(7))
	if err != nil {
		t.Fatal(err)
	}
	if got.Node != nil || got.Pods[types.NamespacedName{Namespace: "n", Name: "p"}]["c"] != (Point{Timestamp: at(7), CPU: 1e9, Memory: 10}) {
		t.Errorf("Decode without timestamps = %+v", got)
	}

	if _, err := Decode(strings.NewReader("node_cpu_usage_seconds_total{ 3\n"), at(0)); err == nil {
		t.Error("Decode of a malformed text succeeded")
	}
}

func node(name string, ready corev1.ConditionStatus) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}
	}
	return n
}

func TestScrape(t *testing.T) {
	clk := clocktesting.NewFakeClock(at(0))
	store := NewStore(15 * time.Second)
	var mu sync.Mutex
	var asked []string
	cpu := 2.5
	s := NewScraper(ScraperConfig{
		Nodes: func() []*corev1.Node {
			return []*corev1.Node{node("n1", corev1.ConditionTrue), node("down", corev1.ConditionUnknown), node("new", ""), node("broken", corev1.ConditionTrue)}
		},
		Fetch: func(_ context.Context, n string) (io.ReadCloser, error) {
			mu.Lock()
			asked = append(asked, n)
			mu.Unlock()
			if n == "broken" {
				return nil, errors.New("connection refused")
			}
			return io.NopCloser(strings.NewReader(resourceMetrics(clk.Now().Sub(t0).Seconds(), cpu))), nil
		},
		Store: store, Clock: clk, Logger: slog.New(slog.DiscardHandler),
	})
	s.Scrape(context.Background())
	clk.Step(15 * time.Second)
	cpu = 4
	s.Scrape(context.Background())

	if len(asked) != 4 || strings.Contains(strings.Join(asked, ","), "down") || strings.Contains(strings.Join(asked, ","), "new") {
		t.Errorf("asked %v, want n1 and broken twice each", asked)
	}
	if u, ok := store.Node("n1"); !ok || cpuOf(t, u) != "1" { // 10×(4-2.5) s in 15 s
		t.Errorf("n1: %+v %v", u, ok)
	}
	if _, ok := store.Node("broken"); ok {
		t.Error("a node that did not answer has usage")
	}
	cs, _, ok := store.Pod(types.NamespacedName{Namespace: "default", Name: "web"})
	if !ok || len(cs) != 2 || cs[0].Name != "app" || cpuOf(t, cs[0].Usage) != "100m" || cpuOf(t, cs[1].Usage) != "0" {
		t.Errorf("default/web: %+v %v", cs, ok)
	}
}

func TestRunScrapesEveryResolution(t *testing.T) {
	clk := clocktesting.NewFakeClock(at(0))
	scraped := make(chan struct{}, 10)
	s := NewScraper(ScraperConfig{
		Nodes: func() []*corev1.Node { scraped <- struct{}{}; return nil },
		Store: NewStore(time.Second), Resolution: time.Second, Clock: clk, Logger: slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-scraped // at once
	for !clk.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	clk.Step(time.Second)
	<-scraped // a resolution later
	cancel()
	<-done
}
