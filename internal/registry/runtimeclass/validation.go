package runtimeclass

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/resourcename"
)

var handlerPath = field.NewPath("handler")

// validate checks a new class (old nil) or an update (object metadata aside), as
// upstream's ValidateRuntimeClass and ValidateRuntimeClassUpdate with its declarative
// handler rules (required, a DNS label, immutable) enforced.
//
// Those rules replace the handwritten handler checks only where they report: on create,
// and on an update that changes the handler. There the declarative errors come last, a
// change reports "field is immutable" and, if the handler is now empty, that it is
// required; the format of a changed, non-empty handler is still the handwritten check's,
// reported first. An update that keeps the handler reports the handwritten checks, first.
func validate(rc, old *nodev1.RuntimeClass) field.ErrorList {
	var errs, declarative field.ErrorList
	switch {
	case old == nil:
		declarative = validateHandler(rc.Handler)
	case rc.Handler == old.Handler:
		errs = validateHandler(rc.Handler)
	default:
		if rc.Handler != "" {
			errs = validateHandler(rc.Handler)
		}
		declarative = field.ErrorList{field.Invalid(handlerPath, nil, "field is immutable").WithOrigin("immutable")}
		if rc.Handler == "" {
			declarative = append(declarative, field.Required(handlerPath, ""))
		}
	}
	if rc.Overhead != nil {
		errs = append(errs, validateOverhead(rc.Overhead, field.NewPath("overhead"))...)
	}
	if rc.Scheduling != nil {
		errs = append(errs, validateScheduling(rc.Scheduling, field.NewPath("scheduling"))...)
	}
	return append(errs, declarative...)
}

// validateHandler requires a handler that is a DNS label.
func validateHandler(handler string) field.ErrorList {
	if handler == "" {
		return field.ErrorList{field.Required(handlerPath, "")}
	}
	var errs field.ErrorList
	for _, msg := range apivalidation.NameIsDNSLabel(handler, false) {
		errs = append(errs, field.Invalid(handlerPath, handler, msg).WithOrigin("format=k8s-short-name"))
	}
	return errs
}

// validateOverhead checks podFixed as upstream does, as a container's resource limits:
// so its errors name path.limits, not path.podFixed. Resources are checked in name
// order.
func validateOverhead(o *nodev1.Overhead, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	cpuOrMemory, hugePages := false, false
	for _, name := range resourcename.Sorted(o.PodFixed) {
		q, p := o.PodFixed[name], path.Child("limits").Key(string(name))
		errs = append(errs, validateResourceName(name, p)...)
		errs = append(errs, validateQuantity(name, q, p)...)
		if resourcename.IsHugePages(name) {
			hugePages = true
			if !hugePagesDivisible(name, q) {
				errs = append(errs, field.Invalid(p, q.String(), fmt.Sprintf("%s is not positive integer multiple of %s", q.String(), name)))
			}
		}
		cpuOrMemory = cpuOrMemory || name == corev1.ResourceCPU || name == corev1.ResourceMemory
	}
	if hugePages && !cpuOrMemory {
		errs = append(errs, field.Forbidden(path, "HugePages require cpu or memory"))
	}
	return errs
}

// standardResources are the unprefixed resource names Kubernetes knows (hugepages and
// quota hugepages aside); of them only cpu, memory, ephemeral-storage and hugepages are
// a container's.
var standardResources = sets.New(
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceStorage, corev1.ResourceRequestsStorage,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

// integerResources are the standard resources counted in whole units.
var integerResources = sets.New(
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

// validateResourceName checks a container resource's name as upstream does: a
// qualified name; unprefixed, a standard resource and one a container has; prefixed,
// in the kubernetes.io domain or a valid extended resource. An unprefixed name that is
// neither standard nor a container's gets both messages.
func validateResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range content.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	prefixed := strings.Contains(string(name), "/")
	if len(errs) == 0 && !prefixed && !standardResources.Has(name) && !resourcename.IsQuotaHugePages(name) {
		errs = append(errs, field.Invalid(p, name, "must be a standard resource type or fully qualified"))
	}
	switch {
	case !prefixed:
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage && !resourcename.IsHugePages(name) {
			errs = append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
		}
	case !resourcename.IsNative(name) && !resourcename.IsExtended(name):
		errs = append(errs, field.Invalid(p, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// validateQuantity requires a quantity that is not negative, and whole for the
// resources counted in units.
func validateQuantity(name corev1.ResourceName, q resource.Quantity, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(p, q.String(), apivalidation.IsNegativeErrorMsg))
	}
	if (integerResources.Has(name) || resourcename.IsExtended(name)) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(p, q, "must be an integer"))
	}
	return errs
}

// hugePagesDivisible reports whether q is a whole number of the pages name's size
// names; false when the size is not a positive whole quantity.
func hugePagesDivisible(name corev1.ResourceName, q resource.Quantity) bool {
	size, err := resource.ParseQuantity(strings.TrimPrefix(string(name), corev1.ResourceHugePagesPrefix))
	if err != nil || size.Sign() <= 0 || size.MilliValue()%1000 != 0 {
		return false
	}
	return q.Value()%size.Value() == 0
}

// validateScheduling checks the node selector as labels (in key order) and the
// tolerations.
func validateScheduling(s *nodev1.Scheduling, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	keys := make([]string, 0, len(s.NodeSelector))
	for k := range s.NodeSelector {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		errs = append(errs, metav1validation.ValidateLabels(map[string]string{k: s.NodeSelector[k]}, path.Child("nodeSelector"))...)
	}
	return append(errs, validateTolerations(s.Tolerations, path.Child("tolerations"))...)
}

// tolerationValue has the shape of upstream's internal toleration type, which its
// duplicate error shows in JSON with untagged field names.
type tolerationValue struct {
	Key               string
	Operator          corev1.TolerationOperator
	Value             string
	Effect            corev1.TaintEffect
	TolerationSeconds *int64
}

// tolerationKey is what makes a toleration distinct in the list.
type tolerationKey struct {
	key      string
	operator corev1.TolerationOperator
	value    string
	effect   corev1.TaintEffect
}

var (
	tolerationOperators = []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}
	// comparisonOperators are listed when Lt or Gt is used: a RuntimeClass may not
	// compare numerically.
	comparisonOperators = []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists, corev1.TolerationOpLt, corev1.TolerationOpGt}
	taintEffects        = []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute}
)

// validateTolerations checks each toleration as upstream checks a pod's, then that no two
// have the same key, operator, value and effect.
func validateTolerations(tolerations []corev1.Toleration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		p := path.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := content.IsLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		case corev1.TolerationOpLt, corev1.TolerationOpGt:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, comparisonOperators))
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, tolerationOperators))
		}
		if t.Effect != "" && !slices.Contains(taintEffects, t.Effect) {
			errs = append(errs, field.NotSupported(p.Child("effect"), t.Effect, taintEffects))
		}
	}
	seen := map[tolerationKey]bool{}
	for i, t := range tolerations {
		k := tolerationKey{t.Key, t.Operator, t.Value, t.Effect}
		if seen[k] {
			errs = append(errs, field.Duplicate(path.Index(i), tolerationValue{t.Key, t.Operator, t.Value, t.Effect, t.TolerationSeconds}))
		}
		seen[k] = true
	}
	return errs
}
