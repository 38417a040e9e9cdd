package stats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeSource is a Source of fixed pods.
type fakeSource struct {
	pods []Pod
	err  error
}

func (s *fakeSource) Pods(context.Context) ([]Pod, error) { return s.pods, s.err }

// tree is a fake cgroup v2 hierarchy and procfs in a temporary directory.
type tree struct {
	t    *testing.T
	root string
}

func newTree(t *testing.T) *tree {
	tr := &tree{t: t, root: t.TempDir()}
	writeTree(t, tr.root, map[string]string{
		"proc/stat":    "cpu  0 0 0 0 0 0 0 0 0 0\nbtime 1700000000\n",
		"proc/meminfo": meminfo,
	})
	return tr
}

func (tr *tree) reader() *Reader {
	return NewReader(Hierarchies{Unified: filepath.Join(tr.root, "cgroup")}, filepath.Join(tr.root, "proc"))
}

// set gives the cgroup at path cpu seconds of CPU and a working set of ws bytes.
func (tr *tree) set(path string, cpu float64, ws uint64) {
	tr.t.Helper()
	dir := filepath.Join("cgroup", path)
	writeTree(tr.t, tr.root, map[string]string{
		filepath.Join(dir, "cpu.stat"):       fmt.Sprintf("usage_usec %d\n", uint64(cpu*1e6)),
		filepath.Join(dir, "memory.current"): fmt.Sprint(ws + 1000),
		filepath.Join(dir, "memory.stat"):    "inactive_file 1000\n",
	})
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestProvider(tr *tree, src Source, clk *clocktesting.FakePassiveClock) *Provider {
	return NewProvider(Config{NodeName: "n1", Source: src, Usages: tr.reader(), PodsCgroup: "/podium", Clock: clk,
		Logger: slog.New(slog.DiscardHandler)})
}

func TestSummaryRates(t *testing.T) {
	tr := newTree(t)
	clk := clocktesting.NewFakePassiveClock(t0)
	src := &fakeSource{pods: []Pod{{
		Namespace: "default", Name: "busy", UID: "u1", StartTime: t0.Add(-time.Minute), Cgroup: "/podium/podu1",
		Containers: []Container{{Name: "main", StartTime: t0.Add(-50 * time.Second), Cgroup: "/podium/podu1/c1"}},
	}}}
	p := newTestProvider(tr, src, clk)
	tr.set("/", 100, 3<<30)
	tr.set("/podium", 20, 2<<20)
	tr.set("/podium/podu1", 12, 2<<20)
	tr.set("/podium/podu1/c1", 10, 1<<20)

	s, err := p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctr := s.Pods[0].Containers[0]
	if ctr.CPU.UsageNanoCores != nil || *ctr.CPU.UsageCoreNanoSeconds != 10e9 || *ctr.Memory.WorkingSetBytes != 1<<20 {
		t.Fatalf("first summary: container cpu %+v memory %+v", ctr.CPU, ctr.Memory)
	}

	// 10 s on, the container used 5 s of CPU: half a core. The metrics read in between
	// do not move what the next summary's rate counts from.
	clk.SetTime(t0.Add(10 * time.Second))
	tr.set("/", 110, 3<<30)
	tr.set("/podium", 25, 2<<20)
	tr.set("/podium/podu1", 17, 2<<20)
	tr.set("/podium/podu1/c1", 15, 1<<20)
	m, err := p.CPUAndMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := *m.Pods[0].Containers[0].CPU.UsageNanoCores; got != 500_000_000 {
		t.Errorf("metrics' rate = %d nanocores, want 500000000", got)
	}
	clk.SetTime(t0.Add(20 * time.Second))
	tr.set("/", 130, 3<<30)
	tr.set("/podium/podu1/c1", 25, 1<<20)
	s, err = p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		cpu  *statsapi.CPUStats
		want uint64
	}{
		{name: "node", cpu: s.Node.CPU, want: 1_500_000_000},                   // 30 s in 20 s
		{name: "pods", cpu: s.Node.SystemContainers[0].CPU, want: 250_000_000}, // 5 s in 20 s
		{name: "pod", cpu: s.Pods[0].CPU, want: 250_000_000},
		{name: "container", cpu: s.Pods[0].Containers[0].CPU, want: 750_000_000}, // 15 s in 20 s
	} {
		if tt.cpu == nil || tt.cpu.UsageNanoCores == nil || *tt.cpu.UsageNanoCores != tt.want || !tt.cpu.Time.Equal(&metav1.Time{Time: clk.Now()}) {
			t.Errorf("%s: cpu %+v, want %d nanocores at %v", tt.name, tt.cpu, tt.want, clk.Now())
		}
	}

	// A container run of its own cgroup starts with no rate; a counter that went back
	// (a cgroup made anew) gives none.
	clk.SetTime(t0.Add(30 * time.Second))
	src.pods[0].Containers[0] = Container{Name: "main", StartTime: t0.Add(25 * time.Second), Cgroup: "/podium/podu1/c2"}
	tr.set("/podium/podu1/c2", 1, 1<<20)
	tr.set("/podium/podu1", 1, 2<<20)
	s, err = p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Pods[0].Containers[0].CPU.UsageNanoCores != nil || s.Pods[0].CPU.UsageNanoCores != nil {
		t.Errorf("rates of a new run: container %+v pod %+v", s.Pods[0].Containers[0].CPU, s.Pods[0].CPU)
	}
}

func TestSummaryShape(t *testing.T) {
	tr := newTree(t)
	clk := clocktesting.NewFakePassiveClock(t0)
	src := &fakeSource{pods: []Pod{
		{Namespace: "default", Name: "two", UID: "u1", StartTime: t0.Add(-time.Minute), // no cgroup of its own
			Containers: []Container{
				{Name: "a", StartTime: t0.Add(-50 * time.Second), Cgroup: "/podium/podu1/a"},
				{Name: "b", StartTime: t0.Add(-40 * time.Second), Cgroup: "/podium/podu1/b"},
				{Name: "gone", StartTime: t0.Add(-40 * time.Second), Cgroup: "/podium/podu1/gone"},
			}},
		{Namespace: "kube-system", Name: "empty", UID: "u2", StartTime: t0, Cgroup: "/podium/podu2"},
	}}
	tr.set("/", 100, 3<<30)
	tr.set("/podium", 20, 2<<20)
	tr.set("/podium/podu1/a", 1, 100)
	tr.set("/podium/podu1/b", 2, 200)
	tr.set("/podium/podu2", 0.5, 50)
	s, err := newTestProvider(tr, src, clk).Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(t0)
	cpu := func(sec float64) *statsapi.CPUStats {
		return &statsapi.CPUStats{Time: now, UsageCoreNanoSeconds: ptr(uint64(sec * 1e9))}
	}
	mem := func(ws uint64) *statsapi.MemoryStats {
		return &statsapi.MemoryStats{Time: now, UsageBytes: ptr(ws + 1000), WorkingSetBytes: ptr(ws), RSSBytes: ptr[uint64](0),
			PageFaults: ptr[uint64](0), MajorPageFaults: ptr[uint64](0)}
	}
	sum := mem(300)
	sum.UsageBytes = ptr[uint64](2300) // each container's usage, summed
	nodeMem := mem(3 << 30)
	nodeMem.UsageBytes = ptr[uint64](6_000_000 * 1024) // meminfo's: the v2 root has no memory.current
	nodeMem.WorkingSetBytes = ptr[uint64](4_500_000 * 1024)
	nodeMem.RSSBytes = ptr[uint64](1_000_000 * 1024)
	nodeMem.AvailableBytes = ptr[uint64](3_500_000 * 1024)
	want := &statsapi.Summary{
		Node: statsapi.NodeStats{NodeName: "n1", StartTime: metav1.NewTime(time.Unix(1700000000, 0)), CPU: cpu(100), Memory: nodeMem,
			SystemContainers: []statsapi.ContainerStats{{Name: "pods", StartTime: metav1.NewTime(time.Unix(1700000000, 0)), CPU: cpu(20), Memory: mem(2 << 20)}}},
		Pods: []statsapi.PodStats{
			{PodRef: statsapi.PodReference{Namespace: "default", Name: "two", UID: "u1"}, StartTime: metav1.NewTime(t0.Add(-time.Minute)),
				Containers: []statsapi.ContainerStats{
					{Name: "a", StartTime: metav1.NewTime(t0.Add(-50 * time.Second)), CPU: cpu(1), Memory: mem(100)},
					{Name: "b", StartTime: metav1.NewTime(t0.Add(-40 * time.Second)), CPU: cpu(2), Memory: mem(200)},
				},
				CPU: cpu(3), Memory: sum},
			{PodRef: statsapi.PodReference{Namespace: "kube-system", Name: "empty", UID: "u2"}, StartTime: now,
				Containers: []statsapi.ContainerStats{}, CPU: cpu(0.5), Memory: mem(50)},
		},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestSummarySourceFails(t *testing.T) {
	tr := newTree(t)
	p := newTestProvider(tr, &fakeSource{err: errors.New("runtime down")}, clocktesting.NewFakePassiveClock(t0))
	if _, err := p.Summary(context.Background()); err == nil {
		t.Fatal("Summary succeeded without its source")
	}
}
