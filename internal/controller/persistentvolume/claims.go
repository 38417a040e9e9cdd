package persistentvolume

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ephemeralvolume "k8s.io/component-helpers/storage/ephemeral"
	"k8s.io/component-helpers/storage/volume"

	"github.com/podium/podium/internal/admission"
)

// syncClaim brings one claim towards Bound; it returns when to look again.
func (c *Controller) syncClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim) (time.Duration, error) {
	if !metav1.HasAnnotation(claim.ObjectMeta, volume.AnnBindCompleted) {
		return c.syncUnbound(ctx, claim)
	}
	return 0, c.syncBound(ctx, claim)
}

// syncUnbound binds a claim that has not completed binding, or says why it waits.
func (c *Controller) syncUnbound(ctx context.Context, claim *corev1.PersistentVolumeClaim) (time.Duration, error) {
	if claim.Spec.VolumeName != "" {
		return c.syncRequested(ctx, claim)
	}
	delay, err := volume.IsDelayBindingMode(claim, c.classes)
	if err != nil {
		return resync, err
	}
	pv, err := c.bestMatch(claim, delay)
	if err != nil {
		return resync, fmt.Errorf("error finding PV for claim %q: %w", claim.Namespace+"/"+claim.Name, err)
	}
	if pv != nil {
		return 0, c.bind(ctx, pv, claim)
	}
	if updated, err := c.assignDefaultClass(ctx, claim); err != nil || updated {
		return 0, err // the update brings the claim back
	}
	class := volume.GetPersistentVolumeClaimClass(claim)
	switch {
	case delay && !volume.IsDelayBindingProvisioning(claim):
		reason, msg := "WaitForFirstConsumer", "waiting for first consumer to be created before binding"
		if pods := c.unscheduledPods(claim); len(pods) == 1 {
			reason, msg = "WaitForPodScheduled", "waiting for pod "+pods[0]+" to be scheduled"
		} else if len(pods) > 1 {
			reason, msg = "WaitForPodScheduled", "waiting for pods "+strings.Join(pods, ",")+" to be scheduled"
		}
		c.recorder.Event(claim, corev1.EventTypeNormal, reason, msg)
	case class != "":
		if err := c.provision(ctx, claim, class); err != nil {
			return resync, err
		}
	default:
		c.recorder.Event(claim, corev1.EventTypeNormal, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
	}
	_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
	return resync, err
}

// assignDefaultClass names the default class in a claim that names none and found no
// volume, as upstream does for claims made before a default class existed.
func (c *Controller) assignDefaultClass(ctx context.Context, claim *corev1.PersistentVolumeClaim) (bool, error) {
	if volume.PersistentVolumeClaimHasClass(claim) {
		return false, nil
	}
	classes, err := c.classes.List(labels.Everything())
	if err != nil {
		return false, err
	}
	def := admission.DefaultClass(classes)
	if def == nil {
		return false, nil
	}
	next := claim.DeepCopy()
	next.Spec.StorageClassName = &def.Name
	_, err = c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	return err == nil, err
}

// bestMatch returns the smallest Available volume that satisfies claim, or the volume
// pre-bound to it. Volumes are tried in name order so that two syncs on the same cache
// choose the same one.
func (c *Controller) bestMatch(claim *corev1.PersistentVolumeClaim, delay bool) (*corev1.PersistentVolume, error) {
	all, err := c.volumes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	candidates := make([]*corev1.PersistentVolume, 0, len(all))
	for _, pv := range all {
		if volume.CheckAccessModes(claim, pv) {
			candidates = append(candidates, pv)
		}
	}
	slices.SortFunc(candidates, func(a, b *corev1.PersistentVolume) int { return strings.Compare(a.Name, b.Name) })
	return volume.FindMatchingVolume(claim, candidates, nil, nil, delay, true)
}

// syncRequested binds a claim that names its volume.
func (c *Controller) syncRequested(ctx context.Context, claim *corev1.PersistentVolumeClaim) (time.Duration, error) {
	pv, err := c.volumes.Get(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
		return resync, err // it may be made later
	}
	if err != nil {
		return resync, err
	}
	switch {
	case pv.Spec.ClaimRef == nil:
		if err := satisfies(pv, claim); err != nil {
			c.recorder.Event(claim, corev1.EventTypeWarning, "VolumeMismatch", fmt.Sprintf("Cannot bind to requested volume %q: %s", pv.Name, err))
			_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
			return resync, err
		}
		return 0, c.bind(ctx, pv, claim)
	case volume.IsVolumeBoundToClaim(pv, claim):
		return 0, c.bind(ctx, pv, claim)
	default:
		c.recorder.Event(claim, corev1.EventTypeWarning, "FailedBinding", fmt.Sprintf("volume %q already bound to a different claim.", pv.Name))
		_, err = c.setClaimPhase(ctx, claim, corev1.ClaimPending, nil)
		return resync, err
	}
}

// satisfies says why pv cannot serve claim, as upstream's checkVolumeSatisfyClaim.
func satisfies(pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	want, have := claim.Spec.Resources.Requests[corev1.ResourceStorage], pv.Spec.Capacity[corev1.ResourceStorage]
	if have.Cmp(want) < 0 {
		return fmt.Errorf("requested PV is too small")
	}
	if volume.GetPersistentVolumeClass(pv) != volume.GetPersistentVolumeClaimClass(claim) {
		return fmt.Errorf("storageClassName does not match")
	}
	if volume.CheckVolumeModeMismatches(&claim.Spec, &pv.Spec) {
		return fmt.Errorf("incompatible volumeMode")
	}
	if !volume.CheckAccessModes(claim, pv) {
		return fmt.Errorf("incompatible accessMode")
	}
	return nil
}

// syncBound keeps a claim that was bound: Lost when its volume is gone or bound to
// another claim, the binding completed otherwise.
func (c *Controller) syncBound(ctx context.Context, claim *corev1.PersistentVolumeClaim) error {
	if claim.Spec.VolumeName == "" {
		return c.loseClaim(ctx, claim, "ClaimLost", "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
	}
	pv, err := c.volumes.Get(claim.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return c.loseClaim(ctx, claim, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
	}
	if err != nil {
		return err
	}
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID == claim.UID {
		return c.bind(ctx, pv, claim)
	}
	return c.loseClaim(ctx, claim, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly")
}

func (c *Controller) loseClaim(ctx context.Context, claim *corev1.PersistentVolumeClaim, reason, msg string) error {
	if claim.Status.Phase == corev1.ClaimLost {
		return nil
	}
	updated, err := c.setClaimPhase(ctx, claim, corev1.ClaimLost, nil)
	if err == nil {
		c.recorder.Event(updated, corev1.EventTypeWarning, reason, msg)
	}
	return err
}

// unscheduledPods names the unfinished pods without a node that use claim.
func (c *Controller) unscheduledPods(claim *corev1.PersistentVolumeClaim) []string {
	pods, err := c.pods.Pods(claim.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []string
	for _, pod := range pods {
		if pod.Spec.NodeName != "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if claimOf(pod, &v) == claim.Name {
				out = append(out, pod.Name)
				break
			}
		}
	}
	return out
}

// claimOf returns the name of the claim a pod's volume uses, "" for other volumes.
func claimOf(pod *corev1.Pod, v *corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return ephemeralvolume.VolumeClaimName(pod, v)
	}
	return ""
}

// provision hands claim to its class's provisioner: the storage-provisioner
// annotations, which the provisioner watches, and the ExternalProvisioning event.
func (c *Controller) provision(ctx context.Context, claim *corev1.PersistentVolumeClaim, className string) error {
	class, err := c.classes.Get(className)
	if apierrors.IsNotFound(err) {
		c.recorder.Event(claim, corev1.EventTypeWarning, "ProvisioningFailed", fmt.Sprintf("storageclass.storage.k8s.io %q not found", className))
		return nil
	}
	if err != nil {
		return err
	}
	if class.Provisioner == volume.NotSupportedProvisioner {
		c.recorder.Event(claim, corev1.EventTypeNormal, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
		return nil
	}
	if claim.Annotations[volume.AnnStorageProvisioner] != class.Provisioner || claim.Annotations[volume.AnnBetaStorageProvisioner] != class.Provisioner {
		next := claim.DeepCopy()
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, volume.AnnStorageProvisioner, class.Provisioner)
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, volume.AnnBetaStorageProvisioner, class.Provisioner)
		updated, err := c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		claim = updated
	}
	c.recorder.Event(claim, corev1.EventTypeNormal, "ExternalProvisioning", fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.", class.Provisioner))
	return nil
}

// bind saves the binding: the volume's claimRef, its phase Bound, the claim's
// volumeName and annotations, its phase Bound with the volume's capacity and access
// modes, in that order, as upstream. Each step is skipped when done already.
func (c *Controller) bind(ctx context.Context, pv *corev1.PersistentVolume, claim *corev1.PersistentVolumeClaim) error {
	next, dirty, err := volume.GetBindVolumeToClaim(pv, claim)
	if err != nil {
		return err
	}
	if dirty {
		if pv, err = c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	if pv, err = c.setVolumePhase(ctx, pv, corev1.VolumeBound, ""); err != nil {
		return err
	}
	if claim.Spec.VolumeName != pv.Name || !metav1.HasAnnotation(claim.ObjectMeta, volume.AnnBindCompleted) {
		nextClaim := claim.DeepCopy()
		if nextClaim.Spec.VolumeName != pv.Name {
			nextClaim.Spec.VolumeName = pv.Name
			metav1.SetMetaDataAnnotation(&nextClaim.ObjectMeta, volume.AnnBoundByController, "yes")
		}
		metav1.SetMetaDataAnnotation(&nextClaim.ObjectMeta, volume.AnnBindCompleted, "yes")
		if claim, err = c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).Update(ctx, nextClaim, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	_, err = c.setClaimPhase(ctx, claim, corev1.ClaimBound, pv)
	return err
}

// setClaimPhase writes a claim's phase, and its access modes and capacity from the
// volume it is bound to (none without one). The capacity (and the current volume
// attributes class) is set when the claim becomes Bound, not after: a later difference
// can be on purpose (an expansion, a modification).
func (c *Controller) setClaimPhase(ctx context.Context, claim *corev1.PersistentVolumeClaim, phase corev1.PersistentVolumeClaimPhase, pv *corev1.PersistentVolume) (*corev1.PersistentVolumeClaim, error) {
	next := claim.DeepCopy()
	next.Status.Phase = phase
	if pv == nil {
		next.Status.AccessModes, next.Status.Capacity = nil, nil
	} else {
		next.Status.AccessModes = pv.Spec.AccessModes
		if claim.Status.Phase != phase {
			next.Status.Capacity = pv.Spec.Capacity
			// The volume's attributes class is the claim's current one from binding
			// on; after that it is the resizer's to change.
			if pv.Spec.VolumeAttributesClassName != nil {
				next.Status.CurrentVolumeAttributesClassName = pv.Spec.VolumeAttributesClassName
			}
		}
	}
	if reflect.DeepEqual(next.Status, claim.Status) {
		return claim, nil
	}
	return c.client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
}

// setVolumePhase writes a volume's phase and message.
func (c *Controller) setVolumePhase(ctx context.Context, pv *corev1.PersistentVolume, phase corev1.PersistentVolumePhase, msg string) (*corev1.PersistentVolume, error) {
	if pv.Status.Phase == phase {
		return pv, nil
	}
	next := pv.DeepCopy()
	next.Status.Phase, next.Status.Message = phase, msg
	return c.client.CoreV1().PersistentVolumes().UpdateStatus(ctx, next, metav1.UpdateOptions{})
}
