package podclaim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Claimer claims pods and revisions for one owner during one sync. Set its exported
// fields and call its methods; it reads the owner live at most once in its life, so
// make a new one for each sync. It is not safe for concurrent use.
type Claimer struct {
	Client    kubernetes.Interface
	Owner     metav1.Object // as the cache has it
	OwnerKind schema.GroupVersionKind
	Selector  labels.Selector
	// Match, when set, must also hold for a pod the selector picks to be the owner's.
	Match func(*corev1.Pod) bool
	// Finalizers are added to each pod adopted.
	Finalizers []string
	// Live reads the owner from the API server. When nil, the cached owner is trusted.
	Live func(ctx context.Context) (metav1.Object, error)

	checked bool // Live has been consulted
	refused bool // the live owner is gone, replaced, or being deleted
}

// Pods returns the pods among pods that are the owner's: those whose controller
// reference names it and that it picks, including the orphans it adopts. It releases
// the pods it owns and no longer picks. Failed adoptions and releases are joined in the
// error, the other pods still claimed; an error reading the owner live fails the call.
func (c *Claimer) Pods(ctx context.Context, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	var owned []*corev1.Pod
	var errs []error
	for _, p := range pods {
		picked := c.Selector.Matches(labels.Set(p.Labels)) && (c.Match == nil || c.Match(p))
		if ref := metav1.GetControllerOf(p); ref != nil {
			switch {
			case ref.UID != c.Owner.GetUID():
			case picked:
				owned = append(owned, p)
			case !c.deleting():
				errs = append(errs, c.releasePod(ctx, p))
			}
			continue
		}
		if !picked || p.DeletionTimestamp != nil {
			continue
		}
		ok, err := c.mayAdopt(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		adopted, err := c.adoptPod(ctx, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if adopted != nil {
			owned = append(owned, adopted)
		}
	}
	return owned, errors.Join(errs...)
}

// Revisions returns the revisions among revs that the selector picks and that are the
// owner's, adopting the orphans among them. Unlike Pods it releases nothing and is all
// or nothing, as upstream's StatefulSet controller: when there are orphans and the
// owner may not adopt, or an adoption fails, it returns an error.
func (c *Claimer) Revisions(ctx context.Context, revs []*appsv1.ControllerRevision) ([]*appsv1.ControllerRevision, error) {
	var owned, orphans []*appsv1.ControllerRevision
	for _, r := range revs {
		if !c.Selector.Matches(labels.Set(r.Labels)) {
			continue
		}
		switch ref := metav1.GetControllerOf(r); {
		case ref == nil:
			orphans = append(orphans, r)
		case ref.UID == c.Owner.GetUID():
			owned = append(owned, r)
		}
	}
	if len(orphans) == 0 {
		return owned, nil
	}
	ok, err := c.mayAdopt(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("can't adopt ControllerRevisions: %s %s/%s is gone or being deleted",
			c.OwnerKind.Kind, c.Owner.GetNamespace(), c.Owner.GetName())
	}
	for _, r := range orphans {
		patch, err := c.adoptPatch(r.UID, nil)
		if err != nil {
			return nil, err
		}
		adopted, err := c.Client.AppsV1().ControllerRevisions(r.Namespace).Patch(ctx, r.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("adopting ControllerRevision %s: %w", r.Name, err)
		}
		owned = append(owned, adopted)
	}
	return owned, nil
}

// deleting reports whether the owner is known to be going away.
func (c *Claimer) deleting() bool {
	return c.Owner.GetDeletionTimestamp() != nil || c.refused
}

// mayAdopt reports whether the owner may adopt, reading it live on the first call.
// An owner gone from the API server may not adopt; any other read error is returned
// and the read is tried again on the next call.
func (c *Claimer) mayAdopt(ctx context.Context) (bool, error) {
	if c.deleting() {
		return false, nil
	}
	if c.checked || c.Live == nil {
		return true, nil
	}
	live, err := c.Live(ctx)
	switch {
	case apierrors.IsNotFound(err):
		c.refused = true
	case err != nil:
		return false, fmt.Errorf("reading %s %s/%s: %w", c.OwnerKind.Kind, c.Owner.GetNamespace(), c.Owner.GetName(), err)
	default:
		c.refused = live.GetUID() != c.Owner.GetUID() || live.GetDeletionTimestamp() != nil
	}
	c.checked = true
	return !c.refused, nil
}

// adoptPatch makes the owner the controller of the object uid and adds finalizers.
func (c *Claimer) adoptPatch(uid types.UID, finalizers []string) ([]byte, error) {
	meta := map[string]any{
		"ownerReferences": []metav1.OwnerReference{*metav1.NewControllerRef(c.Owner, c.OwnerKind)},
		"uid":             uid,
	}
	if len(finalizers) > 0 {
		meta["finalizers"] = finalizers
	}
	return json.Marshal(map[string]any{"metadata": meta})
}

// adoptPod makes the owner the controller of the orphan p; it returns nil when p is
// gone.
func (c *Claimer) adoptPod(ctx context.Context, p *corev1.Pod) (*corev1.Pod, error) {
	patch, err := c.adoptPatch(p.UID, c.Finalizers)
	if err != nil {
		return nil, err
	}
	out, err := c.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("adopting pod %s: %w", p.Name, err)
	}
	return out, nil
}

// releasePod removes the owner's controller reference from p. A pod gone, replaced by
// another of its name (Conflict) or without the reference (Invalid) is no error.
func (c *Claimer) releasePod(ctx context.Context, p *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": c.Owner.GetUID()}},
		"uid":             p.UID,
	}})
	if err != nil {
		return err
	}
	_, err = c.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("releasing pod %s: %w", p.Name, err)
	}
	return nil
}
