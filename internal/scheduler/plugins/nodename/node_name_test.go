package nodename

import (
	"testing"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	tests := []struct {
		name     string
		nodeName string
		node     string
		want     *framework.Status
	}{
		{"no node named", "", "node-1", nil},
		{"this node named", "node-1", "node-1", nil},
		{"another node named", "node-2", "node-1", framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match the requested node name")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := st.Pod("p").NodeName(tc.nodeName).Info()
			if got := New().Filter(framework.NewCycleState(), pod, st.Node(tc.node).Info()); got.String() != tc.want.String() {
				t.Errorf("Filter = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQueueingHint(t *testing.T) {
	pod := st.Pod("p").NodeName("node-2").Info()
	if New().QueueingHint(pod, framework.ClusterEvent{Kind: framework.NodeAdd, Node: st.Node("node-1").Obj()}) {
		t.Error("another node added: hint true")
	}
	if !New().QueueingHint(pod, framework.ClusterEvent{Kind: framework.NodeAdd, Node: st.Node("node-2").Obj()}) {
		t.Error("the named node added: hint false")
	}
}
