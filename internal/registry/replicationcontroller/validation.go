package replicationcontroller

import (
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

// validateSpec checks a spec as upstream does: a non-empty selector that matches the
// template's labels, a non-negative replica count, and a template whose pods restart
// always and have no deadline.
func validateSpec(spec *corev1.ReplicationControllerSpec, fldPath *field.Path) field.ErrorList {
	errs := apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))
	selector := labels.Set(spec.Selector).AsSelector()
	if selector.Empty() {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	}
	if spec.Replicas == nil {
		errs = append(errs, field.Required(fldPath.Child("replicas"), ""))
	} else {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.Replicas), fldPath.Child("replicas"))...)
	}
	return append(errs, validateTemplate(spec.Template, selector, fldPath.Child("template"))...)
}

func validateTemplate(t *corev1.PodTemplateSpec, selector labels.Selector, fldPath *field.Path) field.ErrorList {
	if t == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	errs := registry.ValidateSelectorMatchesTemplate(selector, t.Labels, fldPath)
	errs = append(errs, pod.ValidateTemplate(t, fldPath)...)
	return append(errs, registry.ValidateLongRunningPodSpec(&t.Spec, "ReplicationController", fldPath.Child("spec"))...)
}

// validateStatus checks that no count is negative and that none of the ready,
// available and fully labeled counts exceeds the replicas (nor available the ready).
func validateStatus(status *corev1.ReplicationControllerStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, c := range []struct {
		name  string
		value int64
	}{
		{"replicas", int64(status.Replicas)},
		{"fullyLabeledReplicas", int64(status.FullyLabeledReplicas)},
		{"readyReplicas", int64(status.ReadyReplicas)},
		{"availableReplicas", int64(status.AvailableReplicas)},
		{"observedGeneration", status.ObservedGeneration},
	} {
		errs = append(errs, apivalidation.ValidateNonnegativeField(c.value, fldPath.Child(c.name))...)
	}
	const overReplicas = "cannot be greater than status.replicas"
	if status.FullyLabeledReplicas > status.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("fullyLabeledReplicas"), status.FullyLabeledReplicas, overReplicas))
	}
	if status.ReadyReplicas > status.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("readyReplicas"), status.ReadyReplicas, overReplicas))
	}
	if status.AvailableReplicas > status.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), status.AvailableReplicas, overReplicas))
	}
	if status.AvailableReplicas > status.ReadyReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), status.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}
