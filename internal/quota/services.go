package quota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
)

// serviceCountName counts every stored service.
var serviceCountName = generic.ObjectCountQuotaResourceNameFor(servicesResource.GroupResource())

// serviceResourceNames are the quota names services use.
var serviceResourceNames = []corev1.ResourceName{
	serviceCountName,
	corev1.ResourceServices,
	corev1.ResourceServicesNodePorts,
	corev1.ResourceServicesLoadBalancers,
}

// serviceEvaluator measures what services use. Services have no scopes.
type serviceEvaluator struct {
	list generic.ListFuncByNamespace
}

var _ quotav1.Evaluator = (*serviceEvaluator)(nil)

// NewServiceEvaluator returns the evaluator of core/v1 services, listing them through
// list.
func NewServiceEvaluator(list ListFunc) quotav1.Evaluator {
	return &serviceEvaluator{list: byNamespace(list, servicesResource)}
}

// GroupResource returns services.
func (e *serviceEvaluator) GroupResource() schema.GroupResource {
	return servicesResource.GroupResource()
}

// Constraints requires nothing of a service.
func (e *serviceEvaluator) Constraints([]corev1.ResourceName, runtime.Object) error {
	return nil
}

// Handles reports true for creates and updates of the service itself: an update may
// change its type.
func (e *serviceEvaluator) Handles(a admission.Attributes) bool {
	if a.GetSubresource() != "" {
		return false
	}
	op := a.GetOperation()
	return op == admission.Create || op == admission.Update
}

// Matches reports whether resourceQuota limits a resource services use.
func (e *serviceEvaluator) Matches(resourceQuota *corev1.ResourceQuota, item runtime.Object) (bool, error) {
	return generic.Matches(resourceQuota, item, e.MatchingResources, generic.MatchesNoScopeFunc)
}

// MatchingResources returns the names of input that services use.
func (e *serviceEvaluator) MatchingResources(input []corev1.ResourceName) []corev1.ResourceName {
	return quotav1.Intersection(input, serviceResourceNames)
}

// MatchingScopes returns no scopes.
func (e *serviceEvaluator) MatchingScopes(runtime.Object, []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return []corev1.ScopedResourceSelectorRequirement{}, nil
}

// UncoveredQuotaScopes returns no scopes.
func (e *serviceEvaluator) UncoveredQuotaScopes(_, _ []corev1.ScopedResourceSelectorRequirement) ([]corev1.ScopedResourceSelectorRequirement, error) {
	return []corev1.ScopedResourceSelectorRequirement{}, nil
}

// Usage returns what item uses: one service; for a NodePort service a node port per
// port; for a LoadBalancer service one load balancer and a node port per port, or,
// when it does not allocate node ports, per port that names one. The load balancer and
// node port counts are present, as zero, for every service.
func (e *serviceEvaluator) Usage(item runtime.Object) (corev1.ResourceList, error) {
	svc, ok := item.(*corev1.Service)
	if !ok || svc == nil {
		return corev1.ResourceList{}, unsupported("*v1.Service", item)
	}
	var lbs, nodePorts int64
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		nodePorts = int64(len(svc.Spec.Ports))
	case corev1.ServiceTypeLoadBalancer:
		lbs = 1
		if a := svc.Spec.AllocateLoadBalancerNodePorts; a != nil && !*a {
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					nodePorts++
				}
			}
		} else {
			nodePorts = int64(len(svc.Spec.Ports))
		}
	}
	return corev1.ResourceList{
		serviceCountName:                     *resource.NewQuantity(1, resource.DecimalSI),
		corev1.ResourceServices:              *resource.NewQuantity(1, resource.DecimalSI),
		corev1.ResourceServicesLoadBalancers: *resource.NewQuantity(lbs, resource.DecimalSI),
		corev1.ResourceServicesNodePorts:     *resource.NewQuantity(nodePorts, resource.DecimalSI),
	}, nil
}

// UsageStats sums the usage of the services of options.Namespace.
func (e *serviceEvaluator) UsageStats(options quotav1.UsageStatsOptions) (quotav1.UsageStats, error) {
	return generic.CalculateUsageStats(options, e.list, generic.MatchesNoScopeFunc, e.Usage)
}

// quotaServiceType returns svc's type if quota counts something by it (NodePort,
// LoadBalancer), and "" otherwise.
func quotaServiceType(svc *corev1.Service) corev1.ServiceType {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
		return svc.Spec.Type
	}
	return ""
}
