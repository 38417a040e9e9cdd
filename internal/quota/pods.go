package quota

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apiserver/pkg/admission"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/resourcename"
)

// podCountName counts every stored pod, whatever its phase.
var podCountName = generic.ObjectCountQuotaResourceNameFor(podsResource.GroupResource())

// podResourceNames are the fixed quota names pods use; hugepages and extended
// resources add names by prefix.
var podResourceNames = []corev1.ResourceName{
	podCountName,
	corev1.ResourcePods,
	corev1.ResourceCPU,
	corev1.ResourceMemory,
	corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU,
	corev1.ResourceRequestsMemory,
	corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU,
	corev1.ResourceLimitsMemory,
	corev1.ResourceLimitsEphemeralStorage,
}

// podResourcePrefixes are the prefixes of the other quota names pods use.
var podResourcePrefixes = []string{
	corev1.ResourceHugePagesPrefix,
	corev1.ResourceRequestsHugePagesPrefix,
}

// deviceClassRequestsPrefix is the quota name prefix of a device class's implicit
// extended resource.
const deviceClassRequestsPrefix = corev1.DefaultResourceRequestsPrefix + resourcev1.ResourceDeviceClassPrefix

// requiredOnContainers are the quota names that, when a matching quota limits them,
// every container must state (a requirement kept from before QoS existed and not to be
// extended to other resources).
var requiredOnContainers = sets.New(
	corev1.ResourceCPU,
	corev1.ResourceMemory,
	corev1.ResourceRequestsCPU,
	corev1.ResourceRequestsMemory,
	corev1.ResourceLimitsCPU,
	corev1.ResourceLimitsMemory,
)

// podEvaluator measures what pods use.
type podEvaluator struct {
	list  generic.ListFuncByNamespace
	clock clock.PassiveClock // tells when a deleted pod's grace period has passed
}

var _ quotav1.Evaluator = (*podEvaluator)(nil)

// NewPodEvaluator returns the evaluator of core/v1 pods, listing them through list.
func NewPodEvaluator(list ListFunc, clk clock.PassiveClock) quotav1.Evaluator {
	return &podEvaluator{list: byNamespace(list, podsResource), clock: clk}
}

// GroupResource returns pods.
func (e *podEvaluator) GroupResource() schema.GroupResource {
	return podsResource.GroupResource()
}

// Constraints requires every container and init container to state each of cpu and
// memory's requests and limits that required names, unless the pod states its
// resources at pod level.
func (e *podEvaluator) Constraints(required []corev1.ResourceName, item runtime.Object) error {
	pod, err := asPod(item)
	if err != nil {
		return err
	}
	if resourcehelper.IsPodLevelResourcesSet(pod) {
		return nil
	}
	want := sets.New(required...).Intersection(requiredOnContainers)
	missing := map[corev1.ResourceName]sets.Set[string]{}
	check := func(c *corev1.Container) {
		have := computeUsage(c.Resources.Requests, c.Resources.Limits)
		for name := range want {
			if _, ok := have[name]; ok {
				continue
			}
			if missing[name] == nil {
				missing[name] = sets.New[string]()
			}
			missing[name].Insert(c.Name)
		}
	}
	for i := range pod.Spec.Containers {
		check(&pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		check(&pod.Spec.InitContainers[i])
	}
	if len(missing) == 0 {
		return nil
	}
	var msgs []string
	for _, name := range sets.List(sets.KeySet(missing)) {
		msgs = append(msgs, fmt.Sprintf("%s for: %s", name, strings.Join(sets.List(missing[name]), ",")))
	}
	return fmt.Errorf("must specify %s", strings.Join(msgs, "; "))
}

// Handles reports true for creates, for updates that add or remove
// activeDeadlineSeconds (and so move the pod between the Terminating scopes), and for
// updates of the resize subresource.
func (e *podEvaluator) Handles(a admission.Attributes) bool {
	op := a.GetOperation()
	switch a.GetSubresource() {
	case "":
		if op == admission.Update {
			pod, err1 := asPod(a.GetObject())
			old, err2 := asPod(a.GetOldObject())
			if err1 != nil || err2 != nil {
				return false
			}
			if isTerminating(old) != isTerminating(pod) {
				return true
			}
		}
		return op == admission.Create
	case "resize":
		return op == admission.Update
	default:
		return false
	}
}

// Matches reports whether resourceQuota limits a resource pods use and item is in all
// its scopes.
func (e *podEvaluator) Matches(resourceQuota *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(resourceQuota, item, e.MatchingResources, podMatchesScope)
}

// MatchingResources returns the names of input that pods use.
func (e *podEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	result := quotav1.Intersection(input, podResourceNames)
	for _, name := range input {
		if quotav1.ContainsPrefix(podResourcePrefixes, name) {
			result = append(result, name)
		}
		if isExtendedQuotaName(name) {
			result = append(result, name)
		}
	}
	return result
}

// MatchingScopes returns the selectors item matches.
func (e *podEvaluator) MatchingScopes(item runtime.Object, selectors []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return matchingScopes(item, selectors, podMatchesScope)
}

// UncoveredQuotaScopes returns the limited scopes that no matched quota scope names.
func (e *podEvaluator) UncoveredQuotaScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return uncoveredScopes(limited, matched), nil
}

// Usage returns what item uses: count/pods always, and while the pod is not terminal
// (see podCharged) "pods" and its compute resources.
func (e *podEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	pod, err := asPod(item)
	if err != nil {
		return corev1.ResourceList{}, err
	}
	return podUsage(pod, e.clock.Now()), nil
}

// UsageStats sums the usage of the pods of options.Namespace in options' scopes.
func (e *podEvaluator) UsageStats(options quotav1.UsageStatsOptions) (quotav1.UsageStats, error) {
	return generic.CalculateUsageStats(options, e.list, podMatchesScope, e.Usage)
}

// podUsage returns what pod uses at now.
func podUsage(pod *corev1.Pod, now time.Time) corev1.ResourceList {
	usage := corev1.ResourceList{podCountName: *resource.NewQuantity(1, resource.DecimalSI)}
	if !podCharged(pod, now) {
		return usage
	}
	// Resources in status (what a resize left actuated or allocated) and at pod level
	// count, as with the InPlacePodVerticalScaling and PodLevelResources features on.
	opts := resourcehelper.PodResourcesOptions{UseStatusResources: true}
	requests := resourcehelper.PodRequests(pod, opts)
	limits := resourcehelper.PodLimits(pod, opts)
	return quotav1.Add(usage, computeUsage(requests, limits))
}

// podCharged reports whether pod's compute resources count against quota at now: not
// once it has succeeded or failed, nor once it was deleted and its grace period has
// passed (a pod stuck terminating on a lost node must not keep its owner from
// replacing it).
func podCharged(pod *corev1.Pod, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		grace := time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		if now.After(pod.DeletionTimestamp.Add(grace)) {
			return false
		}
	}
	return true
}

// computeUsage returns the quota usage of requests and limits, those of a pod or of
// one container: "pods" is 1; cpu, memory and ephemeral-storage count under their
// bare and requests. names and their limits. names; hugepages under their own and
// requests. names; extended resources under requests. names only.
func computeUsage(requests, limits corev1.ResourceList) corev1.ResourceList {
	usage := corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}
	for _, r := range []struct{ name, request, limit corev1.ResourceName }{
		{corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU},
		{corev1.ResourceMemory, corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory},
		{corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage},
	} {
		if q, ok := requests[r.name]; ok {
			usage[r.name] = q
			usage[r.request] = q
		}
		if q, ok := limits[r.name]; ok {
			usage[r.limit] = q
		}
	}
	for name, q := range requests {
		if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
			usage[name] = q
			usage[corev1.DefaultResourceRequestsPrefix+name] = q
		}
		if isExtendedResource(name) {
			usage[corev1.DefaultResourceRequestsPrefix+name] = q
		}
	}
	return usage
}

// isExtendedResource reports whether name, as a container requests it, is an extended
// resource: outside kubernetes.io/ and a qualified name once prefixed with requests.,
// or a device class's implicit one.
func isExtendedResource(name corev1.ResourceName) bool {
	if strings.HasPrefix(string(name), resourcev1.ResourceDeviceClassPrefix) {
		return true
	}
	if resourcename.IsNative(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// isExtendedQuotaName reports whether name is the quota name of an extended resource:
// requests.<name> with name outside kubernetes.io/ or a device class's.
func isExtendedQuotaName(name corev1.ResourceName) bool {
	s := string(name)
	return strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) &&
		(!resourcename.IsNative(name) || strings.HasPrefix(s, deviceClassRequestsPrefix))
}

// podMatchesScope reports whether the pod obj is in the scope of s. Only the
// PriorityClass scope reads s's operator and values; the others are yes-or-no.
func podMatchesScope(s corev1.ScopedResourceSelectorRequirement, obj runtime.Object) (bool, error) {
	pod, err := asPod(obj)
	if err != nil {
		return false, err
	}
	switch s.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return isTerminating(pod), nil
	case corev1.ResourceQuotaScopeNotTerminating:
		return !isTerminating(pod), nil
	case corev1.ResourceQuotaScopeBestEffort:
		return isBestEffort(pod), nil
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !isBestEffort(pod), nil
	case corev1.ResourceQuotaScopePriorityClass:
		if s.Operator == corev1.ScopeSelectorOpExists {
			return pod.Spec.PriorityClassName != "", nil
		}
		var values []string
		if pod.Spec.PriorityClassName != "" {
			values = []string{pod.Spec.PriorityClassName}
		}
		return scopeSelectorMatches(s, values)
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return usesCrossNamespaceAffinity(pod), nil
	}
	return false, nil
}

// isTerminating reports whether pod has a deadline (activeDeadlineSeconds).
func isTerminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// isBestEffort reports whether pod's QoS class is BestEffort: the class in its status
// once set, before that none of cpu and memory requested or limited, at pod level when
// the pod states resources there and otherwise by any container or init container.
func isBestEffort(pod *corev1.Pod) bool {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass == corev1.PodQOSBestEffort
	}
	if resourcehelper.IsPodLevelResourcesSet(pod) {
		return bestEffortRequirements(pod.Spec.Resources)
	}
	for i := range pod.Spec.InitContainers {
		if !bestEffortRequirements(&pod.Spec.InitContainers[i].Resources) {
			return false
		}
	}
	for i := range pod.Spec.Containers {
		if !bestEffortRequirements(&pod.Spec.Containers[i].Resources) {
			return false
		}
	}
	return true
}

// bestEffortRequirements reports whether r requests and limits no cpu and no memory.
func bestEffortRequirements(r *corev1.ResourceRequirements) bool {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := r.Requests[name], r.Limits[name]
		if !req.IsZero() || !lim.IsZero() {
			return false
		}
	}
	return true
}

// usesCrossNamespaceAffinity reports whether any pod affinity or anti-affinity term of
// pod, required or preferred, names namespaces or has a namespace selector.
func usesCrossNamespaceAffinity(pod *corev1.Pod) bool {
	if pod.Spec.Affinity == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	var weighted []corev1.WeightedPodAffinityTerm
	if a := pod.Spec.Affinity.PodAffinity; a != nil {
		terms = append(terms, a.RequiredDuringSchedulingIgnoredDuringExecution...)
		weighted = append(weighted, a.PreferredDuringSchedulingIgnoredDuringExecution...)
	}
	if a := pod.Spec.Affinity.PodAntiAffinity; a != nil {
		terms = append(terms, a.RequiredDuringSchedulingIgnoredDuringExecution...)
		weighted = append(weighted, a.PreferredDuringSchedulingIgnoredDuringExecution...)
	}
	for _, w := range weighted {
		terms = append(terms, w.PodAffinityTerm)
	}
	return slices.ContainsFunc(terms, func(t corev1.PodAffinityTerm) bool {
		return len(t.Namespaces) != 0 || t.NamespaceSelector != nil
	})
}

// asPod returns obj as a pod.
func asPod(obj runtime.Object) (*corev1.Pod, error) {
	if pod, ok := obj.(*corev1.Pod); ok && pod != nil {
		return pod, nil
	}
	return nil, unsupported("*v1.Pod", obj)
}
