package nodeaffinity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func req(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func TestFilter(t *testing.T) {
	ssd := st.Node("ssd").Labels("disk", "ssd", "zone", "a").Obj()
	hdd := st.Node("hdd").Labels("disk", "hdd", "zone", "b").Obj()
	tests := []struct {
		name     string
		pod      *corev1.Pod
		ssd, hdd bool
	}{
		{"no selector", st.Pod("p").Obj(), true, true},
		{"nodeSelector", st.Pod("p").NodeSelector("disk", "ssd").Obj(), true, false},
		{"nodeSelector on a missing label", st.Pod("p").NodeSelector("gpu", "yes").Obj(), false, false},
		{"required In", st.Pod("p").RequiredNodeAffinity(req("disk", corev1.NodeSelectorOpIn, "hdd", "nvme")).Obj(), false, true},
		{"required NotIn", st.Pod("p").RequiredNodeAffinity(req("disk", corev1.NodeSelectorOpNotIn, "hdd")).Obj(), true, false},
		{"required Exists", st.Pod("p").RequiredNodeAffinity(req("disk", corev1.NodeSelectorOpExists)).Obj(), true, true},
		{"required DoesNotExist", st.Pod("p").RequiredNodeAffinity(req("disk", corev1.NodeSelectorOpDoesNotExist)).Obj(), false, false},
		{"terms are ORed", st.Pod("p").RequiredNodeAffinity(req("zone", corev1.NodeSelectorOpIn, "a")).
			RequiredNodeAffinity(req("zone", corev1.NodeSelectorOpIn, "b")).Obj(), true, true},
		{"expressions of a term are ANDed", st.Pod("p").RequiredNodeAffinity(req("zone", corev1.NodeSelectorOpIn, "a"), req("disk", corev1.NodeSelectorOpIn, "hdd")).Obj(), false, false},
		{"nodeSelector and affinity both apply", st.Pod("p").NodeSelector("disk", "ssd").RequiredNodeAffinity(req("zone", corev1.NodeSelectorOpIn, "b")).Obj(), false, false},
		{"invalid operator matches nothing", st.Pod("p").RequiredNodeAffinity(req("zone", "Near", "a")).Obj(), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, pod := New(), framework.NewPodInfo(tc.pod)
			state := framework.NewCycleState()
			pre := pl.PreFilter(state, pod, nil)
			for _, c := range []struct {
				node *corev1.Node
				want bool
			}{{ssd, tc.ssd}, {hdd, tc.hdd}} {
				if Fits(tc.pod, c.node) != c.want {
					t.Errorf("Fits(%s) = %v, want %v", c.node.Name, !c.want, c.want)
				}
				if pre.IsSkip() {
					if !c.want {
						t.Errorf("PreFilter skipped, but %s must be rejected", c.node.Name)
					}
					continue
				}
				ni := framework.NewNodeInfo()
				ni.SetNode(c.node)
				got := pl.Filter(state, pod, ni)
				want := (*framework.Status)(nil)
				if !c.want {
					want = framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector")
				}
				if got.String() != want.String() {
					t.Errorf("Filter(%s) = %v, want %v", c.node.Name, got, want)
				}
			}
		})
	}
}

func TestScore(t *testing.T) {
	pod := st.Pod("p").
		PreferredNodeAffinity(10, req("disk", corev1.NodeSelectorOpIn, "ssd")).
		PreferredNodeAffinity(30, req("zone", corev1.NodeSelectorOpIn, "a")).Info()
	nodes := []*corev1.Node{
		st.Node("both").Labels("disk", "ssd", "zone", "a").Obj(),
		st.Node("zone").Labels("zone", "a").Obj(),
		st.Node("disk").Labels("disk", "ssd").Obj(),
		st.Node("none").Obj(),
	}
	want := []int64{100, 75, 25, 0}
	pl, state := New(), framework.NewCycleState()
	if s := pl.PreScore(state, pod, nil); !s.IsSuccess() {
		t.Fatalf("PreScore = %v", s)
	}
	var scores []framework.NodeScore
	for _, n := range nodes {
		ni := framework.NewNodeInfo()
		ni.SetNode(n)
		v, s := pl.Score(state, pod, ni)
		if !s.IsSuccess() {
			t.Fatal(s)
		}
		scores = append(scores, framework.NodeScore{Name: n.Name, Score: v})
	}
	pl.NormalizeScore(state, pod, scores)
	for i, s := range scores {
		if s.Score != want[i] {
			t.Errorf("%s: score %d, want %d", s.Name, s.Score, want[i])
		}
	}
	if s := pl.PreScore(framework.NewCycleState(), st.Pod("plain").Info(), nil); !s.IsSkip() {
		t.Errorf("PreScore of a pod without preferences = %v, want Skip", s)
	}
}

func TestQueueingHint(t *testing.T) {
	pod := st.Pod("p").NodeSelector("disk", "ssd").Info()
	plain, ssd := st.Node("n").Obj(), st.Node("n").Labels("disk", "ssd").Obj()
	for _, tc := range []struct {
		name string
		ev   framework.ClusterEvent
		want bool
	}{
		{"matching node added", framework.ClusterEvent{Kind: framework.NodeAdd, Node: ssd}, true},
		{"other node added", framework.ClusterEvent{Kind: framework.NodeAdd, Node: plain}, false},
		{"node labelled", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: plain, Node: ssd}, true},
		{"node unlabelled", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: ssd, Node: plain}, false},
	} {
		if got := New().QueueingHint(pod, tc.ev); got != tc.want {
			t.Errorf("%s: QueueingHint = %v, want %v", tc.name, got, tc.want)
		}
	}
}
