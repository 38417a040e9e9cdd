package limitrange

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/resourcename"
)

// standardResources are the unprefixed resource names Kubernetes knows (besides the
// hugepages ones).
var standardResources = sets.New(
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceStorage, corev1.ResourceRequestsStorage,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

func prefixed[T ~string](name T) bool { return strings.Contains(string(name), "/") }

// overcommitAllowed reports whether a request may be below the limit for name: native
// resources but hugepages.
func overcommitAllowed(name corev1.ResourceName) bool {
	return resourcename.IsNative(name) && !resourcename.IsHugePages(name)
}

// validateType requires a qualified type name, and unprefixed, Pod, Container or
// PersistentVolumeClaim.
func validateType(t corev1.LimitType, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsQualifiedName(string(t)) {
		errs = append(errs, field.Invalid(fldPath, t, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	switch {
	case prefixed(t), t == corev1.LimitTypePod, t == corev1.LimitTypeContainer, t == corev1.LimitTypePersistentVolumeClaim:
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, t, "must be a standard limit type or fully qualified")}
}

// validateResourceName checks a name a range bounds: a qualified name, one Kubernetes
// knows when unprefixed; for Pod and Container items also a container's resource
// (cpu, memory, ephemeral-storage, hugepages) or a well-formed extended resource.
func validateResourceName(t corev1.LimitType, name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	if len(errs) == 0 && !prefixed(name) && !standardResources.Has(name) &&
		!resourcename.IsHugePages(name) && !strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix) {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
	}
	if t != corev1.LimitTypePod && t != corev1.LimitTypeContainer {
		return errs
	}
	switch {
	case !prefixed(name):
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage && !resourcename.IsHugePages(name) {
			errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
	case !resourcename.IsNative(name) && !resourcename.IsExtended(name):
		errs = append(errs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// validateSpec checks every item of the range.
func validateSpec(spec *corev1.LimitRangeSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[corev1.LimitType]()
	for i := range spec.Limits {
		item := &spec.Limits[i]
		p := fldPath.Index(i)
		errs = append(errs, validateType(item.Type, p.Child("type"))...)
		if seen.Has(item.Type) {
			errs = append(errs, field.Duplicate(p.Child("type"), item.Type))
		}
		seen.Insert(item.Type)
		errs = append(errs, validateItem(item, p)...)
	}
	return errs
}

// validateItem checks one item's resource names and the order of its bounds. Upstream
// does not check that quantities are non-negative.
func validateItem(item *corev1.LimitRangeItem, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[corev1.ResourceName]()
	checkNames := func(list corev1.ResourceList, child string) {
		for _, name := range resourcename.Sorted(list) {
			errs = append(errs, validateResourceName(item.Type, name, fldPath.Child(child).Key(string(name)))...)
			names.Insert(name)
		}
	}
	checkNames(item.Max, "max")
	checkNames(item.Min, "min")
	if item.Type == corev1.LimitTypePod {
		if len(item.Default) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("default"), "may not be specified when `type` is 'Pod'"))
		}
		if len(item.DefaultRequest) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
		}
	} else {
		checkNames(item.Default, "default")
		checkNames(item.DefaultRequest, "defaultRequest")
	}
	if item.Type == corev1.LimitTypePersistentVolumeClaim {
		_, hasMin := item.Min[corev1.ResourceStorage]
		_, hasMax := item.Max[corev1.ResourceStorage]
		if !hasMin && !hasMax {
			errs = append(errs, field.Required(fldPath.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
		}
	}
	checkNames(item.MaxLimitRequestRatio, "maxLimitRequestRatio")

	// A Pod item's defaults are reported above and not compared.
	defaults, defaultRequests := item.Default, item.DefaultRequest
	if item.Type == corev1.LimitTypePod {
		defaults, defaultRequests = nil, nil
	}
	for _, name := range sets.List(names) {
		errs = append(errs, validateBounds(name, bounds{
			min: lookup(item.Min, name), max: lookup(item.Max, name),
			def: lookup(defaults, name), defReq: lookup(defaultRequests, name),
			ratio: lookup(item.MaxLimitRequestRatio, name),
		}, fldPath)...)
	}
	return errs
}

// bounds are one resource's quantities in an item; nil where the item has none.
type bounds struct {
	min, max, def, defReq, ratio *resource.Quantity
}

func lookup(list corev1.ResourceList, name corev1.ResourceName) *resource.Quantity {
	q, ok := list[name]
	if !ok {
		return nil
	}
	return &q
}

// validateBounds requires min <= defaultRequest <= default <= max (and min <= max), a
// ratio of at least 1 and at most max/min, and a default request equal to the default
// limit for resources that cannot be overcommitted. Messages, paths and values are
// upstream's.
func validateBounds(name corev1.ResourceName, b bounds, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	key := func(child string) *field.Path { return fldPath.Child(child).Key(string(name)) }
	above := func(a, b *resource.Quantity) bool { return a != nil && b != nil && a.Cmp(*b) > 0 }
	if above(b.min, b.max) {
		errs = append(errs, field.Invalid(key("min"), *b.min, fmt.Sprintf("min value %s is greater than max value %s", b.min, b.max)))
	}
	if above(b.min, b.defReq) {
		errs = append(errs, field.Invalid(key("defaultRequest"), *b.defReq, fmt.Sprintf("min value %s is greater than default request value %s", b.min, b.defReq)))
	}
	if above(b.defReq, b.max) {
		errs = append(errs, field.Invalid(key("defaultRequest"), *b.defReq, fmt.Sprintf("default request value %s is greater than max value %s", b.defReq, b.max)))
	}
	if above(b.defReq, b.def) {
		errs = append(errs, field.Invalid(key("defaultRequest"), *b.defReq, fmt.Sprintf("default request value %s is greater than default limit value %s", b.defReq, b.def)))
	}
	if above(b.min, b.def) {
		errs = append(errs, field.Invalid(key("default"), *b.min, fmt.Sprintf("min value %s is greater than default value %s", b.min, b.def)))
	}
	if above(b.def, b.max) {
		errs = append(errs, field.Invalid(key("default"), *b.max, fmt.Sprintf("default value %s is greater than max value %s", b.def, b.max)))
	}
	if b.ratio != nil && b.ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
		errs = append(errs, field.Invalid(key("maxLimitRequestRatio"), *b.ratio, fmt.Sprintf("ratio %s is less than 1", b.ratio)))
	}
	if b.ratio != nil && b.min != nil && b.max != nil {
		if ratio, limit := ratios(*b.ratio, *b.min, *b.max); ratio > limit {
			errs = append(errs, field.Invalid(key("maxLimitRequestRatio"), *b.ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", b.ratio, limit)))
		}
	}
	if !overcommitAllowed(name) && b.def != nil && b.defReq != nil && b.def.Cmp(*b.defReq) != 0 {
		errs = append(errs, field.Invalid(key("defaultRequest"), *b.defReq, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", b.def, b.defReq, name)))
	}
	return errs
}

// ratios returns the ratio and max/min as floats, in milli-units when all three fit
// and in whole units otherwise, as upstream computes them. A zero min gives an infinite
// (or, with a zero max, undefined) max/min that no ratio exceeds.
func ratios(ratio, min, max resource.Quantity) (float64, float64) {
	r, lo, hi := float64(ratio.Value()), min.Value(), max.Value()
	if ratio.Value() < resource.MaxMilliValue && lo < resource.MaxMilliValue && hi < resource.MaxMilliValue {
		r, lo, hi = float64(ratio.MilliValue())/1000, min.MilliValue(), max.MilliValue()
	}
	return r, float64(hi) / float64(lo)
}
