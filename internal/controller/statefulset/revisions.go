package statefulset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podium/podium/internal/controller/podclaim"
	"github.com/podium/podium/internal/controller/templatehash"
)

// revisionHashLabel carries a ControllerRevision's hash, as upstream's revisions do.
const revisionHashLabel = "controller.kubernetes.io/hash"

// maxRevisionPrefix bounds the set-name part of a revision's name, as upstream's.
const maxRevisionPrefix = 223

// revisions are the two revisions a sync works with and their templates.
type revisions struct {
	current, update                 *appsv1.ControllerRevision
	currentTemplate, updateTemplate *corev1.PodTemplateSpec
	collisionCount                  int32
}

// revisionData is set's template as its revisions store it, as upstream does: a strategic
// merge patch of the StatefulSet that replaces the whole template.
func revisionData(set *appsv1.StatefulSet) ([]byte, error) {
	b, err := json.Marshal(set.Spec.Template)
	if err != nil {
		return nil, err
	}
	var t map[string]any
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	t["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": t}})
}

// templateOf is the template a revision stores.
func templateOf(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var patch struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &patch); err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.Name, err)
	}
	return &patch.Spec.Template, nil
}

// sameData reports whether two revisions' data are the same JSON.
func sameData(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// revisionName is the name of set's revision with hash.
func revisionName(set *appsv1.StatefulSet, hash string) string {
	prefix := set.Name
	if len(prefix) > maxRevisionPrefix {
		prefix = prefix[:maxRevisionPrefix]
	}
	return prefix + "-" + hash
}

// hashOf is the hash of set's template with collision count n.
func hashOf(set *appsv1.StatefulSet, n int32) string {
	if n == 0 {
		return templatehash.Of(&set.Spec.Template, nil)
	}
	return templatehash.Of(&set.Spec.Template, &n)
}

// listRevisions returns the revisions set's selector picks that are set's or nobody's,
// by revision number, adopting the orphans among them.
func (c *Controller) listRevisions(ctx context.Context, set *appsv1.StatefulSet, claimer *podclaim.Claimer) ([]*appsv1.ControllerRevision, error) {
	all, err := c.revisions.ControllerRevisions(set.Namespace).List(claimer.Selector)
	if err != nil {
		return nil, err
	}
	out, err := claimer.Revisions(ctx, all)
	if err != nil {
		return nil, err
	}
	sortRevisions(out)
	return out, nil
}

// sortRevisions orders revisions by number, then age, then name.
func sortRevisions(revs []*appsv1.ControllerRevision) {
	sort.SliceStable(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// syncRevisions finds or makes the revision of set's template, the update revision:
// the newest revision when it holds the template, an older one that holds it renumbered
// as the newest (a rollback), or a new one. The current revision is the one
// status.currentRevision names, or the update revision when there is none. revs must be
// sorted.
func (c *Controller) syncRevisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) (revisions, error) {
	var rv revisions
	if n := set.Status.CollisionCount; n != nil {
		rv.collisionCount = *n
	}
	data, err := revisionData(set)
	if err != nil {
		return rv, err
	}
	next := int64(1)
	if len(revs) > 0 {
		next = revs[len(revs)-1].Revision + 1
	}
	var equal *appsv1.ControllerRevision
	for _, r := range revs {
		if sameData(r.Data.Raw, data) {
			equal = r
		}
	}
	switch {
	case equal != nil && equal == revs[len(revs)-1]:
		rv.update = equal
	case equal != nil:
		bumped := equal.DeepCopy()
		bumped.Revision = next
		if rv.update, err = c.client.AppsV1().ControllerRevisions(set.Namespace).Update(ctx, bumped, metav1.UpdateOptions{}); err != nil {
			return rv, err
		}
	default:
		if rv.update, err = c.createRevision(ctx, set, data, next, &rv.collisionCount); err != nil {
			return rv, err
		}
	}
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision {
			rv.current = r
		}
	}
	if rv.current == nil {
		rv.current = rv.update
	}
	if rv.updateTemplate, err = templateOf(rv.update); err != nil {
		return rv, err
	}
	if rv.currentTemplate, err = templateOf(rv.current); err != nil {
		return rv, err
	}
	return rv, nil
}

// createRevision creates set's revision number with data. When another revision holds
// the name, it returns that one if its data is the same, and otherwise counts a
// collision in *collisions and tries the next name.
func (c *Controller) createRevision(ctx context.Context, set *appsv1.StatefulSet, data []byte, number int64, collisions *int32) (*appsv1.ControllerRevision, error) {
	revLabels := maps.Clone(set.Spec.Template.Labels)
	if revLabels == nil {
		revLabels = map[string]string{}
	}
	for {
		hash := hashOf(set, *collisions)
		revLabels[revisionHashLabel] = hash
		rev := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{
				Name:            revisionName(set, hash),
				Namespace:       set.Namespace,
				Labels:          maps.Clone(revLabels),
				Annotations:     maps.Clone(set.Annotations),
				OwnerReferences: []metav1.OwnerReference{controllerRef(set)},
			},
			Data:     runtime.RawExtension{Raw: data},
			Revision: number,
		}
		out, err := c.client.AppsV1().ControllerRevisions(set.Namespace).Create(ctx, rev, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			return out, err
		}
		existing, err := c.client.AppsV1().ControllerRevisions(set.Namespace).Get(ctx, rev.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if sameData(existing.Data.Raw, data) {
			return existing, nil
		}
		*collisions++
	}
}

// truncateHistory deletes, oldest first, the revisions no pod uses that are neither
// current nor update, beyond revisionHistoryLimit of them. revs must be sorted.
func (c *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, current, update *appsv1.ControllerRevision) error {
	limit := 10
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	live := map[string]bool{}
	for _, r := range []*appsv1.ControllerRevision{current, update} {
		if r != nil {
			live[r.Name] = true
		}
	}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	var history []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			history = append(history, r)
		}
	}
	if limit < 0 || len(history) <= limit {
		return nil
	}
	for _, r := range history[:len(history)-limit] {
		err := c.client.AppsV1().ControllerRevisions(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
