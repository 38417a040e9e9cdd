package nodeports

import (
	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodePorts"

// Reason is the rejection reason.
const Reason = "node(s) didn't have free ports for the requested pod ports"

// NodePorts is the plugin.
type NodePorts struct{}

var (
	_ framework.PreFilterPlugin = (*NodePorts)(nil)
	_ framework.FilterPlugin    = (*NodePorts)(nil)
	_ framework.QueueingHinter  = (*NodePorts)(nil)
)

// New returns the plugin.
func New() *NodePorts { return &NodePorts{} }

// Name returns Name.
func (*NodePorts) Name() string { return Name }

// Fits reports whether every port of want is free in used.
func Fits(want []framework.HostPort, used framework.HostPortInfo) bool {
	for _, hp := range want {
		if used.Conflicts(hp) {
			return false
		}
	}
	return true
}

// PreFilter skips Filter for a pod without host ports.
func (*NodePorts) PreFilter(_ *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	if len(pod.HostPorts) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Filter rejects a node where one of the pod's host ports is taken.
func (*NodePorts) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if !Fits(pod.HostPorts, node.UsedPorts) {
		return framework.NewStatus(framework.Unschedulable, Reason)
	}
	return nil
}

// QueueingHint: a new node, or a pod leaving a node that held one of the ports.
func (*NodePorts) QueueingHint(pod *framework.PodInfo, ev framework.ClusterEvent) bool {
	switch ev.Kind {
	case framework.NodeAdd:
		return true
	case framework.AssignedPodDelete:
		freed := framework.HostPortInfo{}
		for _, hp := range framework.PodHostPorts(ev.Pod) {
			freed.Add(hp)
		}
		return !Fits(pod.HostPorts, freed)
	}
	return false
}
