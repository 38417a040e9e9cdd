package admission

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/component-helpers/storage/volume"
)

// ClaimResize is upstream's PersistentVolumeClaimResize plugin: a claim may ask for
// more storage only once it is bound, and only when its class (unchanged) allows
// volume expansion. Shrinking, and updates that leave the size alone, pass.
type ClaimResize struct {
	validateOnly
	// Class returns the StorageClass of that name, nil when there is none.
	Class func(name string) *storagev1.StorageClass
}

// ValidateCreate admits every claim.
func (ClaimResize) ValidateCreate(context.Context, runtime.Object) error { return nil }

// ValidateUpdate refuses growing a claim that may not grow.
func (r ClaimResize) ValidateUpdate(_ context.Context, obj, old runtime.Object) error {
	pvc, ok1 := obj.(*corev1.PersistentVolumeClaim)
	oldPVC, ok2 := old.(*corev1.PersistentVolumeClaim)
	if !ok1 || !ok2 {
		return nil
	}
	newSize, oldSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage], oldPVC.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) <= 0 {
		return nil
	}
	gr := schema.GroupResource{Resource: "persistentvolumeclaims"}
	if oldPVC.Status.Phase != corev1.ClaimBound {
		return apierrors.NewForbidden(gr, pvc.Name, errors.New("Only bound persistent volume claims can be expanded"))
	}
	class, oldClass := volume.GetPersistentVolumeClaimClass(pvc), volume.GetPersistentVolumeClaimClass(oldPVC)
	if class == "" || class != oldClass {
		return apierrors.NewForbidden(gr, pvc.Name, errNoResize)
	}
	if sc := r.Class(class); sc == nil || sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion {
		return apierrors.NewForbidden(gr, pvc.Name, errNoResize)
	}
	return nil
}

var errNoResize = errors.New("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")
