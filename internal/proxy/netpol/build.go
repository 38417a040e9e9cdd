package netpol

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Input is everything the rules depend on.
type Input struct {
	// Node is this node's name: its pods (spec.nodeName == Node, with an IPv4 address,
	// not terminal, not on the host's network) are the ones enforced here.
	Node string
	// Pods are every pod of the cluster: peers may be anywhere.
	Pods []*corev1.Pod
	// Peers are stand-ins for pods that are not pods, such as the built-in cluster DNS
	// at the nodes' addresses in the guise of upstream's CoreDNS pods: policies' pod
	// selectors match them, but no policy isolates them.
	Peers      []*corev1.Pod
	Namespaces []*corev1.Namespace
	Policies   []*networkingv1.NetworkPolicy
}

// Set is a named nftables set of the table.
type Set struct {
	Name, Type string
	// Flags are nftables set flags, such as "interval".
	Flags []string
	// Elements are the set's keys, each split at the concatenation's " . ".
	Elements [][]string
}

// Fragment is the part of the table that enforces NetworkPolicies. Every name in it
// starts with "np-".
type Fragment struct {
	// Chains are regular chains with their rules.
	Chains map[string][]string
	// Sets are the named sets the rules refer to, by name.
	Sets []Set
	// Forward are rules to append to the filter-forward base chain (hook forward,
	// priority filter, after the Service DNAT). They judge traffic between pods, and
	// between pods and the world, on its way through the node.
	Forward []string
	// Input are rules to append to the filter-input base chain (hook input, priority
	// filter): they judge the node's pods' traffic to the node itself against their
	// egress policies.
	Input []string
}

// The chains every Fragment has.
const (
	// EgressChain sends new connections from the node's egress-isolated pods to their
	// pods' egress chains; it returns what they allow.
	EgressChain = "np-egress"
	// IngressChain does the same for connections to ingress-isolated pods, and lets
	// the node's own connections to its pods pass.
	IngressChain = "np-ingress"
)

// The types of the sets.
const (
	peersType = "ipv4_addr"                             // with the interval flag
	portsType = "ipv4_addr . inet_proto . inet_service" // egress to named ports
)

// Build returns the rules that enforce in's NetworkPolicies on in's node. Equal inputs
// give equal Fragments, whatever the order of their slices.
func Build(in Input) *Fragment {
	c := newCluster(in)
	b := &builder{c: c, chains: map[string][]string{}, sets: map[string]Set{}}
	var ingress, egress []string // vmap elements: address : jump chain
	for _, m := range c.members {
		if m.peerOnly || !c.local(m) {
			continue
		}
		policies := c.selecting(m)
		if lines := b.ingressRules(m, policies); lines != nil {
			chain := nameOf("pod-in", m.pod.Namespace, m.pod.Name)
			b.chains[chain] = lines
			ingress = append(ingress, m.ip.String()+" : jump "+chain)
		}
		if lines := b.egressRules(m, policies); lines != nil {
			chain := nameOf("pod-out", m.pod.Namespace, m.pod.Name)
			b.chains[chain] = lines
			egress = append(egress, m.ip.String()+" : jump "+chain)
		}
	}
	b.chains[IngressChain] = []string{"fib saddr type local return"}
	b.chains[EgressChain] = []string{}
	if len(ingress) > 0 {
		b.chains[IngressChain] = append(b.chains[IngressChain], "ip daddr vmap { "+strings.Join(ingress, ", ")+" }")
	}
	if len(egress) > 0 {
		b.chains[EgressChain] = append(b.chains[EgressChain], "ip saddr vmap { "+strings.Join(egress, ", ")+" }")
	}
	f := &Fragment{
		Chains: b.chains,
		Forward: []string{
			"ct state established,related accept",
			"ct state new,untracked jump " + EgressChain,
			"ct state new,untracked jump " + IngressChain,
		},
		Input: []string{"ct state new,untracked jump " + EgressChain},
	}
	for _, name := range slices.Sorted(maps.Keys(b.sets)) {
		f.Sets = append(f.Sets, b.sets[name])
	}
	return f
}

// builder collects the chains and sets of one Build.
type builder struct {
	c      *cluster
	chains map[string][]string
	sets   map[string]Set
}

// ingressRules returns the rules of m's ingress chain, nil when no policy isolates it.
func (b *builder) ingressRules(m member, policies []*policy) []string {
	var lines []string
	isolated := false
	for _, p := range policies {
		if !p.ingress {
			continue
		}
		isolated = true
		for i, r := range p.np.Spec.Ingress {
			match := b.peerMatch("ip saddr", nameOf("in-"+strconv.Itoa(i), p.np.Namespace, p.np.Name), p.from[i])
			if len(r.Ports) == 0 {
				lines = append(lines, match()+"return")
			}
			for _, pp := range r.Ports {
				proto := protocolOf(pp)
				switch {
				case pp.Port == nil:
					lines = append(lines, match()+l4(proto, "")+" return")
				case pp.Port.Type == intstr.String:
					// A named port is the destination's: the pod's own.
					for _, n := range containerPorts(m.pod, pp.Port.StrVal, proto) {
						lines = append(lines, match()+l4(proto, strconv.Itoa(int(n)))+" return")
					}
				default:
					lines = append(lines, match()+l4(proto, portRange(pp))+" return")
				}
			}
		}
	}
	if !isolated {
		return nil
	}
	return finish(lines)
}

// egressRules returns the rules of m's egress chain, nil when no policy isolates it.
func (b *builder) egressRules(m member, policies []*policy) []string {
	var lines []string
	isolated := false
	for _, p := range policies {
		if !p.egress {
			continue
		}
		isolated = true
		for i, r := range p.np.Spec.Egress {
			peers := p.to[i]
			match := b.peerMatch("ip daddr", nameOf("out-"+strconv.Itoa(i), p.np.Namespace, p.np.Name), peers)
			if len(r.Ports) == 0 {
				lines = append(lines, match()+"return")
			}
			var named []networkingv1.NetworkPolicyPort
			for _, pp := range r.Ports {
				proto := protocolOf(pp)
				switch {
				case pp.Port == nil:
					lines = append(lines, match()+l4(proto, "")+" return")
				case pp.Port.Type == intstr.String:
					named = append(named, pp)
				default:
					lines = append(lines, match()+l4(proto, portRange(pp))+" return")
				}
			}
			if len(named) > 0 {
				// A named port is the destination's: each peer pod's own, so the set
				// pairs the pods' addresses with their numbers.
				set := b.namedPortSet(nameOf("out-ports-"+strconv.Itoa(i), p.np.Namespace, p.np.Name), peers, named)
				lines = append(lines, "ip daddr . meta l4proto . th dport @"+set+" return")
			}
		}
	}
	if !isolated {
		return nil
	}
	return finish(lines)
}

// finish drops repeated rules and what follows a rule that allows everything, and ends
// the chain with the drop of what no rule allows.
func finish(lines []string) []string {
	out := []string{}
	for _, l := range lines {
		if slices.Contains(out, l) {
			continue
		}
		out = append(out, l)
		if l == "return" {
			return out
		}
	}
	return append(out, "drop")
}

// peerMatch returns the start of a rule that matches the peers' addresses in field ("ip
// saddr" or "ip daddr"): "" when peers is nil (any peer), else a reference to the set
// of that name, which it adds on its first call.
func (b *builder) peerMatch(field, set string, peers []peer) func() string {
	return func() string {
		if peers == nil {
			return ""
		}
		return field + " @" + b.peerSet(set, peers) + " "
	}
}

// peerSet adds the set of the peers' addresses, if it is not there yet, and returns its
// name.
func (b *builder) peerSet(name string, peers []peer) string {
	if _, ok := b.sets[name]; ok {
		return name
	}
	var rs []ipRange
	for _, p := range peers {
		if p.isBlock {
			rs = append(rs, p.block...)
		}
	}
	for _, m := range b.c.members {
		if slices.ContainsFunc(peers, func(p peer) bool { return !p.isBlock && p.matches(b.c, m) }) {
			rs = append(rs, single(m.ip))
		}
	}
	s := Set{Name: name, Type: peersType, Flags: []string{"interval"}}
	for _, r := range merge(rs) {
		s.Elements = append(s.Elements, []string{r.String()})
	}
	b.sets[name] = s
	return name
}

// namedPortSet adds the set of address, protocol and port of every pod among peers
// (every pod when peers is nil) that has one of the named ports, if it is not there
// yet, and returns its name.
func (b *builder) namedPortSet(name string, peers []peer, named []networkingv1.NetworkPolicyPort) string {
	if _, ok := b.sets[name]; ok {
		return name
	}
	type element struct {
		ip    uint32
		proto string
		port  int32
	}
	var es []element
	for _, m := range b.c.members {
		if peers != nil && !slices.ContainsFunc(peers, func(p peer) bool { return p.matches(b.c, m) }) {
			continue
		}
		for _, pp := range named {
			proto := protocolOf(pp)
			for _, n := range containerPorts(m.pod, pp.Port.StrVal, proto) {
				es = append(es, element{addrOf(m.ip), nftProto(proto), n})
			}
		}
	}
	slices.SortFunc(es, func(x, y element) int {
		return cmp.Or(cmp.Compare(x.ip, y.ip), cmp.Compare(x.proto, y.proto), cmp.Compare(x.port, y.port))
	})
	s := Set{Name: name, Type: portsType}
	for _, e := range slices.Compact(es) {
		s.Elements = append(s.Elements, []string{addrString(e.ip), e.proto, strconv.Itoa(int(e.port))})
	}
	b.sets[name] = s
	return name
}

func protocolOf(pp networkingv1.NetworkPolicyPort) corev1.Protocol {
	if pp.Protocol == nil || *pp.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return *pp.Protocol
}

func nftProto(p corev1.Protocol) string { return strings.ToLower(string(p)) }

// l4 matches the protocol and, unless ports is "", the destination port or range.
func l4(proto corev1.Protocol, ports string) string {
	if ports == "" {
		return "meta l4proto " + nftProto(proto)
	}
	return "meta l4proto " + nftProto(proto) + " th dport " + ports
}

// portRange is a numeric port, or port-endPort.
func portRange(pp networkingv1.NetworkPolicyPort) string {
	port := strconv.Itoa(int(pp.Port.IntVal))
	if pp.EndPort != nil && *pp.EndPort > pp.Port.IntVal {
		port += "-" + strconv.Itoa(int(*pp.EndPort))
	}
	return port
}
