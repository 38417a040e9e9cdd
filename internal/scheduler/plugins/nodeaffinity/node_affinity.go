package nodeaffinity

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "NodeAffinity"

// Reason is the rejection reason.
const Reason = "node(s) didn't match Pod's node affinity/selector"

// NodeAffinity is the plugin.
type NodeAffinity struct{}

var (
	_ framework.PreFilterPlugin = (*NodeAffinity)(nil)
	_ framework.FilterPlugin    = (*NodeAffinity)(nil)
	_ framework.PreScorePlugin  = (*NodeAffinity)(nil)
	_ framework.ScorePlugin     = (*NodeAffinity)(nil)
	_ framework.ScoreNormalizer = (*NodeAffinity)(nil)
	_ framework.QueueingHinter  = (*NodeAffinity)(nil)
)

// New returns the plugin.
func New() *NodeAffinity { return &NodeAffinity{} }

// Name returns Name.
func (*NodeAffinity) Name() string { return Name }

// Fits reports whether pod's nodeSelector and required node affinity match node. A
// selector that does not parse matches nothing.
func Fits(pod *corev1.Pod, node *corev1.Node) bool {
	ok, err := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)
	return ok && err == nil
}

// PreferredScore returns the sum of the weights of pod's preferred node affinity terms
// that node matches.
func PreferredScore(pod *corev1.Pod, node *corev1.Node) (int64, error) {
	terms, err := preferred(pod)
	if err != nil || terms == nil {
		return 0, err
	}
	return terms.Score(node), nil
}

func hasRequired(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	return len(pod.Spec.NodeSelector) > 0 || (a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil)
}

func preferred(pod *corev1.Pod) (*nodeaffinity.PreferredSchedulingTerms, error) {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return nil, nil
	}
	return nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
}

// PreFilter parses the pod's selectors once a cycle; a pod without them skips Filter.
func (*NodeAffinity) PreFilter(state *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	if !hasRequired(pod.Pod) {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(Name, nodeaffinity.GetRequiredNodeAffinity(pod.Pod))
	return nil
}

// Filter rejects a node the pod's selectors do not match.
func (*NodeAffinity) Filter(state *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	req, ok := state.Read(Name)
	if !ok {
		req = nodeaffinity.GetRequiredNodeAffinity(pod.Pod)
	}
	if match, err := req.(nodeaffinity.RequiredNodeAffinity).Match(node.Node()); !match || err != nil {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, Reason)
	}
	return nil
}

const preScoreKey = Name + "/preferred"

// PreScore parses the preferred terms; a pod without them skips Score.
func (*NodeAffinity) PreScore(state *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo) *framework.Status {
	terms, err := preferred(pod.Pod)
	if err != nil {
		return framework.AsStatus(err)
	}
	if terms == nil {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, terms)
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (*NodeAffinity) Score(state *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	v, ok := state.Read(preScoreKey)
	if !ok {
		s, err := PreferredScore(pod.Pod, node.Node())
		return s, framework.AsStatus(err)
	}
	return v.(*nodeaffinity.PreferredSchedulingTerms).Score(node.Node()), nil
}

// NormalizeScore scales the sums so that the best node scores MaxNodeScore.
func (*NodeAffinity) NormalizeScore(_ *framework.CycleState, _ *framework.PodInfo, scores []framework.NodeScore) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, false, scores)
	return nil
}

// QueueingHint: a new node, or a node whose labels changed, that now matches.
func (*NodeAffinity) QueueingHint(pod *framework.PodInfo, ev framework.ClusterEvent) bool {
	switch ev.Kind {
	case framework.NodeAdd:
		return Fits(pod.Pod, ev.Node)
	case framework.NodeUpdate:
		return Fits(pod.Pod, ev.Node) && !Fits(pod.Pod, ev.OldNode)
	}
	return false
}
