package framework

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
)

// Diagnosis records why a pod fit no node.
type Diagnosis struct {
	// NodeStatuses holds each rejected node's status, by node name.
	NodeStatuses map[string]*Status
	// PreFilterStatus is set when a PreFilter plugin rejected the pod for every node.
	PreFilterStatus *Status
	// UnschedulablePlugins names the plugins that rejected the pod somewhere.
	UnschedulablePlugins sets.Set[string]
}

// FitError is a pod that fits none of NumAllNodes nodes. Its message is upstream's
// FailedScheduling message.
type FitError struct {
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error returns upstream's message: the reasons counted over nodes, sorted by their
// text, then the preemption verdict. podium does not preempt, so no node is one where
// preemption would help:
//
//	0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node
//	affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not
//	helpful for scheduling.
func (f *FitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "0/%d nodes are available:", f.NumAllNodes)
	if f.Diagnosis.PreFilterStatus != nil {
		fmt.Fprintf(&b, " %s.", f.Diagnosis.PreFilterStatus.Message())
	} else if h := reasonHistogram(f.Diagnosis.NodeStatuses); len(h) > 0 {
		fmt.Fprintf(&b, " %s.", strings.Join(h, ", "))
	}
	fmt.Fprintf(&b, " preemption: 0/%d nodes are available: %d Preemption is not helpful for scheduling.", f.NumAllNodes, f.NumAllNodes)
	return b.String()
}

// reasonHistogram counts each reason over the nodes and returns "N reason" entries
// sorted as strings, as upstream does (so "10 ..." sorts before "2 ...").
func reasonHistogram(statuses map[string]*Status) []string {
	counts := map[string]int{}
	for _, s := range statuses {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	out := make([]string, 0, len(counts))
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(out)
	return out
}
