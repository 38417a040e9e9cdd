package statefulset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// computeStatus is set's status from its pods at now: every pod counts in replicas,
// running and ready ones in readyReplicas, those ready for minReadySeconds in
// availableReplicas, and those not being deleted in currentReplicas or updatedReplicas
// by their revision.
func computeStatus(set *appsv1.StatefulSet, pods []*corev1.Pod, rv revisions, now time.Time) appsv1.StatefulSetStatus {
	st := appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    rv.current.Name,
		UpdateRevision:     rv.update.Name,
		CollisionCount:     &rv.collisionCount,
	}
	for _, p := range pods {
		st.Replicas++
		if runningAndReady(p) {
			st.ReadyReplicas++
			if available(p, set.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
		if terminating(p) {
			continue
		}
		rev := revisionOf(p)
		if rev == rv.current.Name {
			st.CurrentReplicas++
		}
		if rev == rv.update.Name {
			st.UpdatedReplicas++
		}
	}
	return st
}

// completeRollingUpdate makes the update revision current once a rolling update has
// every replica updated and ready.
func completeRollingUpdate(set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) {
	n := replicas(set)
	if set.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType &&
		st.UpdatedReplicas == n && st.ReadyReplicas == n && st.Replicas == n {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
}

// writeStatus writes status unless set has it already, retrying conflicts on the set
// read afresh.
func (c *Controller) writeStatus(ctx context.Context, set *appsv1.StatefulSet, status appsv1.StatefulSetStatus) error {
	if equality.Semantic.DeepEqual(set.Status, status) {
		return nil
	}
	next := set.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		next.Status = status
		_, err := c.client.AppsV1().StatefulSets(next.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, getErr := c.client.AppsV1().StatefulSets(next.Namespace).Get(ctx, next.Name, metav1.GetOptions{})
		if getErr != nil {
			return getErr
		}
		if fresh.UID != set.UID {
			return nil // another set of that name now
		}
		next = fresh
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("status of statefulset %s: %w", set.Name, err)
	}
	return nil
}
