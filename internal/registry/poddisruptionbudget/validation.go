package poddisruptionbudget

import (
	"slices"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

// v1beta1Label is the key upstream uses to carry a policy/v1beta1 empty selector
// (which selected nothing) through its internal form. Clients may not select on it.
const v1beta1Label = "pdb.kubernetes.io/deprecated-v1beta1-empty-selector-match"

var evictionPolicies = []policyv1.UnhealthyPodEvictionPolicyType{policyv1.AlwaysAllow, policyv1.IfHealthyBudget}

// stripV1beta1Label removes requirements on v1beta1Label from a selector, unless the
// selector is exactly the one that stands for "select nothing" or "select all".
func stripV1beta1Label(sel *metav1.LabelSelector) {
	matchNone := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1Label, Operator: metav1.LabelSelectorOpExists}}}
	if sel == nil || equality.Semantic.DeepEqual(sel, matchNone) || equality.Semantic.DeepEqual(sel, &metav1.LabelSelector{}) {
		return
	}
	sel.MatchExpressions = slices.DeleteFunc(sel.MatchExpressions, func(r metav1.LabelSelectorRequirement) bool {
		return r.Key == v1beta1Label
	})
}

// validateSpec checks a spec: at most one of minAvailable and maxUnavailable, each a
// non-negative count or a percentage up to 100%, a valid selector and a known unhealthy
// pod eviction policy.
func validateSpec(spec *policyv1.PodDisruptionBudgetSpec, allowInvalidLabelValue bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(fldPath, *spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if v := spec.MinAvailable; v != nil {
		errs = append(errs, registry.ValidateIntOrPercent(*v, fldPath.Child("minAvailable"))...)
		errs = append(errs, registry.ValidateAtMost100Percent(*v, fldPath.Child("minAvailable"))...)
	}
	if v := spec.MaxUnavailable; v != nil {
		errs = append(errs, registry.ValidateIntOrPercent(*v, fldPath.Child("maxUnavailable"))...)
		errs = append(errs, registry.ValidateAtMost100Percent(*v, fldPath.Child("maxUnavailable"))...)
	}
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValue}
	errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, opts, fldPath.Child("selector"))...)
	if p := spec.UnhealthyPodEvictionPolicy; p != nil && !slices.Contains(evictionPolicies, *p) {
		errs = append(errs, field.NotSupported(fldPath.Child("unhealthyPodEvictionPolicy"), *p, evictionPolicies))
	}
	return errs
}

// invalidSelector reports whether a stored selector fails today's checks.
func invalidSelector(sel *metav1.LabelSelector) bool {
	return sel != nil && len(metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
}

// validateStatus checks the conditions and that no count is negative.
func validateStatus(status *policyv1.PodDisruptionBudgetStatus, fldPath *field.Path) field.ErrorList {
	errs := metav1validation.ValidateConditions(status.Conditions, fldPath.Child("conditions"))
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(status.DisruptionsAllowed), fldPath.Child("disruptionsAllowed"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(status.CurrentHealthy), fldPath.Child("currentHealthy"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(status.DesiredHealthy), fldPath.Child("desiredHealthy"))...)
	return append(errs, apivalidation.ValidateNonnegativeField(int64(status.ExpectedPods), fldPath.Child("expectedPods"))...)
}
