package endpoints

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kubectl/pkg/util/podutils"
	netutils "k8s.io/utils/net"
)

// maxAddresses is how many addresses an Endpoints object holds at most, as
// upstream's maxCapacity.
const maxAddresses = 1000

// desiredSubsets returns the repacked subsets listing pods for svc, which has a
// selector and is not of type ExternalName; pods are those its selector picks.
func desiredSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	var raw []corev1.EndpointSubset
	for _, pod := range pods {
		if !IncludePod(pod, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		addr, ok := podAddress(svc, pod)
		if !ok {
			continue
		}
		ready := svc.Spec.PublishNotReadyAddresses || podutils.IsPodReady(pod)
		one := func(ports []corev1.EndpointPort) corev1.EndpointSubset {
			if ready {
				return corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{addr}, Ports: ports}
			}
			return corev1.EndpointSubset{NotReadyAddresses: []corev1.EndpointAddress{addr}, Ports: ports}
		}
		if len(svc.Spec.Ports) == 0 {
			// Only a headless Service may list addresses without ports.
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				raw = append(raw, one(nil))
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			num, ok := FindPort(pod, sp)
			if !ok {
				continue
			}
			raw = append(raw, one([]corev1.EndpointPort{{Name: sp.Name, Port: num, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol}}))
		}
	}
	return RepackSubsets(raw)
}

// IncludePod reports whether pod belongs in a Service's endpoints at all: it has an
// IP, is not terminal, and is not terminating unless includeTerminating (the
// EndpointSlice controller includes terminating pods, this one only with
// publishNotReadyAddresses).
func IncludePod(pod *corev1.Pod, includeTerminating bool) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	return includeTerminating || pod.DeletionTimestamp == nil
}

// podAddress returns pod's address for svc: the pod's first IP of the Service's
// primary IP family (from spec.ipFamilies, else its cluster IP, else the pod's own
// primary IP); false when the pod has none of that family.
func podAddress(svc *corev1.Service, pod *corev1.Pod) (corev1.EndpointAddress, bool) {
	ipv6 := false
	switch {
	case len(svc.Spec.IPFamilies) > 0:
		ipv6 = svc.Spec.IPFamilies[0] == corev1.IPv6Protocol
	case svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone:
		ipv6 = netutils.IsIPv6String(svc.Spec.ClusterIP)
	default:
		ipv6 = netutils.IsIPv6String(pod.Status.PodIP)
	}
	ips := pod.Status.PodIPs
	if len(ips) == 0 {
		ips = []corev1.PodIP{{IP: pod.Status.PodIP}}
	}
	for _, ip := range ips {
		if netutils.IsIPv6String(ip.IP) != ipv6 || netutils.ParseIPSloppy(ip.IP) == nil {
			continue
		}
		addr := corev1.EndpointAddress{
			IP:        ip.IP,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if pod.Spec.NodeName != "" {
			addr.NodeName = &pod.Spec.NodeName
		}
		if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
			addr.Hostname = pod.Spec.Hostname
		}
		return addr, true
	}
	return corev1.EndpointAddress{}, false
}

// FindPort resolves a Service port's targetPort on pod: a number is taken as is (an
// unset one means the Service port); a name must be a port of the same protocol on one
// of the pod's containers or else its sidecars (init containers that always restart).
func FindPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	if sp.TargetPort.Type == intstr.Int {
		if sp.TargetPort.IntVal == 0 {
			return sp.Port, true
		}
		return sp.TargetPort.IntVal, true
	}
	find := func(containers []corev1.Container, sidecarsOnly bool) (int32, bool) {
		for _, c := range containers {
			if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range c.Ports {
				if p.Name == sp.TargetPort.StrVal && protocol(p.Protocol) == protocol(sp.Protocol) {
					return p.ContainerPort, true
				}
			}
		}
		return 0, false
	}
	if port, ok := find(pod.Spec.Containers, false); ok {
		return port, true
	}
	return find(pod.Spec.InitContainers, true)
}

// protocol is p as the API server defaults it.
func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// addressKey tells addresses apart: the same IP of two pods is two addresses.
type addressKey struct {
	ip  string
	uid types.UID
}

func keyOf(a *corev1.EndpointAddress) addressKey {
	k := addressKey{ip: a.IP}
	if a.TargetRef != nil {
		k.uid = a.TargetRef.UID
	}
	return k
}

// noPorts stands for the port of subsets that list none.
const noPorts = "\x00none"

func portKey(p *corev1.EndpointPort) string {
	app := ""
	if p.AppProtocol != nil {
		app = "=" + *p.AppProtocol
	}
	return fmt.Sprintf("%s/%d/%s%s", p.Name, p.Port, p.Protocol, app)
}

// RepackSubsets returns subsets in canonical form: each address (an IP and target
// UID) is listed once per subset, addresses offering the same set of ports (with
// the same readiness on each) share one subset, and addresses, ports and subsets
// are sorted. An address not ready on a port in any input subset is not ready on
// it. Subsets without ports keep their addresses in a subset without ports. The
// input is not modified.
func RepackSubsets(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	addrs := map[addressKey]corev1.EndpointAddress{}
	ports := map[string]*corev1.EndpointPort{}
	// byPort holds, for each port key, the readiness of each address offering it.
	byPort := map[string]map[addressKey]bool{}
	note := func(port string, a *corev1.EndpointAddress, ready bool) {
		k := keyOf(a)
		if _, ok := addrs[k]; !ok {
			addrs[k] = *a.DeepCopy()
		}
		m := byPort[port]
		if m == nil {
			m = map[addressKey]bool{}
			byPort[port] = m
		}
		if was, seen := m[k]; !seen || was {
			m[k] = ready
		}
	}
	for i := range subsets {
		ss := &subsets[i]
		keys := []string{noPorts}
		if len(ss.Ports) > 0 {
			keys = keys[:0]
			for j := range ss.Ports {
				k := portKey(&ss.Ports[j])
				ports[k] = &ss.Ports[j]
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			for j := range ss.Addresses {
				note(k, &ss.Addresses[j], true)
			}
			for j := range ss.NotReadyAddresses {
				note(k, &ss.NotReadyAddresses[j], false)
			}
		}
	}

	// Ports whose addresses (and their readiness) are the same form one subset.
	type group struct {
		members map[addressKey]bool
		ports   []string
	}
	groups := map[string]*group{}
	for port, members := range byPort {
		sig := signature(members)
		g := groups[sig]
		if g == nil {
			g = &group{members: members}
			groups[sig] = g
		}
		g.ports = append(g.ports, port)
	}
	out := make([]corev1.EndpointSubset, 0, len(groups))
	for _, g := range groups {
		var ss corev1.EndpointSubset
		for k, ready := range g.members {
			if ready {
				ss.Addresses = append(ss.Addresses, addrs[k])
			} else {
				ss.NotReadyAddresses = append(ss.NotReadyAddresses, addrs[k])
			}
		}
		for _, p := range g.ports {
			if p != noPorts {
				ss.Ports = append(ss.Ports, *ports[p].DeepCopy())
			}
		}
		slices.SortFunc(ss.Addresses, compareAddresses)
		slices.SortFunc(ss.NotReadyAddresses, compareAddresses)
		slices.SortFunc(ss.Ports, comparePorts)
		out = append(out, ss)
	}
	// Every port is in exactly one subset, so the first port orders them; the subset
	// without ports comes first.
	slices.SortFunc(out, func(a, b corev1.EndpointSubset) int {
		switch {
		case len(a.Ports) == 0:
			return -1
		case len(b.Ports) == 0:
			return 1
		}
		return comparePorts(a.Ports[0], b.Ports[0])
	})
	return out
}

// signature names a set of addresses with their readiness.
func signature(members map[addressKey]bool) string {
	keys := make([]string, 0, len(members))
	for k, ready := range members {
		keys = append(keys, k.ip+"|"+string(k.uid)+"|"+strconv.FormatBool(ready))
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// compareAddresses orders addresses by IP, then target UID (none first).
func compareAddresses(a, b corev1.EndpointAddress) int {
	if c := bytes.Compare([]byte(a.IP), []byte(b.IP)); c != 0 {
		return c
	}
	ka, kb := keyOf(&a), keyOf(&b)
	return cmp.Compare(ka.uid, kb.uid)
}

func comparePorts(a, b corev1.EndpointPort) int {
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol),
		cmp.Compare(portKey(&a), portKey(&b)))
}

// truncate keeps at most maxAddresses addresses in subsets, in place, and reports
// whether it dropped any. Ready addresses are kept before not-ready ones; the
// addresses of the kind being cut are shared among subsets in proportion to how
// many each had (rounded up, while room is left), keeping each subset's first ones.
func truncate(subsets []corev1.EndpointSubset) bool {
	ready, notReady := 0, 0
	for _, ss := range subsets {
		ready += len(ss.Addresses)
		notReady += len(ss.NotReadyAddresses)
	}
	if ready+notReady <= maxAddresses {
		return false
	}
	cutReady := ready > maxAddresses
	room, total := maxAddresses-ready, notReady
	if cutReady {
		room, total = maxAddresses, ready
	}
	left := room
	for i := range subsets {
		ss := &subsets[i]
		list := &ss.NotReadyAddresses
		if cutReady {
			list = &ss.Addresses
			ss.NotReadyAddresses = nil
		}
		share := int(math.Ceil(float64(len(*list)) / float64(total) * float64(room)))
		share = min(share, left, len(*list))
		*list = (*list)[:share]
		left -= share
	}
	return true
}
