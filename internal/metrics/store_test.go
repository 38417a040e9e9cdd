package metrics

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is t0 plus s seconds.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestRate(t *testing.T) {
	tests := []struct {
		name       string
		last, prev Point
		wantCPU    string
		wantMemory string
		wantWindow time.Duration
		wantErr    bool
	}{
		{name: "half a core over 15 s",
			prev:    Point{StartTime: at(-100), Timestamp: at(0), CPU: 10e9, Memory: 1 << 20},
			last:    Point{StartTime: at(-100), Timestamp: at(15), CPU: 17.5e9, Memory: 5 << 20},
			wantCPU: "500m", wantMemory: "5Mi", wantWindow: 15 * time.Second},
		{name: "nanocores, as metrics-server writes them",
			prev:    Point{Timestamp: at(0), CPU: 1000},
			last:    Point{Timestamp: at(10), CPU: 1000 + 15_037_120, Memory: 5_365_760},
			wantCPU: "1503712n", wantMemory: "5240Ki", wantWindow: 10 * time.Second},
		{name: "idle", prev: Point{Timestamp: at(0), CPU: 5}, last: Point{Timestamp: at(1), CPU: 5, Memory: 1000},
			wantCPU: "0", wantMemory: "1k", wantWindow: time.Second}, // not a multiple of 1024: decimal
		{name: "counter went back", prev: Point{Timestamp: at(0), CPU: 50}, last: Point{Timestamp: at(10), CPU: 40}, wantErr: true},
		{name: "start moved back", prev: Point{StartTime: at(-5), Timestamp: at(0)}, last: Point{StartTime: at(-10), Timestamp: at(10)}, wantErr: true},
		{name: "no window", prev: Point{Timestamp: at(10), CPU: 1}, last: Point{Timestamp: at(10), CPU: 2}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Rate(tt.last, tt.prev)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Rate = %+v, want an error", u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cpu, mem := u.Resources[corev1.ResourceCPU], u.Resources[corev1.ResourceMemory]
			if cpu.String() != tt.wantCPU || mem.String() != tt.wantMemory || u.Window != tt.wantWindow || !u.Timestamp.Equal(tt.last.Timestamp) {
				t.Errorf("Rate = cpu %s memory %s window %v at %v; want %s %s %v at %v", cpu.String(), mem.String(), u.Window, u.Timestamp,
					tt.wantCPU, tt.wantMemory, tt.wantWindow, tt.last.Timestamp)
			}
		})
	}
}

// batch is a round with node n1 at CPU seconds nodeCPU and pod default/web's container
// "app" (started at start) at appCPU, both read at ts.
func batch(ts time.Time, nodeCPU, appCPU float64, start time.Time) Batch {
	return Batch{
		Nodes: map[string]Point{"n1": {Timestamp: ts, CPU: uint64(nodeCPU * 1e9), Memory: 1 << 30}},
		Pods: map[types.NamespacedName]map[string]Point{{Namespace: "default", Name: "web"}: {
			"app": {StartTime: start, Timestamp: ts, CPU: uint64(appCPU * 1e9), Memory: 1 << 20}}},
	}
}

func cpuOf(t *testing.T, u Usage) string {
	t.Helper()
	q := u.Resources[corev1.ResourceCPU]
	return q.String()
}

func TestStore(t *testing.T) {
	web := types.NamespacedName{Namespace: "default", Name: "web"}
	s := NewStore(15 * time.Second)
	start := at(-600)

	s.Add(batch(at(0), 100, 10, start))
	if _, ok := s.Node("n1"); ok {
		t.Error("a node has usage after one reading")
	}
	if _, _, ok := s.Pod(web); ok {
		t.Error("a pod has usage after one reading")
	}

	s.Add(batch(at(15), 115, 13, start))
	u, ok := s.Node("n1")
	if !ok || cpuOf(t, u) != "1" || u.Window != 15*time.Second || !u.Timestamp.Equal(at(15)) {
		t.Errorf("node after two readings: %+v %v", u, ok)
	}
	cs, pu, ok := s.Pod(web)
	if !ok || len(cs) != 1 || cs[0].Name != "app" || cpuOf(t, cs[0].Usage) != "200m" || pu.Window != 15*time.Second || !pu.Timestamp.Equal(at(15)) {
		t.Errorf("pod after two readings: %+v %+v %v", cs, pu, ok)
	}

	// A reading no newer than the last keeps the pair it had.
	s.Add(batch(at(15), 115, 13, start))
	if u, ok := s.Node("n1"); !ok || cpuOf(t, u) != "1" {
		t.Errorf("node after a repeated reading: %+v %v", u, ok)
	}

	// The container restarted: its new run has no rate yet, so neither has the pod.
	s.Add(batch(at(30), 130, 1, at(25)))
	if _, _, ok := s.Pod(web); ok {
		t.Error("a restarted container has a rate at once")
	}
	s.Add(batch(at(45), 145, 4, at(25)))
	if cs, _, ok := s.Pod(web); !ok || cpuOf(t, cs[0].Usage) != "200m" {
		t.Errorf("restarted container after two readings: %+v %v", cs, ok)
	}

	// A node or pod missing from a round is forgotten.
	s.Add(Batch{})
	if _, ok := s.Node("n1"); ok {
		t.Error("a node missing from the last round still has usage")
	}
	if _, _, ok := s.Pod(web); ok {
		t.Error("a pod missing from the last round still has usage")
	}
}

func TestStoreFreshContainer(t *testing.T) {
	web := types.NamespacedName{Namespace: "default", Name: "web"}
	tests := []struct {
		name  string
		start time.Time
		want  string // "" for no usage yet
	}{
		{name: "started 12 s before its first reading: counted from its start", start: at(-12), want: "250m"},
		{name: "started 5 s before: too young", start: at(-5)},
		{name: "started before the last round: waits for a second reading", start: at(-20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(15 * time.Second)
			s.Add(batch(at(0), 100, 3, tt.start))
			cs, pu, ok := s.Pod(web)
			switch {
			case tt.want == "" && ok:
				t.Errorf("usage %+v, want none yet", cs)
			case tt.want != "" && (!ok || cpuOf(t, cs[0].Usage) != tt.want || pu.Window != at(0).Sub(tt.start)):
				t.Errorf("usage %+v %+v %v, want %s over %v", cs, pu, ok, tt.want, at(0).Sub(tt.start))
			}
		})
	}
}
