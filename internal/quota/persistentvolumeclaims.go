package quota

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/admission"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// pvcCountName counts every stored claim.
var pvcCountName = generic.ObjectCountQuotaResourceNameFor(pvcsResource.GroupResource())

// pvcResourceNames are the quota names claims use that a storage class may qualify.
var pvcResourceNames = []corev1.ResourceName{
	corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceRequestsStorage,
}

// storageClassInfix joins a storage class and a name of pvcResourceNames into the
// quota name of that resource for claims of the class, as
// gold.storageclass.storage.k8s.io/requests.storage.
const storageClassInfix = ".storageclass.storage.k8s.io/"

// ByStorageClass returns the quota name of name for the claims of storageClass.
func ByStorageClass(storageClass string, name corev1.ResourceName) corev1.ResourceName {
	return corev1.ResourceName(storageClass + storageClassInfix + string(name))
}

// pvcEvaluator measures what persistent volume claims use.
type pvcEvaluator struct {
	list generic.ListFuncByNamespace
}

var _ quotav1.Evaluator = (*pvcEvaluator)(nil)

// NewPersistentVolumeClaimEvaluator returns the evaluator of core/v1 persistent volume
// claims, listing them through list.
func NewPersistentVolumeClaimEvaluator(list ListFunc) quotav1.Evaluator {
	return &pvcEvaluator{list: byNamespace(list, pvcsResource)}
}

// GroupResource returns persistentvolumeclaims.
func (e *pvcEvaluator) GroupResource() schema.GroupResource {
	return pvcsResource.GroupResource()
}

// Constraints requires nothing of a claim.
func (e *pvcEvaluator) Constraints([]corev1.ResourceName, runtime.Object) error {
	return nil
}

// Handles reports true for creates and updates of the claim, and for every update of
// its status (upstream means to handle only those that change the allocated storage
// or the volume attributes classes, but compares the allocated storage by the
// addresses of fresh copies, which always differ).
func (e *pvcEvaluator) Handles(a admission.Attributes) bool {
	op := a.GetOperation()
	switch a.GetSubresource() {
	case "":
		return op == admission.Create || op == admission.Update
	case "status":
		_, err1 := asPVC(a.GetObject())
		_, err2 := asPVC(a.GetOldObject())
		return err1 == nil && err2 == nil
	default:
		return false
	}
}

// Matches reports whether resourceQuota limits a resource claims use and item is in
// all its scopes.
func (e *pvcEvaluator) Matches(resourceQuota *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(resourceQuota, item, e.MatchingResources, pvcMatchesScope)
}

// MatchingResources returns the names of input that claims use, also those qualified
// by any storage class.
func (e *pvcEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	result := []corev1.ResourceName{}
	for _, name := range input {
		if name == pvcCountName || quotav1.Contains(pvcResourceNames, name) {
			result = append(result, name)
			continue
		}
		for _, r := range pvcResourceNames {
			if strings.HasSuffix(string(name), storageClassInfix+string(r)) {
				result = append(result, name)
				break
			}
		}
	}
	return result
}

// MatchingScopes returns the selectors item matches.
func (e *pvcEvaluator) MatchingScopes(item runtime.Object, selectors []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return matchingScopes(item, selectors, pvcMatchesScope)
}

// UncoveredQuotaScopes returns the limited scopes that no matched quota scope names.
func (e *pvcEvaluator) UncoveredQuotaScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return uncoveredScopes(limited, matched), nil
}

// Usage returns what item uses: one claim, and the storage it requests or, when more,
// the storage allocated to it (status.allocatedResources), rounded up to whole bytes;
// both also under the names qualified by its storage class, if it has one.
func (e *pvcEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	pvc, err := asPVC(item)
	if err != nil {
		return corev1.ResourceList{}, err
	}
	one := *resource.NewQuantity(1, resource.DecimalSI)
	usage := corev1.ResourceList{
		corev1.ResourcePersistentVolumeClaims: one,
		pvcCountName:                          one,
	}
	class := storagehelpers.GetPersistentVolumeClaimClass(pvc)
	if class != "" {
		usage[ByStorageClass(class, corev1.ResourcePersistentVolumeClaims)] = one
	}
	if storage, ok := pvcStorage(pvc); ok {
		usage[corev1.ResourceRequestsStorage] = storage
		if class != "" {
			usage[ByStorageClass(class, corev1.ResourceRequestsStorage)] = storage
		}
	}
	return usage, nil
}

// UsageStats sums the usage of the claims of options.Namespace in options' scopes.
func (e *pvcEvaluator) UsageStats(options quotav1.UsageStatsOptions) (quotav1.UsageStats, error) {
	return generic.CalculateUsageStats(options, e.list, pvcMatchesScope, e.Usage)
}

// pvcStorage returns the storage pvc is charged: the greater of its request and its
// allocated storage, in whole bytes; nothing if it requests none.
func pvcStorage(pvc *corev1.PersistentVolumeClaim) (resource.Quantity, bool) {
	requested, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return resource.Quantity{}, false
	}
	storage := requested.DeepCopy()
	if allocated, ok := pvc.Status.AllocatedResources[corev1.ResourceStorage]; ok && allocated.Cmp(storage) > 0 {
		storage = allocated.DeepCopy()
	}
	storage.RoundUp(0)
	return storage, true
}

// pvcMatchesScope reports whether the claim obj is in the scope of s; claims have the
// VolumeAttributesClass scope only.
func pvcMatchesScope(s corev1.ScopedResourceSelectorRequirement, obj runtime.Object) (bool, error) {
	pvc, err := asPVC(obj)
	if err != nil {
		return false, err
	}
	if s.ScopeName != corev1.ResourceQuotaScopeVolumeAttributesClass {
		return false, nil
	}
	names := volumeAttributesClasses(pvc)
	if s.Operator == corev1.ScopeSelectorOpExists {
		return names.Len() != 0, nil
	}
	return scopeSelectorMatches(s, sets.List(names))
}

// volumeAttributesClasses returns the volume attributes classes pvc names: the one
// it asks for, the one its volume has, and the one a modification is moving to.
func volumeAttributesClasses(pvc *corev1.PersistentVolumeClaim) sets.Set[string] {
	names := sets.New[string]()
	if n := pvc.Spec.VolumeAttributesClassName; n != nil && *n != "" {
		names.Insert(*n)
	}
	if n := pvc.Status.CurrentVolumeAttributesClassName; n != nil && *n != "" {
		names.Insert(*n)
	}
	if m := pvc.Status.ModifyVolumeStatus; m != nil && m.TargetVolumeAttributesClassName != "" {
		names.Insert(m.TargetVolumeAttributesClassName)
	}
	return names
}

// asPVC returns obj as a persistent volume claim.
func asPVC(obj runtime.Object) (*corev1.PersistentVolumeClaim, error) {
	if pvc, ok := obj.(*corev1.PersistentVolumeClaim); ok && pvc != nil {
		return pvc, nil
	}
	return nil, unsupported("*v1.PersistentVolumeClaim", obj)
}
