package nodeunschedulable

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	tolerateCordon := corev1.Toleration{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	tests := []struct {
		name string
		pod  *corev1.Pod
		node *corev1.Node
		want *framework.Status
	}{
		{"schedulable node", st.Pod("p").Obj(), st.Node("n").Obj(), nil},
		{"cordoned node", st.Pod("p").Obj(), st.Node("n").Unschedulable().Obj(),
			framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) were unschedulable")},
		{"cordoned node, tolerated", st.Pod("p").Toleration(tolerateCordon).Obj(), st.Node("n").Unschedulable().Obj(), nil},
		{"cordoned node, tolerate everything", st.Pod("p").Toleration(corev1.Toleration{Operator: corev1.TolerationOpExists}).Obj(),
			st.Node("n").Unschedulable().Obj(), nil},
		{"cordoned node, other toleration", st.Pod("p").Toleration(corev1.Toleration{Key: "x", Operator: corev1.TolerationOpExists}).Obj(),
			st.Node("n").Unschedulable().Obj(), framework.NewStatus(framework.UnschedulableAndUnresolvable, Reason)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := New().Filter(framework.NewCycleState(), framework.NewPodInfo(tc.pod), nodeInfo(tc.node))
			if got.String() != tc.want.String() {
				t.Errorf("Filter = %v, want %v", got, tc.want)
			}
		})
	}
}

func nodeInfo(n *corev1.Node) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(n)
	return ni
}

func TestQueueingHint(t *testing.T) {
	pod := st.Pod("p").Info()
	cordoned, open := st.Node("n").Unschedulable().Obj(), st.Node("n").Obj()
	tests := []struct {
		name string
		ev   framework.ClusterEvent
		want bool
	}{
		{"schedulable node added", framework.ClusterEvent{Kind: framework.NodeAdd, Node: open}, true},
		{"cordoned node added", framework.ClusterEvent{Kind: framework.NodeAdd, Node: cordoned}, false},
		{"uncordoned", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: cordoned, Node: open}, true},
		{"cordoned", framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: open, Node: cordoned}, false},
		{"pod deleted", framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: st.Pod("q").Obj()}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := New().QueueingHint(pod, tc.ev); got != tc.want {
				t.Errorf("QueueingHint = %v, want %v", got, tc.want)
			}
		})
	}
}
