package quota

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/utils/ptr"
)

// service returns a service in namespace ns of type typ with ports, nodePorts[i]
// being the i-th port's node port.
func service(name string, typ corev1.ServiceType, nodePorts ...int32) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: corev1.ServiceSpec{Type: typ}}
	for i, np := range nodePorts {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Port: 80 + int32(i), NodePort: np})
	}
	return svc
}

func TestServiceUsage(t *testing.T) {
	noNodePorts := service("lb", corev1.ServiceTypeLoadBalancer, 30001, 0, 0)
	noNodePorts.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
	allocate := service("lb", corev1.ServiceTypeLoadBalancer, 30001, 0, 0)
	allocate.Spec.AllocateLoadBalancerNodePorts = ptr.To(true)
	tests := []struct {
		name string
		svc  *corev1.Service
		want corev1.ResourceList
	}{
		{"cluster IP", service("c", corev1.ServiceTypeClusterIP, 0, 0),
			rl("services", "1", "count/services", "1", "services.loadbalancers", "0", "services.nodeports", "0")},
		{"no type", service("c", "", 0),
			rl("services", "1", "count/services", "1", "services.loadbalancers", "0", "services.nodeports", "0")},
		{"external name", service("c", corev1.ServiceTypeExternalName),
			rl("services", "1", "count/services", "1", "services.loadbalancers", "0", "services.nodeports", "0")},
		{"node port counts every port", service("np", corev1.ServiceTypeNodePort, 0, 30002),
			rl("services", "1", "count/services", "1", "services.loadbalancers", "0", "services.nodeports", "2")},
		{"load balancer counts every port", service("lb", corev1.ServiceTypeLoadBalancer, 0, 0, 0),
			rl("services", "1", "count/services", "1", "services.loadbalancers", "1", "services.nodeports", "3")},
		{"load balancer allocating node ports", allocate,
			rl("services", "1", "count/services", "1", "services.loadbalancers", "1", "services.nodeports", "3")},
		{"load balancer without node ports counts those set", noNodePorts,
			rl("services", "1", "count/services", "1", "services.loadbalancers", "1", "services.nodeports", "1")},
	}
	e := NewServiceEvaluator(newStore().list)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Usage(tt.svc)
			if err != nil {
				t.Fatal(err)
			}
			wantUsage(t, got, tt.want)
		})
	}
	if _, err := e.Usage(&corev1.Pod{}); !errors.Is(err, ErrUnsupportedObject) {
		t.Errorf("Usage(pod) error = %v, want ErrUnsupportedObject", err)
	}
}

func TestServiceUsageStats(t *testing.T) {
	s := newStore(
		service("a", corev1.ServiceTypeClusterIP, 0),
		service("b", corev1.ServiceTypeNodePort, 0, 0),
		service("c", corev1.ServiceTypeLoadBalancer, 0),
	)
	e := NewServiceEvaluator(s.list)
	got, err := e.UsageStats(quotav1.UsageStatsOptions{Namespace: "ns", Resources: []corev1.ResourceName{"services"}})
	if err != nil {
		t.Fatal(err)
	}
	wantUsage(t, got.Used, rl("services", "3", "count/services", "3", "services.loadbalancers", "1", "services.nodeports", "3"))
}

func TestServiceEvaluator(t *testing.T) {
	e := NewServiceEvaluator(newStore().list)
	got := e.MatchingResources([]corev1.ResourceName{"services.nodeports", "pods", "services", "count/services", "services.loadbalancers", "count/pods"})
	want := []corev1.ResourceName{"count/services", "services", "services.loadbalancers", "services.nodeports"}
	if len(got) != len(want) {
		t.Fatalf("MatchingResources() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("MatchingResources() = %v, want %v", got, want)
		}
	}

	svc := service("s", corev1.ServiceTypeNodePort, 0)
	for _, tt := range []struct {
		name string
		sub  string
		op   admission.Operation
		want bool
	}{
		{"create", "", admission.Create, true},
		{"update", "", admission.Update, true},
		{"delete", "", admission.Delete, false},
		{"update status", "status", admission.Update, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := admission.NewAttributesRecord(svc, svc, corev1.SchemeGroupVersion.WithKind("Service"), "ns", "s",
				servicesResource, tt.sub, tt.op, nil, false, nil)
			if got := e.Handles(a); got != tt.want {
				t.Errorf("Handles() = %v, want %v", got, tt.want)
			}
		})
	}

	scoped := &corev1.ResourceQuota{
		Spec:   corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}},
		Status: corev1.ResourceQuotaStatus{Hard: rl("services", "1")},
	}
	if ok, err := e.Matches(scoped, svc); err != nil || ok {
		t.Errorf("Matches(scoped quota) = %v, %v, want false: services have no scopes", ok, err)
	}
	if err := e.Constraints([]corev1.ResourceName{"services"}, svc); err != nil {
		t.Errorf("Constraints() = %v, want nil", err)
	}
}
