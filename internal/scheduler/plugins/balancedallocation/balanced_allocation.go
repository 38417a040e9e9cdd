package balancedallocation

import (
	"math"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeResourcesBalancedAllocation"

// BalancedAllocation is the plugin.
type BalancedAllocation struct{}

var (
	_ framework.PreScorePlugin = (*BalancedAllocation)(nil)
	_ framework.ScorePlugin    = (*BalancedAllocation)(nil)
)

// New returns the plugin.
func New() *BalancedAllocation { return &BalancedAllocation{} }

// Name returns Name.
func (*BalancedAllocation) Name() string { return Name }

// Balance scores how evenly the resources would be used: with f_i =
// requested_i/allocatable_i (capped at 1; resources with nothing allocatable left
// out), (1 - standard deviation of the f_i) * MaxNodeScore.
func Balance(requested, allocatable []int64) int64 {
	var buf [4]float64
	fractions := buf[:0]
	var sum float64
	for i := range requested {
		if allocatable[i] <= 0 {
			continue
		}
		f := math.Min(float64(requested[i])/float64(allocatable[i]), 1)
		fractions = append(fractions, f)
		sum += f
	}
	if len(fractions) < 2 {
		return framework.MaxNodeScore
	}
	mean := sum / float64(len(fractions))
	var variance float64
	for _, f := range fractions {
		variance += (f - mean) * (f - mean)
	}
	std := math.Sqrt(variance / float64(len(fractions)))
	return int64((1 - std) * float64(framework.MaxNodeScore))
}

// PreScore skips a pod that requests neither cpu nor memory: it changes no balance.
func (*BalancedAllocation) PreScore(_ *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	if pod.Requests.MilliCPU == 0 && pod.Requests.Memory == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score is Balance over cpu and memory with the pod's requests added to the node's.
func (*BalancedAllocation) Score(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	return Balance(
		[]int64{node.Requested.MilliCPU + pod.Requests.MilliCPU, node.Requested.Memory + pod.Requests.Memory},
		[]int64{node.Allocatable.MilliCPU, node.Allocatable.Memory},
	), nil
}
