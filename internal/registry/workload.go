package registry

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Checks shared by the workload resources, which run pods from a template and find
// them by a label selector. Field paths and messages are upstream's.

// ValidateWorkloadSelector checks a workload's spec.selector at fldPath: it is
// required, its label values must be valid, and it must select something. kind names
// the resource in the message for an empty selector, as upstream words it
// ("deployment", "statefulset").
func ValidateWorkloadSelector(sel *metav1.LabelSelector, kind string, fldPath *field.Path) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(fldPath, sel, "empty selector is invalid for "+kind))
	}
	return errs
}

// ValidateSelectorMatchesTemplate reports, at the template's metadata.labels, a
// selector that would not select the pods made from a template with templateLabels.
// A selector that selects everything matches any template; the selector of a nil
// spec.selector (labels.Nothing) matches none.
func ValidateSelectorMatchesTemplate(selector labels.Selector, templateLabels map[string]string, templatePath *field.Path) field.ErrorList {
	if selector.Empty() || selector.Matches(labels.Set(templateLabels)) {
		return nil
	}
	return field.ErrorList{field.Invalid(templatePath.Child("metadata", "labels"), templateLabels, "`selector` does not match template `labels`")}
}

// ValidateLongRunningPodSpec checks what a controller that keeps its pods running
// asks of its template's spec (at specPath): the restart policy is Always and there
// is no active deadline. kind names the controller in the deadline's message, as
// upstream words it ("ReplicaSet", "DaemonSet").
func ValidateLongRunningPodSpec(spec *corev1.PodSpec, kind string, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(specPath.Child("restartPolicy"), spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(specPath.Child("activeDeadlineSeconds"), "activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

// ValidateIntOrPercent checks a count given as a non-negative integer or as a
// percentage string ("25%"), such as a rolling update's maxSurge.
func ValidateIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		var errs field.ErrorList
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(fldPath, v, msg))
		}
		return errs
	case intstr.Int:
		return apivalidation.ValidateNonnegativeField(int64(v.IntValue()), fldPath)
	}
	// Upstream's message, its doubled percent sign included.
	return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%%')")}
}

// ValidateAtMost100Percent rejects a percentage over 100%; integers and malformed
// strings are left to ValidateIntOrPercent.
func ValidateAtMost100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if pct, ok := percent(v); ok && pct > 100 {
		return field.ErrorList{field.Invalid(fldPath, v, "must not be greater than 100%")}
	}
	return nil
}

// IntOrPercentValue returns the number in v, a percentage's without its sign; a
// string that is not a valid percentage counts as its integer value, or 0.
func IntOrPercentValue(v intstr.IntOrString) int {
	if pct, ok := percent(v); ok {
		return pct
	}
	return v.IntValue()
}

// percent returns the number of a valid percentage string, and whether v is one.
func percent(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

// ContainerColumns returns the wide "Containers" and "Images" columns of a workload's
// server-side Table, as upstream describes them. ContainerCells fills them.
func ContainerColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
		{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
	}
}

// ContainerCells returns the cells of ContainerColumns for a template's containers:
// their names and their images, each joined with commas.
func ContainerCells(containers []corev1.Container) (names, images string) {
	n, i := make([]string, len(containers)), make([]string, len(containers))
	for k, c := range containers {
		n[k], i[k] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}

// SelectorString renders a workload's selector as upstream's scale subresource does in
// a Scale's status.selector ("app=web,tier in (db)"): "" when there is none or it does
// not convert.
func SelectorString(sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	return s.String()
}

// ValidateCollisionCountUpdate rejects a status.collisionCount (at fldPath) that an
// update lowers or removes: controllers only ever raise it.
func ValidateCollisionCountUpdate(count, old *int32, fldPath *field.Path) field.ErrorList {
	if old == nil || (count != nil && *count >= *old) {
		return nil
	}
	var value int32
	if count != nil {
		value = *count
	}
	return field.ErrorList{field.Invalid(fldPath, value, "cannot be decremented")}
}
