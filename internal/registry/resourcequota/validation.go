package resourcequota

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
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

// quotaResources are the unprefixed names the quota system tracks (besides hugepages):
// the standard ones but bare storage.
var quotaResources = standardResources.Clone().Delete(corev1.ResourceStorage)

// integerResources are the standard resources counted in whole units.
var integerResources = sets.New(
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

// podCountAndCompute are the resources the pod scopes other than BestEffort apply to.
var podCountAndCompute = sets.New(
	corev1.ResourcePods,
	corev1.ResourceCPU, corev1.ResourceMemory,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
)

// conflictingScopes are the pairs of scopes no quota may have both of.
var conflictingScopes = [][2]corev1.ResourceQuotaScope{
	{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
	{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating},
}

// isQuotaResource reports whether quota tracks the unprefixed name.
func isQuotaResource(name corev1.ResourceName) bool {
	return quotaResources.Has(name) || resourcename.IsQuotaHugePages(name)
}

// scopeFits reports whether a quota with scope may limit resource.
func scopeFits(scope corev1.ResourceQuotaScope, resource corev1.ResourceName) bool {
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podCountAndCompute.Has(resource)
	case corev1.ResourceQuotaScopeBestEffort:
		return resource == corev1.ResourcePods
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return resource == corev1.ResourcePersistentVolumeClaims || resource == corev1.ResourceRequestsStorage
	default:
		return true
	}
}

func isStandardScope(scope corev1.ResourceQuotaScope) bool {
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeVolumeAttributesClass,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return true
	}
	return false
}

// validateResourceName checks a name a quota may limit or count, with upstream's
// messages: a qualified name, and unprefixed, one Kubernetes knows and one quota tracks.
// An unprefixed name that is neither gets both messages.
func validateResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	if len(errs) == 0 && !strings.Contains(string(name), "/") && !standardResources.Has(name) && !resourcename.IsQuotaHugePages(name) {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
	}
	if !strings.Contains(string(name), "/") && !isQuotaResource(name) {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for quota"))
	}
	return errs
}

// validateQuantity checks a quota's amount of resource name: not negative, and whole
// for the resources counted in units (object counts and extended resources).
func validateQuantity(name corev1.ResourceName, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(fldPath, q.String(), apivalidation.IsNegativeErrorMsg))
	}
	if (integerResources.Has(name) || resourcename.IsExtended(name)) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fldPath, q, "must be an integer"))
	}
	return errs
}

// validateResourceList checks every name and amount of list, in name order.
func validateResourceList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, name := range resourcename.Sorted(list) {
		p := fldPath.Key(string(name))
		errs = append(errs, validateResourceName(name, p)...)
		errs = append(errs, validateQuantity(name, list[name], p)...)
	}
	return errs
}

// validateSpec checks the hard limits, the scopes and the scope selector.
func validateSpec(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	errs := validateResourceList(spec.Hard, fldPath.Child("hard"))
	errs = append(errs, validateScopes(spec, fldPath.Child("scopes"))...)
	if spec.ScopeSelector != nil {
		errs = append(errs, validateScopeSelector(spec, fldPath.Child("scopeSelector", "matchExpressions"))...)
	}
	return errs
}

// unfitResources returns an error for every hard limit known to quota that scope does
// not apply to.
func unfitResources(scope corev1.ResourceQuotaScope, hard corev1.ResourceList, err func() *field.Error) field.ErrorList {
	var errs field.ErrorList
	for _, name := range resourcename.Sorted(hard) {
		if isQuotaResource(name) && !scopeFits(scope, name) {
			errs = append(errs, err())
		}
	}
	return errs
}

// conflicts returns an error for every pair of conflicting scopes in scopes.
func conflicts(scopes sets.Set[corev1.ResourceQuotaScope], err func() *field.Error) field.ErrorList {
	var errs field.ErrorList
	for _, pair := range conflictingScopes {
		if scopes.HasAll(pair[0], pair[1]) {
			errs = append(errs, err())
		}
	}
	return errs
}

// validateScopes reports, against the whole list as upstream does, unknown scopes,
// scopes that do not apply to a limited resource, and conflicting scopes.
func validateScopes(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[corev1.ResourceQuotaScope]()
	for _, scope := range spec.Scopes {
		if !isStandardScope(scope) {
			errs = append(errs, field.Invalid(fldPath, spec.Scopes, "unsupported scope"))
		}
		errs = append(errs, unfitResources(scope, spec.Hard, func() *field.Error {
			return field.Invalid(fldPath, spec.Scopes, "unsupported scope applied to resource")
		})...)
		seen.Insert(scope)
	}
	return append(errs, conflicts(seen, func() *field.Error {
		return field.Invalid(fldPath, spec.Scopes, "conflicting scopes")
	})...)
}

// validateScopeSelector checks each match expression's scope, operator and values.
// Its paths name no index, as upstream's do.
func validateScopeSelector(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[corev1.ResourceQuotaScope]()
	for _, req := range spec.ScopeSelector.MatchExpressions {
		if !isStandardScope(req.ScopeName) {
			errs = append(errs, field.Invalid(fldPath.Child("scopeName"), req.ScopeName, "unsupported scope"))
		}
		errs = append(errs, unfitResources(req.ScopeName, spec.Hard, func() *field.Error {
			return field.Invalid(fldPath, internalSelector(spec.ScopeSelector), "unsupported scope applied to resource")
		})...)
		switch req.ScopeName {
		case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
			corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
			corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
			if req.Operator != corev1.ScopeSelectorOpExists {
				errs = append(errs, field.Invalid(fldPath.Child("operator"), req.Operator,
					"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, "+
						"ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
			}
		}
		switch req.Operator {
		case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(fldPath.Child("values"),
					"must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
			}
		case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
			if len(req.Values) != 0 {
				errs = append(errs, field.Invalid(fldPath.Child("values"), req.Values,
					"must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
			}
		default:
			errs = append(errs, field.Invalid(fldPath.Child("operator"), req.Operator, "not a valid selector operator"))
		}
		seen.Insert(req.ScopeName)
	}
	// Upstream reports the conflict with spec.scopes as the value.
	return append(errs, conflicts(seen, func() *field.Error {
		return field.Invalid(fldPath, spec.Scopes, "conflicting scopes")
	})...)
}

// selectorValue and requirementValue are how upstream shows a scope selector in an
// error: it validates its internal type, whose fields have no JSON names.
type selectorValue struct{ MatchExpressions []requirementValue }

type requirementValue struct {
	ScopeName corev1.ResourceQuotaScope
	Operator  corev1.ScopeSelectorOperator
	Values    []string
}

func internalSelector(sel *corev1.ScopeSelector) *selectorValue {
	v := &selectorValue{}
	if sel.MatchExpressions != nil {
		v.MatchExpressions = make([]requirementValue, len(sel.MatchExpressions))
		for i, req := range sel.MatchExpressions {
			v.MatchExpressions[i] = requirementValue(req)
		}
	}
	return v
}

// validateStatus checks the names and amounts the quota controller recorded.
func validateStatus(status *corev1.ResourceQuotaStatus, fldPath *field.Path) field.ErrorList {
	errs := validateResourceList(status.Hard, fldPath.Child("hard"))
	return append(errs, validateResourceList(status.Used, fldPath.Child("used"))...)
}

// validateUpdate checks the new spec and that the set of scopes stays the same.
func validateUpdate(rq, old *corev1.ResourceQuota) field.ErrorList {
	errs := validateSpec(&rq.Spec, field.NewPath("spec"))
	if !sets.New(rq.Spec.Scopes...).Equal(sets.New(old.Spec.Scopes...)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "scopes"), rq.Spec.Scopes, apivalidation.FieldImmutableErrorMsg))
	}
	return errs
}

// validateStatusUpdate checks a status write. The resourceVersion the API server always
// fills in is required, as upstream requires it.
func validateStatusUpdate(rq *corev1.ResourceQuota) field.ErrorList {
	var errs field.ErrorList
	if rq.ResourceVersion == "" {
		errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
	}
	return append(errs, validateStatus(&rq.Status, field.NewPath("status"))...)
}

// warnedResources are the resources whose request cap CreateWarnings compares with the
// limit cap, in the order it reports them.
var warnedResources = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceStorage, corev1.ResourceEphemeralStorage,
}

// CreateWarnings returns upstream's warnings for a new quota: one for each of cpu,
// memory, storage and ephemeral-storage whose request cap ("requests.cpu", or bare "cpu"
// and "memory") is above its limit cap ("limits.cpu").
func CreateWarnings(rq *corev1.ResourceQuota) []string {
	var out []string
	for _, name := range warnedResources {
		reqName := corev1.DefaultResourceRequestsPrefix + name
		req, ok := rq.Spec.Hard[reqName]
		if !ok && (name == corev1.ResourceCPU || name == corev1.ResourceMemory) {
			if req, ok = rq.Spec.Hard[name]; ok {
				reqName = name
			}
		}
		limName := corev1.ResourceName("limits." + string(name))
		limit, limOK := rq.Spec.Hard[limName]
		if ok && limOK && req.Cmp(limit) > 0 {
			out = append(out, fmt.Sprintf("ResourceQuota %s (%s) should be less than %s (%s)", reqName, req.String(), limName, limit.String()))
		}
	}
	return out
}
