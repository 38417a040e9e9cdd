package statefulset

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

// specOptions are the relaxations of validateSpec, as upstream grants them on update.
type specOptions struct {
	// allowInvalidServiceName leaves serviceName unchecked (it cannot change anyway).
	allowInvalidServiceName bool
	// skipPodTemplate leaves the pod template's spec unchecked, for a set whose stored
	// spec is already invalid. Its labels and annotations are still checked.
	skipPodTemplate bool
	// skipClaimTemplates leaves the claim templates unchecked (they cannot change).
	skipClaimTemplates bool
	// allowRecreate accepts the Recreate update strategy.
	allowRecreate bool
}

// validateSpec checks a StatefulSet's spec as upstream does, in upstream's order.
func validateSpec(spec *appsv1.StatefulSetSpec, fldPath *field.Path, opts specOptions) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(fldPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(fldPath.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	errs = append(errs, validateUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"), opts.allowRecreate)...)
	if p := spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		retentionPath := fldPath.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, validateRetention(p.WhenDeleted, retentionPath.Child("whenDeleted"))...)
		errs = append(errs, validateRetention(p.WhenScaled, retentionPath.Child("whenScaled"))...)
	}
	if !opts.skipClaimTemplates {
		for i := range spec.VolumeClaimTemplates {
			errs = append(errs, validateClaimSpec(&spec.VolumeClaimTemplates[i].Spec, fldPath.Child("volumeClaimTemplates").Index(i).Child("spec"))...)
		}
	}
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(ptr.Deref(spec.Replicas, 0)), fldPath.Child("replicas"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.Ordinals.Start), fldPath.Child("ordinals", "start"))...)
	}
	if !opts.allowInvalidServiceName && spec.ServiceName != "" {
		for _, msg := range validation.IsDNS1123Label(spec.ServiceName) {
			errs = append(errs, field.Invalid(fldPath.Child("serviceName"), spec.ServiceName, msg))
		}
	}
	errs = append(errs, registry.ValidateWorkloadSelector(spec.Selector, "statefulset", fldPath.Child("selector"))...)
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err != nil {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, ""))
	} else {
		errs = append(errs, validateTemplate(spec, selector, fldPath.Child("template"), opts.skipPodTemplate)...)
	}
	return append(errs, registry.ValidateLongRunningPodSpec(&spec.Template.Spec, "StatefulSet", fldPath.Child("template", "spec"))...)
}

func validateUpdateStrategy(s *appsv1.StatefulSetUpdateStrategy, fldPath *field.Path, allowRecreate bool) field.ErrorList {
	onlyForRollingUpdate := fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)
	switch {
	case s.Type == "":
		return field.ErrorList{field.Required(fldPath, "")}
	case s.Type == appsv1.OnDeleteStatefulSetStrategyType, s.Type == appsv1.RecreateStatefulSetStrategyType && allowRecreate:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Invalid(fldPath.Child("rollingUpdate"), s.RollingUpdate, onlyForRollingUpdate)}
		}
	case s.Type == appsv1.RollingUpdateStatefulSetStrategyType:
		if s.RollingUpdate != nil {
			return validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
		}
	default:
		msg := fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)
		if allowRecreate {
			msg = fmt.Sprintf("must be '%s', '%s', or '%s'", appsv1.RollingUpdateStatefulSetStrategyType,
				appsv1.OnDeleteStatefulSetStrategyType, appsv1.RecreateStatefulSetStrategyType)
		}
		return field.ErrorList{field.Invalid(fldPath, s, msg)}
	}
	return nil
}

// validateRollingUpdate checks the partition and, when given, maxUnavailable: an
// integer or percentage, not 0, at most 100%.
func validateRollingUpdate(ru *appsv1.RollingUpdateStatefulSetStrategy, fldPath *field.Path) field.ErrorList {
	errs := apivalidation.ValidateNonnegativeField(int64(ptr.Deref(ru.Partition, 0)), fldPath.Child("partition"))
	if ru.MaxUnavailable != nil {
		p := fldPath.Child("maxUnavailable")
		errs = append(errs, registry.ValidateIntOrPercent(*ru.MaxUnavailable, p)...)
		if registry.IntOrPercentValue(*ru.MaxUnavailable) == 0 {
			errs = append(errs, field.Invalid(p, *ru.MaxUnavailable, "cannot be 0"))
		}
		errs = append(errs, registry.ValidateAtMost100Percent(*ru.MaxUnavailable, p)...)
	}
	return errs
}

func validateRetention(policy appsv1.PersistentVolumeClaimRetentionPolicyType, fldPath *field.Path) field.ErrorList {
	switch policy {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, policy, []appsv1.PersistentVolumeClaimRetentionPolicyType{
		appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType})}
}

// validateTemplate checks the pod template at fldPath as the pods made from it will
// be: the controller sets their hostname and subdomain, and adds a volume for each
// claim template (replacing a template volume of the same name). Upstream checks the
// template's labels and annotations a second time, reporting them under fldPath
// directly ("spec.template.labels"); so does this, even when skipPodTemplate leaves
// the rest unchecked.
func validateTemplate(spec *appsv1.StatefulSetSpec, selector labels.Selector, fldPath *field.Path, skipPodTemplate bool) field.ErrorList {
	t := &spec.Template
	if t.Spec.Subdomain != "" || t.Spec.Hostname != "" || len(spec.VolumeClaimTemplates) > 0 {
		t = t.DeepCopy()
		t.Spec.Subdomain, t.Spec.Hostname = "", ""
		if len(spec.VolumeClaimTemplates) > 0 {
			t.Spec.Volumes = withClaimVolumes(spec.VolumeClaimTemplates, t.Spec.Volumes)
		}
	}
	errs := registry.ValidateSelectorMatchesTemplate(selector, t.Labels, fldPath)
	templateErrs := pod.ValidateTemplate(t, fldPath)
	if !skipPodTemplate {
		errs = append(errs, templateErrs...)
	}
	meta := fldPath.Child("metadata")
	errs = append(errs, moved(templateErrs, meta.Child("labels"), fldPath.Child("labels"))...)
	return append(errs, moved(templateErrs, meta.Child("annotations"), fldPath.Child("annotations"))...)
}

// withClaimVolumes returns a volume for each distinct claim template name, then the
// template's volumes of other names.
func withClaimVolumes(claims []corev1.PersistentVolumeClaim, volumes []corev1.Volume) []corev1.Volume {
	seen := map[string]bool{}
	var out []corev1.Volume
	for _, c := range claims {
		if seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		out = append(out, corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name},
		}})
	}
	for _, v := range volumes {
		if !seen[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// moved returns copies of the errors at from or below it, re-rooted at to.
func moved(errs field.ErrorList, from, to *field.Path) field.ErrorList {
	prefix := from.String()
	var out field.ErrorList
	for _, e := range errs {
		rest, ok := strings.CutPrefix(e.Field, prefix)
		if !ok || (rest != "" && rest[0] != '.' && rest[0] != '[') {
			continue
		}
		c := *e
		c.Field = to.String() + rest
		out = append(out, &c)
	}
	return out
}

// validateStatus checks that no count is negative and that the ready, current,
// updated and available counts stay within the replicas (and available within ready).
func validateStatus(status *appsv1.StatefulSetStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, c := range []struct {
		name  string
		value int64
	}{
		{"replicas", int64(status.Replicas)},
		{"readyReplicas", int64(status.ReadyReplicas)},
		{"currentReplicas", int64(status.CurrentReplicas)},
		{"updatedReplicas", int64(status.UpdatedReplicas)},
		{"availableReplicas", int64(status.AvailableReplicas)},
		{"observedGeneration", status.ObservedGeneration},
	} {
		errs = append(errs, apivalidation.ValidateNonnegativeField(c.value, fldPath.Child(c.name))...)
	}
	if status.CollisionCount != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*status.CollisionCount), fldPath.Child("collisionCount"))...)
	}
	const overReplicas = "cannot be greater than status.replicas"
	for _, c := range []struct {
		name  string
		value int32
	}{
		{"readyReplicas", status.ReadyReplicas},
		{"currentReplicas", status.CurrentReplicas},
		{"updatedReplicas", status.UpdatedReplicas},
		{"availableReplicas", status.AvailableReplicas},
	} {
		if c.value > status.Replicas {
			errs = append(errs, field.Invalid(fldPath.Child(c.name), c.value, overReplicas))
		}
	}
	if status.AvailableReplicas > status.ReadyReplicas {
		errs = append(errs, field.Invalid(fldPath.Child("availableReplicas"), status.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	return errs
}
