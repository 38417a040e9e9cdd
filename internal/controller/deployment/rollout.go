package deployment

import (
	"context"
	"math"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// fenceposts resolves maxSurge (rounded up) and maxUnavailable (rounded down) against
// replicas; both zero would block a rollout, so maxUnavailable is then 1.
func fenceposts(d *appsv1.Deployment) (surge, unavailable int32) {
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil {
		return 0, 0
	}
	n := int(replicas(d.Spec.Replicas))
	zero := intstr.FromInt32(0)
	s, _ := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(ru.MaxSurge, zero), n, true)
	u, _ := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(ru.MaxUnavailable, zero), n, false)
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u)
}

func maxSurge(d *appsv1.Deployment) int32 {
	s, _ := fenceposts(d)
	return s
}

func maxUnavailable(d *appsv1.Deployment) int32 {
	_, u := fenceposts(d)
	return min(u, replicas(d.Spec.Replicas))
}

// newSetReplicas is how many replicas the new ReplicaSet may have now: for a rolling
// update, as many as fit under replicas + maxSurge, up to replicas; for Recreate, all.
func newSetReplicas(d *appsv1.Deployment, old []*appsv1.ReplicaSet, cur *appsv1.ReplicaSet) int32 {
	want := replicas(d.Spec.Replicas)
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return want
	}
	have := specReplicas(cur)
	total := specReplicas(old...) + have
	limit := want + maxSurge(d)
	if total >= limit {
		return have
	}
	return have + min(limit-total, max(0, want-have))
}

// rolloutRolling takes one step of a rolling update.
func (c *Controller) rolloutRolling(ctx context.Context, d *appsv1.Deployment, sets []*appsv1.ReplicaSet) (time.Duration, error) {
	cur, old, err := c.newSet(ctx, d, sets, true)
	if err != nil {
		return 0, err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), cur)
	// Up first, as far as maxSurge allows.
	if want := replicas(d.Spec.Replicas); replicas(cur.Spec.Replicas) != want {
		size := want
		if replicas(cur.Spec.Replicas) < want {
			size = newSetReplicas(d, old, cur)
		}
		scaled, updated, err := c.scale(ctx, d, cur, size)
		if err != nil {
			return 0, err
		}
		if scaled {
			return c.syncRolloutStatus(ctx, d, append(old, updated), updated)
		}
	}
	// Then down, as far as maxUnavailable allows.
	scaled, err := c.scaleDownOld(ctx, d, all, old, cur)
	if err != nil {
		return 0, err
	}
	if !scaled && complete(d, c.calculateStatus(d, all, cur)) {
		if err := c.cleanup(ctx, d, old); err != nil {
			return 0, err
		}
	}
	return c.syncRolloutStatus(ctx, d, all, cur)
}

// scaleDownOld scales old ReplicaSets down without going below replicas -
// maxUnavailable available pods, unhealthy replicas first; it reports whether it
// scaled any.
func (c *Controller) scaleDownOld(ctx context.Context, d *appsv1.Deployment, all, old []*appsv1.ReplicaSet, cur *appsv1.ReplicaSet) (bool, error) {
	if specReplicas(old...) == 0 {
		return false, nil
	}
	minAvailable := replicas(d.Spec.Replicas) - maxUnavailable(d)
	newUnavailable := replicas(cur.Spec.Replicas) - cur.Status.AvailableReplicas
	budget := specReplicas(all...) - minAvailable - newUnavailable
	if budget <= 0 {
		return false, nil
	}
	olds := active(old)
	sortByCreation(olds)
	var scaled int32
	// Replicas that are not available cost no availability: they go first.
	for i, rs := range olds {
		if scaled >= budget {
			break
		}
		unhealthy := replicas(rs.Spec.Replicas) - rs.Status.AvailableReplicas
		if unhealthy <= 0 {
			continue
		}
		down := min(unhealthy, budget-scaled)
		_, updated, err := c.scale(ctx, d, rs, replicas(rs.Spec.Replicas)-down)
		if err != nil {
			return scaled > 0, err
		}
		olds[i] = updated
		scaled += down
	}
	// Then available ones, while more than minAvailable stay available.
	var available int32
	for _, rs := range append(olds, cur) {
		available += rs.Status.AvailableReplicas
	}
	if available > minAvailable {
		more := available - minAvailable
		var done int32
		for _, rs := range olds {
			if done >= more {
				break
			}
			n := replicas(rs.Spec.Replicas)
			if n == 0 {
				continue
			}
			down := min(n, more-done)
			if _, _, err := c.scale(ctx, d, rs, n-down); err != nil {
				return true, err
			}
			done += down
		}
		scaled += done
	}
	return scaled > 0, nil
}

// rolloutRecreate scales the old ReplicaSets to zero, waits for their pods to end, and
// then scales the new one up.
func (c *Controller) rolloutRecreate(ctx context.Context, d *appsv1.Deployment, sets []*appsv1.ReplicaSet) (time.Duration, error) {
	cur, old, err := c.newSet(ctx, d, sets, false)
	if err != nil {
		return 0, err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), old...), cur)
	scaled := false
	for _, rs := range active(old) {
		changed, _, err := c.scale(ctx, d, rs, 0)
		if err != nil {
			return 0, err
		}
		scaled = scaled || changed
	}
	if scaled {
		return c.syncRolloutStatus(ctx, d, all, cur)
	}
	running, err := c.oldPodsRunning(d, old)
	if err != nil {
		return 0, err
	}
	if running {
		return c.syncRolloutStatus(ctx, d, all, cur)
	}
	if cur == nil {
		if cur, old, err = c.newSet(ctx, d, sets, true); err != nil {
			return 0, err
		}
		all = append(append([]*appsv1.ReplicaSet(nil), old...), cur)
	}
	if _, updated, err := c.scale(ctx, d, cur, replicas(d.Spec.Replicas)); err != nil {
		return 0, err
	} else {
		cur = updated
		all[len(all)-1] = cur
	}
	if complete(d, c.calculateStatus(d, all, cur)) {
		if err := c.cleanup(ctx, d, old); err != nil {
			return 0, err
		}
	}
	return c.syncRolloutStatus(ctx, d, all, cur)
}

// oldPodsRunning reports whether a pod of an old ReplicaSet has not ended yet.
func (c *Controller) oldPodsRunning(d *appsv1.Deployment, old []*appsv1.ReplicaSet) (bool, error) {
	uids := map[string]bool{}
	for _, rs := range old {
		if rs.Status.Replicas > 0 {
			return true, nil
		}
		uids[string(rs.UID)] = true
	}
	pods, err := c.pods.Pods(d.Namespace).List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil || !uids[string(ref.UID)] {
			continue
		}
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return true, nil
		}
	}
	return false, nil
}

// isScalingEvent reports whether d's replicas changed since its active ReplicaSets
// were last sized for it.
func (c *Controller) isScalingEvent(d *appsv1.Deployment, sets []*appsv1.ReplicaSet) bool {
	want := strconv.Itoa(int(replicas(d.Spec.Replicas)))
	for _, rs := range active(sets) {
		if v, ok := rs.Annotations[desiredReplicasAnnotation]; ok && v != want {
			return true
		}
	}
	return false
}

// scaleOnly resizes d's ReplicaSets for a change of replicas (or while d is paused)
// without rolling, and writes the status.
func (c *Controller) scaleOnly(ctx context.Context, d *appsv1.Deployment, sets []*appsv1.ReplicaSet) (time.Duration, error) {
	cur, old, err := c.newSet(ctx, d, sets, false)
	if err != nil {
		return 0, err
	}
	if err := c.proportional(ctx, d, cur, old); err != nil {
		return 0, err
	}
	if d.Spec.Paused {
		if err := c.cleanup(ctx, d, old); err != nil {
			return 0, err
		}
	}
	all := old
	if cur != nil {
		all = append(append([]*appsv1.ReplicaSet(nil), old...), cur)
	}
	return 0, c.syncStatusOnly(ctx, d, all)
}

// proportional spreads a change of replicas over the active ReplicaSets: all of it to
// the only active one; otherwise in proportion to each one's size against the
// max-replicas it was sized for, the rest to the largest.
func (c *Controller) proportional(ctx context.Context, d *appsv1.Deployment, cur *appsv1.ReplicaSet, old []*appsv1.ReplicaSet) error {
	want := replicas(d.Spec.Replicas)
	all := append(append([]*appsv1.ReplicaSet(nil), old...), cur)
	act := active(all)
	if len(act) <= 1 {
		target := cur
		if len(act) == 1 {
			target = act[0]
		} else if target == nil && len(old) > 0 {
			newest := append([]*appsv1.ReplicaSet(nil), old...)
			sortByCreation(newest)
			target = newest[len(newest)-1]
		}
		if target == nil || replicas(target.Spec.Replicas) == want {
			return nil
		}
		_, _, err := c.scale(ctx, d, target, want)
		return err
	}
	if cur != nil && replicas(cur.Spec.Replicas) == want && cur.Annotations[desiredReplicasAnnotation] == strconv.Itoa(int(want)) && cur.Status.AvailableReplicas == want {
		for _, rs := range active(old) {
			if _, _, err := c.scale(ctx, d, rs, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		return nil
	}
	allowed := int32(0)
	if want > 0 {
		allowed = want + maxSurge(d)
	}
	toAdd := allowed - specReplicas(act...)
	// Larger first; among equals, newer first when growing and older first when shrinking.
	sort.SliceStable(act, func(i, j int) bool {
		a, b := replicas(act[i].Spec.Replicas), replicas(act[j].Spec.Replicas)
		if a != b {
			return a > b
		}
		ti, tj := act[i].CreationTimestamp, act[j].CreationTimestamp
		if toAdd > 0 {
			return tj.Before(&ti)
		}
		return ti.Before(&tj)
	})
	sizes := make([]int32, len(act))
	var added int32
	for i, rs := range act {
		sizes[i] = replicas(rs.Spec.Replicas)
		if toAdd == 0 {
			continue
		}
		p := proportion(d, rs, toAdd, added)
		sizes[i] += p
		added += p
	}
	if toAdd != 0 {
		sizes[0] = max(0, sizes[0]+toAdd-added)
	}
	for i, rs := range act {
		if _, _, err := c.scale(ctx, d, rs, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// proportion is rs's share of toAdd replicas, of which added are given out already.
func proportion(d *appsv1.Deployment, rs *appsv1.ReplicaSet, toAdd, added int32) int32 {
	n := replicas(rs.Spec.Replicas)
	if n == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	var fraction int32
	if want := replicas(d.Spec.Replicas); want == 0 {
		fraction = -n
	} else {
		sized, err := strconv.Atoi(rs.Annotations[maxReplicasAnnotation])
		if err != nil || sized == 0 {
			sized = int(d.Status.Replicas)
		}
		if sized == 0 {
			return 0
		}
		fraction = int32(math.Round(float64(n*(want+maxSurge(d)))/float64(sized))) - n
	}
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// cleanup deletes d's old ReplicaSets beyond revisionHistoryLimit, lowest revision
// first, if they have no pods left.
func (c *Controller) cleanup(ctx context.Context, d *appsv1.Deployment, old []*appsv1.ReplicaSet) error {
	if d.Spec.RevisionHistoryLimit == nil {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range old {
		if rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	excess := len(alive) - int(*d.Spec.RevisionHistoryLimit)
	if excess <= 0 {
		return nil
	}
	sort.SliceStable(alive, func(i, j int) bool { return revision(alive[i]) < revision(alive[j]) })
	for _, rs := range alive[:excess] {
		if rs.Status.Replicas != 0 || replicas(rs.Spec.Replicas) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		uid := rs.UID
		err := c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err = ignoreGone(err); err != nil {
			return err
		}
	}
	return nil
}
