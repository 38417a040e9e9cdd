package daemonset

import (
	appsv1 "k8s.io/api/apps/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

// validateTemplateGeneration reports a template generation annotation that is not an
// integer, which upstream cannot read into its spec.templateGeneration.
func validateTemplateGeneration(ds *appsv1.DaemonSet) field.ErrorList {
	if _, ok := templateGeneration(ds); ok {
		return nil
	}
	p := field.NewPath("metadata", "annotations").Key(appsv1.DeprecatedTemplateGeneration)
	return field.ErrorList{field.Invalid(p, ds.Annotations[appsv1.DeprecatedTemplateGeneration], "must be an integer")}
}

// validateSpec checks a DaemonSet's spec as upstream does. Unlike the other workloads',
// a missing selector is reported only as one that does not match the template.
// allowInvalidLabelValues relaxes the selector's label values.
func validateSpec(spec *appsv1.DaemonSetSpec, fldPath *field.Path, allowInvalidLabelValues bool) field.ErrorList {
	selectorPath, templatePath := fldPath.Child("selector"), fldPath.Child("template")
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValues}
	errs := metav1validation.ValidateLabelSelector(spec.Selector, opts, selectorPath)
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil {
		errs = append(errs, registry.ValidateSelectorMatchesTemplate(selector, spec.Template.Labels, templatePath)...)
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(selectorPath, spec.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, pod.ValidateTemplate(&spec.Template, templatePath)...)
	errs = append(errs, registry.ValidateLongRunningPodSpec(&spec.Template.Spec, "DaemonSet", templatePath.Child("spec"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	errs = append(errs, validateUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	return errs
}

func validateUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	}
	return field.ErrorList{field.NotSupported(fldPath, s, []appsv1.DaemonSetUpdateStrategyType{
		appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType})}
}

// validateRollingUpdate checks the unavailable and surge counts: integers or
// percentages, at most 100%, and exactly one of them not zero.
func validateRollingUpdate(ru *appsv1.RollingUpdateDaemonSet, fldPath *field.Path) field.ErrorList {
	maxUnavailable := ptr.Deref(ru.MaxUnavailable, intstr.IntOrString{})
	maxSurge := ptr.Deref(ru.MaxSurge, intstr.IntOrString{})
	unavailablePath, surgePath := fldPath.Child("maxUnavailable"), fldPath.Child("maxSurge")
	errs := registry.ValidateIntOrPercent(maxUnavailable, unavailablePath)
	errs = append(errs, registry.ValidateIntOrPercent(maxSurge, surgePath)...)
	errs = append(errs, registry.ValidateAtMost100Percent(maxUnavailable, unavailablePath)...)
	errs = append(errs, registry.ValidateAtMost100Percent(maxSurge, surgePath)...)
	hasUnavailable := registry.IntOrPercentValue(maxUnavailable) != 0
	hasSurge := registry.IntOrPercentValue(maxSurge) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(surgePath, maxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(unavailablePath, "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

// validateStatus checks that no count is negative.
func validateStatus(status *appsv1.DaemonSetStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, c := range []struct {
		name  string
		value int64
	}{
		{"currentNumberScheduled", int64(status.CurrentNumberScheduled)},
		{"numberMisscheduled", int64(status.NumberMisscheduled)},
		{"desiredNumberScheduled", int64(status.DesiredNumberScheduled)},
		{"numberReady", int64(status.NumberReady)},
		{"observedGeneration", status.ObservedGeneration},
		{"updatedNumberScheduled", int64(status.UpdatedNumberScheduled)},
		{"numberAvailable", int64(status.NumberAvailable)},
		{"numberUnavailable", int64(status.NumberUnavailable)},
	} {
		errs = append(errs, apivalidation.ValidateNonnegativeField(c.value, fldPath.Child(c.name))...)
	}
	if status.CollisionCount != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*status.CollisionCount), fldPath.Child("collisionCount"))...)
	}
	return errs
}
