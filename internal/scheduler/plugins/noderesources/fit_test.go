package noderesources

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func TestInsufficient(t *testing.T) {
	// Node: 4 cpu, 8Gi, 20Gi ephemeral, 110 pods; two pods already use 3 cpu and 6Gi.
	existing := []*corev1.Pod{st.Pod("a").Req("cpu", "2", "memory", "4Gi").Obj(), st.Pod("b").Req("cpu", "1", "memory", "2Gi").Obj()}
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *st.NodeBuilder
		want []string
	}{
		{"fits", st.Pod("p").Req("cpu", "1", "memory", "2Gi").Obj(), st.Node("n"), nil},
		{"no requests always fit but for the pod count", st.Pod("p").Obj(), st.Node("n"), nil},
		{"cpu", st.Pod("p").Req("cpu", "1500m").Obj(), st.Node("n"), []string{"Insufficient cpu"}},
		{"memory", st.Pod("p").Req("memory", "3Gi").Obj(), st.Node("n"), []string{"Insufficient memory"}},
		{"cpu and memory", st.Pod("p").Req("cpu", "2", "memory", "3Gi").Obj(), st.Node("n"), []string{"Insufficient cpu", "Insufficient memory"}},
		{"ephemeral storage", st.Pod("p").Req("ephemeral-storage", "30Gi").Obj(), st.Node("n"), []string{"Insufficient ephemeral-storage"}},
		{"too many pods", st.Pod("p").Obj(), st.Node("n").Alloc("cpu", "4", "memory", "8Gi", "pods", "2"), []string{"Too many pods"}},
		{"too many pods and cpu", st.Pod("p").Req("cpu", "2").Obj(), st.Node("n").Alloc("cpu", "4", "memory", "8Gi", "pods", "2"),
			[]string{"Too many pods", "Insufficient cpu"}},
		{"extended resource missing", st.Pod("p").Req("example.com/gpu", "1").Obj(), st.Node("n"), []string{"Insufficient example.com/gpu"}},
		{"extended resource present", st.Pod("p").Req("example.com/gpu", "1").Obj(),
			st.Node("n").Alloc("cpu", "4", "memory", "8Gi", "pods", "110", "example.com/gpu", "2"), nil},
		{"init container larger than the app", st.Pod("p").Req("cpu", "100m").Init(false, "cpu", "1500m").Obj(), st.Node("n"), []string{"Insufficient cpu"}},
		{"init containers run one at a time", st.Pod("p").Req("cpu", "100m").Init(false, "cpu", "900m").Init(false, "cpu", "900m").Obj(), st.Node("n"), nil},
		{"sidecars add to the app", st.Pod("p").Req("cpu", "600m").Init(true, "cpu", "600m").Obj(), st.Node("n"), []string{"Insufficient cpu"}},
		{"overhead counts", st.Pod("p").Req("cpu", "900m").Overhead("cpu", "200m").Obj(), st.Node("n"), []string{"Insufficient cpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := framework.NewPodInfo(tc.pod)
			ni := tc.node.Info(existing...)
			if got := Insufficient(&pod.Requests, ni); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Insufficient = %q, want %q", got, tc.want)
			}
			got := New().Filter(framework.NewCycleState(), pod, ni)
			want := (*framework.Status)(nil)
			if tc.want != nil {
				want = framework.NewStatus(framework.Unschedulable, tc.want...)
			}
			if got.String() != want.String() {
				t.Errorf("Filter = %v, want %v", got, want)
			}
		})
	}
}

func TestLeastAllocated(t *testing.T) {
	for _, tc := range []struct {
		requested, allocatable, want int64
	}{{0, 4000, 100}, {1000, 4000, 75}, {4000, 4000, 0}, {5000, 4000, 0}, {1, 0, 0}} {
		if got := LeastAllocated(tc.requested, tc.allocatable); got != tc.want {
			t.Errorf("LeastAllocated(%d, %d) = %d, want %d", tc.requested, tc.allocatable, got, tc.want)
		}
	}
}

func TestScorePrefersTheEmptierNode(t *testing.T) {
	pod := st.Pod("p").Req("cpu", "1", "memory", "2Gi").Info()
	empty := st.Node("empty").Info()
	busy := st.Node("busy").Info(st.Pod("a").Req("cpu", "2", "memory", "4Gi").Obj())
	unset := st.Node("unset").Info(st.Pod("b").Obj())
	scores := map[string]int64{}
	for _, ni := range []*framework.NodeInfo{empty, busy, unset} {
		scores[ni.Node().Name], _ = New().Score(nil, pod, ni)
	}
	// empty: cpu (4-1)/4=75, memory (8-2)/8=75; busy: 25, 25; unset: a pod without
	// requests counts as 100m and 200Mi: cpu (4-1.1)/4=72, memory (8-2.195)/8=72.
	want := map[string]int64{"empty": 75, "busy": 25, "unset": 72}
	if !reflect.DeepEqual(scores, want) {
		t.Errorf("scores = %v, want %v", scores, want)
	}
}

func TestQueueingHint(t *testing.T) {
	pod := st.Pod("p").Req("cpu", "3").Info()
	small, big := st.Node("n").Alloc("cpu", "2", "pods", "10").Obj(), st.Node("n").Alloc("cpu", "8", "pods", "10").Obj()
	for _, tc := range []struct {
		name string
		ev   framework.ClusterEvent
		want bool
	}{
		{"pod deleted", framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: st.Pod("x").Obj()}, true},
		{"node too small added", framework.ClusterEvent{Kind: framework.NodeAdd, Node: small}, false},
		{"node big enough added", framework.ClusterEvent{Kind: framework.NodeAdd, Node: big}, true},
		{"allocatable grew", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: small, Node: big}, true},
		{"allocatable shrank", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: big, Node: small}, false},
		{"pod added", framework.ClusterEvent{Kind: framework.AssignedPodAdd, Pod: st.Pod("x").Obj()}, false},
	} {
		if got := New().QueueingHint(pod, tc.ev); got != tc.want {
			t.Errorf("%s: QueueingHint = %v, want %v", tc.name, got, tc.want)
		}
	}
}
