package tainttoleration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	rejected := func(reason string) *framework.Status {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reason)
	}
	gpu := corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	notReady := corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists}
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *corev1.Node
		want *framework.Status
	}{
		{"no taints", st.Pod("p").Obj(), st.Node("n").Obj(), nil},
		{"NoSchedule untolerated", st.Pod("p").Obj(), st.Node("n").Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule).Obj(),
			rejected("node(s) had untolerated taint {dedicated: gpu}")},
		{"NoSchedule tolerated", st.Pod("p").Toleration(gpu).Obj(), st.Node("n").Taint("dedicated", "gpu", corev1.TaintEffectNoSchedule).Obj(), nil},
		{"NoSchedule, toleration for another value", st.Pod("p").Toleration(gpu).Obj(), st.Node("n").Taint("dedicated", "db", corev1.TaintEffectNoSchedule).Obj(),
			rejected("node(s) had untolerated taint {dedicated: db}")},
		{"NoExecute untolerated", st.Pod("p").Toleration(gpu).Obj(), st.Node("n").Taint("dedicated", "gpu", corev1.TaintEffectNoExecute).Obj(),
			rejected("node(s) had untolerated taint {dedicated: gpu}")},
		{"PreferNoSchedule does not filter", st.Pod("p").Obj(), st.Node("n").Taint("soft", "", corev1.TaintEffectPreferNoSchedule).Obj(), nil},
		{"not ready counts as tainted not-ready", st.Pod("p").Obj(), st.Node("n").Ready(corev1.ConditionFalse).Obj(),
			rejected("node(s) had untolerated taint {node.kubernetes.io/not-ready: }")},
		{"ready unknown counts as tainted not-ready", st.Pod("p").Obj(), st.Node("n").Ready(corev1.ConditionUnknown).Obj(),
			rejected("node(s) had untolerated taint {node.kubernetes.io/not-ready: }")},
		{"not ready, tolerated", st.Pod("p").Toleration(notReady).Obj(), st.Node("n").Ready(corev1.ConditionFalse).Obj(), nil},
		{"lifecycle controller's unreachable taint is used as it is", st.Pod("p").Toleration(notReady).Obj(),
			st.Node("n").Ready(corev1.ConditionUnknown).Taint(corev1.TaintNodeUnreachable, "", corev1.TaintEffectNoSchedule).Obj(),
			rejected("node(s) had untolerated taint {node.kubernetes.io/unreachable: }")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ni := framework.NewNodeInfo()
			ni.SetNode(tc.node)
			if got := New().Filter(framework.NewCycleState(), framework.NewPodInfo(tc.pod), ni); got.String() != tc.want.String() {
				t.Errorf("Filter = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	soft := func(n *st.NodeBuilder, keys ...string) *corev1.Node {
		for _, k := range keys {
			n.Taint(k, "", corev1.TaintEffectPreferNoSchedule)
		}
		return n.Obj()
	}
	nodes := []*corev1.Node{soft(st.Node("none")), soft(st.Node("one"), "a"), soft(st.Node("two"), "a", "b"), soft(st.Node("hard").Taint("c", "", corev1.TaintEffectNoSchedule))}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []int64
	}{
		{"fewest untolerated PreferNoSchedule taints ranks highest", st.Pod("p").Obj(), []int64{100, 50, 0, 100}},
		{"tolerated taints do not count", st.Pod("p").Toleration(corev1.Toleration{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectPreferNoSchedule}).Obj(),
			[]int64{100, 100, 0, 100}},
		{"a toleration without effect covers PreferNoSchedule", st.Pod("p").Toleration(corev1.Toleration{Operator: corev1.TolerationOpExists}).Obj(),
			[]int64{100, 100, 100, 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, pod := New(), framework.NewPodInfo(tc.pod)
			var scores []framework.NodeScore
			for _, n := range nodes {
				ni := framework.NewNodeInfo()
				ni.SetNode(n)
				v, _ := pl.Score(framework.NewCycleState(), pod, ni)
				scores = append(scores, framework.NodeScore{Name: n.Name, Score: v})
			}
			pl.NormalizeScore(nil, pod, scores)
			for i, s := range scores {
				if s.Score != tc.want[i] {
					t.Errorf("%s: score %d, want %d", s.Name, s.Score, tc.want[i])
				}
			}
		})
	}
}

func TestQueueingHint(t *testing.T) {
	pod := st.Pod("p").Info()
	tainted := st.Node("n").Taint("k", "v", corev1.TaintEffectNoSchedule).Obj()
	clean := st.Node("n").Obj()
	notReady := st.Node("n").Ready(corev1.ConditionFalse).Obj()
	tests := []struct {
		name string
		ev   framework.ClusterEvent
		want bool
	}{
		{"clean node added", framework.ClusterEvent{Kind: framework.NodeAdd, Node: clean}, true},
		{"tainted node added", framework.ClusterEvent{Kind: framework.NodeAdd, Node: tainted}, false},
		{"taint removed", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: tainted, Node: clean}, true},
		{"node became ready", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: notReady, Node: clean}, true},
		{"taint added", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: clean, Node: tainted}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := New().QueueingHint(pod, tc.ev); got != tc.want {
				t.Errorf("QueueingHint = %v, want %v", got, tc.want)
			}
		})
	}
}
