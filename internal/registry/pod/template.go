package pod

import (
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultTemplate gives a pod template the defaults a pod made from it would get.
func DefaultTemplate(t *corev1.PodTemplateSpec) {
	pod := &corev1.Pod{ObjectMeta: t.ObjectMeta, Spec: t.Spec}
	setDefaults(pod)
	t.Spec = pod.Spec
}

// ValidateTemplate checks a pod template (of a PodTemplate, or later of a workload) as
// upstream does: its labels and annotations, and a spec a pod could run with; errors
// are under fldPath ("template").
func ValidateTemplate(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	meta := fldPath.Child("metadata")
	errs := metav1validation.ValidateLabels(t.Labels, meta.Child("labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, meta.Child("annotations"))...)
	errs = append(errs, validatePodAnnotations(t.Annotations, &t.Spec, meta.Child("annotations"), validationOptions{})...)
	errs = append(errs, validatePodSpec(&t.Spec, &t.ObjectMeta, validationOptions{}, fldPath.Child("spec"))...)
	errs = append(errs, validateSecurityAnnotationsMatchFields(&t.ObjectMeta, &t.Spec, fldPath.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}
