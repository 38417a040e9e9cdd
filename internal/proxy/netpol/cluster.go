package netpol

import (
	"cmp"
	"crypto/sha256"
	"encoding/base32"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// member is a pod that can be a peer: it has an IPv4 address of its own, is not
// terminal and is not on the host's network.
type member struct {
	pod *corev1.Pod
	ip  netip.Addr
	// peerOnly is a stand-in (Input.Peers): a peer, never isolated.
	peerOnly bool
}

// cluster is the part of Input the rules are made from, in a fixed order.
type cluster struct {
	node        string
	members     []member // by namespace/name; one per address, the first by that order
	nsLabels    map[string]labels.Set
	byNamespace map[string][]*policy
}

func newCluster(in Input) *cluster {
	c := &cluster{node: in.Node, nsLabels: map[string]labels.Set{}, byNamespace: map[string][]*policy{}}
	for _, ns := range in.Namespaces {
		if ns != nil {
			c.nsLabels[ns.Name] = labels.Set(ns.Labels)
		}
	}
	pods := slices.DeleteFunc(slices.Clone(in.Pods), func(p *corev1.Pod) bool { return p == nil })
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	taken := map[netip.Addr]bool{}
	for _, p := range pods {
		ip, ok := ipv4Of(p)
		if !ok || p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || taken[ip] {
			continue
		}
		taken[ip] = true
		c.members = append(c.members, member{pod: p, ip: ip})
	}
	for _, p := range in.Peers {
		if ip, ok := ipv4Of(p); ok && !taken[ip] {
			taken[ip] = true
			c.members = append(c.members, member{pod: p, ip: ip, peerOnly: true})
		}
	}
	nps := slices.DeleteFunc(slices.Clone(in.Policies), func(np *networkingv1.NetworkPolicy) bool { return np == nil })
	slices.SortFunc(nps, func(a, b *networkingv1.NetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	for _, np := range nps {
		p := newPolicy(np)
		c.byNamespace[np.Namespace] = append(c.byNamespace[np.Namespace], p)
	}
	return c
}

// ipv4Of returns the pod's IPv4 address, if it has one.
func ipv4Of(p *corev1.Pod) (netip.Addr, bool) {
	candidates := []string{p.Status.PodIP}
	for _, a := range p.Status.PodIPs {
		candidates = append(candidates, a.IP)
	}
	for _, s := range candidates {
		if a, err := netip.ParseAddr(s); err == nil && a.Unmap().Is4() {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// local reports whether m's traffic is judged on this node.
func (c *cluster) local(m member) bool { return m.pod.Spec.NodeName == c.node }

// namespaceLabels returns the labels of the namespace; one the input lacks has the label
// the API server gives every namespace.
func (c *cluster) namespaceLabels(ns string) labels.Set {
	if l, ok := c.nsLabels[ns]; ok {
		return l
	}
	return labels.Set{corev1.LabelMetadataName: ns}
}

// selecting returns the policies that select m, by namespace/name.
func (c *cluster) selecting(m member) []*policy {
	var out []*policy
	for _, p := range c.byNamespace[m.pod.Namespace] {
		if p.selector.Matches(labels.Set(m.pod.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

// policy is a NetworkPolicy with its selectors parsed and its policy types defaulted.
type policy struct {
	np              *networkingv1.NetworkPolicy
	selector        labels.Selector
	ingress, egress bool
	from, to        [][]peer // per rule; nil: any peer
}

func newPolicy(np *networkingv1.NetworkPolicy) *policy {
	p := &policy{np: np, selector: selectorOf(&np.Spec.PodSelector)}
	if len(np.Spec.PolicyTypes) == 0 {
		// The API server's defaulting: Ingress always, Egress when there are egress rules.
		p.ingress, p.egress = true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.ingress = true
		case networkingv1.PolicyTypeEgress:
			p.egress = true
		}
	}
	for _, r := range np.Spec.Ingress {
		p.from = append(p.from, peersOf(np.Namespace, r.From))
	}
	for _, r := range np.Spec.Egress {
		p.to = append(p.to, peersOf(np.Namespace, r.To))
	}
	return p
}

// selectorOf parses s; one that does not parse (the API server lets none through)
// selects nothing.
func selectorOf(s *metav1.LabelSelector) labels.Selector {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return labels.Nothing()
	}
	return sel
}

// peer is one NetworkPolicyPeer: pods by selectors, or addresses.
type peer struct {
	namespace        string          // the policy's
	pods, namespaces labels.Selector // nil: not given
	block            []ipRange       // an ipBlock's addresses, less its exceptions
	isBlock          bool
}

func peersOf(namespace string, in []networkingv1.NetworkPolicyPeer) []peer {
	if len(in) == 0 {
		return nil
	}
	out := []peer{} // not nil: a rule with peers, though maybe none of them IPv4
	for _, np := range in {
		switch {
		case np.IPBlock != nil:
			cidr, err := netip.ParsePrefix(np.IPBlock.CIDR)
			if err != nil || !cidr.Addr().Is4() {
				continue
			}
			block := []ipRange{prefixRange(cidr)}
			for _, e := range np.IPBlock.Except {
				if x, err := netip.ParsePrefix(e); err == nil && x.Addr().Is4() {
					block = subtract(block, prefixRange(x))
				}
			}
			out = append(out, peer{isBlock: true, block: block})
		case np.PodSelector != nil || np.NamespaceSelector != nil:
			p := peer{namespace: namespace}
			if np.PodSelector != nil {
				p.pods = selectorOf(np.PodSelector)
			}
			if np.NamespaceSelector != nil {
				p.namespaces = selectorOf(np.NamespaceSelector)
			}
			out = append(out, p)
		}
	}
	return out
}

// matches reports whether m is one of the peer's pods or in its addresses.
func (p peer) matches(c *cluster, m member) bool {
	if p.isBlock {
		u := addrOf(m.ip)
		return slices.ContainsFunc(p.block, func(r ipRange) bool { return r.contains(u) })
	}
	if p.pods != nil && !p.pods.Matches(labels.Set(m.pod.Labels)) {
		return false
	}
	if p.namespaces == nil {
		return m.pod.Namespace == p.namespace
	}
	return p.namespaces.Matches(c.namespaceLabels(m.pod.Namespace))
}

// containerPorts returns the numbers of the pod's container ports of that name and
// protocol, of its containers and sidecars.
func containerPorts(pod *corev1.Pod, name string, proto corev1.Protocol) []int32 {
	var out []int32
	scan := func(cs []corev1.Container) {
		for _, c := range cs {
			for _, cp := range c.Ports {
				if cp.Name == name && cmp.Or(cp.Protocol, corev1.ProtocolTCP) == proto && !slices.Contains(out, cp.ContainerPort) {
					out = append(out, cp.ContainerPort)
				}
			}
		}
	}
	scan(pod.Spec.Containers)
	var sidecars []corev1.Container
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars = append(sidecars, c)
		}
	}
	scan(sidecars)
	return out
}

// maxReadable bounds the namespace/name part of a chain or set name.
const maxReadable = 96

// nameOf returns a chain or set name: "np-", the kind, a hash of namespace/name that
// keeps names apart, and namespace/name (cut short) for people reading the table.
func nameOf(kind, namespace, name string) string {
	id := namespace + "/" + name
	sum := sha256.Sum256([]byte(id))
	hash := base32.StdEncoding.EncodeToString(sum[:])[:8]
	if len(id) > maxReadable {
		id = id[:maxReadable]
	}
	return "np-" + kind + "-" + hash + "-" + id
}
