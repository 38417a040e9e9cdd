package persistentvolumeclaim

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the PersistentVolumeClaim strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:      "v1",
		Kind:         "PersistentVolumeClaim",
		ListKind:     "PersistentVolumeClaimList",
		Resource:     "persistentvolumeclaims",
		Singular:     "persistentvolumeclaim",
		ShortNames:   []string{"pvc"},
		Namespaced:   true,
		Subresources: []string{"status"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.PersistentVolumeClaim{} }
func (*strategy) NewList() runtime.Object { return &corev1.PersistentVolumeClaimList{} }

// ValidateName only requires a name usable as a URL path segment, as upstream does
// for claims and volumes.
func (*strategy) ValidateName(name string, prefix bool) []string {
	if prefix {
		return content.IsPathSegmentPrefix(name)
	}
	return content.IsPathSegmentName(name)
}

// PrepareForCreate clears the status and fills whichever of dataSource and
// dataSourceRef the client left out from the other, as upstream does for clients that
// know only one of them.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	pvc.Status = corev1.PersistentVolumeClaimStatus{}
	syncDataSources(&pvc.Spec)
}

// PrepareForUpdate keeps the stored status. Claims carry no generation, as upstream's.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	obj.(*corev1.PersistentVolumeClaim).Status = old.(*corev1.PersistentVolumeClaim).Status
}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*corev1.PersistentVolumeClaim).Spec = old.(*corev1.PersistentVolumeClaim).Spec
}

// Default sets a Filesystem volume mode and a Pending phase when they are unset, and
// rounds quantities up to whole milli-units, as upstream does for every resource list.
func (*strategy) Default(obj runtime.Object) {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	for _, list := range []corev1.ResourceList{
		pvc.Spec.Resources.Requests, pvc.Spec.Resources.Limits, pvc.Status.Capacity, pvc.Status.AllocatedResources,
	} {
		for name, q := range list {
			q.RoundUp(resource.Milli)
			list[name] = q
		}
	}
	if pvc.Spec.VolumeMode == nil {
		pvc.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
	}
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	return validateSpec(&pvc.Spec, optionsFor(nil), field.NewPath("spec"))
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	pvc, oldPVC := obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim)
	errs := validateSpec(&pvc.Spec, optionsFor(oldPVC), field.NewPath("spec"))
	return append(errs, validateUpdate(pvc, oldPVC)...)
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatus(&obj.(*corev1.PersistentVolumeClaim).Status, field.NewPath("status"))
}

// Fields adds "name", which upstream keeps selectable for compatibility.
func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, true)
	set["name"] = set["metadata.name"]
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	spec := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Status", Type: "string", Description: status["phase"]},
		{Name: "Volume", Type: "string", Description: spec["volumeName"]},
		{Name: "Capacity", Type: "string", Description: status["capacity"]},
		{Name: "Access Modes", Type: "string", Description: status["accessModes"]},
		{Name: "StorageClass", Type: "string", Description: "StorageClass of the pvc"},
		{Name: "VolumeAttributesClass", Type: "string", Description: status["currentVolumeAttributesClassName"]},
		registry.AgeColumn(),
		{Name: "VolumeMode", Type: "string", Priority: 1, Description: spec["volumeMode"]},
	}
}

// Row shows the capacity and access modes of the bound volume (from the status) only
// once the claim names a volume, and "<unset>" for an unset volume mode or class.
func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		modes = AccessModesString(pvc.Status.AccessModes)
		q := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity = q.String()
	}
	volumeMode, vac := "<unset>", "<unset>"
	if pvc.Spec.VolumeMode != nil {
		volumeMode = string(*pvc.Spec.VolumeMode)
	}
	if c := pvc.Spec.VolumeAttributesClassName; c != nil && *c != "" {
		vac = *c
	}
	return []interface{}{
		pvc.Name,
		phase,
		pvc.Spec.VolumeName,
		capacity,
		modes,
		storageClass(pvc),
		vac,
		registry.Since(pvc.CreationTimestamp.Time, now),
		volumeMode,
	}
}

// storageClass returns the claim's class: the beta annotation when present, else
// spec.storageClassName.
func storageClass(pvc *corev1.PersistentVolumeClaim) string {
	if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		return c
	}
	return ptr.Deref(pvc.Spec.StorageClassName, "")
}

// AccessModesString renders access modes as kubectl does: the abbreviations RWO, ROX,
// RWX and RWOP, each once, in that order, joined by commas.
func AccessModesString(modes []corev1.PersistentVolumeAccessMode) string {
	var out string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"},
		{corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"},
		{corev1.ReadWriteOncePod, "RWOP"},
	} {
		for _, have := range modes {
			if have == m.mode {
				if out != "" {
					out += ","
				}
				out += m.short
				break
			}
		}
	}
	return out
}
