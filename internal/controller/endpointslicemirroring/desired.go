package endpointslicemirroring

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	netutils "k8s.io/utils/net"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/controller/endpoints"
)

const (
	// managedBy is this controller's value of the managed-by label.
	managedBy = "endpointslicemirroring-controller.k8s.io"
	// maxPerSubset is how many addresses of one subset are mirrored, as upstream's
	// default --mirroring-max-endpoints-per-subset; it also bounds a slice.
	maxPerSubset = 1000
	// lastApplied is kubectl's annotation, which is not mirrored.
	lastApplied = corev1.LastAppliedConfigAnnotation
)

// group is the desired content of the slice of one address type and set of ports.
type group struct {
	addressType discoveryv1.AddressType
	ports       []discoveryv1.EndpointPort
	endpoints   []discoveryv1.Endpoint
	seen        map[string]bool // endpoint identities already listed
}

// desired is what an Endpoints object mirrors to.
type desired struct {
	groups  map[string]*group // by groupKey
	invalid int               // addresses skipped for not being IPs
	skipped int               // addresses skipped in all, invalid ones included
}

// mirror works out the slices ep mirrors to.
func mirror(ep *corev1.Endpoints) desired {
	d := desired{groups: map[string]*group{}}
	for _, ss := range endpoints.RepackSubsets(ep.Subsets) {
		ports := slicePorts(ss.Ports)
		added := 0
		add := func(list []corev1.EndpointAddress, ready bool) {
			for _, a := range list {
				if added >= maxPerSubset {
					return
				}
				e, addressType, ok := toEndpoint(a, ready)
				if !ok {
					d.invalid++
					continue
				}
				key := groupKey(addressType, ports)
				g := d.groups[key]
				if g == nil {
					g = &group{addressType: addressType, ports: ports, seen: map[string]bool{}}
					d.groups[key] = g
				}
				if id := identity(&e); !g.seen[id] {
					g.seen[id] = true
					g.endpoints = append(g.endpoints, e)
				}
				added++
			}
		}
		add(ss.Addresses, true)
		add(ss.NotReadyAddresses, false)
		d.skipped += len(ss.Addresses) + len(ss.NotReadyAddresses) - added
	}
	for _, g := range d.groups {
		slices.SortFunc(g.endpoints, compareEndpoints)
	}
	return d
}

// toEndpoint converts an address; false when its IP does not parse.
func toEndpoint(a corev1.EndpointAddress, ready bool) (discoveryv1.Endpoint, discoveryv1.AddressType, bool) {
	ip := netutils.ParseIPSloppy(a.IP)
	if ip == nil {
		return discoveryv1.Endpoint{}, "", false
	}
	addressType := discoveryv1.AddressTypeIPv4
	if ip.To4() == nil {
		addressType = discoveryv1.AddressTypeIPv6
	}
	e := discoveryv1.Endpoint{
		Addresses:  []string{ip.String()}, // canonical form
		Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready)},
		TargetRef:  a.TargetRef.DeepCopy(),
	}
	if a.NodeName != nil {
		e.NodeName = ptr.To(*a.NodeName)
	}
	if a.Hostname != "" {
		e.Hostname = ptr.To(a.Hostname)
	}
	return e, addressType, true
}

func slicePorts(ports []corev1.EndpointPort) []discoveryv1.EndpointPort {
	out := make([]discoveryv1.EndpointPort, 0, len(ports))
	for _, p := range ports {
		sp := discoveryv1.EndpointPort{
			Name:     ptr.To(p.Name),
			Port:     ptr.To(p.Port),
			Protocol: ptr.To(cmp.Or(p.Protocol, corev1.ProtocolTCP)),
		}
		if p.AppProtocol != nil {
			sp.AppProtocol = ptr.To(*p.AppProtocol)
		}
		out = append(out, sp)
	}
	return out
}

// groupKey names an address type and a set of ports, in any order.
func groupKey(addressType discoveryv1.AddressType, ports []discoveryv1.EndpointPort) string {
	keys := make([]string, 0, len(ports))
	for _, p := range ports {
		app := ""
		if p.AppProtocol != nil {
			app = "=" + *p.AppProtocol
		}
		keys = append(keys, fmt.Sprintf("%s/%d/%s%s", ptr.Deref(p.Name, ""), ptr.Deref(p.Port, 0),
			ptr.Deref(p.Protocol, corev1.ProtocolTCP), app))
	}
	slices.Sort(keys)
	return string(addressType) + "|" + strings.Join(keys, ",")
}

// identity names an endpoint: its address and what it points at.
func identity(e *discoveryv1.Endpoint) string {
	id := strings.Join(e.Addresses, ",")
	if e.TargetRef != nil {
		id += "|" + e.TargetRef.Namespace + "/" + e.TargetRef.Name + "/" + string(e.TargetRef.UID)
	}
	return id
}

func compareEndpoints(a, b discoveryv1.Endpoint) int {
	return cmp.Compare(identity(&a), identity(&b))
}

// plan is the writes that bring the mirrored slices to what is desired.
type plan struct {
	create, update, remove []*discoveryv1.EndpointSlice
}

// planFor returns the plan that turns existing, the slices mirrored for ep, into d.
// Of several existing slices for one group the first by name is kept; a slice to be
// removed is reused, when it has the address type, for a slice to be created.
func planFor(ep *corev1.Endpoints, existing []*discoveryv1.EndpointSlice, d desired) plan {
	have := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		key := groupKey(s.AddressType, s.Ports)
		have[key] = append(have[key], s)
	}
	for _, list := range have {
		slices.SortFunc(list, func(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })
	}
	var p plan
	for _, key := range slices.Sorted(maps.Keys(d.groups)) {
		want := newSlice(ep, d.groups[key])
		list := have[key]
		delete(have, key)
		if len(list) == 0 {
			p.create = append(p.create, want)
			continue
		}
		p.remove = append(p.remove, list[1:]...)
		if !matches(list[0], want) {
			p.update = append(p.update, rewrite(list[0], want))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(have)) {
		p.remove = append(p.remove, have[key]...)
	}

	// Reuse slices to be removed for those to be created.
	var create []*discoveryv1.EndpointSlice
	for _, want := range p.create {
		i := slices.IndexFunc(p.remove, func(s *discoveryv1.EndpointSlice) bool { return s.AddressType == want.AddressType })
		if i < 0 {
			create = append(create, want)
			continue
		}
		p.update = append(p.update, rewrite(p.remove[i], want))
		p.remove = slices.Delete(p.remove, i, i+1)
	}
	p.create = create
	return p
}

// newSlice returns the slice to create for g.
func newSlice(ep *corev1.Endpoints, g *group) *discoveryv1.EndpointSlice {
	labels := maps.Clone(ep.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[discoveryv1.LabelServiceName] = ep.Name
	labels[discoveryv1.LabelManagedBy] = managedBy
	annotations := maps.Clone(ep.Annotations)
	delete(annotations, corev1.EndpointsLastChangeTriggerTime)
	delete(annotations, lastApplied)
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: ep.Name + "-",
			Namespace:    ep.Namespace,
			Labels:       labels,
			Annotations:  annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ep,
				corev1.SchemeGroupVersion.WithKind("Endpoints"))},
		},
		AddressType: g.addressType,
		Ports:       g.ports,
		Endpoints:   g.endpoints,
	}
}

// matches reports whether the existing slice s already has want's content.
func matches(s, want *discoveryv1.EndpointSlice) bool {
	got := slices.Clone(s.Endpoints)
	slices.SortFunc(got, compareEndpoints)
	return s.AddressType == want.AddressType &&
		equality.Semantic.DeepEqual(s.Labels, want.Labels) &&
		equality.Semantic.DeepEqual(s.Annotations, want.Annotations) &&
		equality.Semantic.DeepEqual(s.OwnerReferences, want.OwnerReferences) &&
		equality.Semantic.DeepEqual(s.Ports, want.Ports) &&
		equality.Semantic.DeepEqual(got, want.Endpoints)
}

// rewrite returns s with want's content, to update in place.
func rewrite(s, want *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	out := s.DeepCopy()
	out.Labels, out.Annotations, out.OwnerReferences = want.Labels, want.Annotations, want.OwnerReferences
	out.AddressType, out.Ports, out.Endpoints = want.AddressType, want.Ports, want.Endpoints
	return out
}
