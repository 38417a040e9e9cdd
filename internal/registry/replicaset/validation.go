package replicaset

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

// validateSpec checks a ReplicaSet's spec as upstream does. Upstream's message for an
// empty selector names deployments here too.
func validateSpec(spec *appsv1.ReplicaSetSpec, fldPath *field.Path) field.ErrorList {
	errs := apivalidation.ValidateNonnegativeField(int64(ptr.Deref(spec.Replicas, 0)), fldPath.Child("replicas"))
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	errs = append(errs, registry.ValidateWorkloadSelector(spec.Selector, "deployment", fldPath.Child("selector"))...)
	return append(errs, ValidateSelectorAndTemplate(spec.Selector, &spec.Template, fldPath)...)
}

// ValidateSelectorAndTemplate checks the template under specPath against the selector
// (whose own problems ValidateWorkloadSelector reports): a selector that does not
// convert is reported at specPath.selector and the template is then left unchecked.
func ValidateSelectorAndTemplate(sel *metav1.LabelSelector, t *corev1.PodTemplateSpec, specPath *field.Path) field.ErrorList {
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return field.ErrorList{field.Invalid(specPath.Child("selector"), sel, "invalid label selector")}
	}
	return ValidateTemplate(t, selector, specPath.Child("template"))
}

// ValidateTemplate checks the pod template of a ReplicaSet or Deployment at fldPath:
// the selector must select its pods, which must be valid pods that always restart
// and have no deadline.
func ValidateTemplate(t *corev1.PodTemplateSpec, selector labels.Selector, fldPath *field.Path) field.ErrorList {
	errs := registry.ValidateSelectorMatchesTemplate(selector, t.Labels, fldPath)
	errs = append(errs, pod.ValidateTemplate(t, fldPath)...)
	return append(errs, registry.ValidateLongRunningPodSpec(&t.Spec, "ReplicaSet", fldPath.Child("spec"))...)
}

// validateStatus checks that no count is negative and that the labelled, ready and
// available counts stay within the replicas (and available within ready).
func validateStatus(status *appsv1.ReplicaSetStatus, fldPath *field.Path) field.ErrorList {
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
	if status.TerminatingReplicas != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*status.TerminatingReplicas), fldPath.Child("terminatingReplicas"))...)
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
