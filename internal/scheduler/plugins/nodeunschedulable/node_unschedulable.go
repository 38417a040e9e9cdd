package nodeunschedulable

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/plugins/tainttoleration"
)

// Name is the plugin's name.
const Name = "NodeUnschedulable"

// Reason is the rejection reason.
const Reason = "node(s) were unschedulable"

// NodeUnschedulable is the plugin.
type NodeUnschedulable struct{}

var (
	_ framework.FilterPlugin   = (*NodeUnschedulable)(nil)
	_ framework.QueueingHinter = (*NodeUnschedulable)(nil)
)

// New returns the plugin.
func New() *NodeUnschedulable { return &NodeUnschedulable{} }

// Name returns Name.
func (*NodeUnschedulable) Name() string { return Name }

var unschedulableTaint = corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}

// Fits reports whether pod may go on node as far as spec.unschedulable goes.
func Fits(pod *corev1.Pod, node *corev1.Node) bool {
	return !node.Spec.Unschedulable || tainttoleration.Tolerates(pod.Spec.Tolerations, &unschedulableTaint)
}

// Filter rejects a cordoned node.
func (*NodeUnschedulable) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if !Fits(pod.Pod, node.Node()) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, Reason)
	}
	return nil
}

// QueueingHint: a new schedulable node, or a node uncordoned.
func (*NodeUnschedulable) QueueingHint(pod *framework.PodInfo, ev framework.ClusterEvent) bool {
	switch ev.Kind {
	case framework.NodeAdd:
		return Fits(pod.Pod, ev.Node)
	case framework.NodeUpdate:
		return Fits(pod.Pod, ev.Node) && !Fits(pod.Pod, ev.OldNode)
	}
	return false
}
