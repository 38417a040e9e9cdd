package persistentvolumeclaim

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	accessModes = []corev1.PersistentVolumeAccessMode{
		corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod,
	}
	volumeModes  = []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}
	resizeStates = []corev1.ClaimResourceStatus{
		corev1.PersistentVolumeClaimControllerResizeInfeasible,
		corev1.PersistentVolumeClaimControllerResizeInProgress,
		corev1.PersistentVolumeClaimNodeResizeInfeasible,
		corev1.PersistentVolumeClaimNodeResizeInProgress,
		corev1.PersistentVolumeClaimNodeResizePending,
	}
	modifyStates = []corev1.PersistentVolumeClaimModifyVolumeStatus{
		corev1.PersistentVolumeClaimModifyVolumeInProgress,
		corev1.PersistentVolumeClaimModifyVolumeInfeasible,
		corev1.PersistentVolumeClaimModifyVolumePending,
	}
)

// options relax checks for what a stored claim already has.
type options struct {
	allowInvalidLabelValue bool // the stored selector has invalid label values
	allowInvalidAPIGroup   bool // the stored data source names an API group
}

// optionsFor returns the options for writing over old, or for a create when old is nil.
func optionsFor(old *corev1.PersistentVolumeClaim) options {
	if old == nil {
		return options{}
	}
	var opts options
	if old.Spec.Selector != nil && len(metav1validation.ValidateLabelSelector(old.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
		opts.allowInvalidLabelValue = true
	}
	if (old.Spec.DataSource != nil && old.Spec.DataSource.APIGroup != nil) ||
		(old.Spec.DataSourceRef != nil && old.Spec.DataSourceRef.APIGroup != nil) {
		opts.allowInvalidAPIGroup = true
	}
	return opts
}

// syncDataSources copies dataSource into an unset dataSourceRef, or a dataSourceRef
// without a namespace into an unset dataSource.
func syncDataSources(spec *corev1.PersistentVolumeClaimSpec) {
	switch ds, ref := spec.DataSource, spec.DataSourceRef; {
	case ds != nil && ref == nil:
		spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: ds.APIGroup, Kind: ds.Kind, Name: ds.Name}
	case ds == nil && ref != nil && (ref.Namespace == nil || *ref.Namespace == ""):
		spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ref.APIGroup, Kind: ref.Kind, Name: ref.Name}
	}
}

// ValidateAccessModes checks that every mode is known and that ReadWriteOncePod is
// not combined with another mode. It does not require a mode.
func ValidateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rwop, other := false, false
	for _, mode := range modes {
		switch {
		case !slices.Contains(accessModes, mode):
			errs = append(errs, field.NotSupported(fldPath, mode, accessModes))
		case mode == corev1.ReadWriteOncePod:
			rwop = true
		default:
			other = true
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// ValidateVolumeMode checks a volume mode, when set.
func ValidateVolumeMode(mode *corev1.PersistentVolumeMode, fldPath *field.Path) field.ErrorList {
	if mode != nil && !slices.Contains(volumeModes, *mode) {
		return field.ErrorList{field.NotSupported(fldPath, *mode, volumeModes)}
	}
	return nil
}

// ValidateClassName checks a storage or volume attributes class name.
func ValidateClassName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apivalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

// ValidatePositiveQuantity requires q to be greater than zero.
func ValidatePositiveQuantity(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Sign() <= 0 {
		return field.ErrorList{field.Invalid(fldPath, q.String(), "must be greater than zero")}
	}
	return nil
}

// validateNonNegative rejects a negative quantity, as upstream's basic resource check.
func validateNonNegative(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Value() < 0 {
		return field.ErrorList{field.Invalid(fldPath, q.Value(), "must be a valid resource quantity")}
	}
	return nil
}

// validateSpec checks a claim's spec: access modes, selector, the storage request,
// the class names, the volume mode and the data sources.
func validateSpec(spec *corev1.PersistentVolumeClaimSpec, opts options, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValue}
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, selOpts, fldPath.Child("selector"))...)
	}
	errs = append(errs, ValidateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)

	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else {
		errs = append(errs, ValidatePositiveQuantity(q, storagePath)...)
	}
	if c := spec.StorageClassName; c != nil && *c != "" {
		errs = append(errs, ValidateClassName(*c, fldPath.Child("storageClassName"))...)
	}
	errs = append(errs, ValidateVolumeMode(spec.VolumeMode, fldPath.Child("volumeMode"))...)

	if ds := spec.DataSource; ds != nil {
		errs = append(errs, validateDataSource(ds.APIGroup, ds.Kind, ds.Name, opts, fldPath.Child("dataSource"))...)
	}
	if ref := spec.DataSourceRef; ref != nil {
		errs = append(errs, validateDataSource(ref.APIGroup, ref.Kind, ref.Name, opts, fldPath.Child("dataSourceRef"))...)
		if ns := ref.Namespace; ns != nil && *ns != "" {
			for _, msg := range apivalidation.ValidateNamespaceName(*ns, false) {
				errs = append(errs, field.Invalid(fldPath.Child("dataSourceRef", "namespace"), *ns, msg))
			}
		}
	}
	if ref := spec.DataSourceRef; ref != nil && ref.Namespace != nil && *ref.Namespace != "" {
		if spec.DataSource != nil {
			errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if ds := spec.DataSource; ds != nil && ref != nil {
		if !reflect.DeepEqual(ds.APIGroup, ref.APIGroup) || ds.Kind != ref.Kind || ds.Name != ref.Name {
			errs = append(errs, field.Invalid(fldPath, fldPath.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	if c := spec.VolumeAttributesClassName; c != nil && *c != "" {
		errs = append(errs, ValidateClassName(*c, fldPath.Child("volumeAttributesClassName"))...)
	}
	return errs
}

func validateDataSource(apiGroup *string, kind, name string, opts options, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	}
	group := ""
	if apiGroup != nil {
		group = *apiGroup
	}
	if group == "" && kind != "PersistentVolumeClaim" {
		errs = append(errs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if group != "" && !opts.allowInvalidAPIGroup {
		for _, msg := range validation.IsDNS1123Subdomain(group) {
			errs = append(errs, field.Invalid(fldPath.Child("apiGroup"), group, msg))
		}
	}
	return errs
}

// validateUpdate checks what may change in a stored claim: the volume name only while
// unset; the storage class only from unset (or from the beta annotation to the same
// value); the storage request only of a bound claim, and not below its status
// capacity; the volume attributes class, but not back to unset or empty. Nothing else
// in the spec may change.
func validateUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if old.Spec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}

	oldClass, oldHasAnn := old.Annotations[corev1.BetaStorageClassAnnotation]
	newAnn, newHasAnn := pvc.Annotations[corev1.BetaStorageClassAnnotation]
	fromAnnotation := oldHasAnn && old.Spec.StorageClassName == nil &&
		pvc.Spec.StorageClassName != nil && *pvc.Spec.StorageClassName == oldClass &&
		(!newHasAnn || newAnn == oldClass)
	if fromAnnotation {
		newSpec.StorageClassName = nil
	} else {
		if newAnn != oldClass {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations", corev1.BetaStorageClassAnnotation), newAnn, "field is immutable"))
		}
		if pvc.Spec.StorageClassName != nil && old.Spec.StorageClassName == nil &&
			(!oldHasAnn || *pvc.Spec.StorageClassName == oldClass) {
			newSpec.StorageClassName = nil
		}
	}

	if pvc.Status.Phase == corev1.ClaimBound && newSpec.Resources.Requests != nil {
		newSpec.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
	}
	newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName

	if !equality.Semantic.DeepEqual(newSpec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), fmt.Sprintf(
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v",
			cmp.Diff(*oldSpec, *newSpec))))
	}
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := old.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	errs = append(errs, apivalidation.ValidateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)

	if old.Spec.VolumeAttributesClassName != nil {
		vacPath := field.NewPath("spec", "volumeAttributesClassName")
		switch c := pvc.Spec.VolumeAttributesClassName; {
		case c == nil:
			errs = append(errs, field.Forbidden(vacPath, "update from non-nil value to nil is forbidden"))
		case *c == "" && *old.Spec.VolumeAttributesClassName != "":
			errs = append(errs, field.Forbidden(vacPath, "update from non-nil value to an empty string is forbidden"))
		}
	}
	return errs
}

// validateStatus checks the quantities and the resize and modify states a
// controller reports.
func validateStatus(status *corev1.PersistentVolumeClaimStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	capPath := fldPath.Child("capacity")
	for name, q := range status.Capacity {
		errs = append(errs, validateNonNegative(q, capPath.Key(string(name)))...)
	}
	resizePath := fldPath.Child("allocatedResourceStatus")
	for name, state := range status.AllocatedResourceStatuses {
		errs = append(errs, validateResourceKey(string(name), resizePath)...)
		if !slices.Contains(resizeStates, state) {
			errs = append(errs, field.NotSupported(resizePath, state, resizeStates))
		}
	}
	allocPath := fldPath.Child("allocatedResources")
	for name, q := range status.AllocatedResources {
		errs = append(errs, validateResourceKey(string(name), allocPath)...)
		errs = append(errs, validateNonNegative(q, allocPath.Key(string(name)))...)
	}
	if m := status.ModifyVolumeStatus; m != nil && !slices.Contains(modifyStates, m.Status) {
		errs = append(errs, field.NotSupported(fldPath.Child("modifyVolumeStatus", "status"), m.Status, modifyStates))
	}
	if c := status.CurrentVolumeAttributesClassName; c != nil && *c != "" {
		errs = append(errs, ValidateClassName(*c, fldPath.Child("currentVolumeAttributesClassName"))...)
	}
	return errs
}

// validateResourceKey requires a qualified name, and storage among the native
// (unprefixed or kubernetes.io) resource names.
func validateResourceKey(key string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(key) {
		errs = append(errs, field.Invalid(fldPath, key, msg))
	}
	native := !strings.Contains(key, "/") || strings.Contains(key, corev1.ResourceDefaultNamespacePrefix)
	if len(errs) == 0 && native && key != string(corev1.ResourceStorage) {
		errs = append(errs, field.NotSupported(fldPath, key, []string{string(corev1.ResourceStorage)}))
	}
	return errs
}
