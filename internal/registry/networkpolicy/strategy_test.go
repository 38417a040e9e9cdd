package networkpolicy

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newPolicy(spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: spec}
}

func selector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

func ingressFrom(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: peers}}}
}

func egressTo(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{To: peers}}}
}

func ingressPorts(ports ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicySpec {
	return networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: ports}}}
}

func ipBlock(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

func port(p intstr.IntOrString) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Port: &p}
}

func portRange(p, end int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromInt32(p)), EndPort: &end}
}

type fieldError struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldError {
	var out []fieldError
	for _, e := range errs {
		out = append(out, fieldError{e.Type, e.Field})
	}
	return out
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.GroupVersionResource().String() != "networking.k8s.io/v1, Resource=networkpolicies" || !info.Namespaced ||
		info.Kind != "NetworkPolicy" || info.ListKind != "NetworkPolicyList" || info.Singular != "networkpolicy" ||
		!reflect.DeepEqual(info.ShortNames, []string{"netpol"}) || len(info.Categories) != 0 || len(info.Subresources) != 0 {
		t.Errorf("Info = %+v", info)
	}
	if msgs := New().ValidateName("allow.web-1", false); len(msgs) != 0 {
		t.Errorf("ValidateName: %v", msgs)
	}
	if msgs := New().ValidateName("Allow_Web", false); len(msgs) == 0 {
		t.Error("ValidateName accepted a name that is not a DNS subdomain")
	}
}

func TestDefault(t *testing.T) {
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	ingress, egress := networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress
	tests := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want networkingv1.NetworkPolicySpec
	}{
		{
			name: "empty is ingress only",
			want: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{ingress}},
		},
		{
			name: "egress rules add egress",
			spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}},
			want: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}, PolicyTypes: []networkingv1.PolicyType{ingress, egress}},
		},
		{
			name: "given types kept",
			spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{egress}},
			want: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{egress}},
		},
		{
			name: "ports get TCP",
			spec: networkingv1.NetworkPolicySpec{
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{}, {Protocol: &udp}}}},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(53))}}},
				PolicyTypes: []networkingv1.PolicyType{egress},
			},
			want: networkingv1.NetworkPolicySpec{
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp}, {Protocol: &udp}}}},
				Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(53))}}}},
				PolicyTypes: []networkingv1.PolicyType{egress},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np := newPolicy(tt.spec)
			New().Default(np)
			if !reflect.DeepEqual(np.Spec, tt.want) {
				t.Errorf("spec %+v, want %+v", np.Spec, tt.want)
			}
			New().Default(np)
			if !reflect.DeepEqual(np.Spec, tt.want) {
				t.Errorf("second Default changed the spec to %+v", np.Spec)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	num, name := intstr.FromInt32, intstr.FromString
	badSelector := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}
	tests := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want []fieldError
	}{
		{name: "deny all"},
		{
			name: "full policy",
			spec: networkingv1.NetworkPolicySpec{
				PodSelector: *selector(),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					Ports: []networkingv1.NetworkPolicyPort{port(num(80)), port(name("http")), portRange(8000, 8080), {Protocol: ptr.To(corev1.ProtocolSCTP)}},
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: selector(), NamespaceSelector: &metav1.LabelSelector{}}, {NamespaceSelector: selector()}},
				}},
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To: []networkingv1.NetworkPolicyPeer{ipBlock("10.0.0.0/8", "10.1.0.0/16", "10.2.3.4/32"), ipBlock("2001:db8::/32", "2001:db8:1::/48")},
				}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			},
		},
		{name: "endPort equal to port", spec: ingressPorts(portRange(443, 443))},
		{name: "endPort 65535", spec: ingressPorts(portRange(1, 65535))},
		{name: "cidr with host bits (lenient)", spec: egressTo(ipBlock("10.0.0.1/8", "10.0.1.1/24"))},
		{name: "repeated policy type", spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Ingress"}}},
		{
			name: "bad pod selector",
			spec: networkingv1.NetworkPolicySpec{PodSelector: *badSelector},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.podSelector.matchExpressions[0].operator"}},
		},
		{
			name: "three policy types",
			spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress", "Ingress"}},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.policyTypes"}},
		},
		{
			name: "unknown policy type",
			spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Sideways"}},
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.policyTypes[1]"}},
		},
		{
			name: "unknown protocol",
			spec: ingressPorts(networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.Protocol("ICMP"))}),
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.ingress[0].ports[0].protocol"}},
		},
		{
			name: "port zero",
			spec: ingressPorts(port(num(0))),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].ports[0].port"}},
		},
		{
			name: "port too big",
			spec: ingressPorts(port(num(80)), port(num(65536))),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].ports[1].port"}},
		},
		{
			name: "bad port name",
			spec: ingressPorts(port(name("http_alt"))),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].ports[0].port"}},
		},
		{
			name: "endPort after a named port",
			spec: ingressPorts(networkingv1.NetworkPolicyPort{Port: ptr.To(name("http")), EndPort: ptr.To[int32](90)}),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].ports[0].endPort"}},
		},
		{
			name: "endPort without port",
			spec: ingressPorts(networkingv1.NetworkPolicyPort{EndPort: ptr.To[int32](90)}),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].ports[0].endPort"}},
		},
		{
			name: "endPort below port",
			spec: ingressPorts(portRange(8080, 8000)),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].ports[0].endPort"}},
		},
		{
			name: "endPort too big",
			spec: ingressPorts(portRange(8080, 65536)),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].ports[0].endPort"}},
		},
		{
			name: "egress port checked",
			spec: networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{portRange(0, 10)}}}},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.egress[0].ports[0].port"}},
		},
		{
			name: "empty peer",
			spec: ingressFrom(networkingv1.NetworkPolicyPeer{}),
			want: []fieldError{{field.ErrorTypeRequired, "spec.ingress[0].from[0]"}},
		},
		{
			name: "ipBlock with a selector",
			spec: egressTo(networkingv1.NetworkPolicyPeer{NamespaceSelector: selector(), IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}),
			want: []fieldError{{field.ErrorTypeForbidden, "spec.egress[0].to[0]"}},
		},
		{
			name: "bad peer selectors",
			spec: ingressFrom(networkingv1.NetworkPolicyPeer{PodSelector: badSelector, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "not valid!"}}}),
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.ingress[0].from[0].podSelector.matchExpressions[0].operator"},
				{field.ErrorTypeInvalid, "spec.ingress[0].from[0].namespaceSelector.matchLabels"},
			},
		},
		{
			name: "missing cidr",
			spec: egressTo(ipBlock("", "not checked")),
			want: []fieldError{{field.ErrorTypeRequired, "spec.egress[0].to[0].ipBlock.cidr"}},
		},
		{
			name: "bad cidr",
			spec: ingressFrom(ipBlock("10.0.0.0", "10.1.0.0/16")),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].from[0].ipBlock.cidr"}},
		},
		{
			name: "bad except",
			spec: ingressFrom(ipBlock("10.0.0.0/8", "10.1.0.0/16", "ten")),
			want: []fieldError{{field.ErrorTypeInvalid, "spec.ingress[0].from[0].ipBlock.except[1]"}},
		},
		{
			name: "except outside cidr",
			spec: ingressFrom(ipBlock("10.0.0.0/8", "11.0.0.0/16", "2001:db8::/64")),
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.ingress[0].from[0].ipBlock.except[0]"},
				{field.ErrorTypeInvalid, "spec.ingress[0].from[0].ipBlock.except[1]"},
			},
		},
		{
			name: "except not smaller",
			spec: egressTo(ipBlock("10.0.0.0/16", "10.0.0.0/16", "10.0.0.0/8")),
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.egress[0].to[0].ipBlock.except[0]"},
				{field.ErrorTypeInvalid, "spec.egress[0].to[0].ipBlock.except[1]"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			np := newPolicy(tt.spec)
			s.PrepareForCreate(np)
			s.Default(np)
			if got := summarize(s.Validate(np)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want []string
	}{
		{
			name: "policy types",
			spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress", "Both"}},
			want: []string{`spec.policyTypes: Invalid value: ["Ingress","Egress","Both"]: may not specify more than two policyTypes`},
		},
		{
			name: "policy type",
			spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Both"}},
			want: []string{`spec.policyTypes[0]: Unsupported value: "Both": supported values: "Ingress", "Egress"`},
		},
		{
			name: "protocol",
			spec: ingressPorts(networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.Protocol("ICMP"))}),
			want: []string{`spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`},
		},
		{
			name: "ports",
			spec: ingressPorts(port(intstr.FromInt32(0)), portRange(90, 80), networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromString("web")), EndPort: ptr.To[int32](80)}, networkingv1.NetworkPolicyPort{EndPort: ptr.To[int32](80)}),
			want: []string{
				"spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
				"spec.ingress[0].ports[1].endPort: Invalid value: 80: must be greater than or equal to `port`",
				"spec.ingress[0].ports[2].endPort: Invalid value: 80: may not be specified when `port` is non-numeric",
				"spec.ingress[0].ports[3].endPort: Invalid value: 80: may not be specified when `port` is not specified",
			},
		},
		{
			name: "peers",
			spec: ingressFrom(networkingv1.NetworkPolicyPeer{}, networkingv1.NetworkPolicyPeer{PodSelector: selector(), IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}}),
			want: []string{
				"spec.ingress[0].from[0]: Required value: must specify a peer",
				"spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
			},
		},
		{
			name: "ip blocks",
			spec: egressTo(ipBlock("10.0.0.0/33"), ipBlock("10.0.0.0/8", "192.168.0.0/16")),
			want: []string{
				`spec.egress[0].to[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`,
				"spec.egress[0].to[1].ipBlock.except[0]: Invalid value: \"192.168.0.0/16\": must be a strict subset of `cidr`",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range New().Validate(newPolicy(tt.spec)) {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

// TestGeneration: the generation moves when the spec changes, and not when the only
// difference is what defaulting fills in or the metadata.
func TestGeneration(t *testing.T) {
	s := New()
	stored := newPolicy(ingressPorts(port(intstr.FromInt32(80))))
	s.PrepareForCreate(stored)
	s.Default(stored)
	if stored.Generation != 1 {
		t.Fatalf("generation on create %d", stored.Generation)
	}
	tests := []struct {
		name   string
		change func(*networkingv1.NetworkPolicy)
		want   int64
	}{
		{name: "resent undefaulted", change: func(np *networkingv1.NetworkPolicy) {
			np.Spec.PolicyTypes = nil
			np.Spec.Ingress[0].Ports[0].Protocol = nil
		}, want: 1},
		{name: "labels", change: func(np *networkingv1.NetworkPolicy) { np.Labels = map[string]string{"a": "b"} }, want: 1},
		{name: "client generation ignored", change: func(np *networkingv1.NetworkPolicy) { np.Generation = 7 }, want: 1},
		{name: "port", change: func(np *networkingv1.NetworkPolicy) { np.Spec.Ingress[0].Ports[0].Port = ptr.To(intstr.FromInt32(81)) }, want: 2},
		{name: "egress", change: func(np *networkingv1.NetworkPolicy) {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := stored.DeepCopy()
			tt.change(next)
			s.PrepareForUpdate(next, stored)
			s.Default(next)
			if next.Generation != tt.want {
				t.Errorf("generation %d, want %d", next.Generation, tt.want)
			}
			if errs := s.ValidateUpdate(next, stored); len(errs) != 0 {
				t.Errorf("ValidateUpdate: %v", errs)
			}
		})
	}
}

// TestValidateUpdate: an update is checked as a create, except that a stored pod
// selector that no longer validates lets every selector keep invalid label values.
func TestValidateUpdate(t *testing.T) {
	s := New()
	bad := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"not valid!"}}}}
	good := newPolicy(networkingv1.NetworkPolicySpec{PodSelector: *selector()})
	legacy := newPolicy(networkingv1.NetworkPolicySpec{PodSelector: bad})
	withBadPeer := func(base *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
		np := base.DeepCopy()
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: bad.DeepCopy()}}}}
		return np
	}
	tests := []struct {
		name     string
		next     *networkingv1.NetworkPolicy
		old      *networkingv1.NetworkPolicy
		wantErrs int
	}{
		{name: "valid to valid", next: good, old: good},
		{name: "stored invalid kept", next: legacy, old: legacy},
		{name: "stored invalid relaxes peers", next: withBadPeer(legacy), old: legacy},
		{name: "invalid introduced", next: legacy, old: good, wantErrs: 1},
		{name: "invalid peer introduced", next: withBadPeer(good), old: good, wantErrs: 1},
		{name: "spec still checked", next: newPolicy(ingressPorts(port(intstr.FromInt32(0)))), old: good, wantErrs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := tt.next.DeepCopy()
			s.PrepareForUpdate(next, tt.old)
			s.Default(next)
			if errs := s.ValidateUpdate(next, tt.old); len(errs) != tt.wantErrs {
				t.Errorf("ValidateUpdate = %v, want %d errors", errs, tt.wantErrs)
			}
		})
	}
}

// TestKnownCIDRs: CIDRs the stored policy holds are not checked again on update.
func TestKnownCIDRs(t *testing.T) {
	old := newPolicy(egressTo(ipBlock("10.0.0.0/8", "10.1.0.0")))
	next := newPolicy(ingressFrom(ipBlock("10.1.0.0"), ipBlock("10.0.0.0/8", "10.1.0.0")))
	want := []fieldError{{field.ErrorTypeInvalid, "spec.egress[0].to[0].ipBlock.except[0]"}}
	if got := summarize(New().Validate(old)); !reflect.DeepEqual(got, want) {
		t.Errorf("Validate = %v, want %v", got, want)
	}
	if errs := New().ValidateUpdate(next, old); len(errs) != 0 {
		t.Errorf("ValidateUpdate: %v", errs)
	}
}

func TestTable(t *testing.T) {
	np := newPolicy(networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front", "edge"}}},
	}})
	np.CreationTimestamp = metav1.NewTime(now.Add(-50 * time.Minute))
	want := []interface{}{"web", "app=web,tier in (edge,front)", "50m"}
	if got := New().Row(np, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
	np.Spec.PodSelector = metav1.LabelSelector{}
	want = []interface{}{"web", "<none>", "50m"}
	if got := New().Row(np, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
	var names []string
	for _, c := range New().Columns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Pod-Selector", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Columns = %v, want %v", names, want)
	}
}

func TestFields(t *testing.T) {
	got := New().Fields(newPolicy(networkingv1.NetworkPolicySpec{}))
	if len(got) != 2 || got["metadata.name"] != "web" || got["metadata.namespace"] != "default" {
		t.Errorf("Fields = %v", got)
	}
}
