package persistentvolume

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/storage/volume"
)

// syncVolume keeps a volume's phase: Available while unclaimed (or pre-bound to a claim
// not yet bound), Bound while its claim is bound to it, Released (and reclaimed) once
// its claim is gone.
func (c *Controller) syncVolume(ctx context.Context, pv *corev1.PersistentVolume) error {
	ref := pv.Spec.ClaimRef
	if ref == nil || ref.UID == "" {
		_, err := c.setVolumePhase(ctx, pv, corev1.VolumeAvailable, "")
		return err
	}
	claim, err := c.claims.PersistentVolumeClaims(ref.Namespace).Get(ref.Name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if claim == nil || claim.UID != ref.UID {
		// The cache may not have the claim yet (a volume bound by the scheduler or
		// made by a provisioner): the API server has the last word before a volume
		// is given up.
		if pv.Status.Phase != corev1.VolumeReleased && pv.Status.Phase != corev1.VolumeFailed {
			fresh, err := c.client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
			switch {
			case err == nil && fresh.UID == ref.UID:
				claim = fresh
			case err != nil && !apierrors.IsNotFound(err):
				return err
			default:
				claim = nil
			}
		} else {
			claim = nil
		}
	}
	switch {
	case claim == nil:
		if pv, err = c.setVolumePhase(ctx, pv, corev1.VolumeReleased, ""); err != nil {
			return err
		}
		return c.reclaim(ctx, pv)
	case claim.Spec.VolumeName == "":
		if volume.CheckVolumeModeMismatches(&claim.Spec, &pv.Spec) {
			c.recorder.Event(pv, corev1.EventTypeWarning, "VolumeMismatch", fmt.Sprintf("Cannot bind PersistentVolume to requested PersistentVolumeClaim %q due to incompatible volumeMode.", claim.Name))
			c.recorder.Event(claim, corev1.EventTypeWarning, "VolumeMismatch", fmt.Sprintf("Cannot bind PersistentVolume %q to requested PersistentVolumeClaim due to incompatible volumeMode.", pv.Name))
			return nil
		}
		c.loop.Add(claimKey + claim.Namespace + "/" + claim.Name) // its sync completes the binding
		return nil
	case claim.Spec.VolumeName == pv.Name:
		_, err := c.setVolumePhase(ctx, pv, corev1.VolumeBound, "")
		return err
	case metav1.HasAnnotation(pv.ObjectMeta, volume.AnnDynamicallyProvisioned) && pv.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete:
		// Made for a claim that was bound elsewhere meanwhile: not needed.
		if pv, err = c.setVolumePhase(ctx, pv, corev1.VolumeReleased, ""); err != nil {
			return err
		}
		return c.reclaim(ctx, pv)
	default:
		return c.unbind(ctx, pv)
	}
}

// unbind undoes a volume's binding to a claim bound elsewhere: the claimRef the
// controller wrote goes, a user's pre-binding keeps its claim but not the UID.
func (c *Controller) unbind(ctx context.Context, pv *corev1.PersistentVolume) error {
	next := pv.DeepCopy()
	if metav1.HasAnnotation(pv.ObjectMeta, volume.AnnBoundByController) {
		next.Spec.ClaimRef = nil
		delete(next.Annotations, volume.AnnBoundByController)
	} else {
		next.Spec.ClaimRef.UID = ""
	}
	updated, err := c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	_, err = c.setVolumePhase(ctx, updated, corev1.VolumeAvailable, "")
	return err
}

// reclaim applies a Released volume's reclaim policy. Retain keeps it. Delete is the
// work of the provisioner that made it; a volume none made cannot be deleted by
// podium, which has no in-tree deleters, and fails as upstream's without a plugin.
func (c *Controller) reclaim(ctx context.Context, pv *corev1.PersistentVolume) error {
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimRetain:
		return nil
	case corev1.PersistentVolumeReclaimDelete:
		if pv.Annotations[volume.AnnDynamicallyProvisioned] != "" {
			return nil // the external deleter's
		}
		return c.failVolume(ctx, pv, "VolumeFailedDelete", fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", pv.Name))
	case corev1.PersistentVolumeReclaimRecycle:
		return c.failVolume(ctx, pv, "VolumeFailedRecycle", "No recycler plugin found for the volume!")
	default:
		return c.failVolume(ctx, pv, "VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy")
	}
}

func (c *Controller) failVolume(ctx context.Context, pv *corev1.PersistentVolume, reason, msg string) error {
	if pv.Status.Phase == corev1.VolumeFailed {
		return nil
	}
	updated, err := c.setVolumePhase(ctx, pv, corev1.VolumeFailed, msg)
	if err == nil {
		c.recorder.Event(updated, corev1.EventTypeWarning, reason, msg)
	}
	return err
}
