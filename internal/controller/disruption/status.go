package disruption

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kubectl/pkg/util/podutils"
)

// podsOf returns the pods a budget selects. They are the informer's: callers must not
// modify them.
func (c *Controller) podsOf(pdb *policyv1.PodDisruptionBudget) ([]*corev1.Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		return nil, err
	}
	return c.pods.Pods(pdb.Namespace).List(sel)
}

// expectedPods returns how many pods a budget expects and how many of them must be
// healthy, with the names of the selected pods that have no controller when the count
// comes from controllers. An integer minAvailable counts the selected pods; a
// percentage, or any maxUnavailable, counts the replicas of their controllers, and a
// percentage of it is rounded up.
func (c *Controller) expectedPods(ctx context.Context, pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod) (expected, desired int32, unmanaged []string, err error) {
	spec := pdb.Spec
	switch {
	case spec.MaxUnavailable != nil:
		if expected, unmanaged, err = c.controllersScale(ctx, pods); err != nil {
			return 0, 0, nil, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		return expected, max(expected-int32(maxUnavailable), 0), unmanaged, nil
	case spec.MinAvailable != nil && spec.MinAvailable.Type == intstr.Int:
		return int32(len(pods)), spec.MinAvailable.IntVal, nil, nil
	case spec.MinAvailable != nil:
		if expected, unmanaged, err = c.controllersScale(ctx, pods); err != nil {
			return 0, 0, nil, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, 0, nil, err
		}
		return expected, int32(minAvailable), unmanaged, nil
	}
	return 0, 0, nil, nil
}

// controllersScale sums the replicas of the controllers of pods, each counted once,
// and names the pods that have no controller. A controller whose scale cannot be found
// is an error.
func (c *Controller) controllersScale(ctx context.Context, pods []*corev1.Pod) (int32, []string, error) {
	scales := map[types.UID]int32{}
	var unmanaged []string
	for _, pod := range pods {
		ref := metav1.GetControllerOf(pod)
		if ref == nil {
			unmanaged = append(unmanaged, pod.Name)
			continue
		}
		if _, seen := scales[ref.UID]; seen {
			continue
		}
		uid, replicas, found, err := c.scaleOf(ctx, ref, pod.Namespace)
		if err != nil {
			return 0, nil, err
		}
		if !found {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", pod.Name)
		}
		scales[uid] = replicas
	}
	var sum int32
	for _, n := range scales {
		sum += n
	}
	return sum, unmanaged, nil
}

// disruptedPods returns what is left of a budget's status.disruptedPods at now: the
// entries of selected pods that are not being deleted and whose deletion is not
// overdue. It also returns the pods whose deletion is overdue, and how long until the
// first kept entry is (0 when none is kept).
func disruptedPods(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, now time.Time) (map[string]metav1.Time, []*corev1.Pod, time.Duration) {
	kept := map[string]metav1.Time{}
	var overdue []*corev1.Pod
	var first time.Time
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		at, ok := pdb.Status.DisruptedPods[pod.Name]
		if !ok {
			continue
		}
		deadline := at.Add(deletionTimeout)
		if deadline.Before(now) {
			overdue = append(overdue, pod)
			continue
		}
		kept[pod.Name] = at
		if first.IsZero() || deadline.Before(first) {
			first = deadline
		}
	}
	if first.IsZero() {
		return kept, overdue, 0
	}
	// An entry due exactly now is dropped on the next look, so look a moment later.
	return kept, overdue, max(first.Sub(now), time.Millisecond)
}

// healthyPods counts the pods that are ready, not being deleted, and not in disrupted
// (whose deletion is still to come).
func healthyPods(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) int32 {
	var n int32
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if at, ok := disrupted[pod.Name]; ok && at.Add(deletionTimeout).After(now) {
			continue
		}
		if podutils.IsPodReady(pod) {
			n++
		}
	}
	return n
}

// newStatus returns a budget's status from its counts. No disruption is allowed while
// no pods are expected, so that a budget whose first pods appear is safe before it is
// synced again.
func newStatus(pdb *policyv1.PodDisruptionBudget, expected, desired, healthy int32, disrupted map[string]metav1.Time, now time.Time) policyv1.PodDisruptionBudgetStatus {
	allowed := healthy - desired
	if expected <= 0 || allowed < 0 {
		allowed = 0
	}
	st := policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.Generation,
		DisruptedPods:      disrupted,
		DisruptionsAllowed: allowed,
		CurrentHealthy:     healthy,
		DesiredHealthy:     desired,
		ExpectedPods:       expected,
		Conditions:         append([]metav1.Condition{}, pdb.Status.Conditions...),
	}
	cond := metav1.Condition{
		Type:               policyv1.DisruptionAllowedCondition,
		Status:             metav1.ConditionFalse,
		Reason:             policyv1.InsufficientPodsReason,
		ObservedGeneration: st.ObservedGeneration,
		LastTransitionTime: metav1.NewTime(now),
	}
	if allowed > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, policyv1.SufficientPodsReason
	}
	apimeta.SetStatusCondition(&st.Conditions, cond)
	return st
}

// statusEqual reports whether a budget with status cur needs no write to have next.
// The DisruptionAllowed condition is compared by what it says, not by when it was
// set.
func statusEqual(cur, next *policyv1.PodDisruptionBudgetStatus) bool {
	if cur.ObservedGeneration != next.ObservedGeneration || cur.DisruptionsAllowed != next.DisruptionsAllowed ||
		cur.CurrentHealthy != next.CurrentHealthy || cur.DesiredHealthy != next.DesiredHealthy ||
		cur.ExpectedPods != next.ExpectedPods || len(cur.DisruptedPods) != len(next.DisruptedPods) ||
		!equality.Semantic.DeepEqual(cur.DisruptedPods, next.DisruptedPods) {
		return false
	}
	a := apimeta.FindStatusCondition(cur.Conditions, policyv1.DisruptionAllowedCondition)
	b := apimeta.FindStatusCondition(next.Conditions, policyv1.DisruptionAllowedCondition)
	if a == nil || b == nil {
		return a == b
	}
	return a.Status == b.Status && a.Reason == b.Reason && a.Message == b.Message && a.ObservedGeneration == b.ObservedGeneration
}
