package scheduler

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	schedcache "github.com/podium/podium/internal/scheduler/cache"
	"github.com/podium/podium/internal/scheduler/framework"
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
				host, err := s.schedulePod(framework.NewCycleState(), pi)
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

// BenchmarkPreemption measures the scheduling goroutine's work for 1,000 pods of
// priority 100 on 100 nodes, in pods/s: onto empty nodes (preemption=false), and onto
// nodes full of pods of priority 0 (preemption=true), where each pod fits nowhere,
// preempts one pod (the dry run tries every node), is nominated, and is scheduled in a
// second cycle once its victim is gone, as the binders and the informer would have it.
func BenchmarkPreemption(b *testing.B) {
	const nodes, pods = 100, 1000
	for _, preempt := range []bool{false, true} {
		b.Run(fmt.Sprintf("preemption=%v", preempt), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, queued := newPreemptionBench(b, nodes, pods, preempt)
				b.StartTimer()
				for _, pi := range queued {
					schedulePreempting(b, s, pi)
				}
			}
			b.ReportMetric(float64(b.N*pods)/b.Elapsed().Seconds(), "pods/s")
		})
	}
}

// newPreemptionBench returns a scheduler whose cache has nodes of 4 cpu, each with 10
// pods of 400m and priority 0 when full is set, and the pods to schedule: 400m each,
// of priority 100, known to the pod lister as preemption wants.
func newPreemptionBench(b *testing.B, nodes, pods int, full bool) (*Scheduler, []*framework.PodInfo) {
	b.Helper()
	cs := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(cs, 0)
	s, err := newScheduler(cs, factory, slog.New(slog.NewTextHandler(io.Discard, nil)), defaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < nodes; i++ {
		name := fmt.Sprintf("node-%d", i)
		s.cache.AddNode(st.Node(name).Alloc("cpu", "4", "memory", "32Gi", "pods", "110").Obj())
		for j := 0; full && j < 10; j++ {
			s.cache.AddPod(st.Pod(fmt.Sprintf("low-%d-%d", i, j)).Req("cpu", "400m").NodeName(name).Obj())
		}
	}
	indexer := factory.Core().V1().Pods().Informer().GetIndexer()
	queued := make([]*framework.PodInfo, pods)
	for i := range queued {
		p := st.Pod(fmt.Sprintf("high-%d", i)).Priority(100).Req("cpu", "400m").Obj()
		if err := indexer.Add(p); err != nil {
			b.Fatal(err)
		}
		queued[i] = framework.NewPodInfo(p)
	}
	return s, queued
}

// schedulePreempting runs a pod's scheduling cycle; when it fits nowhere, preemption,
// its nomination and its victims' leaving, then its second cycle; then assumes it.
func schedulePreempting(b *testing.B, s *Scheduler, pi *framework.PodInfo) {
	s.cache.UpdateSnapshot(s.snapshot)
	state := framework.NewCycleState()
	host, err := s.schedulePod(state, pi)
	var fit *framework.FitError
	if errors.As(err, &fit) {
		res := s.preempt(state, pi, fit)
		if res.Node == "" {
			b.Fatalf("%s: no preemption: %v", pi.Key(), res.Status)
		}
		s.nominator.nominate(pi, res.Node)
		for _, v := range res.Victims {
			s.cache.RemovePod(v)
		}
		s.cache.UpdateSnapshot(s.snapshot)
		if host, err = s.schedulePod(framework.NewCycleState(), pi); host != res.Node {
			b.Fatalf("%s: on %q (%v) after preempting on %s", pi.Key(), host, err, res.Node)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	assumed := *pi.Pod
	assumed.Spec.NodeName = host
	if err := s.cache.AssumePod(pi.WithPod(&assumed)); err != nil {
		b.Fatal(err)
	}
	s.nominator.forget(pi.Pod)
}
