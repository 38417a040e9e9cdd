package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// MaxNodeScore is the highest score a plugin gives a node (after normalizing).
const MaxNodeScore int64 = 100

// Plugin is a named scheduling plugin.
type Plugin interface {
	// Name returns the plugin's name, as upstream names it (NodeResourcesFit, ...).
	Name() string
}

// PreFilterPlugin works out, once a cycle, what its Filter needs (state written into
// the CycleState under its name). Skip leaves its Filter out of the cycle; a rejection
// rejects every node.
type PreFilterPlugin interface {
	Plugin
	PreFilter(state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status
}

// PreFilterExtensions is a PreFilterPlugin whose cycle state can follow a pod added to
// or removed from a node, so that filters can judge "what if" without PreFilter running
// again over every node: preemption removing victims, nominated pods counted as placed.
// AddPod and RemovePod change the state in place; they are only called on a clone
// (CycleState.Clone) that belongs to the caller, never concurrently on one state.
type PreFilterExtensions interface {
	PreFilterPlugin
	// AddPod updates state, worked out for pod, as if added were placed on node
	// (node already holds it).
	AddPod(state *CycleState, pod, added *PodInfo, node *NodeInfo) *Status
	// RemovePod updates state, worked out for pod, as if removed had left node (node
	// no longer holds it).
	RemovePod(state *CycleState, pod, removed *PodInfo, node *NodeInfo) *Status
}

// PodNominator lists the pending pods nominated to a node: preemptors waiting there
// for their victims to leave. Filters count the ones of at least the priority of the
// pod being filtered as if they were placed (Profile.RunFiltersWithNominatedPods).
type PodNominator interface {
	// NominatedPodsForNode returns the pods nominated to node, in no particular order.
	// It may be called concurrently; the caller may keep the slice.
	NominatedPodsForNode(node string) []*PodInfo
}

// FilterPlugin decides whether pod may go on node. Filter is called concurrently for
// different nodes and must only read its arguments.
type FilterPlugin interface {
	Plugin
	Filter(state *CycleState, pod *PodInfo, node *NodeInfo) *Status
}

// PreScorePlugin works out, once a cycle, what its Score needs, from the feasible
// nodes. Skip leaves its Score out of the cycle.
type PreScorePlugin interface {
	Plugin
	PreScore(state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks a feasible node for pod. Scores are 0..MaxNodeScore after
// NormalizeScore, when the plugin has it.
type ScorePlugin interface {
	Plugin
	Score(state *CycleState, pod *PodInfo, node *NodeInfo) (int64, *Status)
}

// ScoreNormalizer is a ScorePlugin whose raw scores are mapped into 0..MaxNodeScore
// once every node has one.
type ScoreNormalizer interface {
	NormalizeScore(state *CycleState, pod *PodInfo, scores []NodeScore) *Status
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// QueueingHinter is a FilterPlugin that can tell whether a cluster event may make a
// pod it rejected schedulable, so that the queue retries only pods an event may help.
// A filter plugin without it is assumed helped by every event.
type QueueingHinter interface {
	// QueueingHint reports whether ev may make pod pass the plugin on some node. It
	// must be cheap and must not block; when unsure it returns true.
	QueueingHint(pod *PodInfo, ev ClusterEvent) bool
}

// EventKind is the kind of a cluster change.
type EventKind int

const (
	// NodeAdd is a new node (Node set).
	NodeAdd EventKind = iota
	// NodeUpdate is a change of a node that may matter to scheduling: readiness,
	// spec.unschedulable, taints, labels or allocatable (OldNode and Node set).
	NodeUpdate
	// AssignedPodAdd is a pod newly placed on a node (Pod set).
	AssignedPodAdd
	// AssignedPodUpdate is a change of the labels of a placed pod (OldPod, Pod set).
	AssignedPodUpdate
	// AssignedPodDelete is a pod leaving a node: deleted, finished, bound elsewhere
	// than assumed, or an assumption forgotten (Pod set, with its node).
	AssignedPodDelete
	// StorageChange is a PersistentVolumeClaim, PersistentVolume or StorageClass
	// added or changed (nothing set).
	StorageChange
)

var kindNames = [...]string{"NodeAdd", "NodeUpdate", "AssignedPodAdd", "AssignedPodUpdate", "AssignedPodDelete", "StorageChange"}

func (k EventKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Unknown"
}

// ClusterEvent is a change of the cluster that may make unschedulable pods fit.
type ClusterEvent struct {
	Kind          EventKind
	OldNode, Node *corev1.Node
	OldPod, Pod   *corev1.Pod
}

// CycleState is what plugins work out for one pod in one cycle. Write is called only
// from PreFilter and PreScore, which run one at a time; Read may be called
// concurrently from Filter. PreFilterExtensions change what they stored only in a
// clone.
type CycleState struct {
	data map[string]any
	// filters are the filters not skipped by their PreFilter, once RunPreFilter ran.
	filters    []FilterPlugin
	filtersSet bool
	// skipped names the PreFilter plugins that returned Skip.
	skipped map[string]bool
}

// StateData is a value in a CycleState that a PreFilterExtensions plugin changes: a
// clone of the state holds a clone of it. Other values are shared by clones and must
// not change once written.
type StateData interface {
	Clone() StateData
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: map[string]any{}}
}

// Write stores v under key (by convention the plugin's name).
func (c *CycleState) Write(key string, v any) { c.data[key] = v }

// Read returns what was stored under key.
func (c *CycleState) Read(key string) (any, bool) {
	v, ok := c.data[key]
	return v, ok
}

// Clone returns a copy whose StateData values are cloned, for a "what if" that must
// not change c. It may be called concurrently with Read and other Clones.
func (c *CycleState) Clone() *CycleState {
	out := *c
	out.data = make(map[string]any, len(c.data))
	for k, v := range c.data {
		if sd, ok := v.(StateData); ok {
			v = sd.Clone()
		}
		out.data[k] = v
	}
	return &out
}
