package noderesources

import (
	"maps"
	"slices"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeResourcesFit"

// Rejection reasons.
const (
	ReasonTooManyPods = "Too many pods"
	ReasonCPU         = "Insufficient cpu"
	ReasonMemory      = "Insufficient memory"
	ReasonEphemeral   = "Insufficient ephemeral-storage"
)

// Fit is the plugin.
type Fit struct{}

var (
	_ framework.FilterPlugin   = (*Fit)(nil)
	_ framework.ScorePlugin    = (*Fit)(nil)
	_ framework.QueueingHinter = (*Fit)(nil)
)

// New returns the plugin.
func New() *Fit { return &Fit{} }

// Name returns Name.
func (*Fit) Name() string { return Name }

// Insufficient returns the reasons a pod requesting req does not fit node, in
// upstream's order (pods, cpu, memory, ephemeral-storage, then other resources); none
// when it fits.
func Insufficient(req *framework.Resource, node *framework.NodeInfo) []string {
	var reasons []string
	if int64(len(node.Pods))+1 > node.Allocatable.AllowedPodNumber {
		reasons = append(reasons, ReasonTooManyPods)
	}
	if req.MilliCPU == 0 && req.Memory == 0 && req.EphemeralStorage == 0 && len(req.Scalar) == 0 {
		return reasons
	}
	free := func(alloc, used int64) int64 { return alloc - used }
	if req.MilliCPU > 0 && req.MilliCPU > free(node.Allocatable.MilliCPU, node.Requested.MilliCPU) {
		reasons = append(reasons, ReasonCPU)
	}
	if req.Memory > 0 && req.Memory > free(node.Allocatable.Memory, node.Requested.Memory) {
		reasons = append(reasons, ReasonMemory)
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > free(node.Allocatable.EphemeralStorage, node.Requested.EphemeralStorage) {
		reasons = append(reasons, ReasonEphemeral)
	}
	if len(req.Scalar) == 0 {
		return reasons
	}
	for _, name := range slices.Sorted(maps.Keys(req.Scalar)) {
		if v := req.Scalar[name]; v > 0 && v > free(node.Allocatable.Scalar[name], node.Requested.Scalar[name]) {
			reasons = append(reasons, "Insufficient "+string(name))
		}
	}
	return reasons
}

// Filter rejects a node without room for the pod, with every reason that applies.
func (*Fit) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if r := Insufficient(&pod.Requests, node); len(r) > 0 {
		return framework.NewStatus(framework.Unschedulable, r...)
	}
	return nil
}

// LeastAllocated scores what would be left of allocatable once requested is taken:
// (allocatable - requested) * MaxNodeScore / allocatable, 0 when nothing is
// allocatable or the request exceeds it.
func LeastAllocated(requested, allocatable int64) int64 {
	if allocatable <= 0 || requested > allocatable {
		return 0
	}
	return (allocatable - requested) * framework.MaxNodeScore / allocatable
}

// Score averages LeastAllocated over cpu and memory (weights 1 and 1), counting the
// node's pods and this one with the scoring defaults for unset requests.
func (*Fit) Score(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	cpu := LeastAllocated(node.NonZeroRequested.MilliCPU+pod.NonZeroRequests.MilliCPU, node.Allocatable.MilliCPU)
	mem := LeastAllocated(node.NonZeroRequested.Memory+pod.NonZeroRequests.Memory, node.Allocatable.Memory)
	return (cpu + mem) / 2, nil
}

// QueueingHint: a pod leaving a node, a new node big enough for the pod when empty, or
// a node whose allocatable grew.
func (*Fit) QueueingHint(pod *framework.PodInfo, ev framework.ClusterEvent) bool {
	switch ev.Kind {
	case framework.AssignedPodDelete:
		return true
	case framework.NodeAdd:
		empty := framework.NewNodeInfo()
		empty.SetNode(ev.Node)
		return len(Insufficient(&pod.Requests, empty)) == 0
	case framework.NodeUpdate:
		before, after := framework.NewResource(ev.OldNode.Status.Allocatable), framework.NewResource(ev.Node.Status.Allocatable)
		if after.AllowedPodNumber > before.AllowedPodNumber || after.MilliCPU > before.MilliCPU ||
			after.Memory > before.Memory || after.EphemeralStorage > before.EphemeralStorage {
			return true
		}
		for name, v := range after.Scalar {
			if v > before.Scalar[name] {
				return true
			}
		}
	}
	return false
}
