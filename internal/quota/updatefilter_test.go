package quota

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func TestUpdateFilter(t *testing.T) {
	running := pod("p", container("app", rl("cpu", "1"), nil))
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Resources: &corev1.ResourceRequirements{Requests: rl("cpu", "1")}}}
	resized := running.DeepCopy()
	resized.Status.ContainerStatuses[0].Resources.Requests = rl("cpu", "2")
	relabeled := running.DeepCopy()
	relabeled.Labels = map[string]string{"a": "b"}
	deadline := running.DeepCopy()
	deadline.Spec.ActiveDeadlineSeconds = ptr.To[int64](5)
	succeeded := running.DeepCopy()
	succeeded.Status.Phase = corev1.PodSucceeded
	deleting := running.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: epoch}
	deleting.DeletionGracePeriodSeconds = ptr.To[int64](30)
	gone := running.DeepCopy()
	gone.DeletionTimestamp = &metav1.Time{Time: epoch.Add(-time.Minute)}
	gone.DeletionGracePeriodSeconds = ptr.To[int64](30)

	tests := []struct {
		name     string
		gvr      schema.GroupVersionResource
		old, new any
		want     bool
	}{
		{"pod unchanged", podsResource, running, relabeled, false},
		{"pod resized", podsResource, running, resized, true},
		{"pod got a deadline", podsResource, running, deadline, true},
		{"pod succeeded", podsResource, running, succeeded, true},
		{"pod deleted within grace", podsResource, running, deleting, false},
		{"pod deleted past grace", podsResource, running, gone, true},
		{"pod of wrong type", podsResource, running, &corev1.Service{}, true},
		{"service to node port", servicesResource, service("s", corev1.ServiceTypeClusterIP), service("s", corev1.ServiceTypeNodePort), true},
		{"service node port to load balancer", servicesResource, service("s", corev1.ServiceTypeNodePort), service("s", corev1.ServiceTypeLoadBalancer), true},
		{"service cluster IP to external name", servicesResource, service("s", corev1.ServiceTypeClusterIP), service("s", corev1.ServiceTypeExternalName), false},
		{"claim", pvcsResource, claim("c", "", "1Gi"), claim("c", "", "1Gi"), true},
		{"configmap", corev1.SchemeGroupVersion.WithResource("configmaps"), &corev1.ConfigMap{}, &corev1.ConfigMap{}, false},
	}
	filter := NewUpdateFilter(clocktesting.NewFakePassiveClock(epoch))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filter(tt.gvr, tt.old, tt.new); got != tt.want {
				t.Errorf("filter() = %v, want %v", got, tt.want)
			}
		})
	}
}
