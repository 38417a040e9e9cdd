package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The NoExecute taints the controller keeps in step with a node's Ready condition.
var (
	notReadyNoExecute    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
	unreachableNoExecute = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
)

// conditionTaintKeys maps a node condition and status to the key of the NoSchedule taint
// a node in that state carries.
var conditionTaintKeys = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
	corev1.NodeReady: {
		corev1.ConditionFalse:   corev1.TaintNodeNotReady,
		corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
	},
	corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
	corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
	corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
	corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
}

// noScheduleKeys are the keys of the NoSchedule taints the controller owns.
var noScheduleKeys = map[string]bool{
	corev1.TaintNodeNotReady:           true,
	corev1.TaintNodeUnreachable:        true,
	corev1.TaintNodeMemoryPressure:     true,
	corev1.TaintNodeDiskPressure:       true,
	corev1.TaintNodePIDPressure:        true,
	corev1.TaintNodeNetworkUnavailable: true,
	corev1.TaintNodeUnschedulable:      true,
}

// noScheduleTaints returns the NoSchedule taints that node's conditions and
// spec.unschedulable call for.
func noScheduleTaints(node *corev1.Node) []corev1.Taint {
	var want []corev1.Taint
	for _, c := range node.Status.Conditions {
		if key, ok := conditionTaintKeys[c.Type][c.Status]; ok {
			want = append(want, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		want = append(want, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	return want
}

// needsNoSchedule tells whether node's NoSchedule taints are out of step with it.
func needsNoSchedule(node *corev1.Node) bool {
	return !sameTaints(withNoSchedule(node.Spec.Taints, noScheduleTaints(node), metav1.Time{}), node.Spec.Taints)
}

// withNoSchedule returns taints with the controller's NoSchedule taints replaced by want.
// Taints already there keep their timeAdded; new ones get now.
func withNoSchedule(taints, want []corev1.Taint, now metav1.Time) []corev1.Taint {
	out := make([]corev1.Taint, 0, len(taints)+len(want))
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoSchedule && noScheduleKeys[t.Key] && !hasTaint(want, t) {
			continue
		}
		out = append(out, t)
	}
	return withTaints(out, want, nil, now)
}

// withTaints returns taints plus those of add it lacks, stamped with now, minus those
// matching remove. Taints match by key and effect.
func withTaints(taints, add, remove []corev1.Taint, now metav1.Time) []corev1.Taint {
	out := make([]corev1.Taint, 0, len(taints)+len(add))
	for _, t := range taints {
		if !hasTaint(remove, t) {
			out = append(out, t)
		}
	}
	for _, t := range add {
		if !hasTaint(out, t) {
			t.TimeAdded = &now
			out = append(out, t)
		}
	}
	return out
}

// hasTaint tells whether taints has one with t's key and effect.
func hasTaint(taints []corev1.Taint, t corev1.Taint) bool {
	for i := range taints {
		if taints[i].MatchTaint(&t) {
			return true
		}
	}
	return false
}

func sameTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect ||
			(a[i].TimeAdded == nil) != (b[i].TimeAdded == nil) || (a[i].TimeAdded != nil && !a[i].TimeAdded.Equal(b[i].TimeAdded)) {
			return false
		}
	}
	return true
}

// editTaints sets node's taints to edit(node) with a patch that fails on a
// conflict, reading the node again and retrying a few times when it does. It returns the
// node as written, or as it is when there was nothing to change.
func (c *Controller) editTaints(ctx context.Context, node *corev1.Node, edit func(*corev1.Node) []corev1.Taint) (*corev1.Node, error) {
	const tries = 5
	for try := 1; ; try++ {
		next := edit(node)
		if sameTaints(next, node.Spec.Taints) {
			return node, nil
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": node.ResourceVersion},
			"spec":     map[string]any{"taints": next},
		})
		if err != nil {
			return node, err
		}
		out, err := c.client.CoreV1().Nodes().Patch(ctx, node.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			return out, nil
		}
		if !apierrors.IsConflict(err) || try == tries {
			return node, fmt.Errorf("tainting node %s: %w", node.Name, err)
		}
		fresh, err := c.client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			return node, fmt.Errorf("tainting node %s: %w", node.Name, err)
		}
		node = fresh
	}
}
