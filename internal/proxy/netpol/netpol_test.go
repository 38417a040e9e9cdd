package netpol

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

const testNode = "node-1"

// pod is a running pod of namespace ns on node with address ip and labels "k=v" pairs.
func pod(ns, name, node, ip string, kv ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip},
	}
	if ip != "" {
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		p.Labels[k] = v
	}
	return p
}

// withPort adds a named container port to p.
func withPort(p *corev1.Pod, name string, port int32, proto corev1.Protocol) *corev1.Pod {
	p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: proto})
	return p
}

func namespace(name string, kv ...string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelMetadataName: name}}}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		ns.Labels[k] = v
	}
	return ns
}

func np(ns, name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

func sel(kv ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	for _, x := range kv {
		k, v, _ := strings.Cut(x, "=")
		s.MatchLabels[k] = v
	}
	return s
}

func port(proto corev1.Protocol, p intstr.IntOrString, end ...int32) networkingv1.NetworkPolicyPort {
	pp := networkingv1.NetworkPolicyPort{Protocol: ptr.To(proto), Port: &p}
	if len(end) > 0 {
		pp.EndPort = ptr.To(end[0])
	}
	return pp
}

var (
	ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egressOnly  = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
)

// dump renders f as lines, one per rule ("chain NAME: RULE"), set element ("set NAME:
// KEY") and base-chain rule ("forward: RULE", "input: RULE"), sorted.
func dump(f *Fragment) string {
	var lines []string
	for name, rules := range f.Chains {
		lines = append(lines, "chain "+name)
		for _, r := range rules {
			lines = append(lines, "chain "+name+": "+r)
		}
	}
	for _, s := range f.Sets {
		lines = append(lines, fmt.Sprintf("set %s type %s flags %v", s.Name, s.Type, s.Flags))
		for _, e := range s.Elements {
			lines = append(lines, "set "+s.Name+": "+strings.Join(e, " . "))
		}
	}
	for _, r := range f.Forward {
		lines = append(lines, "forward: "+r)
	}
	for _, r := range f.Input {
		lines = append(lines, "input: "+r)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// podChain and policySet are the names Build gives.
func podChain(dir, ns, name string) string   { return nameOf("pod-"+dir, ns, name) }
func policySet(kind, ns, name string) string { return nameOf(kind, ns, name) }

// chainOf returns the rules of a chain, one per line.
func chainOf(f *Fragment, name string) string { return strings.Join(f.Chains[name], "\n") }

var (
	web    = pod("default", "web", testNode, "10.42.0.5", "app=web")
	client = pod("default", "client", testNode, "10.42.0.6", "app=client")
	remote = pod("default", "remote", "node-2", "10.42.1.7", "app=client")
	other  = pod("other", "client", "node-2", "10.42.1.8", "app=client")
	spaces = []*corev1.Namespace{namespace("default"), namespace("other", "team=blue")}
)

func TestBuild(t *testing.T) {
	webIn, webOut := podChain("in", "default", "web"), podChain("out", "default", "web")
	clientOut := podChain("out", "default", "client")
	tests := []struct {
		name     string
		pods     []*corev1.Pod
		policies []*networkingv1.NetworkPolicy
		want     []string // lines of dump that must be there
		wantNot  []string // substrings of dump that must not be
	}{{
		name: "default-deny ingress",
		pods: []*corev1.Pod{web, client, remote},
		policies: []*networkingv1.NetworkPolicy{np("default", "deny", networkingv1.NetworkPolicySpec{
			PolicyTypes: ingressOnly, Ingress: []networkingv1.NetworkPolicyIngressRule{}})},
		want: []string{
			"chain " + webIn + ": drop",
			"chain " + podChain("in", "default", "client") + ": drop",
			"chain np-ingress: fib saddr type local return",
			"chain np-ingress: ip daddr vmap { 10.42.0.6 : jump " + podChain("in", "default", "client") + ", 10.42.0.5 : jump " + webIn + " }",
			"forward: ct state established,related accept",
			"forward: ct state new,untracked jump np-egress",
			"forward: ct state new,untracked jump np-ingress",
			"input: ct state new,untracked jump np-egress",
		},
		wantNot: []string{"pod-out", "10.42.1.7 : jump", "np-egress: ip saddr vmap", "remote"},
	}, {
		name: "allow from pod selector",
		pods: []*corev1.Pod{web, client, remote, other},
		policies: []*networkingv1.NetworkPolicy{np("default", "allow-client", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=web"),
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=client")}}}}})},
		want: []string{
			"chain " + webIn + ": ip saddr @" + policySet("in-0", "default", "allow-client") + " return",
			"chain " + webIn + ": drop",
			"set " + policySet("in-0", "default", "allow-client") + " type ipv4_addr flags [interval]",
			"set " + policySet("in-0", "default", "allow-client") + ": 10.42.0.6",
			"set " + policySet("in-0", "default", "allow-client") + ": 10.42.1.7",
		},
		// The other namespace's client is not the policy's; web and client are not
		// isolated for egress, client not for ingress.
		wantNot: []string{"10.42.1.8", "pod-out", podChain("in", "default", "client")},
	}, {
		name: "namespace selector",
		pods: []*corev1.Pod{web, client, other, pod("other", "db", "node-3", "10.42.2.9")},
		policies: []*networkingv1.NetworkPolicy{np("default", "from-blue", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=web"),
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("team=blue")}}}}})},
		want: []string{
			"chain " + webIn + ": ip saddr @" + policySet("in-0", "default", "from-blue") + " return",
			"set " + policySet("in-0", "default", "from-blue") + ": 10.42.1.8",
			"set " + policySet("in-0", "default", "from-blue") + ": 10.42.2.9",
		},
		wantNot: []string{": 10.42.0.6"},
	}, {
		name: "a namespace the input lacks still has its name label",
		pods: []*corev1.Pod{web, pod("ghost", "client", "node-2", "10.42.3.3")},
		policies: []*networkingv1.NetworkPolicy{np("default", "from-ghost", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=web"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: sel(corev1.LabelMetadataName + "=ghost")}}}}})},
		want: []string{"set " + policySet("in-0", "default", "from-ghost") + ": 10.42.3.3"},
	}, {
		name: "pod and namespace selector together",
		pods: []*corev1.Pod{web, client, other, pod("other", "db", "node-3", "10.42.2.9", "app=db")},
		policies: []*networkingv1.NetworkPolicy{np("default", "blue-clients", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=web"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: sel("team=blue"), PodSelector: sel("app=client")}}}}})},
		want:    []string{"set " + policySet("in-0", "default", "blue-clients") + ": 10.42.1.8"},
		wantNot: []string{": 10.42.2.9", ": 10.42.0.6"},
	}, {
		name: "ipBlock with except, united with a second block",
		pods: []*corev1.Pod{web},
		policies: []*networkingv1.NetworkPolicy{np("default", "cidr", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=web"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "192.168.0.0/16", Except: []string{"192.168.1.0/24", "192.168.3.0/24"}}},
				{IPBlock: &networkingv1.IPBlock{CIDR: "192.168.3.128/25"}},
				{IPBlock: &networkingv1.IPBlock{CIDR: "2001:db8::/64"}},
			}}}})},
		want: []string{
			"chain " + webIn + ": ip saddr @" + policySet("in-0", "default", "cidr") + " return",
			"set " + policySet("in-0", "default", "cidr") + ": 192.168.0.0/24",
			"set " + policySet("in-0", "default", "cidr") + ": 192.168.2.0/24",
			"set " + policySet("in-0", "default", "cidr") + ": 192.168.3.128/25",
			"set " + policySet("in-0", "default", "cidr") + ": 192.168.4.0-192.168.255.255",
		},
		wantNot: []string{"192.168.1.", "2001:db8"},
	}, {
		name: "ports with endPort, protocol only, SCTP",
		pods: []*corev1.Pod{web, client},
		policies: []*networkingv1.NetworkPolicy{np("default", "ports", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=web"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{
				port(corev1.ProtocolTCP, intstr.FromInt32(8000), 8080),
				{Port: ptr.To(intstr.FromInt32(443))}, // TCP by default
				{Protocol: ptr.To(corev1.ProtocolUDP)},
				port(corev1.ProtocolSCTP, intstr.FromInt32(9000)),
			}}}})},
		want: []string{
			"chain " + webIn + ": meta l4proto tcp th dport 8000-8080 return",
			"chain " + webIn + ": meta l4proto tcp th dport 443 return",
			"chain " + webIn + ": meta l4proto udp return",
			"chain " + webIn + ": meta l4proto sctp th dport 9000 return",
			"chain " + webIn + ": drop",
		},
		wantNot: []string{"set np-"},
	}, {
		name: "named ports: ingress resolves on the pod itself",
		pods: []*corev1.Pod{
			withPort(withPort(pod("default", "web", testNode, "10.42.0.5", "app=web"), "http", 8080, ""), "dns", 5353, corev1.ProtocolUDP),
			withPort(pod("default", "api", testNode, "10.42.0.7", "app=web"), "http", 9090, corev1.ProtocolTCP),
			pod("default", "bare", testNode, "10.42.0.8", "app=web"),
		},
		policies: []*networkingv1.NetworkPolicy{np("default", "named", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=web"),
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel()}},
				Ports: []networkingv1.NetworkPolicyPort{
					port(corev1.ProtocolTCP, intstr.FromString("http")),
					port(corev1.ProtocolTCP, intstr.FromString("dns")), // dns is UDP on web
				}}}})},
		want: []string{
			"chain " + webIn + ": ip saddr @" + policySet("in-0", "default", "named") + " meta l4proto tcp th dport 8080 return",
			"chain " + podChain("in", "default", "api") + ": ip saddr @" + policySet("in-0", "default", "named") + " meta l4proto tcp th dport 9090 return",
			"chain " + podChain("in", "default", "bare") + ": drop",
		},
		wantNot: []string{"5353", webIn + ": ip saddr @" + policySet("in-0", "default", "named") + " meta l4proto tcp th dport 9090"},
	}, {
		name: "named ports: egress resolves on each peer",
		pods: []*corev1.Pod{
			client,
			withPort(pod("default", "web", "node-2", "10.42.1.5", "app=web"), "http", 8080, corev1.ProtocolTCP),
			withPort(pod("default", "api", testNode, "10.42.0.7", "app=web"), "http", 9090, corev1.ProtocolTCP),
			withPort(pod("default", "db", testNode, "10.42.0.9", "app=db"), "http", 5432, corev1.ProtocolTCP),
		},
		policies: []*networkingv1.NetworkPolicy{np("default", "to-web", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=client"),
			PolicyTypes: egressOnly,
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=web")}},
				Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, intstr.FromString("http"))}}}})},
		want: []string{
			"chain " + clientOut + ": ip daddr . meta l4proto . th dport @" + policySet("out-ports-0", "default", "to-web") + " return",
			"chain " + clientOut + ": drop",
			"set " + policySet("out-ports-0", "default", "to-web") + " type ipv4_addr . inet_proto . inet_service flags []",
			"set " + policySet("out-ports-0", "default", "to-web") + ": 10.42.0.7 . tcp . 9090",
			"set " + policySet("out-ports-0", "default", "to-web") + ": 10.42.1.5 . tcp . 8080",
			"chain np-egress: ip saddr vmap { 10.42.0.6 : jump " + clientOut + " }",
		},
		// The peer set is not needed: every port is named.
		wantNot: []string{"5432", policySet("out-0", "default", "to-web") + " "},
	}, {
		name: "egress deny with DNS allowed",
		pods: []*corev1.Pod{web, client},
		policies: []*networkingv1.NetworkPolicy{np("default", "deny-egress", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{
				port(corev1.ProtocolUDP, intstr.FromInt32(53)), port(corev1.ProtocolTCP, intstr.FromInt32(53))}}}})},
		want: []string{
			"chain " + webOut + ": meta l4proto udp th dport 53 return",
			"chain " + webOut + ": meta l4proto tcp th dport 53 return",
			"chain " + webOut + ": drop",
			"chain " + webIn + ": drop",
			"chain np-egress: ip saddr vmap { 10.42.0.6 : jump " + clientOut + ", 10.42.0.5 : jump " + webOut + " }",
		},
	}, {
		name: "egress types defaulted from egress rules",
		pods: []*corev1.Pod{web, client},
		policies: []*networkingv1.NetworkPolicy{np("default", "egress-rules", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=client"),
			Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.42.0.5/32"}}}}}})},
		want: []string{
			"chain " + clientOut + ": ip daddr @" + policySet("out-0", "default", "egress-rules") + " return",
			"chain " + podChain("in", "default", "client") + ": drop", // Ingress is always a type
			"set " + policySet("out-0", "default", "egress-rules") + ": 10.42.0.5",
		},
		wantNot: []string{webIn},
	}, {
		name: "two policies are united",
		pods: []*corev1.Pod{web, client, other},
		policies: []*networkingv1.NetworkPolicy{
			np("default", "b-http", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("app=web"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=client")}},
					Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, intstr.FromInt32(80))}}}}),
			np("default", "a-blue", networkingv1.NetworkPolicySpec{
				PodSelector: *sel(),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("team=blue")}}}}}),
		},
		want: []string{
			"chain " + webIn + ": ip saddr @" + policySet("in-0", "default", "a-blue") + " return",
			"chain " + webIn + ": ip saddr @" + policySet("in-0", "default", "b-http") + " meta l4proto tcp th dport 80 return",
			"chain " + podChain("in", "default", "client") + ": ip saddr @" + policySet("in-0", "default", "a-blue") + " return",
		},
		wantNot: []string{podChain("in", "default", "client") + ": ip saddr @" + policySet("in-0", "default", "b-http")},
	}, {
		name: "an allow-all rule ends the chain",
		pods: []*corev1.Pod{web},
		policies: []*networkingv1.NetworkPolicy{
			np("default", "deny", networkingv1.NetworkPolicySpec{}),
			np("default", "allow", networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}),
		},
		want:    []string{"chain " + webIn + ": return"},
		wantNot: []string{webIn + ": drop"},
	}, {
		name: "a policy of another namespace does not select",
		pods: []*corev1.Pod{web, other},
		policies: []*networkingv1.NetworkPolicy{np("other", "deny", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}})},
		wantNot: []string{webIn, webOut, "vmap"},
	}, {
		name: "pods no policy selects have no rules",
		pods: []*corev1.Pod{web, client},
		policies: []*networkingv1.NetworkPolicy{np("default", "db-only", networkingv1.NetworkPolicySpec{
			PodSelector: *sel("app=db"), PolicyTypes: ingressOnly})},
		want:    []string{"chain np-egress", "chain np-ingress: fib saddr type local return"},
		wantNot: []string{"pod-in", "pod-out", "vmap", "set "},
	}, {
		name: "host-network, other-node, terminal and address-less pods are not enforced",
		pods: []*corev1.Pod{
			func() *corev1.Pod {
				p := pod("default", "host", testNode, "192.0.2.1")
				p.Spec.HostNetwork = true
				return p
			}(),
			func() *corev1.Pod {
				p := pod("default", "done", testNode, "10.42.0.3")
				p.Status.Phase = corev1.PodSucceeded
				return p
			}(),
			pod("default", "pending", testNode, ""),
			remote, web,
		},
		policies: []*networkingv1.NetworkPolicy{np("default", "deny", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel()}}}}})},
		want: []string{
			"chain np-ingress: ip daddr vmap { 10.42.0.5 : jump " + webIn + " }",
			"chain np-egress: ip saddr vmap { 10.42.0.5 : jump " + webOut + " }",
			"set " + policySet("in-0", "default", "deny") + ": 10.42.0.5",
			"set " + policySet("in-0", "default", "deny") + ": 10.42.1.7",
		},
		// Nor are the host-network and terminal pods peers.
		wantNot: []string{"192.0.2.1", "10.42.0.3", podChain("in", "default", "remote"), podChain("in", "default", "host"),
			podChain("in", "default", "done"), podChain("in", "default", "pending")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Node: testNode, Pods: tt.pods, Namespaces: spaces, Policies: tt.policies}
			got := dump(Build(in))
			for _, w := range tt.want {
				if !strings.Contains(got, w+"\n") {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("unwanted %q in:\n%s", w, got)
				}
			}
		})
	}
}

// TestDeterministic: equal inputs, in any order, give equal Fragments.
func TestDeterministic(t *testing.T) {
	in := richInput()
	first := Build(in)
	if !reflect.DeepEqual(first, Build(in)) {
		t.Fatal("two builds of one input differ")
	}
	slices.Reverse(in.Pods)
	slices.Reverse(in.Policies)
	slices.Reverse(in.Namespaces)
	if got := Build(in); !reflect.DeepEqual(first, got) {
		t.Fatalf("a reordered input builds differently:\n%s\nvs\n%s", dump(first), dump(got))
	}
}

// TestNames: names are valid nftables identifiers of bounded length, apart for
// objects whose long names share a prefix.
func TestNames(t *testing.T) {
	long := strings.Repeat("a", 250)
	a, b := nameOf("pod-in", "ns", long+"1"), nameOf("pod-in", "ns", long+"2")
	if a == b || len(a) > 128 {
		t.Errorf("names %q and %q", a, b)
	}
	for name := range Build(richInput()).Chains {
		if !strings.HasPrefix(name, "np-") || len(name) > 255 {
			t.Errorf("chain name %q", name)
		}
	}
}

func TestRanges(t *testing.T) {
	tests := []struct {
		name string
		in   []ipRange
		want []string
	}{
		{"prefixes", []ipRange{{0x0a000080, 0x0a0000ff}, {0x0a000000, 0x0a00007f}}, []string{"10.0.0.0/25", "10.0.0.128/25"}},
		{"adjacent stay apart", []ipRange{{7, 7}, {6, 6}, {8, 9}}, []string{"0.0.0.6", "0.0.0.7", "0.0.0.8/31"}},
		{"overlaps merge", []ipRange{{10, 20}, {15, 30}, {40, 40}}, []string{"0.0.0.10-0.0.0.30", "0.0.0.40"}},
		{"everything", []ipRange{{0, ^uint32(0)}, {5, 6}}, []string{"0.0.0.0/0"}},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range merge(tt.in) {
			got = append(got, r.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// richInput is a cluster with every kind of peer and port.
func richInput() Input {
	udp, sctp := corev1.ProtocolUDP, corev1.ProtocolSCTP
	return Input{
		Node: testNode,
		Pods: []*corev1.Pod{
			withPort(pod("default", "web", testNode, "10.42.0.5", "app=web"), "http", 8080, corev1.ProtocolTCP),
			withPort(pod("default", "dns", testNode, "10.42.0.4", "app=dns"), "dns", 53, udp),
			pod("default", "client", testNode, "10.42.0.6", "app=client"),
			withPort(pod("default", "remote-web", "node-2", "10.42.1.5", "app=web"), "http", 8081, corev1.ProtocolTCP),
			pod("other", "client", "node-2", "10.42.1.8", "app=client"),
			pod("other", "db", testNode, "10.42.0.9", "app=db"),
			func() *corev1.Pod {
				p := pod("default", "host", testNode, "192.0.2.1")
				p.Spec.HostNetwork = true
				return p
			}(),
		},
		Namespaces: spaces,
		Policies: []*networkingv1.NetworkPolicy{
			np("default", "deny-all", networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}),
			np("default", "web", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("app=web"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{
					{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=client")}, {NamespaceSelector: sel("team=blue"), PodSelector: sel("app=client")}},
						Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, intstr.FromString("http")), port(corev1.ProtocolTCP, intstr.FromInt32(9000), 9100)}},
					{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "192.168.7.7/32"}}}}},
				},
			}),
			np("default", "client", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("app=client"),
				PolicyTypes: egressOnly,
				Egress: []networkingv1.NetworkPolicyEgressRule{
					{Ports: []networkingv1.NetworkPolicyPort{port(udp, intstr.FromInt32(53)), port(corev1.ProtocolTCP, intstr.FromInt32(53))}},
					{To: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app=web")}, {IPBlock: &networkingv1.IPBlock{CIDR: "10.42.1.0/24"}}},
						Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, intstr.FromString("http")), port(corev1.ProtocolTCP, intstr.FromInt32(443)), {Protocol: &sctp}}},
					{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel()}}},
					{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}}},
						Ports: []networkingv1.NetworkPolicyPort{port(udp, intstr.FromInt32(123))}},
					{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "2001:db8::/64"}}}}, // an empty set
				},
			}),
			np("other", "db", networkingv1.NetworkPolicySpec{
				PodSelector: *sel("app=db"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel(corev1.LabelMetadataName + "=default")}}}},
			}),
		},
	}
}

// TestPeersOnly: a stand-in (Input.Peers), such as the built-in DNS at a node's address,
// is matched by pod selectors as a peer but never isolated, even by a policy selecting it.
func TestPeersOnly(t *testing.T) {
	dns := withPort(pod("kube-system", "kube-dns-192.168.5.2", testNode, "192.168.5.2", "k8s-app=kube-dns"), "dns", 53, corev1.ProtocolUDP)
	f := Build(Input{Node: testNode, Pods: []*corev1.Pod{web}, Peers: []*corev1.Pod{dns},
		Namespaces: []*corev1.Namespace{namespace("default"), namespace("kube-system")},
		Policies: []*networkingv1.NetworkPolicy{
			np("default", "dns-only", networkingv1.NetworkPolicySpec{PodSelector: *sel("app=web"), PolicyTypes: egressOnly,
				Egress: []networkingv1.NetworkPolicyEgressRule{{
					To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel(corev1.LabelMetadataName + "=kube-system"), PodSelector: sel("k8s-app=kube-dns")}},
					Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, intstr.FromString("dns"))}}}}),
			np("kube-system", "deny", networkingv1.NetworkPolicySpec{PolicyTypes: ingressOnly}),
		}})
	d := dump(f)
	if !strings.Contains(d, "192.168.5.2 . udp . 53") {
		t.Errorf("the stand-in is not a peer of web's egress:\n%s", d)
	}
	if strings.Contains(d, podChain("in", "kube-system", "kube-dns-192.168.5.2")) || strings.Contains(d, "192.168.5.2 : jump") {
		t.Errorf("the stand-in is isolated:\n%s", d)
	}
}
