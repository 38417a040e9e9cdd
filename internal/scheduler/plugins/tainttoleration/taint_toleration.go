package tainttoleration

import (
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "TaintToleration"

// TaintToleration is the plugin.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin    = (*TaintToleration)(nil)
	_ framework.ScorePlugin     = (*TaintToleration)(nil)
	_ framework.ScoreNormalizer = (*TaintToleration)(nil)
	_ framework.QueueingHinter  = (*TaintToleration)(nil)
)

// New returns the plugin.
func New() *TaintToleration { return &TaintToleration{} }

// Name returns Name.
func (*TaintToleration) Name() string { return Name }

// Reason is the rejection reason for an untolerated taint.
func Reason(t corev1.Taint) string {
	return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
}

// Taints returns node's taints as the scheduler sees them: its own, plus
// node.kubernetes.io/not-ready:NoSchedule when it is not Ready and carries neither the
// not-ready nor the unreachable taint.
func Taints(node *corev1.Node) []corev1.Taint {
	if ready(node) {
		return node.Spec.Taints
	}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return node.Spec.Taints
		}
	}
	out := make([]corev1.Taint, 0, len(node.Spec.Taints)+1)
	out = append(out, node.Spec.Taints...)
	return append(out, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})
}

func ready(node *corev1.Node) bool {
	for i := range node.Status.Conditions {
		if c := &node.Status.Conditions[i]; c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Tolerates reports whether one of tolerations tolerates taint.
func Tolerates(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	return corev1helpers.TolerationsTolerateTaint(logr.Discard(), tolerations, taint, false)
}

// FindUntolerated returns the first NoSchedule or NoExecute taint of taints that none
// of tolerations tolerates.
func FindUntolerated(taints []corev1.Taint, tolerations []corev1.Toleration) (corev1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !Tolerates(tolerations, t) {
			return *t, true
		}
	}
	return corev1.Taint{}, false
}

// CountIntolerablePreferNoSchedule counts the PreferNoSchedule taints that none of
// tolerations tolerates.
func CountIntolerablePreferNoSchedule(taints []corev1.Taint, tolerations []corev1.Toleration) int64 {
	var n int64
	for i := range taints {
		if taints[i].Effect == corev1.TaintEffectPreferNoSchedule && !Tolerates(tolerations, &taints[i]) {
			n++
		}
	}
	return n
}

// Filter rejects a node with a NoSchedule or NoExecute taint the pod does not tolerate.
func (*TaintToleration) Filter(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	if t, ok := FindUntolerated(Taints(node.Node()), pod.Pod.Spec.Tolerations); ok {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, Reason(t))
	}
	return nil
}

// Score counts the PreferNoSchedule taints the pod does not tolerate (fewer is better).
func (*TaintToleration) Score(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	return CountIntolerablePreferNoSchedule(node.Node().Spec.Taints, pod.Pod.Spec.Tolerations), nil
}

// NormalizeScore ranks the node with the fewest such taints highest.
func (*TaintToleration) NormalizeScore(_ *framework.CycleState, _ *framework.PodInfo, scores []framework.NodeScore) *framework.Status {
	framework.DefaultNormalizeScore(framework.MaxNodeScore, true, scores)
	return nil
}

// QueueingHint: a new node, or a node whose taints or readiness changed, whose taints
// the pod now tolerates.
func (*TaintToleration) QueueingHint(pod *framework.PodInfo, ev framework.ClusterEvent) bool {
	tolerated := func(n *corev1.Node) bool {
		_, bad := FindUntolerated(Taints(n), pod.Pod.Spec.Tolerations)
		return !bad
	}
	switch ev.Kind {
	case framework.NodeAdd:
		return tolerated(ev.Node)
	case framework.NodeUpdate:
		return tolerated(ev.Node) && !tolerated(ev.OldNode)
	}
	return false
}
