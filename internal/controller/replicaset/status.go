package replicaset

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/util/podutils"
)

// status computes rs's status from its pods and the error of creating or deleting them.
func (c *Controller) status(rs *appsv1.ReplicaSet, pods []*corev1.Pod, manageErr error) appsv1.ReplicaSetStatus {
	st := *rs.Status.DeepCopy()
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	templateLabels := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	now := c.clock.Now()
	for _, p := range pods {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if podutils.IsPodReady(p) {
			st.ReadyReplicas++
			since := readySince(p)
			if rs.Spec.MinReadySeconds == 0 || (!since.IsZero() && !since.Add(secs(rs.Spec.MinReadySeconds)).After(now)) {
				st.AvailableReplicas++
			}
		}
	}
	st.ObservedGeneration = rs.Generation
	var kept []appsv1.ReplicaSetCondition
	var failure *appsv1.ReplicaSetCondition
	for i := range st.Conditions {
		if st.Conditions[i].Type == appsv1.ReplicaSetReplicaFailure {
			failure = &st.Conditions[i]
			continue
		}
		kept = append(kept, st.Conditions[i])
	}
	if manageErr != nil {
		reason := "FailedCreate"
		if len(pods) > int(*rs.Spec.Replicas) {
			reason = "FailedDelete"
		}
		if failure == nil || failure.Reason != reason || failure.Message != manageErr.Error() {
			failure = &appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
				LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error()}
		}
		kept = append(kept, *failure)
	}
	st.Conditions = kept
	return st
}

// writeStatus writes status unless rs has it already; a conflict is retried once on
// the ReplicaSet read afresh.
func (c *Controller) writeStatus(ctx context.Context, rs *appsv1.ReplicaSet, status appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error) {
	for attempt := 0; ; attempt++ {
		if equality.Semantic.DeepEqual(rs.Status, status) {
			return rs, nil
		}
		next := rs.DeepCopy()
		next.Status = status
		out, err := c.src.updateStatus(ctx, next)
		if err == nil || !apierrors.IsConflict(err) || attempt > 0 {
			if apierrors.IsNotFound(err) {
				return rs, nil
			}
			return out, err
		}
		if rs, err = c.src.getLive(ctx, rs.Namespace, rs.Name); err != nil {
			return nil, err
		}
		status.ObservedGeneration = max(status.ObservedGeneration, rs.Status.ObservedGeneration)
	}
}

// readySince is when p's Ready condition last changed.
func readySince(p *corev1.Pod) metav1.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime
		}
	}
	return metav1.Time{}
}

func secs(n int32) time.Duration { return time.Duration(n) * time.Second }
