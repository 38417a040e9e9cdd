package quota

import (
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
)

// UpdateFilter reports whether an update of an object of resource gvr, from oldObj
// to newObj, may change what quota counts, so that the quota status controller must
// recompute the namespace's quotas.
type UpdateFilter func(gvr schema.GroupVersionResource, oldObj, newObj any) bool

// NewUpdateFilter returns the update filter of the resources this package evaluates,
// as upstream's default: a pod's update counts when its containers' resources in
// status change, when it moves between the Terminating scopes, or when it stops being
// charged (it ended, or was deleted and its grace period, by clk, has passed); a
// service's when it changes between the types quota counts by; a claim's always. For
// other resources, whose objects quota only counts, updates never count. Objects of
// an unexpected type count, which is the safe answer.
func NewUpdateFilter(clk clock.PassiveClock) UpdateFilter {
	return func(gvr schema.GroupVersionResource, oldObj, newObj any) bool {
		switch gvr.GroupResource() {
		case podsResource.GroupResource():
			oldPod, ok1 := oldObj.(*corev1.Pod)
			newPod, ok2 := newObj.(*corev1.Pod)
			if !ok1 || !ok2 {
				return true
			}
			if statusResourcesChanged(oldPod, newPod) || isTerminating(oldPod) != isTerminating(newPod) {
				return true
			}
			now := clk.Now()
			return podCharged(oldPod, now) && !podCharged(newPod, now)
		case servicesResource.GroupResource():
			oldSvc, ok1 := oldObj.(*corev1.Service)
			newSvc, ok2 := newObj.(*corev1.Service)
			if !ok1 || !ok2 {
				return true
			}
			return quotaServiceType(oldSvc) != quotaServiceType(newSvc)
		case pvcsResource.GroupResource():
			// Upstream compares the allocated storage by the addresses of fresh
			// copies, which always differ.
			return true
		}
		return false
	}
}

// statusResourcesChanged reports whether the resources in status of a container or
// init container of oldPod differ in newPod's status of the same name.
func statusResourcesChanged(oldPod, newPod *corev1.Pod) bool {
	changed := func(olds, news []corev1.ContainerStatus) bool {
		for _, o := range olds {
			for _, n := range news {
				if n.Name == o.Name && !apiequality.Semantic.DeepEqual(o.Resources, n.Resources) {
					return true
				}
			}
		}
		return false
	}
	return changed(oldPod.Status.ContainerStatuses, newPod.Status.ContainerStatuses) ||
		changed(oldPod.Status.InitContainerStatuses, newPod.Status.InitContainerStatuses)
}
