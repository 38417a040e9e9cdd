package quota

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/utils/clock"
)

// ErrUnsupportedObject is returned (wrapped) when an evaluator is given an object that
// is not the external type of its resource.
var ErrUnsupportedObject = errors.New("unsupported object type")

// ListFunc lists the stored objects of resource gvr in namespace. The objects are the
// external types (*corev1.Pod for pods); callers must not modify them. It returns an
// error while its backing cache cannot answer, which the quota system reports rather
// than counting nothing.
type ListFunc func(gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error)

var (
	podsResource     = corev1.SchemeGroupVersion.WithResource("pods")
	servicesResource = corev1.SchemeGroupVersion.WithResource("services")
	pvcsResource     = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
)

// legacyCountNames are the names quota counted these resources by before
// count/<resource> existed; both names are counted.
var legacyCountNames = map[schema.GroupVersionResource]corev1.ResourceName{
	corev1.SchemeGroupVersion.WithResource("configmaps"):             corev1.ResourceConfigMaps,
	corev1.SchemeGroupVersion.WithResource("resourcequotas"):         corev1.ResourceQuotas,
	corev1.SchemeGroupVersion.WithResource("replicationcontrollers"): corev1.ResourceReplicationControllers,
	corev1.SchemeGroupVersion.WithResource("secrets"):                corev1.ResourceSecrets,
}

// NewConfiguration returns the quota configuration of podium: the evaluators of pods,
// services, persistent volume claims, configmaps, secrets, replicationcontrollers and
// resourcequotas, listing through list, and the resources quota ignores. clk tells
// when a deleted pod's grace period has passed. Every other resource is counted as
// count/<resource>.<group> by an evaluator that the admission plugin makes for itself
// and that the status controller makes with NewObjectCountEvaluator.
func NewConfiguration(list ListFunc, clk clock.PassiveClock) quotav1.Configuration {
	evaluators := []quotav1.Evaluator{
		NewPodEvaluator(list, clk),
		NewServiceEvaluator(list),
		NewPersistentVolumeClaimEvaluator(list),
	}
	for gvr, alias := range legacyCountNames {
		evaluators = append(evaluators, generic.NewObjectCountEvaluator(gvr.GroupResource(), byNamespace(list, gvr), alias))
	}
	return generic.NewConfiguration(evaluators, IgnoredResources())
}

// NewObjectCountEvaluator returns an evaluator that counts the objects of gvr as
// count/<resource>.<group> (count/<resource> for the core group).
func NewObjectCountEvaluator(gvr schema.GroupVersionResource, list ListFunc) quotav1.Evaluator {
	return generic.NewObjectCountEvaluator(gvr.GroupResource(), byNamespace(list, gvr), "")
}

// IgnoredResources returns the resources quota never counts: those that are not
// stored (reviews, bindings, componentstatuses) and events. It returns a new map on
// every call.
func IgnoredResources() map[schema.GroupResource]struct{} {
	return map[schema.GroupResource]struct{}{
		{Group: "", Resource: "bindings"}:                                      {},
		{Group: "", Resource: "componentstatuses"}:                             {},
		{Group: "authentication.k8s.io", Resource: "tokenreviews"}:             {},
		{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}:       {},
		{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}:      {},
		{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}:  {},
		{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}: {},
		{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"}:   {},
		{Group: "", Resource: "events"}:                                        {},
		{Group: "events.k8s.io", Resource: "events"}:                           {},
	}
}

// byNamespace binds list to one resource.
func byNamespace(list ListFunc, gvr schema.GroupVersionResource) generic.ListFuncByNamespace {
	return func(namespace string) ([]runtime.Object, error) {
		objs, err := list(gvr, namespace)
		if err != nil {
			return nil, fmt.Errorf("list %s in namespace %q: %w", gvr.GroupResource(), namespace, err)
		}
		return objs, nil
	}
}

// unsupported is the error for obj given to the evaluator of the type want names.
func unsupported(want string, obj runtime.Object) error {
	return fmt.Errorf("expected %s, got %T: %w", want, obj, ErrUnsupportedObject)
}

// uncoveredScopes returns the limited scopes no matched quota scope names.
func uncoveredScopes(limited, matched []corev1.ScopedResourceSelectorRequirement) []corev1.ScopedResourceSelectorRequirement {
	uncovered := []corev1.ScopedResourceSelectorRequirement{}
	for _, l := range limited {
		covered := false
		for _, m := range matched {
			if m.ScopeName == l.ScopeName {
				covered = true
				break
			}
		}
		if !covered {
			uncovered = append(uncovered, l)
		}
	}
	return uncovered
}

// matchingScopes returns the selectors obj matches by match.
func matchingScopes(obj runtime.Object, selectors []corev1.ScopedResourceSelectorRequirement,
	match generic.MatchesScopeFunc) ([]corev1.ScopedResourceSelectorRequirement, error) {
	matched := []corev1.ScopedResourceSelectorRequirement{}
	for _, s := range selectors {
		ok, err := match(s, obj)
		if err != nil {
			return []corev1.ScopedResourceSelectorRequirement{}, fmt.Errorf("error on matching scope %v: %w", s, err)
		}
		if ok {
			matched = append(matched, s)
		}
	}
	return matched, nil
}
