package horizontalpodautoscaler

import (
	"errors"
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upstream's limits on scaling rules.
const (
	maxPeriodSeconds              int32 = 1800
	maxStabilizationWindowSeconds int32 = 3600
)

// scaleToZero says whether minReplicas may be 0, as upstream's HPAScaleToZero gate
// (beta and on by default in v1.37) allows. Such an autoscaler needs an Object or
// External metric. Without the gate, an autoscaler stored with 0 may keep it.
const scaleToZero = true

// Values upstream lists in its "supported values" messages, sorted.
var (
	metricSourceTypes = []autoscalingv2.MetricSourceType{
		autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType,
		autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType,
	}
	selectPolicies = []autoscalingv2.ScalingPolicySelect{
		autoscalingv2.DisabledPolicySelect, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect,
	}
	policyTypes = []autoscalingv2.HPAScalingPolicyType{autoscalingv2.PercentScalingPolicy, autoscalingv2.PodsScalingPolicy}
)

// refOptions say how strictly an object reference's apiVersion is checked.
type refOptions struct {
	allowEmptyGroup     bool // a core version ("v1") is accepted
	allowInvalidVersion bool // the apiVersion is not checked at all
}

// options are the checks that depend on the stored object, as upstream derives them.
type options struct {
	minReplicas    int32 // the least minReplicas allowed
	scaleTargetRef refOptions
	objectMetrics  refOptions // for the described objects of Object metrics
}

// optionsFor returns the options for writing h over old (nil on create). An update
// that keeps the target's kind and apiVersion does not check the apiVersion; a
// ReplicationController target may name the core group; described objects need no
// group, and are not checked at all when one stored is already invalid.
func optionsFor(h, old *autoscalingv2.HorizontalPodAutoscaler) options {
	opts := options{minReplicas: 1, objectMetrics: refOptions{allowEmptyGroup: true}}
	if scaleToZero || (old != nil && old.Spec.MinReplicas != nil && *old.Spec.MinReplicas == 0) {
		opts.minReplicas = 0
	}
	ref := h.Spec.ScaleTargetRef
	switch {
	case old != nil && old.Spec.ScaleTargetRef.APIVersion == ref.APIVersion && old.Spec.ScaleTargetRef.Kind == ref.Kind:
		opts.scaleTargetRef.allowInvalidVersion = true
	case ref.Kind == "ReplicationController":
		opts.scaleTargetRef.allowEmptyGroup = true
	}
	if old != nil {
		for _, m := range old.Spec.Metrics {
			if m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil && apiVersionError(m.Object.DescribedObject, opts.objectMetrics) != nil {
				opts.objectMetrics.allowInvalidVersion = true
				break
			}
		}
	}
	return opts
}

// validate checks the spec of h, written over old (nil on create).
func validate(h, old *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	return validateSpec(&h.Spec, field.NewPath("spec"), optionsFor(h, old))
}

// validateSpec checks a spec. The bounds of minReplicas and maxReplicas are upstream's
// beta declarative rules: their errors come last, and a missing maxReplicas has no
// detail.
func validateSpec(spec *autoscalingv2.HorizontalPodAutoscalerSpec, fldPath *field.Path, opts options) field.ErrorList {
	var errs, declarative field.ErrorList
	minPath, maxPath := fldPath.Child("minReplicas"), fldPath.Child("maxReplicas")
	if spec.MinReplicas != nil && *spec.MinReplicas < opts.minReplicas {
		declarative = append(declarative, field.Invalid(minPath, *spec.MinReplicas, fmt.Sprintf("must be greater than or equal to %d", opts.minReplicas)))
	}
	if spec.MaxReplicas == 0 {
		declarative = append(declarative, field.Required(maxPath, ""))
	} else if spec.MaxReplicas < 0 {
		declarative = append(declarative, field.Invalid(maxPath, spec.MaxReplicas, "must be greater than or equal to 1"))
	}
	if spec.MinReplicas != nil && spec.MaxReplicas < *spec.MinReplicas {
		errs = append(errs, field.Invalid(maxPath, spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	errs = append(errs, validateRef(spec.ScaleTargetRef, fldPath.Child("scaleTargetRef"), opts.scaleTargetRef)...)
	errs = append(errs, validateMetrics(spec.Metrics, fldPath.Child("metrics"), spec.MinReplicas, opts.objectMetrics)...)
	if b := spec.Behavior; b != nil {
		errs = append(errs, validateRules(b.ScaleUp, fldPath.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateRules(b.ScaleDown, fldPath.Child("behavior", "scaleDown"))...)
	}
	return append(errs, declarative...)
}

// validateRef checks a reference to a scale target or a described object: a kind and
// a name usable in a URL path, and an apiVersion as opts ask.
func validateRef(ref autoscalingv2.CrossVersionObjectReference, fldPath *field.Path, opts refOptions) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validatePathSegment(ref.Kind, fldPath.Child("kind"), "")...)
	errs = append(errs, validatePathSegment(ref.Name, fldPath.Child("name"), "")...)
	if err := apiVersionError(ref, opts); err != nil {
		errs = append(errs, field.Invalid(fldPath.Child("apiVersion"), ref.APIVersion, err.Error()))
	}
	return errs
}

// validatePathSegment requires value, with required as the detail when it is empty,
// and refuses one that is no URL path segment.
func validatePathSegment(value string, fldPath *field.Path, required string) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, required)}
	}
	var errs field.ErrorList
	for _, msg := range content.IsPathSegmentName(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// apiVersionError returns what is wrong with ref's apiVersion, or nil.
func apiVersionError(ref autoscalingv2.CrossVersionObjectReference, opts refOptions) error {
	if opts.allowInvalidVersion {
		return nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return err
	}
	if !opts.allowEmptyGroup && gv.Group == "" {
		return errors.New("apiVersion must specify API group")
	}
	return nil
}

// validateMetrics checks each metric; an autoscaler that may scale to zero needs an
// Object or External metric, the only ones that do not come from its pods.
func validateMetrics(metrics []autoscalingv2.MetricSpec, fldPath *field.Path, minReplicas *int32, opts refOptions) field.ErrorList {
	var errs field.ErrorList
	independent := false
	for i := range metrics {
		errs = append(errs, validateMetric(&metrics[i], fldPath.Index(i), opts)...)
		switch metrics[i].Type {
		case autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType:
			independent = true
		}
	}
	if minReplicas != nil && *minReplicas == 0 && !independent {
		errs = append(errs, field.Forbidden(fldPath, "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	return errs
}

// validateMetric checks one metric: a supported type, the source of that type and no
// other. Of several sources given, only the first (in the order object, external,
// pods, resource, containerResource) is checked. An unsupported type is reported once,
// as upstream's API server reports it once it has dropped repeated errors.
func validateMetric(m *autoscalingv2.MetricSpec, fldPath *field.Path, opts refOptions) field.ErrorList {
	var errs field.ErrorList
	typePath := fldPath.Child("type")
	if m.Type == "" {
		errs = append(errs, field.Required(typePath, "must specify a metric source type"))
	}
	supported := sets.New(metricSourceTypes...).Has(m.Type)
	if !supported {
		errs = append(errs, field.NotSupported(typePath, m.Type, metricSourceTypes))
	}

	type source struct {
		name     string
		typ      autoscalingv2.MetricSourceType
		present  bool
		validate func(*field.Path) field.ErrorList
	}
	sources := []source{
		{"object", autoscalingv2.ObjectMetricSourceType, m.Object != nil, func(p *field.Path) field.ErrorList { return validateObjectSource(m.Object, p, opts) }},
		{"external", autoscalingv2.ExternalMetricSourceType, m.External != nil, func(p *field.Path) field.ErrorList { return validateExternalSource(m.External, p) }},
		{"pods", autoscalingv2.PodsMetricSourceType, m.Pods != nil, func(p *field.Path) field.ErrorList { return validatePodsSource(m.Pods, p) }},
		{"resource", autoscalingv2.ResourceMetricSourceType, m.Resource != nil, func(p *field.Path) field.ErrorList { return validateResourceSource(m.Resource, p) }},
		{"containerResource", autoscalingv2.ContainerResourceMetricSourceType, m.ContainerResource != nil, func(p *field.Path) field.ErrorList {
			return validateContainerResourceSource(m.ContainerResource, p)
		}},
	}
	present := 0
	for _, s := range sources {
		if s.present {
			present++
			if present == 1 {
				errs = append(errs, s.validate(fldPath.Child(s.name))...)
			}
		}
	}
	expected := ""
	for _, s := range sources {
		if s.typ != m.Type {
			continue
		}
		expected = s.name
		if !s.present {
			errs = append(errs, field.Required(fldPath.Child(s.name), "must populate information for the given metric source"))
		}
	}
	if present > 1 {
		for _, s := range sources {
			if s.present && s.name != expected {
				errs = append(errs, field.Forbidden(fldPath.Child(s.name), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

func validateObjectSource(src *autoscalingv2.ObjectMetricSource, fldPath *field.Path, opts refOptions) field.ErrorList {
	errs := validateRef(src.DescribedObject, fldPath.Child("describedObject"), opts)
	errs = append(errs, validateMetricIdentifier(src.Metric, fldPath.Child("metric"))...)
	errs = append(errs, validateTarget(src.Target, fldPath.Child("target"))...)
	if src.Target.Value == nil && src.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must set either a target value or averageValue"))
	}
	return errs
}

func validateExternalSource(src *autoscalingv2.ExternalMetricSource, fldPath *field.Path) field.ErrorList {
	errs := validateMetricIdentifier(src.Metric, fldPath.Child("metric"))
	errs = append(errs, validateTarget(src.Target, fldPath.Child("target"))...)
	if src.Target.Value == nil && src.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
	}
	if src.Target.Value != nil && src.Target.AverageValue != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
	}
	return errs
}

func validatePodsSource(src *autoscalingv2.PodsMetricSource, fldPath *field.Path) field.ErrorList {
	errs := validateMetricIdentifier(src.Metric, fldPath.Child("metric"))
	errs = append(errs, validateTarget(src.Target, fldPath.Child("target"))...)
	if src.Target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("target", "averageValue"), "must specify a positive target averageValue"))
	}
	return errs
}

func validateResourceSource(src *autoscalingv2.ResourceMetricSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if src.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	}
	return append(errs, validateResourceTarget(src.Target, fldPath.Child("target"))...)
}

func validateContainerResourceSource(src *autoscalingv2.ContainerResourceMetricSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if src.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), "must specify a resource name"))
	} else {
		errs = append(errs, validateContainerResourceName(src.Name, fldPath.Child("name"))...)
	}
	if src.Container == "" {
		errs = append(errs, field.Required(fldPath.Child("container"), "must specify a container"))
	} else {
		for _, msg := range validation.IsDNS1123Label(src.Container) {
			errs = append(errs, field.Invalid(fldPath.Child("container"), src.Container, msg))
		}
	}
	return append(errs, validateResourceTarget(src.Target, fldPath.Child("target"))...)
}

// validateResourceTarget checks the target of a (container) resource metric: a
// utilization or an average value, not both.
func validateResourceTarget(target autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	errs := validateTarget(target, fldPath)
	if target.AverageUtilization == nil && target.AverageValue == nil {
		errs = append(errs, field.Required(fldPath.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if target.AverageUtilization != nil && target.AverageValue != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

// validateTarget checks what every metric target must satisfy: a known type and
// positive values.
func validateTarget(t autoscalingv2.MetricTarget, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), "must specify a metric target type"))
	}
	switch t.Type {
	case autoscalingv2.UtilizationMetricType, autoscalingv2.ValueMetricType, autoscalingv2.AverageValueMetricType:
	default:
		errs = append(errs, field.Invalid(fldPath.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("value"), t.Value, "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageValue"), t.AverageValue, "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(fldPath.Child("averageUtilization"), t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateMetricIdentifier(id autoscalingv2.MetricIdentifier, fldPath *field.Path) field.ErrorList {
	return validatePathSegment(id.Name, fldPath.Child("name"), "must specify a metric name")
}

// validateRules checks the scaling rules of one direction, nil meaning none: the
// stabilization window within an hour, a known select policy, at least one policy,
// each of a known type with a positive value over at most 30 minutes, and a
// tolerance that is not negative.
func validateRules(rules *autoscalingv2.HPAScalingRules, fldPath *field.Path) field.ErrorList {
	if rules == nil {
		return nil
	}
	var errs field.ErrorList
	if w := rules.StabilizationWindowSeconds; w != nil {
		if *w < 0 {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), w, "must be greater than or equal to zero"))
		}
		if *w > maxStabilizationWindowSeconds {
			errs = append(errs, field.Invalid(fldPath.Child("stabilizationWindowSeconds"), w,
				fmt.Sprintf("must be less than or equal to %v", maxStabilizationWindowSeconds)))
		}
	}
	if p := rules.SelectPolicy; p != nil && !sets.New(selectPolicies...).Has(*p) {
		errs = append(errs, field.NotSupported(fldPath.Child("selectPolicy"), p, selectPolicies))
	}
	policiesPath := fldPath.Child("policies")
	if len(rules.Policies) == 0 {
		errs = append(errs, field.Required(policiesPath, "must specify at least one Policy"))
	}
	for i, p := range rules.Policies {
		errs = append(errs, validatePolicy(p, policiesPath.Index(i))...)
	}
	if t := rules.Tolerance; t != nil && t.Sign() < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("tolerance"), t.String(), apivalidation.IsNegativeErrorMsg))
	}
	return errs
}

func validatePolicy(p autoscalingv2.HPAScalingPolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
		errs = append(errs, field.NotSupported(fldPath.Child("type"), p.Type, policyTypes))
	}
	if p.Value <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("value"), p.Value, "must be greater than zero"))
	}
	if p.PeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("periodSeconds"), p.PeriodSeconds, "must be greater than zero"))
	}
	if p.PeriodSeconds > maxPeriodSeconds {
		errs = append(errs, field.Invalid(fldPath.Child("periodSeconds"), p.PeriodSeconds,
			fmt.Sprintf("must be less than or equal to %v", maxPeriodSeconds)))
	}
	return errs
}

// validateStatus checks a status write: counts and condition generations that are
// not negative.
func validateStatus(status *autoscalingv2.HorizontalPodAutoscalerStatus) field.ErrorList {
	var errs field.ErrorList
	statusPath := field.NewPath("status")
	for i, c := range status.Conditions {
		if c.ObservedGeneration != nil {
			errs = append(errs, apivalidation.ValidateNonnegativeField(*c.ObservedGeneration, statusPath.Child("conditions").Index(i).Child("observedGeneration"))...)
		}
	}
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(status.CurrentReplicas), statusPath.Child("currentReplicas"))...)
	return append(errs, apivalidation.ValidateNonnegativeField(int64(status.DesiredReplicas), statusPath.Child("desiredReplicas"))...)
}

// standardResources are the unprefixed resource names Kubernetes knows, hugepages
// aside.
var standardResources = sets.New(
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceStorage, corev1.ResourceRequestsStorage,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

// validateContainerResourceName checks a container resource metric's resource as
// upstream checks a container's resource names: a qualified name; unprefixed, a
// standard resource and one a container has; prefixed, in the kubernetes.io domain or
// a valid extended resource.
func validateContainerResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsLabelKey(string(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	prefixed := strings.Contains(string(name), "/")
	hugePages := strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
	quotaHugePages := hugePages || strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix)
	if len(errs) == 0 && !prefixed && !standardResources.Has(name) && !quotaHugePages {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource type or fully qualified"))
	}
	switch {
	case !prefixed:
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage && !hugePages {
			errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for containers"))
		}
	case !strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix) && !isExtendedResource(name):
		errs = append(errs, field.Invalid(fldPath, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// isExtendedResource reports whether a prefixed name outside kubernetes.io is a valid
// extended resource: one whose quota name ("requests.<name>") is a qualified name.
func isExtendedResource(name corev1.ResourceName) bool {
	if strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(content.IsLabelKey(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}
