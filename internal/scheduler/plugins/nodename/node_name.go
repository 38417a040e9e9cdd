package nodename

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeName"

// Reason is the rejection reason.
const Reason = "node(s) didn't match the requested node name"

// NodeName is the plugin.
type NodeName struct{}

var (
	_ framework.FilterPlugin   = (*NodeName)(nil)
	_ framework.QueueingHinter = (*NodeName)(nil)
)

// New returns the plugin.
func New() *NodeName { return &NodeName{} }

// Name returns Name.
func (*NodeName) Name() string { return Name }

// Fits reports whether pod names no node or names node.
func Fits(pod *corev1.Pod, node *corev1.Node) bool {
	return pod.Spec.NodeName == "" || pod.Spec.NodeName == node.Name
}

// Filter rejects every node but the one the pod names.
func (*NodeName) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if !Fits(pod.Pod, node.Node()) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, Reason)
	}
	return nil
}

// QueueingHint: the named node appears.
func (*NodeName) QueueingHint(pod *framework.PodInfo, ev framework.ClusterEvent) bool {
	return ev.Kind == framework.NodeAdd && Fits(pod.Pod, ev.Node)
}
