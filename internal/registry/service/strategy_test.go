package service

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// created runs a service through the create path, with ip as the allocated cluster IP.
func created(spec corev1.ServiceSpec, ip string) *corev1.Service {
	s := New()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: spec}
	s.PrepareForCreate(svc)
	if ip != "" && svc.Spec.ClusterIP == "" {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
	}
	s.Default(svc)
	return svc
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		spec corev1.ServiceSpec
		ip   string
		want corev1.ServiceSpec
	}{
		{
			name: "cluster IP",
			spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
			ip:   "10.96.0.10",
			want: corev1.ServiceSpec{
				Selector:              map[string]string{"app": "web"},
				Ports:                 []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}},
				Type:                  corev1.ServiceTypeClusterIP,
				SessionAffinity:       corev1.ServiceAffinityNone,
				ClusterIP:             "10.96.0.10",
				ClusterIPs:            []string{"10.96.0.10"},
				InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
				IPFamilyPolicy:        ptr.To(corev1.IPFamilyPolicySingleStack),
				IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			},
		},
		{
			name: "not yet allocated",
			spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}}},
			want: corev1.ServiceSpec{
				Ports:                 []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}},
				Type:                  corev1.ServiceTypeClusterIP,
				SessionAffinity:       corev1.ServiceAffinityNone,
				InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
			},
		},
		{
			name: "headless without selector",
			spec: corev1.ServiceSpec{ClusterIP: "None"},
			want: corev1.ServiceSpec{
				Type:                  corev1.ServiceTypeClusterIP,
				SessionAffinity:       corev1.ServiceAffinityNone,
				ClusterIP:             "None",
				ClusterIPs:            []string{"None"},
				InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
				IPFamilyPolicy:        ptr.To(corev1.IPFamilyPolicyRequireDualStack),
				IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			},
		},
		{
			name: "load balancer with client IP affinity",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, SessionAffinity: corev1.ServiceAffinityClientIP, Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromInt32(8443)}}},
			ip:   "fd00::10",
			want: corev1.ServiceSpec{
				Type:                          corev1.ServiceTypeLoadBalancer,
				Ports:                         []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8443)}},
				SessionAffinity:               corev1.ServiceAffinityClientIP,
				SessionAffinityConfig:         &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](10800)}},
				ClusterIP:                     "fd00::10",
				ClusterIPs:                    []string{"fd00::10"},
				ExternalTrafficPolicy:         corev1.ServiceExternalTrafficPolicyCluster,
				InternalTrafficPolicy:         ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
				AllocateLoadBalancerNodePorts: ptr.To(true),
				IPFamilyPolicy:                ptr.To(corev1.IPFamilyPolicySingleStack),
				IPFamilies:                    []corev1.IPFamily{corev1.IPv6Protocol},
			},
		},
		{
			name: "external name",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"},
			want: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com", SessionAffinity: corev1.ServiceAffinityNone},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := created(tt.spec, tt.ip)
			if !reflect.DeepEqual(svc.Spec, tt.want) {
				t.Errorf("spec =\n%+v\nwant\n%+v", svc.Spec, tt.want)
			}
			if errs := New().Validate(svc); len(errs) != 0 && tt.ip != "" {
				t.Errorf("defaulted service is invalid: %v", errs)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.ServiceSpec)
		want   []string
	}{
		{name: "valid", mutate: func(*corev1.ServiceSpec) {}},
		{name: "no ports", mutate: func(s *corev1.ServiceSpec) { s.Ports = nil }, want: []string{"spec.ports"}},
		{
			name: "unnamed and out of range",
			mutate: func(s *corev1.ServiceSpec) {
				s.Ports = append(s.Ports, corev1.ServicePort{Port: 70000, Protocol: "TCP", TargetPort: intstr.FromInt32(80)})
			},
			want: []string{"spec.ports[0].name", "spec.ports[1].name", "spec.ports[1].port"},
		},
		{
			name: "duplicate names",
			mutate: func(s *corev1.ServiceSpec) {
				s.Ports[0].Name = "http"
				s.Ports = append(s.Ports, corev1.ServicePort{Name: "http", Port: 81, Protocol: "TCP", TargetPort: intstr.FromInt32(81)})
			},
			want: []string{"spec.ports[1].name"},
		},
		{name: "node port on ClusterIP", mutate: func(s *corev1.ServiceSpec) { s.Ports[0].NodePort = 30080 }, want: []string{"spec.ports[0].nodePort"}},
		{name: "bad protocol", mutate: func(s *corev1.ServiceSpec) { s.Ports[0].Protocol = "ICMP" }, want: []string{"spec.ports[0].protocol"}},
		{name: "clusterIPs out of step", mutate: func(s *corev1.ServiceSpec) { s.ClusterIPs = []string{"10.96.0.11"} }, want: []string{"spec.clusterIPs"}},
		{name: "loopback external IP", mutate: func(s *corev1.ServiceSpec) { s.ExternalIPs = []string{"127.0.0.1"} }, want: []string{"spec.externalIPs[0]", "spec.externalTrafficPolicy"}},
		{name: "bad type", mutate: func(s *corev1.ServiceSpec) { s.Type = "Magic" }, want: []string{"spec.type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := created(corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}, "10.96.0.10")
			tt.mutate(&svc.Spec)
			if got := fieldsOf(New().Validate(svc)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	old := created(corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}, "10.96.0.10")
	old.Spec.Ports[0].NodePort = 30080
	old.Status.Conditions = []metav1.Condition{{Type: "Ready"}}

	tests := []struct {
		name      string
		spec      corev1.ServiceSpec
		wantSpec  func(*corev1.ServiceSpec)
		wantError []string
	}{
		{
			name: "resubmitted manifest keeps what was allocated",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
			wantSpec: func(s *corev1.ServiceSpec) {
				if s.ClusterIP != "10.96.0.10" || s.Ports[0].NodePort != 30080 || s.IPFamilies[0] != corev1.IPv4Protocol {
					t.Errorf("allocated values lost: %+v", s)
				}
			},
		},
		{
			name: "switch to ClusterIP drops node ports",
			spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080}}},
			wantSpec: func(s *corev1.ServiceSpec) {
				if s.Ports[0].NodePort != 0 || s.ExternalTrafficPolicy != "" {
					t.Errorf("node port %d, externalTrafficPolicy %q kept", s.Ports[0].NodePort, s.ExternalTrafficPolicy)
				}
			},
		},
		{
			name:      "cluster IP is immutable",
			spec:      corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"}, ClusterIP: "10.96.0.99", ClusterIPs: []string{"10.96.0.99"}, Ports: []corev1.ServicePort{{Port: 80}}},
			wantError: []string{"spec.clusterIPs[0]"},
		},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: old.ObjectMeta, Spec: tt.spec}
			s.PrepareForUpdate(svc, old)
			s.Default(svc)
			if !reflect.DeepEqual(svc.Status, old.Status) {
				t.Errorf("status = %+v, want the old one", svc.Status)
			}
			if tt.wantSpec != nil {
				tt.wantSpec(&svc.Spec)
			}
			if got := fieldsOf(s.ValidateUpdate(svc, old)); !reflect.DeepEqual(got, tt.wantError) {
				t.Errorf("errors at %v, want %v", got, tt.wantError)
			}
		})
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	old := created(corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}, "10.96.0.10")
	svc := old.DeepCopy()
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {Hostname: "192.0.2.2"}}
	s.PrepareForStatusUpdate(svc, old)
	s.Default(svc)
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("status update changed the spec")
	}
	if m := svc.Status.LoadBalancer.Ingress[0].IPMode; m == nil || *m != corev1.LoadBalancerIPModeVIP {
		t.Errorf("ipMode = %v, want VIP", m)
	}
	want := []string{"status.loadBalancer.ingress[1].hostname"}
	if got := fieldsOf(s.ValidateStatusUpdate(svc, old)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors at %v, want %v", got, want)
	}
}

func TestFields(t *testing.T) {
	svc := created(corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}, "10.96.0.1")
	want := fields.Set{"metadata.name": "web", "metadata.namespace": "default", "spec.clusterIP": "10.96.0.1", "spec.type": "ClusterIP"}
	if got := New().Fields(svc); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestRow(t *testing.T) {
	age := metav1.NewTime(now.Add(-5 * time.Minute))
	tests := []struct {
		name string
		svc  corev1.Service
		want []interface{}
	}{
		{
			name: "cluster IP",
			svc: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"10.96.0.1"},
				Ports:    []corev1.ServicePort{{Port: 443, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}},
				Selector: map[string]string{"b": "2", "a": "1"},
			}},
			want: []interface{}{"web", "ClusterIP", "10.96.0.1", "<none>", "443/TCP,53/UDP", "5m", "a=1,b=2"},
		},
		{
			name: "node port",
			svc: corev1.Service{Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.0.2"}, ExternalIPs: []string{"192.0.2.9"},
				Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: "TCP"}},
			}},
			want: []interface{}{"web", "NodePort", "10.96.0.2", "192.0.2.9", "80:30080/TCP", "5m", "<none>"},
		},
		{
			name: "pending load balancer",
			svc:  corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.3"}}},
			want: []interface{}{"web", "LoadBalancer", "10.96.0.3", "<pending>", "<none>", "5m", "<none>"},
		},
		{
			name: "load balancer",
			svc: corev1.Service{
				Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.3"}, ExternalIPs: []string{"192.0.2.9"}},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}, {IP: "203.0.113.5"}}}},
			},
			want: []interface{}{"web", "LoadBalancer", "10.96.0.3", "203.0.113.5,lb.example.com,192.0.2.9", "<none>", "5m", "<none>"},
		},
		{
			name: "external name",
			svc:  corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
			want: []interface{}{"web", "ExternalName", "<none>", "db.example.com", "<none>", "5m", "<none>"},
		},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.svc.Name, tt.svc.CreationTimestamp = "web", age
			got := s.Row(&tt.svc, now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %q\nwant  %q", got, tt.want)
			}
			if len(got) != len(s.Columns()) {
				t.Errorf("%d cells for %d columns", len(got), len(s.Columns()))
			}
		})
	}
}

// fieldsOf returns the field path of every error, in order.
func fieldsOf(errs field.ErrorList) []string {
	var paths []string
	for _, err := range errs {
		paths = append(paths, err.Field)
	}
	return paths
}
