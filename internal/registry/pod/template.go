package pod

import (
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultTemplate gives a pod template upstream's defaults for a template's spec. These
// are fewer than a pod gets: the service account, priority, tolerations, requests
// copied from limits, host ports and enableServiceLinks are left for the pods made
// from the template to get when they are created.
func DefaultTemplate(t *corev1.PodTemplateSpec) {
	defaultSpec(&t.Spec)
}

// ValidateTemplate checks a pod template (of a PodTemplate, or later of a workload) as
// upstream does: its labels and annotations, and a spec a pod could run with; errors
// are under fldPath ("template").
func ValidateTemplate(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	meta := fldPath.Child("metadata")
	errs := metav1validation.ValidateLabels(t.Labels, meta.Child("labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, meta.Child("annotations"))...)
	errs = append(errs, validatePodAnnotations(t.Annotations, &t.Spec, meta.Child("annotations"), validationOptions{})...)
	errs = append(errs, validatePodSpec(&t.Spec, &t.ObjectMeta, validationOptions{template: true}, fldPath.Child("spec"))...)
	errs = append(errs, validateSecurityAnnotationsMatchFields(&t.ObjectMeta, &t.Spec, fldPath.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}
