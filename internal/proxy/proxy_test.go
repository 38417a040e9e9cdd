package proxy

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"

	"github.com/podium/podium/internal/proxy/netpol"
)

const testNode = "node-1"

func service(name, clusterIP string, mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: clusterIP,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

// ep is an endpoint of a slice: address, node, and ready/serving/terminating.
type ep struct {
	ip, node                    string
	ready, serving, terminating bool
}

func slice(svc string, port int32, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: svc + "-abc", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{e.ip}, NodeName: ptr.To(e.node),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready), Serving: ptr.To(e.serving), Terminating: ptr.To(e.terminating)}})
	}
	return s
}

func inputOf(services []*corev1.Service, slices ...*discoveryv1.EndpointSlice) *input {
	in := &input{node: testNode, clusterCIDR: "10.42.0.0/16", serviceCIDR: "10.43.0.0/16", services: services, slices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{}}
	for _, s := range slices {
		key := types.NamespacedName{Namespace: s.Namespace, Name: s.Labels[discoveryv1.LabelServiceName]}
		in.slices[key] = append(in.slices[key], s)
	}
	return in
}

// written writes in's table to a fake and returns its dump.
func written(t *testing.T, in *input) string {
	t.Helper()
	fake := knftables.NewFake(knftables.IPv4Family, tableName)
	tb := table{nft: fake}
	if err := tb.write(context.Background(), build(in)); err != nil {
		t.Fatal(err)
	}
	return fake.Dump()
}

func mustContain(t *testing.T, dump string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(dump, w) {
			t.Errorf("the table lacks %q; it is:\n%s", w, dump)
		}
	}
}

func mustNotContain(t *testing.T, dump string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(dump, w) {
			t.Errorf("the table has %q; it is:\n%s", w, dump)
		}
	}
}

var (
	ready       = ep{ready: true, serving: true}
	notReady    = ep{}
	terminating = ep{serving: true, terminating: true}
)

func at(e ep, ip, node string) ep { e.ip, e.node = ip, node; return e }

// TestClusterIPToReadyEndpoints: traffic to a ClusterIP goes to its ready endpoints
// only, chosen at random, with masquerading for clients outside the cluster and for a
// pod reaching itself.
func TestClusterIPToReadyEndpoints(t *testing.T) {
	dump := written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10")},
		slice("web", 8080, at(ready, "10.42.0.5", testNode), at(ready, "10.42.1.7", "node-2"), at(notReady, "10.42.0.9", testNode))))
	mustContain(t, dump,
		"10.43.0.10 . tcp . 80 : goto service-",
		"ip daddr 10.43.0.10 tcp dport 80 ip saddr != 10.42.0.0/16 jump mark-for-masquerade",
		"numgen random mod 2 vmap { 0 : goto endpoint-",
		"meta l4proto tcp dnat to 10.42.0.5:8080",
		"meta l4proto tcp dnat to 10.42.1.7:8080",
		"ip saddr 10.42.0.5 jump mark-for-masquerade",
		"add element ip podium cluster-ips { 10.43.0.10 }",
		"add rule ip podium cluster-ips-check ip daddr 10.43.0.0/16 drop", // a cluster IP no Service has
	)
	mustNotContain(t, dump, "10.42.0.9", "add element ip podium no-endpoint-services")
}

// TestNoEndpointsRejected: a Service port without endpoints is rejected, on its
// ClusterIP and its NodePort; with only terminating endpoints that still serve, those
// take the traffic.
func TestNoEndpointsRejected(t *testing.T) {
	np := func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30080 }
	dump := written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10", np)}, slice("web", 8080, at(notReady, "10.42.0.5", testNode))))
	mustContain(t, dump,
		"add element ip podium no-endpoint-services { 10.43.0.10 . tcp . 80 : goto reject-chain }",
		"add element ip podium no-endpoint-nodeports { tcp . 30080 : goto reject-chain }")
	mustNotContain(t, dump, "dnat to")

	dump = written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10")},
		slice("web", 8080, at(terminating, "10.42.0.5", testNode), at(ep{terminating: true}, "10.42.0.6", testNode))))
	mustContain(t, dump, "dnat to 10.42.0.5:8080")
	mustNotContain(t, dump, "10.42.0.6", "reject-chain }")
}

// TestTrafficPolicyLocal: internalTrafficPolicy Local keeps ClusterIP traffic on the
// node (dropped when the node has no endpoint); externalTrafficPolicy Local keeps
// NodePort traffic from outside on the node, while the node's own and its pods'
// traffic may go anywhere.
func TestTrafficPolicyLocal(t *testing.T) {
	itp := func(s *corev1.Service) {
		s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
	}
	dump := written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10", itp)}, slice("web", 8080, at(ready, "10.42.1.7", "node-2"))))
	mustContain(t, dump, "add element ip podium no-endpoint-services { 10.43.0.10 . tcp . 80 : drop }")
	mustNotContain(t, dump, "service-ips { 10.43.0.10")

	etp := func(s *corev1.Service) {
		s.Spec.Type, s.Spec.ExternalTrafficPolicy = corev1.ServiceTypeNodePort, corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.Ports[0].NodePort = 30080
	}
	dump = written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10", etp)},
		slice("web", 8080, at(ready, "10.42.0.5", testNode), at(ready, "10.42.1.7", "node-2"))))
	mustContain(t, dump, "service-nodeports { tcp . 30080 : goto external-",
		"ip saddr 10.42.0.0/16 goto cluster-", "fib saddr type local goto cluster-", "goto local-")
	local := chainRules(dump, "local-")
	if !strings.Contains(local, "10.42.0.5") || strings.Contains(local, "10.42.1.7") {
		t.Errorf("the local chain: %s", local)
	}

	dump = written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10", etp)}, slice("web", 8080, at(ready, "10.42.1.7", "node-2"))))
	mustContain(t, dump, "no-endpoint-nodeports { tcp . 30080 : drop }", "service-nodeports { tcp . 30080 : goto external-")
}

// chainRules returns the rules of the chains whose names start with prefix.
func chainRules(dump, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(dump, "\n") {
		if strings.HasPrefix(l, "add rule ip podium "+prefix) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestSessionAffinity: under ClientIP affinity a client goes back to its endpoint
// while its entry lasts (the Service's timeout).
func TestSessionAffinity(t *testing.T) {
	aff := func(s *corev1.Service) {
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To(int32(60))}}
	}
	dump := written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10", aff)},
		slice("web", 8080, at(ready, "10.42.0.5", testNode), at(ready, "10.42.0.6", testNode))))
	mustContain(t, dump, "flags dynamic,timeout", "timeout 60s", "ip saddr @affinity-", "update @affinity-", "-60 { ip saddr }")
}

// TestExternalAddresses: LoadBalancer ingress addresses and externalIPs are served as
// the NodePort is, with the client masqueraded under the Cluster policy.
func TestExternalAddresses(t *testing.T) {
	lb := func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Spec.Ports[0].NodePort = 30080
		s.Spec.ExternalIPs = []string{"192.0.2.10"}
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "172.31.253.11"}}
	}
	dump := written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10", lb)}, slice("web", 8080, at(ready, "10.42.0.5", testNode))))
	mustContain(t, dump, "192.0.2.10 . tcp . 80 : goto external-", "172.31.253.11 . tcp . 80 : goto external-",
		"tcp . 30080 : goto external-", "jump mark-for-masquerade")
}

// TestUpdatesMatchReplace: a table brought from one state to the next by partial
// writes holds what a table written whole holds, and a write without a change runs no
// transaction.
func TestUpdatesMatchReplace(t *testing.T) {
	aff := func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP }
	np := func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30080 }
	steps := []*input{
		inputOf([]*corev1.Service{service("web", "10.43.0.10")}, slice("web", 8080, at(ready, "10.42.0.5", testNode))),
		inputOf([]*corev1.Service{service("web", "10.43.0.10", aff), service("db", "10.43.0.11")},
			slice("web", 8080, at(ready, "10.42.0.5", testNode), at(ready, "10.42.0.6", testNode)), slice("db", 5432, at(ready, "10.42.0.8", testNode))),
		inputOf([]*corev1.Service{service("web", "10.43.0.10", np), service("db", "10.43.0.11")},
			slice("web", 8080, at(notReady, "10.42.0.5", testNode), at(ready, "10.42.0.7", testNode))),
		inputOf([]*corev1.Service{service("db", "10.43.0.11")}),
		inputOf(nil),
	}
	// The same with NetworkPolicies enforced (which a proxy does or does not for its
	// lifetime): a policy that comes and goes.
	withPolicy := *steps[1]
	withPolicy.policies = policyInput()
	withoutPolicy := *steps[1]
	withoutPolicy.policies = &netpol.Input{Node: testNode}
	for _, seq := range [][]*input{steps, {&withPolicy, &withoutPolicy, &withPolicy, &withoutPolicy}} {
		fake := knftables.NewFake(knftables.IPv4Family, tableName)
		tb := table{nft: fake}
		ctx := context.Background()
		for i, in := range seq {
			if err := tb.write(ctx, build(in)); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if got, want := fake.Dump(), written(t, in); got != want {
				t.Fatalf("step %d: after partial writes:\n%s\nwritten whole:\n%s", i, got, want)
			}
			tx := fake.NewTransaction()
			update(tx, tb.applied, build(in))
			if n := tx.NumOperations(); n != 0 {
				t.Fatalf("step %d: writing the same again takes %d operations:\n%s", i, n, tx)
			}
		}
	}
}

// TestKernelAcceptsTheRules checks the rules with the kernel's nft (a dry run: the
// host's rules do not change).
func TestKernelAcceptsTheRules(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	nft, err := knftables.New(knftables.IPv4Family, tableName)
	if err != nil {
		t.Fatal(err)
	}
	etp := func(s *corev1.Service) {
		s.Spec.Type, s.Spec.ExternalTrafficPolicy = corev1.ServiceTypeLoadBalancer, corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.Ports[0].NodePort = 30080
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "172.31.253.11"}}
	}
	udp := func(s *corev1.Service) { s.Spec.Ports[0].Protocol = corev1.ProtocolUDP }
	in := inputOf([]*corev1.Service{service("web", "10.43.0.10", etp), service("dns", "10.43.0.12", udp), service("none", "10.43.0.13")},
		slice("web", 8080, at(ready, "10.42.0.5", testNode), at(ready, "10.42.1.7", "node-2"), at(terminating, "10.42.0.6", testNode)))
	in.policies = policyInput()
	tx := nft.NewTransaction()
	replace(tx, build(in))
	if err := nft.Check(context.Background(), tx); err != nil {
		t.Fatalf("nft refuses the table: %v\n%s", err, tx)
	}
}

// policyInput is a NetworkPolicy that lets into pod web only pods labelled role=client,
// on port 8080.
func policyInput() *netpol.Input {
	pod := func(name, ip string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels},
			Spec:   corev1.PodSpec{NodeName: testNode},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
	}
	return &netpol.Input{Node: testNode,
		Pods:       []*corev1.Pod{pod("web", "10.42.0.5", map[string]string{"app": "web"}), pod("client", "10.42.0.9", map[string]string{"role": "client"})},
		Namespaces: []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: map[string]string{"kubernetes.io/metadata.name": "default"}}}},
		Policies: []*networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "client"}}}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(8080))}},
				}}}}},
	}
}

// TestOtherProxiesServices: Services labelled for another proxy, or headless, get no
// rules, as kube-proxy leaves them.
func TestOtherProxiesServices(t *testing.T) {
	other := func(s *corev1.Service) {
		s.Labels = map[string]string{"service.kubernetes.io/service-proxy-name": "foo-bar"}
	}
	headless := func(s *corev1.Service) { s.Labels = map[string]string{corev1.IsHeadlessService: ""} }
	dump := written(t, inputOf([]*corev1.Service{service("web", "10.43.0.10", other), service("db", "10.43.0.11", headless)},
		slice("web", 8080, at(ready, "10.42.0.5", testNode)), slice("db", 8080, at(ready, "10.42.0.6", testNode))))
	mustNotContain(t, dump, "10.43.0.10", "10.43.0.11", "dnat to")
}
