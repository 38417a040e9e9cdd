package deployment

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/replicaset"
)

// validateDeployment checks a Deployment's spec, and the deprecated rollback
// annotation that stands for upstream's internal spec.rollbackTo, as upstream does.
func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	spec, specPath := &d.Spec, field.NewPath("spec")
	errs := apivalidation.ValidateNonnegativeField(int64(ptr.Deref(spec.Replicas, 0)), specPath.Child("replicas"))
	errs = append(errs, registry.ValidateWorkloadSelector(spec.Selector, "deployment", specPath.Child("selector"))...)
	errs = append(errs, replicaset.ValidateSelectorAndTemplate(spec.Selector, &spec.Template, specPath)...)
	errs = append(errs, validateStrategy(&spec.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.RevisionHistoryLimit), specPath.Child("revisionHistoryLimit"))...)
	}
	errs = append(errs, validateRollbackTo(d.Annotations, specPath.Child("rollback", "version"))...)
	if p := spec.ProgressDeadlineSeconds; p != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*p), specPath.Child("progressDeadlineSeconds"))...)
		if *p <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(specPath.Child("progressDeadlineSeconds"), *p, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateRollbackTo checks the revision in the deprecated rollback annotation, which
// upstream reads as spec.rollbackTo.revision and reports at versionPath.
func validateRollbackTo(annotations map[string]string, versionPath *field.Path) field.ErrorList {
	value := annotations[appsv1.DeprecatedRollbackTo]
	if value == "" {
		return nil
	}
	revision, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		p := field.NewPath("metadata", "annotations").Key(appsv1.DeprecatedRollbackTo)
		return field.ErrorList{field.Invalid(p, value, "must be an integer revision")}
	}
	return apivalidation.ValidateNonnegativeField(revision, versionPath)
}

func validateStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		return validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(fldPath, s, []appsv1.DeploymentStrategyType{
			appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
	return nil
}

// validateRollingUpdate checks the surge and unavailable counts: each an integer or a
// percentage, not both zero, and maxUnavailable at most 100%. (A surge over 100% is
// allowed.)
func validateRollingUpdate(ru *appsv1.RollingUpdateDeployment, fldPath *field.Path) field.ErrorList {
	maxUnavailable := ptr.Deref(ru.MaxUnavailable, intstr.IntOrString{})
	maxSurge := ptr.Deref(ru.MaxSurge, intstr.IntOrString{})
	unavailablePath := fldPath.Child("maxUnavailable")
	errs := registry.ValidateIntOrPercent(maxUnavailable, unavailablePath)
	errs = append(errs, registry.ValidateIntOrPercent(maxSurge, fldPath.Child("maxSurge"))...)
	if registry.IntOrPercentValue(maxUnavailable) == 0 && registry.IntOrPercentValue(maxSurge) == 0 {
		errs = append(errs, field.Invalid(unavailablePath, maxUnavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return append(errs, registry.ValidateAtMost100Percent(maxUnavailable, unavailablePath)...)
}

// validateStatus checks that no count is negative and that the updated, ready and
// available counts stay within the replicas (and available within ready).
func validateStatus(status *appsv1.DeploymentStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, c := range []struct {
		name  string
		value int64
	}{
		{"observedGeneration", status.ObservedGeneration},
		{"replicas", int64(status.Replicas)},
		{"updatedReplicas", int64(status.UpdatedReplicas)},
		{"readyReplicas", int64(status.ReadyReplicas)},
		{"availableReplicas", int64(status.AvailableReplicas)},
		{"unavailableReplicas", int64(status.UnavailableReplicas)},
	} {
		errs = append(errs, apivalidation.ValidateNonnegativeField(c.value, fldPath.Child(c.name))...)
	}
	if status.TerminatingReplicas != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*status.TerminatingReplicas), fldPath.Child("terminatingReplicas"))...)
	}
	if status.CollisionCount != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*status.CollisionCount), fldPath.Child("collisionCount"))...)
	}
	const overReplicas = "cannot be greater than status.replicas"
	if status.UpdatedReplicas > status.Replicas {
		errs = append(errs, field.Invalid(fldPath.Child("updatedReplicas"), status.UpdatedReplicas, overReplicas))
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
