package admission

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The finalizers that keep a claim or a volume while it is in use, as upstream's.
const (
	ClaimProtectionFinalizer  = "kubernetes.io/pvc-protection"
	VolumeProtectionFinalizer = "kubernetes.io/pv-protection"
)

// StorageInUseProtection is the admission of new claims and volumes, as upstream's
// StorageObjectInUseProtection plugin: each gets its protection finalizer, which the
// volume protection controller removes once nothing uses it.
type StorageInUseProtection struct{}

// AdmitCreate adds the finalizer.
func (StorageInUseProtection) AdmitCreate(_ context.Context, obj runtime.Object) error {
	switch o := obj.(type) {
	case *corev1.PersistentVolumeClaim:
		if !slices.Contains(o.Finalizers, ClaimProtectionFinalizer) {
			o.Finalizers = append(o.Finalizers, ClaimProtectionFinalizer)
		}
	case *corev1.PersistentVolume:
		if !slices.Contains(o.Finalizers, VolumeProtectionFinalizer) {
			o.Finalizers = append(o.Finalizers, VolumeProtectionFinalizer)
		}
	}
	return nil
}

// AdmitUpdate admits every update.
func (StorageInUseProtection) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error {
	return nil
}
