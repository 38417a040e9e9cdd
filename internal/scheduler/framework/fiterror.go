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
	// AbsentStatus, when set, is the status of each of the nodes not in NodeStatuses
	// (preemption's "Preemption is not helpful for scheduling").
	AbsentStatus *Status
	// PreFilterStatus is set when a PreFilter plugin rejected the pod for every node.
	PreFilterStatus *Status
	// UnschedulablePlugins names the plugins that rejected the pod somewhere.
	UnschedulablePlugins sets.Set[string]
	// PostFilterMsg is what preemption said, when it ran and did not succeed
	// ("preemption: ...").
	PostFilterMsg string
}

// FitError is a pod that fits none of NumAllNodes nodes. Its message is upstream's
// FailedScheduling message.
type FitError struct {
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error returns upstream's message: the PreFilter rejection, or else the reasons
// counted over nodes and sorted by their text, then what preemption said:
//
//	0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node
//	affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims
//	found for incoming pod, 2 Preemption is not helpful for scheduling.
func (f *FitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "0/%d nodes are available:", f.NumAllNodes)
	if f.Diagnosis.PreFilterStatus != nil {
		fmt.Fprintf(&b, " %s.", f.Diagnosis.PreFilterStatus.Message())
	} else if h := f.reasonHistogram(); len(h) > 0 {
		fmt.Fprintf(&b, " %s.", strings.Join(h, ", "))
	}
	if f.Diagnosis.PostFilterMsg != "" {
		b.WriteString(" " + f.Diagnosis.PostFilterMsg)
	}
	return b.String()
}

// reasonHistogram counts each reason over the nodes and returns "N reason" entries
// sorted as strings, as upstream does (so "10 ..." sorts before "2 ...").
func (f *FitError) reasonHistogram() []string {
	counts := map[string]int{}
	for _, s := range f.Diagnosis.NodeStatuses {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	if absent := f.NumAllNodes - len(f.Diagnosis.NodeStatuses); absent > 0 {
		for _, r := range f.Diagnosis.AbsentStatus.Reasons() {
			counts[r] += absent
		}
	}
	out := make([]string, 0, len(counts))
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(out)
	return out
}
