package stats

import (
	"context"
	"log/slog"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/clock"
)

// Pod is a pod the node runs, as a Source reports it.
type Pod struct {
	Namespace, Name, UID string
	// StartTime is when the node took the pod on (its status.startTime).
	StartTime time.Time
	// Cgroup is the pod's cgroup; "" when it has none of its own, when the pod's
	// figures are the sums of its containers'.
	Cgroup string
	// Containers are the pod's running containers.
	Containers []Container
}

// Container is a running container of a Pod.
type Container struct {
	Name string
	// StartTime is when the container's current run started.
	StartTime time.Time
	Cgroup    string
}

// Source says what the node runs. It must be safe for concurrent use.
type Source interface {
	// Pods returns the pods whose sandbox is ready, each with its running containers.
	Pods(ctx context.Context) ([]Pod, error)
}

// Usages reads usage; *Reader is one.
type Usages interface {
	// Cgroup reads the cgroup at path.
	Cgroup(path string) (Usage, error)
	// Node reads the whole node.
	Node() (Usage, error)
	// BootTime is when the node booted.
	BootTime() (time.Time, error)
}

var _ Usages = (*Reader)(nil)

// Config is what a Provider is built from.
type Config struct {
	// NodeName names the node in the summary.
	NodeName string
	// Source lists the pods; required.
	Source Source
	// Usages reads the cgroups and the node; required.
	Usages Usages
	// PodsCgroup, when set, is the cgroup every pod's lies under: the summary reports
	// it as the node's "pods" system container, as the kubelet does.
	PodsCgroup string
	Clock      clock.PassiveClock
	Logger     *slog.Logger
}

// Provider makes summaries of what the node uses.
type Provider struct {
	cfg Config

	mu sync.Mutex // guards prev
	// prev is the last reading of each cgroup a Summary read (by key: the cgroup path,
	// or a name for the node and for pods without a cgroup), from which the next
	// computes usageNanoCores.
	prev map[string]reading
}

// reading is the cumulative CPU time of one cgroup at one moment.
type reading struct {
	at  time.Time
	cpu uint64
}

// NewProvider returns a Provider of cfg.
func NewProvider(cfg Config) *Provider {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Provider{cfg: cfg, prev: map[string]reading{}}
}

// Summary reads the node, its pods and their containers now, as the kubelet's
// /stats/summary: usageNanoCores is the rate since the previous Summary's reading of the
// same cgroup (absent the first time), and this reading becomes the previous one.
func (p *Provider) Summary(ctx context.Context) (*statsapi.Summary, error) {
	return p.collect(ctx, true)
}

// CPUAndMemory reads the same figures as Summary, for /metrics/resource, without
// changing what Summary's next rates are computed from: scrapes of the metrics, however
// often, leave the summary's rates alone, as the kubelet's.
func (p *Provider) CPUAndMemory(ctx context.Context) (*statsapi.Summary, error) {
	return p.collect(ctx, false)
}

func (p *Provider) collect(ctx context.Context, update bool) (*statsapi.Summary, error) {
	pods, err := p.cfg.Source.Pods(ctx)
	if err != nil {
		return nil, err
	}
	c := collection{p: p, seen: map[string]reading{}}
	s := &statsapi.Summary{Node: statsapi.NodeStats{NodeName: p.cfg.NodeName}, Pods: []statsapi.PodStats{}}
	if boot, err := p.cfg.Usages.BootTime(); err == nil {
		s.Node.StartTime = metav1.NewTime(boot)
	}
	if u, err := p.cfg.Usages.Node(); err == nil {
		s.Node.CPU, s.Node.Memory = c.add("node", u, p.cfg.Clock.Now())
	} else {
		p.cfg.Logger.Debug("reading the node's usage", "err", err)
	}
	if p.cfg.PodsCgroup != "" {
		if u, err := p.cfg.Usages.Cgroup(p.cfg.PodsCgroup); err == nil {
			cpu, mem := c.add(p.cfg.PodsCgroup, u, p.cfg.Clock.Now())
			s.Node.SystemContainers = append(s.Node.SystemContainers, statsapi.ContainerStats{
				Name: statsapi.SystemContainerPods, StartTime: s.Node.StartTime, CPU: cpu, Memory: mem})
		}
	}
	for _, pod := range pods {
		s.Pods = append(s.Pods, c.pod(pod))
	}
	if update {
		p.mu.Lock()
		p.prev = c.seen
		p.mu.Unlock()
	}
	return s, nil
}

// collection is one Summary in the making.
type collection struct {
	p    *Provider
	seen map[string]reading // this collection's readings, by key
}

// pod reads one pod and its containers.
func (c *collection) pod(pod Pod) statsapi.PodStats {
	ps := statsapi.PodStats{
		PodRef:     statsapi.PodReference{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		StartTime:  metav1.NewTime(pod.StartTime),
		Containers: []statsapi.ContainerStats{},
	}
	var sum Usage
	for _, ctr := range pod.Containers {
		if ctr.Cgroup == "" {
			continue
		}
		u, err := c.p.cfg.Usages.Cgroup(ctr.Cgroup)
		if err != nil {
			// Ended since the source listed it, most likely.
			c.p.cfg.Logger.Debug("reading a container's usage", "pod", pod.Namespace+"/"+pod.Name, "container", ctr.Name, "err", err)
			continue
		}
		cs := statsapi.ContainerStats{Name: ctr.Name, StartTime: metav1.NewTime(ctr.StartTime)}
		cs.CPU, cs.Memory = c.add(ctr.Cgroup, u, c.p.cfg.Clock.Now())
		ps.Containers = append(ps.Containers, cs)
		sum.CPU += u.CPU
		sum.Memory += u.Memory
		sum.WorkingSet += u.WorkingSet
		sum.RSS += u.RSS
		sum.PageFaults += u.PageFaults
		sum.MajorPageFaults += u.MajorPageFaults
	}
	if pod.Cgroup != "" {
		u, err := c.p.cfg.Usages.Cgroup(pod.Cgroup)
		if err != nil {
			c.p.cfg.Logger.Debug("reading a pod's usage", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			return ps
		}
		ps.CPU, ps.Memory = c.add(pod.Cgroup, u, c.p.cfg.Clock.Now())
		return ps
	}
	if len(ps.Containers) > 0 {
		ps.CPU, ps.Memory = c.add("pod:"+pod.UID, sum, c.p.cfg.Clock.Now())
	}
	return ps
}

// add turns a reading of the cgroup known as key, taken at now, into the summary's
// figures, and records it.
func (c *collection) add(key string, u Usage, now time.Time) (*statsapi.CPUStats, *statsapi.MemoryStats) {
	t := metav1.NewTime(now)
	cpu := &statsapi.CPUStats{Time: t, UsageCoreNanoSeconds: ptr(u.CPU)}
	c.p.mu.Lock()
	prev, ok := c.p.prev[key]
	c.p.mu.Unlock()
	if ok {
		if rate, ok := nanoCores(prev, reading{at: now, cpu: u.CPU}); ok {
			cpu.UsageNanoCores = ptr(rate)
		}
	}
	c.seen[key] = reading{at: now, cpu: u.CPU}
	mem := &statsapi.MemoryStats{Time: t, UsageBytes: ptr(u.Memory), WorkingSetBytes: ptr(u.WorkingSet), RSSBytes: ptr(u.RSS),
		PageFaults: ptr(u.PageFaults), MajorPageFaults: ptr(u.MajorPageFaults)}
	if u.MemoryLimit > 0 {
		mem.AvailableBytes = ptr(u.MemoryLimit - min(u.WorkingSet, u.MemoryLimit))
	}
	return cpu, mem
}

// nanoCores is the CPU used between two readings of one cgroup, in cores times 10^9;
// false when the readings give no rate (no time between them, or a counter that went
// back, as a cgroup made anew).
func nanoCores(prev, cur reading) (uint64, bool) {
	d := cur.at.Sub(prev.at)
	if d <= 0 || cur.cpu < prev.cpu {
		return 0, false
	}
	return uint64(float64(cur.cpu-prev.cpu) / d.Seconds()), true
}

func ptr[T any](v T) *T { return &v }
