package deployment

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podium/podium/internal/controller/templatehash"
)

// Annotations the controller keeps on Deployments and their ReplicaSets.
const (
	revisionAnnotation        = "deployment.kubernetes.io/revision"
	revisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	maxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
)

// notCopied are the Deployment annotations a ReplicaSet does not take over.
var notCopied = map[string]bool{
	corev1.LastAppliedConfigAnnotation:  true,
	revisionAnnotation:                  true,
	revisionHistoryAnnotation:           true,
	desiredReplicasAnnotation:           true,
	maxReplicasAnnotation:               true,
	"deprecated.deployment.rollback.to": true,
}

// sameTemplate reports whether two templates are equal but for the pod-template-hash
// label.
func sameTemplate(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return equality.Semantic.DeepEqual(a, b)
}

// split returns the ReplicaSet of d's current template (the oldest, should there be
// several) and the others.
func split(d *appsv1.Deployment, sets []*appsv1.ReplicaSet) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
	sorted := append([]*appsv1.ReplicaSet(nil), sets...)
	sortByCreation(sorted)
	var cur *appsv1.ReplicaSet
	var old []*appsv1.ReplicaSet
	for _, rs := range sorted {
		if cur == nil && sameTemplate(&rs.Spec.Template, &d.Spec.Template) {
			cur = rs
			continue
		}
		old = append(old, rs)
	}
	return cur, old
}

func sortByCreation(sets []*appsv1.ReplicaSet) {
	sort.SliceStable(sets, func(i, j int) bool {
		a, b := sets[i].CreationTimestamp, sets[j].CreationTimestamp
		if a.Equal(&b) {
			return sets[i].Name < sets[j].Name
		}
		return a.Before(&b)
	})
}

func revision(obj metav1.Object) int64 {
	v, _ := strconv.ParseInt(obj.GetAnnotations()[revisionAnnotation], 10, 64)
	return v
}

func maxRevision(sets []*appsv1.ReplicaSet) int64 {
	var m int64
	for _, rs := range sets {
		m = max(m, revision(rs))
	}
	return m
}

// replicas returns a spec's replicas, 1 when unset.
func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func specReplicas(sets ...*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range sets {
		if rs != nil {
			n += replicas(rs.Spec.Replicas)
		}
	}
	return n
}

// active returns the ReplicaSets that should have pods.
func active(sets []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range sets {
		if rs != nil && replicas(rs.Spec.Replicas) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// newSet finds d's ReplicaSet for the current template, brings its revision and
// annotations up to date (a template that is back gets the next revision), and, when
// create is set and there is none, creates it. It returns the new ReplicaSet (nil when
// there is none and create is false) and the old ones.
func (c *Controller) newSet(ctx context.Context, d *appsv1.Deployment, sets []*appsv1.ReplicaSet, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	cur, old := split(d, sets)
	next := maxRevision(old) + 1
	if cur != nil {
		updated, err := c.syncSetAnnotations(ctx, d, cur, next)
		if err != nil {
			return nil, nil, err
		}
		return updated, old, c.syncRevision(ctx, d, revision(updated))
	}
	if !create {
		return nil, old, nil
	}
	hash := templatehash.Of(&d.Spec.Template, d.Status.CollisionCount)
	t := d.Spec.Template.DeepCopy()
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	sel := d.Spec.Selector.DeepCopy()
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	size := newSetReplicas(d, old, nil)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            d.Name + "-" + hash,
			Namespace:       d.Namespace,
			Labels:          t.Labels,
			Annotations:     setAnnotations(d, nil, next),
			OwnerReferences: []metav1.OwnerReference{controllerRef(d)},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &size, MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: *t},
	}
	created, err := c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A ReplicaSet of this name with another template: a hash collision, which the
		// next attempt avoids by counting it.
		existing, gerr := c.client.AppsV1().ReplicaSets(d.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if gerr == nil && metav1.IsControlledBy(existing, d) && sameTemplate(&existing.Spec.Template, &d.Spec.Template) {
			return existing, old, nil
		}
		count := int32(0)
		if d.Status.CollisionCount != nil {
			count = *d.Status.CollisionCount
		}
		count++
		d.Status.CollisionCount = &count
		if _, uerr := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{}); uerr != nil {
			return nil, nil, uerr
		}
		return nil, nil, fmt.Errorf("replica set %s exists with another template; collision count now %d", rs.Name, count)
	}
	if err != nil {
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		c.recorder.Event(d, corev1.EventTypeWarning, "ReplicaSetCreateError", msg)
		if d.Spec.ProgressDeadlineSeconds != nil {
			setCondition(&d.Status, condition(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ReplicaSetCreateError", msg, c.clock.Now()))
			_, _ = c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}
		return nil, nil, err
	}
	if size > 0 {
		c.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, size)
	}
	if d.Spec.ProgressDeadlineSeconds != nil {
		setCondition(&d.Status, condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetCreated",
			fmt.Sprintf("Created new replica set %q", created.Name), c.clock.Now()))
	}
	return created, old, c.syncRevision(ctx, d, next)
}

// syncSetAnnotations gives the current template's ReplicaSet the next revision (when
// it had an older one: a rollback), d's annotations, and d's minReadySeconds.
func (c *Controller) syncSetAnnotations(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet, next int64) (*appsv1.ReplicaSet, error) {
	rev := revision(rs)
	if rev >= next {
		next = rev
	}
	want := setAnnotations(d, rs, next)
	if equality.Semantic.DeepEqual(want, rs.Annotations) && rs.Spec.MinReadySeconds == d.Spec.MinReadySeconds {
		return rs, nil
	}
	updated := rs.DeepCopy()
	updated.Annotations = want
	updated.Spec.MinReadySeconds = d.Spec.MinReadySeconds
	out, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	if d.Spec.ProgressDeadlineSeconds != nil && getCondition(d.Status, appsv1.DeploymentProgressing) == nil {
		setCondition(&d.Status, condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, "FoundNewReplicaSet",
			fmt.Sprintf("Found new replica set %q", rs.Name), c.clock.Now()))
	}
	return out, nil
}

// setAnnotations returns the annotations of d's new ReplicaSet rs (nil when it is
// being made) at revision rev: d's own, bar the controller's, the revision and revision
// history, and, for a new one, the desired and max replicas. An existing one keeps the
// replicas it was last sized for: proportional scaling reads them.
func setAnnotations(d *appsv1.Deployment, rs *appsv1.ReplicaSet, rev int64) map[string]string {
	out := map[string]string{}
	if rs != nil {
		for k, v := range rs.Annotations {
			out[k] = v
		}
	}
	for k, v := range d.Annotations {
		if !notCopied[k] {
			out[k] = v
		}
	}
	if rs != nil {
		if old := revision(rs); old != 0 && old < rev {
			history := out[revisionHistoryAnnotation]
			if history != "" {
				history += ","
			}
			out[revisionHistoryAnnotation] = history + strconv.FormatInt(old, 10)
		}
	}
	out[revisionAnnotation] = strconv.FormatInt(rev, 10)
	if rs == nil {
		out[desiredReplicasAnnotation] = strconv.Itoa(int(replicas(d.Spec.Replicas)))
		out[maxReplicasAnnotation] = strconv.Itoa(int(replicas(d.Spec.Replicas) + maxSurge(d)))
	}
	return out
}

// syncRevision records rev on d, when it is newer.
func (c *Controller) syncRevision(ctx context.Context, d *appsv1.Deployment, rev int64) error {
	if revision(d) == rev {
		return nil
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[revisionAnnotation] = strconv.FormatInt(rev, 10)
	updated, err := c.client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	status := d.Status
	*d = *updated
	d.Status = status // what this sync computed so far
	return nil
}

// scale sets rs's replicas (and the desired and max replicas annotations) and records
// the event; it reports whether anything changed.
func (c *Controller) scale(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet, size int32) (bool, *appsv1.ReplicaSet, error) {
	desired := strconv.Itoa(int(replicas(d.Spec.Replicas)))
	maxSize := strconv.Itoa(int(replicas(d.Spec.Replicas) + maxSurge(d)))
	from := replicas(rs.Spec.Replicas)
	if from == size && rs.Annotations[desiredReplicasAnnotation] == desired && rs.Annotations[maxReplicasAnnotation] == maxSize {
		return false, rs, nil
	}
	updated := rs.DeepCopy()
	updated.Spec.Replicas = &size
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	updated.Annotations[desiredReplicasAnnotation] = desired
	updated.Annotations[maxReplicasAnnotation] = maxSize
	out, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		return false, nil, err
	}
	if from != size {
		op := "up"
		if size < from {
			op = "down"
		}
		c.recorder.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", op, rs.Name, from, size)
	}
	return from != size, out, nil
}
