package scheduler

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	schedcache "github.com/podium/podium/internal/scheduler/cache"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

// BenchmarkSchedulingCycle measures the scheduling goroutine's work for one pod
// (snapshot, filter, score, assume) with 100 and 5,000 nodes filling up with pods,
// filtering the nodes on the scheduling goroutine or in parallel.
func BenchmarkSchedulingCycle(b *testing.B) {
	for _, tc := range []struct{ nodes, parallelMin int }{{100, 512}, {100, 1}, {5000, 512}, {5000, 1 << 30}} {
		b.Run(fmt.Sprintf("nodes=%d/parallel=%v", tc.nodes, tc.nodes >= tc.parallelMin), func(b *testing.B) {
			opts := defaultOptions()
			opts.parallelMinNodes = tc.parallelMin
			opts.parallelism = max(2, runtime.GOMAXPROCS(0))
			s, err := newScheduler(fake.NewClientset(), informers.NewSharedInformerFactory(fake.NewClientset(), 0),
				slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
			if err != nil {
				b.Fatal(err)
			}
			s.cache = newFilledCache(tc.nodes)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%10000 == 0 && i > 0 {
					b.StopTimer()
					s.cache, s.snapshot = newFilledCache(tc.nodes), schedcache.NewSnapshot()
					b.StartTimer()
				}
				pi := st.Pod(fmt.Sprintf("p-%d", i)).Labels("app", "bench").Req("cpu", "10m", "memory", "16Mi").Info()
				s.cache.UpdateSnapshot(s.snapshot)
				host, err := s.schedulePod(pi)
				if err != nil {
					b.Fatal(err)
				}
				assumed := *pi.Pod
				assumed.Spec.NodeName = host
				if err := s.cache.AssumePod(pi.WithPod(&assumed)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func newFilledCache(nodes int) *schedcache.Cache {
	c := schedcache.New()
	for i := 0; i < nodes; i++ {
		c.AddNode(st.Node(fmt.Sprintf("node-%d", i)).Alloc("cpu", "32", "memory", "128Gi", "pods", "1000").Obj())
	}
	return c
}
