package metrics

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// Point is one reading of a node or a container.
type Point struct {
	// StartTime is when the container (the node) started: its CPU count is 0 then.
	StartTime time.Time
	// Timestamp is when the reading was taken.
	Timestamp time.Time
	// CPU is the CPU time used since StartTime, in core-nanoseconds.
	CPU uint64
	// Memory is the working set, in bytes.
	Memory uint64
}

// Batch is what one round of scrapes read: the nodes by name, and the containers of
// each pod by name.
type Batch struct {
	Nodes map[string]Point
	Pods  map[types.NamespacedName]map[string]Point
}

// Usage is what a node or a container used over a window that ends at Timestamp.
type Usage struct {
	Timestamp time.Time
	Window    time.Duration
	// Resources are the CPU rate over the window and the memory at its end.
	Resources corev1.ResourceList
}

var (
	errStartMovedBack = errors.New("the start time moved back")
	errCPUWentBack    = errors.New("the cumulative CPU usage went back")
	errNoWindow       = errors.New("the readings are not apart in time")
)

// Rate is the usage between two readings of one node or container: CPU as the rate
// between them (in nanocores, as metrics-server writes it), memory as the last working
// set (in bytes). Readings of a container started anew, whose counter went back, or
// that are not apart in time give an error.
func Rate(last, prev Point) (Usage, error) {
	switch {
	case last.StartTime.Before(prev.StartTime):
		return Usage{}, errStartMovedBack
	case last.CPU < prev.CPU:
		return Usage{}, errCPUWentBack
	case !last.Timestamp.After(prev.Timestamp):
		return Usage{}, errNoWindow
	}
	window := last.Timestamp.Sub(prev.Timestamp)
	nanoCores := float64(last.CPU-prev.CPU) / window.Seconds()
	return Usage{Timestamp: last.Timestamp, Window: window, Resources: corev1.ResourceList{
		corev1.ResourceCPU:    quantity(uint64(nanoCores), resource.DecimalSI, -9),
		corev1.ResourceMemory: quantity(last.Memory, resource.BinarySI, 0),
	}}, nil
}

// quantity is val×10^scale in format, losing a digit of precision when val does not fit
// an int64.
func quantity(val uint64, format resource.Format, scale resource.Scale) resource.Quantity {
	if val > math.MaxInt64 {
		val, scale = val/10, scale+1
	}
	q := resource.NewScaledQuantity(int64(val), scale)
	q.Format = format
	return *q
}

// freshContainerMin is the least a container must have run before its first reading
// counts from its start (CPU 0 at StartTime): a younger one's rate would be noise.
const freshContainerMin = 10 * time.Second

// Store keeps the last two readings of every node and container, as the scrapes bring
// them. It is safe for concurrent use.
type Store struct {
	resolution time.Duration

	mu sync.RWMutex // guards everything below
	// last are the readings of the last batch; prev those before them, where there is
	// one older than the last and, for a container, of the same run.
	lastNodes, prevNodes map[string]Point
	lastPods, prevPods   map[types.NamespacedName]map[string]Point
}

// NewStore returns an empty Store of scrapes made every resolution.
func NewStore(resolution time.Duration) *Store {
	return &Store{resolution: resolution}
}

// Add takes the readings of a round of scrapes; nodes and pods it lacks are forgotten.
func (s *Store) Add(b Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lastNodes, prevNodes := map[string]Point{}, map[string]Point{}
	for name, p := range b.Nodes {
		lastNodes[name] = p
		if prev, ok := s.older(p, s.lastNodes[name], s.prevNodes[name]); ok {
			prevNodes[name] = prev
		}
	}
	lastPods, prevPods := map[types.NamespacedName]map[string]Point{}, map[types.NamespacedName]map[string]Point{}
	for pod, containers := range b.Pods {
		last, prev := map[string]Point{}, map[string]Point{}
		for name, p := range containers {
			last[name] = p
			if age := p.Timestamp.Sub(p.StartTime); age >= freshContainerMin && age < s.resolution {
				// A container started since the last round: count from its start.
				prev[name] = Point{StartTime: p.StartTime, Timestamp: p.StartTime, Memory: p.Memory}
				continue
			}
			stored, ok := s.lastPods[pod][name]
			if !ok || !p.StartTime.Before(stored.Timestamp) {
				continue // a new run, unless the start time was already seen
			}
			if older, ok := s.older(p, stored, s.prevPods[pod][name]); ok {
				prev[name] = older
			}
		}
		lastPods[pod] = last
		if len(prev) > 0 {
			prevPods[pod] = prev
		}
	}
	s.lastNodes, s.prevNodes, s.lastPods, s.prevPods = lastNodes, prevNodes, lastPods, prevPods
}

// older picks what a new reading's rate counts from: the stored last reading when the
// new one is later, else the stored previous one if it is earlier than the new one.
func (s *Store) older(p, last, prev Point) (Point, bool) {
	switch {
	case !last.Timestamp.IsZero() && p.Timestamp.After(last.Timestamp):
		return last, true
	case !last.Timestamp.IsZero() && !prev.Timestamp.IsZero() && prev.Timestamp.Before(p.Timestamp):
		return prev, true
	}
	return Point{}, false
}

// Node returns a node's usage; false until two readings of it are stored.
func (s *Store) Node(name string) (Usage, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	last, ok := s.lastNodes[name]
	prev, ok2 := s.prevNodes[name]
	if !ok || !ok2 {
		return Usage{}, false
	}
	u, err := Rate(last, prev)
	return u, err == nil
}

// ContainerUsage is one container's usage.
type ContainerUsage struct {
	Name string
	Usage
}

// Pod returns the usage of each container of a pod, by name, and the earliest reading's
// time and window; false unless every container of the last reading has two.
func (s *Store) Pod(pod types.NamespacedName) ([]ContainerUsage, Usage, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	last, ok := s.lastPods[pod]
	if !ok {
		return nil, Usage{}, false
	}
	prev := s.prevPods[pod]
	var out []ContainerUsage
	var earliest Usage
	for name, l := range last {
		p, ok := prev[name]
		if !ok {
			return nil, Usage{}, false
		}
		u, err := Rate(l, p)
		if err != nil {
			continue
		}
		out = append(out, ContainerUsage{Name: name, Usage: u})
		if earliest.Timestamp.IsZero() || u.Timestamp.Before(earliest.Timestamp) {
			earliest = u
		}
	}
	if len(out) == 0 {
		return nil, Usage{}, false
	}
	slices.SortFunc(out, func(a, b ContainerUsage) int { return strings.Compare(a.Name, b.Name) })
	return out, Usage{Timestamp: earliest.Timestamp, Window: earliest.Window}, true
}
