package admission

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podium/podium/internal/registry/storage"
)

// betaClassAnnotation names a claim's class the way before storageClassName.
const betaClassAnnotation = "volume.beta.kubernetes.io/storage-class"

// DefaultStorageClass is the admission of new claims, as upstream's
// DefaultStorageClass plugin: a claim that names no class (neither storageClassName nor
// the beta annotation; an empty name is a choice of none) gets the default one, the
// newest StorageClass marked default, the first by name of those made at once.
type DefaultStorageClass struct {
	// Classes returns the StorageClasses.
	Classes func() []*storagev1.StorageClass
}

// AdmitCreate names the default class in a claim that names none.
func (d DefaultStorageClass) AdmitCreate(_ context.Context, obj runtime.Object) error {
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.StorageClassName != nil {
		return nil
	}
	if _, ok := pvc.Annotations[betaClassAnnotation]; ok {
		return nil
	}
	if def := DefaultClass(d.Classes()); def != nil {
		name := def.Name
		pvc.Spec.StorageClassName = &name
	}
	return nil
}

// DefaultClass returns the default of classes: the newest marked default, the first by
// name of those made at once; nil when none is.
func DefaultClass(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var def *storagev1.StorageClass
	for _, sc := range classes {
		if !storage.IsDefaultClass(sc) {
			continue
		}
		if def == nil || sc.CreationTimestamp.After(def.CreationTimestamp.Time) ||
			sc.CreationTimestamp.Equal(&def.CreationTimestamp) && sc.Name < def.Name {
			def = sc
		}
	}
	return def
}

// AdmitUpdate admits every update.
func (DefaultStorageClass) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error {
	return nil
}
