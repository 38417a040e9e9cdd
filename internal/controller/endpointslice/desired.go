package endpointslice

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/util/podutils"
	netutils "k8s.io/utils/net"

	"github.com/podium/podium/internal/controller/endpoints"
)

// managedBy is the value of the managed-by label on the slices this controller owns.
const managedBy = "endpointslice-controller.k8s.io"

// served reports whether the controller keeps slices for svc.
func served(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && len(svc.Spec.Selector) > 0
}

// addressTypes returns the address types svc has slices of: those of its ipFamilies;
// without them, the family of its cluster IP, or both for a headless Service.
func addressTypes(svc *corev1.Service) []discoveryv1.AddressType {
	var out []discoveryv1.AddressType
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, discoveryv1.AddressTypeIPv4)
		case corev1.IPv6Protocol:
			out = append(out, discoveryv1.AddressTypeIPv6)
		}
	}
	if len(out) > 0 {
		return out
	}
	if hasClusterIP(svc) {
		if netutils.IsIPv6String(svc.Spec.ClusterIP) {
			return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv6}
		}
		return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4}
	}
	return []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}
}

func hasClusterIP(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// sliceLabels returns the labels every slice of svc carries.
func sliceLabels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		if !reservedLabel(k) {
			out[k] = v
		}
	}
	if !hasClusterIP(svc) {
		out[corev1.IsHeadlessService] = ""
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = managedBy
	return out
}

func reservedLabel(k string) bool {
	return k == discoveryv1.LabelServiceName || k == discoveryv1.LabelManagedBy || k == corev1.IsHeadlessService
}

// newSlice returns an unnamed slice of svc with the given ports and no endpoints.
func newSlice(svc *corev1.Service, addrType discoveryv1.AddressType, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	prefix := svc.Name + "-"
	if len(apivalidation.NameIsDNSSubdomain(prefix, true)) != 0 {
		prefix = svc.Name
	}
	if ports == nil {
		ports = []discoveryv1.EndpointPort{}
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    prefix,
			Namespace:       svc.Namespace,
			Labels:          sliceLabels(svc),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))},
		},
		AddressType: addrType,
		Endpoints:   []discoveryv1.Endpoint{},
		Ports:       ports,
	}
}

// ownedBy reports whether svc is an owner of s.
func ownedBy(s *discoveryv1.EndpointSlice, svc *corev1.Service) bool {
	for _, o := range s.OwnerReferences {
		if o.UID == svc.UID && o.Kind == "Service" && o.APIVersion == "v1" {
			return true
		}
	}
	return false
}

// endpointFor returns pod's endpoint in a slice of svc of the given address type; its
// addresses are empty when the pod has no IP of that family. node is the pod's Node,
// or nil.
func endpointFor(pod *corev1.Pod, node *corev1.Node, svc *corev1.Service, addrType discoveryv1.AddressType) discoveryv1.Endpoint {
	serving := podutils.IsPodReady(pod)
	terminating := pod.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  podAddresses(pod, addrType),
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if pod.Spec.NodeName != "" {
		ep.NodeName = &pod.Spec.NodeName
	}
	if node != nil {
		if zone := node.Labels[corev1.LabelTopologyZone]; zone != "" {
			ep.Zone = &zone
		}
	}
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		ep.Hostname = &pod.Spec.Hostname
	}
	if ready {
		ep.Hints = hints(svc.Spec.TrafficDistribution, ep.Zone, ep.NodeName)
	}
	return ep
}

// hints returns a ready endpoint's hints for the Service's trafficDistribution: its
// own zone for PreferClose and PreferSameZone, and its own node as well for
// PreferSameNode; none otherwise.
func hints(dist *string, zone, node *string) *discoveryv1.EndpointHints {
	var h discoveryv1.EndpointHints
	switch deref(dist) {
	case corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone:
	case corev1.ServiceTrafficDistributionPreferSameNode:
		if node != nil {
			h.ForNodes = []discoveryv1.ForNode{{Name: *node}}
		}
	default:
		return nil
	}
	if zone != nil {
		h.ForZones = []discoveryv1.ForZone{{Name: *zone}}
	}
	if h.ForZones == nil && h.ForNodes == nil {
		return nil
	}
	return &h
}

// podAddresses returns pod's IPs of the address type's family, in canonical form.
func podAddresses(pod *corev1.Pod, addrType discoveryv1.AddressType) []string {
	ips := make([]string, 0, len(pod.Status.PodIPs))
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = append(ips, pod.Status.PodIP)
	}
	out := []string{}
	for _, s := range ips {
		ip := netutils.ParseIPSloppy(s)
		if ip == nil {
			continue
		}
		if netutils.IsIPv6(ip) == (addrType == discoveryv1.AddressTypeIPv6) {
			out = append(out, ip.String())
		}
	}
	return out
}

// endpointPorts resolves svc's ports against pod; a port whose named target the pod
// lacks is left out. A headless Service may have no ports.
func endpointPorts(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		port, ok := endpoints.FindPort(pod, sp)
		if !ok {
			continue
		}
		name, proto := sp.Name, protocol(sp.Protocol)
		out = append(out, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

// protocol is p as the API server defaults it.
func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// portKey identifies a set of endpoint ports whatever their order.
type portKey string

func keyOfPorts(ports []discoveryv1.EndpointPort) portKey {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		s := fmt.Sprintf("%q/%s/%d", deref(p.Name), protocol(deref(p.Protocol)), deref(p.Port))
		if p.AppProtocol != nil {
			s += "/" + strconv.Quote(*p.AppProtocol)
		}
		parts = append(parts, s)
	}
	slices.Sort(parts)
	return portKey(strings.Join(parts, ","))
}

// endpointKey identifies an endpoint across updates: its addresses, hostname and
// target. Conditions, node and zone may change in place.
func endpointKey(ep *discoveryv1.Endpoint) string {
	addrs := slices.Sorted(slices.Values(ep.Addresses))
	var target string
	if ep.TargetRef != nil {
		target = ep.TargetRef.Namespace + "/" + ep.TargetRef.Name
	}
	return strings.Join(addrs, ",") + "|" + deref(ep.Hostname) + "|" + target
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// group is the endpoints that share one set of ports.
type group struct {
	ports     []discoveryv1.EndpointPort
	endpoints map[string]discoveryv1.Endpoint // by endpointKey
}

// desiredGroups returns the endpoints svc's slices of addrType should hold, by port
// set. node looks up a pod's Node; a pod whose Node is not found is left out (unless
// svc publishes not-ready addresses) and reported in missing.
func desiredGroups(svc *corev1.Service, pods []*corev1.Pod, addrType discoveryv1.AddressType,
	node func(name string) (*corev1.Node, bool)) (groups map[portKey]*group, missing []string) {
	groups = map[portKey]*group{}
	for _, pod := range pods {
		if !endpoints.IncludePod(pod, true) {
			continue
		}
		n, found := node(pod.Spec.NodeName)
		if !found && !svc.Spec.PublishNotReadyAddresses {
			missing = append(missing, pod.Name)
			continue
		}
		ep := endpointFor(pod, n, svc, addrType)
		if len(ep.Addresses) == 0 {
			continue
		}
		ports := endpointPorts(svc, pod)
		key := keyOfPorts(ports)
		g := groups[key]
		if g == nil {
			g = &group{ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
			groups[key] = g
		}
		g.endpoints[endpointKey(&ep)] = ep
	}
	return groups, missing
}

// sortedKeys returns m's keys in order, so that plans are deterministic.
func sortedKeys[K ~string, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
