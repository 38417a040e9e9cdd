package statefulset

import (
	"context"
	"errors"
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func claimName(set *appsv1.StatefulSet, template *corev1.PersistentVolumeClaim, ordinal int) string {
	return fmt.Sprintf("%s-%s-%d", template.Name, set.Name, ordinal)
}

// claimsOf returns the claims of pod's ordinal, in the order of set's templates: each
// template named for the pod, in set's namespace, with the selector's labels over the
// template's.
func claimsOf(set *appsv1.StatefulSet, pod *corev1.Pod) []*corev1.PersistentVolumeClaim {
	o := ordinalOf(pod)
	var out []*corev1.PersistentVolumeClaim
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		claim := t.DeepCopy()
		claim.Name = claimName(set, t, o)
		claim.Namespace = set.Namespace
		if claim.Labels == nil {
			claim.Labels = map[string]string{}
		}
		if set.Spec.Selector != nil {
			maps.Copy(claim.Labels, set.Spec.Selector.MatchLabels)
		}
		out = append(out, claim)
	}
	return out
}

func retentionPolicy(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	if p := set.Spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		return *p
	}
	return appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
}

// claimEvent records the outcome of verb on one of pod's claims with upstream's reasons
// and messages.
func (c *Controller) claimEvent(set *appsv1.StatefulSet, verb string, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim, err error) {
	if err == nil {
		c.recorder.Eventf(set, corev1.EventTypeNormal, "Successful"+title(verb), "%s Claim %s Pod %s in StatefulSet %s success", verb, claim.Name, pod.Name, set.Name)
		return
	}
	c.recorder.Eventf(set, corev1.EventTypeWarning, "Failed"+title(verb), "%s Claim %s for Pod %s in StatefulSet %s failed error: %s", verb, claim.Name, pod.Name, set.Name, err)
}

func (c *Controller) getClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) (*corev1.PersistentVolumeClaim, error) {
	return c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Get(ctx, claim.Name, metav1.GetOptions{})
}

// ensureClaims creates pod's missing claims, owned as the retention policy says, and
// fails while one of them is being deleted. Every failure is also an event.
func (c *Controller) ensureClaims(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	var errs []error
	for _, claim := range claimsOf(set, pod) {
		existing, err := c.getClaim(ctx, claim)
		switch {
		case apierrors.IsNotFound(err):
			setClaimOwners(claim, set, pod)
			_, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Create(ctx, claim, metav1.CreateOptions{})
			if err != nil {
				errs = append(errs, fmt.Errorf("failed to create PVC %s: %w", claim.Name, err))
			}
			if !apierrors.IsAlreadyExists(err) {
				c.claimEvent(set, "create", pod, claim, err)
			}
		case err != nil:
			errs = append(errs, fmt.Errorf("failed to retrieve PVC %s: %w", claim.Name, err))
			c.claimEvent(set, "create", pod, claim, err)
		case existing.DeletionTimestamp != nil:
			errs = append(errs, fmt.Errorf("pvc %s is being deleted", claim.Name))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return c.syncClaimOwners(ctx, set, pod)
}

// claimIsStale reports whether one of pod's claims is still owned by an earlier pod of
// its name; such a claim is the garbage collector's to delete, and pod must wait.
func (c *Controller) claimIsStale(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) (bool, error) {
	if retentionPolicy(set).WhenScaled == appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		return false, nil // claims are kept for reuse
	}
	for _, claim := range claimsOf(set, pod) {
		existing, err := c.getClaim(ctx, claim)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return false, err
		}
		if hasStaleRef(existing, pod, podKind) {
			return true, nil
		}
	}
	return false, nil
}

// syncClaimOwners gives pod's existing claims the owner references the retention
// policy asks for; missing claims are left for later.
func (c *Controller) syncClaimOwners(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	for _, want := range claimsOf(set, pod) {
		claim, err := c.getClaim(ctx, want)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("could not retrieve claim %s for %s when checking PVC deletion policy: %w", want.Name, pod.Name, err)
		}
		if claimOwnersUpToDate(claim, set, pod) {
			continue
		}
		claim = claim.DeepCopy()
		setClaimOwners(claim, set, pod)
		if _, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("could not update claim %s for delete policy ownerRefs: %w", claim.Name, err)
		}
	}
	return nil
}

// refersTo reports whether ref names obj of kind gvk, whatever its UID.
func refersTo(ref *metav1.OwnerReference, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	return ref.APIVersion == gvk.GroupVersion().String() && ref.Kind == gvk.Kind && ref.Name == obj.GetName()
}

func hasRef(claim *corev1.PersistentVolumeClaim, owner metav1.Object) bool {
	for _, ref := range claim.OwnerReferences {
		if ref.UID == owner.GetUID() {
			return true
		}
	}
	return false
}

// hasStaleRef reports whether claim refers to an earlier object of obj's name and kind.
func hasStaleRef(claim *corev1.PersistentVolumeClaim, obj metav1.Object, gvk schema.GroupVersionKind) bool {
	for i := range claim.OwnerReferences {
		if refersTo(&claim.OwnerReferences[i], obj, gvk) {
			return claim.OwnerReferences[i].UID != obj.GetUID()
		}
	}
	return false
}

// foreignController reports whether a controller other than set or pod owns claim (or
// an earlier set or pod of their names does), which a retention policy other than
// Retain/Retain must leave alone.
func foreignController(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	p := retentionPolicy(set)
	if p.WhenScaled == appsv1.RetainPersistentVolumeClaimRetentionPolicyType && p.WhenDeleted == appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		return false
	}
	for i := range claim.OwnerReferences {
		ref := &claim.OwnerReferences[i]
		switch {
		case refersTo(ref, set, controllerKind):
			if ref.UID != set.UID {
				return true
			}
		case refersTo(ref, pod, podKind):
			if ref.UID != pod.UID {
				return true
			}
		case ref.Controller != nil && *ref.Controller:
			return true
		}
	}
	return false
}

// claimOwnersUpToDate reports whether claim's owners are those the retention policy
// asks for: none for Retain/Retain, the set for whenDeleted Delete, and the pod for
// whenScaled Delete once the pod is beyond the ordinal range (the set's reference then
// goes). Claims owned by earlier sets or pods, or by foreign controllers, count as up to
// date unless the set or pod refers to them too.
func claimOwnersUpToDate(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	if hasStaleRef(claim, set, controllerKind) || hasStaleRef(claim, pod, podKind) {
		return true
	}
	if foreignController(claim, set, pod) {
		return !hasRef(claim, set) && !hasRef(claim, pod)
	}
	for _, ref := range claim.OwnerReferences {
		if (ref.UID == set.UID || ref.UID == pod.UID) && (ref.Controller == nil || !*ref.Controller) {
			return false
		}
	}
	wantSet, wantPod := wantedOwners(set, pod)
	return hasRef(claim, set) == wantSet && hasRef(claim, pod) == wantPod
}

// wantedOwners reports whether the retention policy makes set and pod controllers of
// pod's claims.
func wantedOwners(set *appsv1.StatefulSet, pod *corev1.Pod) (setOwns, podOwns bool) {
	p := retentionPolicy(set)
	deleted := p.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	scaled := p.WhenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	down := !inRange(set, pod)
	switch {
	case scaled && down:
		return false, true
	case deleted:
		return true, false
	}
	return false, false
}

// setClaimOwners replaces claim's references to set and pod with those the retention
// policy asks for, as controller references; a foreign controller only loses them.
func setClaimOwners(claim *corev1.PersistentVolumeClaim, set *appsv1.StatefulSet, pod *corev1.Pod) {
	foreign := foreignController(claim, set, pod)
	var refs []metav1.OwnerReference
	for _, ref := range claim.OwnerReferences {
		if !refersTo(&ref, set, controllerKind) && !refersTo(&ref, pod, podKind) {
			refs = append(refs, ref)
		}
	}
	if !foreign {
		wantSet, wantPod := wantedOwners(set, pod)
		if wantSet {
			refs = append(refs, controllerRef(set))
		}
		if wantPod {
			refs = append(refs, *metav1.NewControllerRef(pod, podKind))
		}
	}
	claim.OwnerReferences = refs
}
