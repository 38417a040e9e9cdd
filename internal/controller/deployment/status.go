package deployment

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Progressing condition reasons, as upstream's.
const (
	reasonUpdated   = "ReplicaSetUpdated"
	reasonAvailable = "NewReplicaSetAvailable"
	reasonTimedOut  = "ProgressDeadlineExceeded"
	reasonPaused    = "DeploymentPaused"
	reasonResumed   = "DeploymentResumed"
)

// calculateStatus is d's status from its ReplicaSets (cur is the new one, or nil),
// with the Available condition.
func (c *Controller) calculateStatus(d *appsv1.Deployment, all []*appsv1.ReplicaSet, cur *appsv1.ReplicaSet) appsv1.DeploymentStatus {
	st := appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		CollisionCount:     d.Status.CollisionCount,
		Conditions:         append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	for _, rs := range all {
		if rs == nil {
			continue
		}
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	if cur != nil {
		st.UpdatedReplicas = cur.Status.Replicas
	}
	st.UnavailableReplicas = max(0, st.Replicas-st.AvailableReplicas)
	now := c.clock.Now()
	if st.AvailableReplicas >= replicas(d.Spec.Replicas)-maxUnavailable(d) {
		setCondition(&st, condition(appsv1.DeploymentAvailable, corev1.ConditionTrue, "MinimumReplicasAvailable", "Deployment has minimum availability.", now))
	} else {
		setCondition(&st, condition(appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", now))
	}
	return st
}

// complete reports whether every replica is updated and available.
func complete(d *appsv1.Deployment, st appsv1.DeploymentStatus) bool {
	n := replicas(d.Spec.Replicas)
	return st.UpdatedReplicas == n && st.Replicas == n && st.AvailableReplicas == n && st.ObservedGeneration >= d.Generation
}

// progressing reports whether st moved the rollout on from d's recorded status.
func progressing(d *appsv1.Deployment, st appsv1.DeploymentStatus) bool {
	old := d.Status
	return st.UpdatedReplicas > old.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas || st.AvailableReplicas > old.AvailableReplicas
}

// syncRolloutStatus writes d's status with the Progressing condition of the rollout,
// and returns when to look again for the progress deadline.
func (c *Controller) syncRolloutStatus(ctx context.Context, d *appsv1.Deployment, all []*appsv1.ReplicaSet, cur *appsv1.ReplicaSet) (time.Duration, error) {
	st := c.calculateStatus(d, all, cur)
	now := c.clock.Now()
	var again time.Duration
	if d.Spec.ProgressDeadlineSeconds == nil {
		removeCondition(&st, appsv1.DeploymentProgressing)
	} else if cond := getCondition(st, appsv1.DeploymentProgressing); !(cur != nil && st.Replicas == st.UpdatedReplicas && cond != nil && cond.Reason == reasonAvailable) {
		name := ""
		if cur != nil {
			name = cur.Name
		}
		switch {
		case complete(d, st):
			setCondition(&st, condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonAvailable,
				fmt.Sprintf("ReplicaSet %q has successfully progressed.", name), now))
		case progressing(d, st):
			next := condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonUpdated,
				fmt.Sprintf("ReplicaSet %q is progressing.", name), now)
			if cond != nil && cond.Status == corev1.ConditionTrue {
				next.LastTransitionTime = cond.LastTransitionTime
			}
			removeCondition(&st, appsv1.DeploymentProgressing)
			st.Conditions = append(st.Conditions, next)
		case timedOut(d, cond, now):
			setCondition(&st, condition(appsv1.DeploymentProgressing, corev1.ConditionFalse, reasonTimedOut,
				fmt.Sprintf("ReplicaSet %q has timed out progressing.", name), now))
		}
		if cond := getCondition(st, appsv1.DeploymentProgressing); cond != nil && cond.Reason != reasonTimedOut && !complete(d, st) {
			deadline := cond.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second)
			again = max(time.Second, deadline.Sub(now)+time.Second)
		}
	}
	c.replicaFailure(&st, all, now)
	return again, c.writeStatus(ctx, d, st)
}

// timedOut reports whether the rollout has made no progress for
// progressDeadlineSeconds since cond last changed.
func timedOut(d *appsv1.Deployment, cond *appsv1.DeploymentCondition, now time.Time) bool {
	if cond == nil || cond.Reason == reasonAvailable {
		return false
	}
	if cond.Reason == reasonTimedOut {
		return true
	}
	return cond.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Before(now)
}

// replicaFailure carries a ReplicaSet's ReplicaFailure condition over to d's status.
func (c *Controller) replicaFailure(st *appsv1.DeploymentStatus, all []*appsv1.ReplicaSet, now time.Time) {
	for _, rs := range all {
		if rs == nil {
			continue
		}
		for _, rc := range rs.Status.Conditions {
			if rc.Type == appsv1.ReplicaSetReplicaFailure && rc.Status == corev1.ConditionTrue {
				setCondition(st, condition(appsv1.DeploymentReplicaFailure, rc.Status, rc.Reason, rc.Message, now))
				return
			}
		}
	}
	removeCondition(st, appsv1.DeploymentReplicaFailure)
}

// syncStatusOnly writes d's status as its ReplicaSets give it, with no rollout step.
func (c *Controller) syncStatusOnly(ctx context.Context, d *appsv1.Deployment, sets []*appsv1.ReplicaSet) error {
	cur, _ := split(d, sets)
	st := c.calculateStatus(d, sets, cur)
	c.replicaFailure(&st, sets, c.clock.Now())
	return c.writeStatus(ctx, d, st)
}

// checkPaused records a pause or a resume in the Progressing condition.
func (c *Controller) checkPaused(ctx context.Context, d *appsv1.Deployment) error {
	if d.Spec.ProgressDeadlineSeconds == nil {
		return nil
	}
	cond := getCondition(d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == reasonTimedOut {
		return nil
	}
	paused := cond != nil && cond.Reason == reasonPaused
	switch {
	case d.Spec.Paused && !paused:
		setCondition(&d.Status, condition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, reasonPaused, "Deployment is paused", c.clock.Now()))
	case !d.Spec.Paused && paused:
		setCondition(&d.Status, condition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, reasonResumed, "Deployment is resumed", c.clock.Now()))
	default:
		return nil
	}
	updated, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	*d = *updated
	return nil
}

// writeStatus writes st unless d has it already.
func (c *Controller) writeStatus(ctx context.Context, d *appsv1.Deployment, st appsv1.DeploymentStatus) error {
	if equality.Semantic.DeepEqual(d.Status, st) {
		return nil
	}
	next := d.DeepCopy()
	next.Status = st
	_, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	return ignoreGone(err)
}

func condition(t appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) appsv1.DeploymentCondition {
	ts := metav1.NewTime(now)
	return appsv1.DeploymentCondition{Type: t, Status: status, LastUpdateTime: ts, LastTransitionTime: ts, Reason: reason, Message: message}
}

func getCondition(st appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// setCondition sets a condition as upstream does: one with the same status and reason
// is left as it is; a new status keeps nothing of the old, a new reason alone keeps the
// transition time.
func setCondition(st *appsv1.DeploymentStatus, cond appsv1.DeploymentCondition) {
	cur := getCondition(*st, cond.Type)
	if cur != nil && cur.Status == cond.Status && cur.Reason == cond.Reason {
		return
	}
	if cur != nil && cur.Status == cond.Status {
		cond.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(st, cond.Type)
	st.Conditions = append(st.Conditions, cond)
}

func removeCondition(st *appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) {
	var out []appsv1.DeploymentCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			out = append(out, c)
		}
	}
	st.Conditions = out
}
