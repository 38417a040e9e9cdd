package endpointslice

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the EndpointSlice strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:      discoveryv1.GroupName,
		Version:    "v1",
		Kind:       "EndpointSlice",
		ListKind:   "EndpointSliceList",
		Resource:   "endpointslices",
		Singular:   "endpointslice",
		Namespaced: true,
	}
}

func (*strategy) New() runtime.Object     { return &discoveryv1.EndpointSlice{} }
func (*strategy) NewList() runtime.Object { return &discoveryv1.EndpointSliceList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate starts the generation at 1 and drops every endpoint's
// deprecatedTopology, which the v1 API does not let clients write.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	eps := obj.(*discoveryv1.EndpointSlice)
	eps.Generation = 1
	dropTopology(eps, nil)
}

// PrepareForUpdate keeps the stored generation, bumping it when the labels or, once
// defaulted, the address type, endpoints or ports differ from the stored slice. An
// EndpointSlice has no status, so these are all a client can change besides metadata.
// When the endpoints change, deprecatedTopology is dropped as on create.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	eps, oldEPS := obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice)
	eps.Generation = oldEPS.Generation
	if changed(eps, oldEPS) {
		eps.Generation++
	}
	if !equality.Semantic.DeepEqual(eps.Endpoints, oldEPS.Endpoints) {
		dropTopology(eps, oldEPS)
	}
}

// PrepareForStatusUpdate does nothing: EndpointSlices have no status subresource.
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}

// changed reports whether an update to eps moves its generation: the comparison is made
// as if eps were already defaulted, since the stored slice is.
func changed(eps, old *discoveryv1.EndpointSlice) bool {
	defaulted := eps.DeepCopy()
	setDefaults(defaulted)
	return defaulted.AddressType != old.AddressType ||
		!equality.Semantic.DeepEqual(defaulted.Endpoints, old.Endpoints) ||
		!equality.Semantic.DeepEqual(defaulted.Ports, old.Ports) ||
		!equality.Semantic.DeepEqual(defaulted.Labels, old.Labels)
}

// dropTopology clears every endpoint's deprecatedTopology. An endpoint without a nodeName
// takes it from its kubernetes.io/hostname topology entry when old (nil on create) named
// that node in its own topology, so rewriting a slice stored with topology keeps the node.
func dropTopology(eps, old *discoveryv1.EndpointSlice) {
	known := map[string]bool{}
	if old != nil {
		for _, ep := range old.Endpoints {
			if name := ep.DeprecatedTopology[corev1.LabelHostname]; name != "" {
				known[name] = true
			}
		}
	}
	for i := range eps.Endpoints {
		ep := &eps.Endpoints[i]
		name, ok := ep.DeprecatedTopology[corev1.LabelHostname]
		if ok && ep.NodeName == nil && known[name] && len(apivalidation.NameIsDNSSubdomain(name, false)) == 0 {
			ep.NodeName = &name
		}
		ep.DeprecatedTopology = nil
	}
}

// Default gives every port without a name the empty name and every port without a
// protocol TCP. Endpoint conditions stay unset: consumers read a nil ready or serving as
// true and a nil terminating as false.
func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*discoveryv1.EndpointSlice)) }

func setDefaults(eps *discoveryv1.EndpointSlice) {
	for i := range eps.Ports {
		p := &eps.Ports[i]
		if p.Name == nil {
			p.Name = new(string)
		}
		if p.Protocol == nil {
			tcp := corev1.ProtocolTCP
			p.Protocol = &tcp
		}
	}
}

const (
	maxEndpoints = 1000
	maxAddresses = 100 // of one endpoint
	maxPorts     = 20000
	maxHints     = 8 // zones or nodes, of one endpoint
)

var (
	addressTypes = []discoveryv1.AddressType{discoveryv1.AddressTypeFQDN, discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}
	protocols    = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}
)

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validate(obj.(*discoveryv1.EndpointSlice), nil)
}

// ValidateUpdate validates the slice as on create, except that endpoints equal to the
// stored ones are accepted as they are, and forbids changing the address type.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	eps, oldEPS := obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice)
	errs := validate(eps, oldEPS)
	return append(errs, apivalidation.ValidateImmutableField(eps.AddressType, oldEPS.AddressType, field.NewPath("addressType"))...)
}

func (s *strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return s.ValidateUpdate(obj, old)
}

// validate checks the address type, then the ports, then the endpoints. On update (old
// set), problems in endpoints equal to the stored ones are not reported: they were
// accepted under earlier, looser rules.
func validate(eps, old *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	typePath := field.NewPath("addressType")
	switch {
	case eps.AddressType == "":
		errs = append(errs, field.Required(typePath, ""))
	case !isAddressType(eps.AddressType):
		errs = append(errs, field.NotSupported(typePath, eps.AddressType, addressTypes))
	}
	errs = append(errs, validatePorts(eps.Ports, field.NewPath("ports"))...)
	endpointErrs := validateEndpoints(eps.Endpoints, eps.AddressType, field.NewPath("endpoints"))
	if len(endpointErrs) != 0 && old != nil && equality.Semantic.DeepEqual(eps.Endpoints, old.Endpoints) {
		endpointErrs = nil
	}
	return append(errs, endpointErrs...)
}

func isAddressType(t discoveryv1.AddressType) bool {
	for _, known := range addressTypes {
		if t == known {
			return true
		}
	}
	return false
}

func validatePorts(ports []discoveryv1.EndpointPort, path *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(path, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, port := range ports {
		p := path.Index(i)
		var name string
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			for _, msg := range validation.IsDNS1123Label(name) {
				errs = append(errs, field.Invalid(p.Child("name"), name, msg))
			}
		}
		if seen[name] {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		seen[name] = true
		switch {
		case port.Protocol == nil:
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		case *port.Protocol != corev1.ProtocolTCP && *port.Protocol != corev1.ProtocolUDP && *port.Protocol != corev1.ProtocolSCTP:
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, protocols))
		}
		if port.AppProtocol != nil {
			for _, msg := range content.IsLabelKey(*port.AppProtocol) { // a qualified name
				errs = append(errs, field.Invalid(p.Child("appProtocol"), *port.AppProtocol, msg))
			}
		}
	}
	return errs
}

func validateEndpoints(endpoints []discoveryv1.Endpoint, addressType discoveryv1.AddressType, path *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(path, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i := range endpoints {
		ep := &endpoints[i]
		p := path.Index(i)
		addrPath := p.Child("addresses")
		switch {
		case len(ep.Addresses) == 0:
			errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
		case len(ep.Addresses) > maxAddresses:
			errs = append(errs, field.TooMany(addrPath, len(ep.Addresses), maxAddresses))
		}
		for j, addr := range ep.Addresses {
			errs = append(errs, validateAddress(addr, addressType, addrPath, addrPath.Index(j))...)
		}
		if ep.NodeName != nil {
			for _, msg := range apivalidation.NameIsDNSSubdomain(*ep.NodeName, false) {
				errs = append(errs, field.Invalid(p.Child("nodeName"), *ep.NodeName, msg))
			}
		}
		if ep.Hostname != nil {
			for _, msg := range validation.IsDNS1123Label(*ep.Hostname) {
				errs = append(errs, field.Invalid(p.Child("hostname"), *ep.Hostname, msg))
			}
		}
		if ep.Hints != nil {
			errs = append(errs, validateHints(ep.Hints, p.Child("hints"))...)
		}
	}
	return errs
}

// validateAddress checks one address against the slice's address type; an unknown type
// (reported on addressType) checks nothing. As upstream does, a well-formed address of the
// other IP family is reported on the addresses list, not on the address itself.
func validateAddress(addr string, addressType discoveryv1.AddressType, listPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch addressType {
	case discoveryv1.AddressTypeIPv4:
		if errs = validation.IsValidIPForLegacyField(path, addr, false, nil); len(errs) != 0 {
			return errs
		}
		if !netutils.IsIPv4String(addr) {
			errs = append(errs, field.Invalid(listPath, addr, "must be an IPv4 address"))
		}
		errs = append(errs, validateEndpointIP(addr, path)...)
	case discoveryv1.AddressTypeIPv6:
		if errs = validation.IsValidIP(path, addr); len(errs) != 0 {
			return errs
		}
		if !netutils.IsIPv6String(addr) {
			errs = append(errs, field.Invalid(listPath, addr, "must be an IPv6 address"))
		}
		errs = append(errs, validateEndpointIP(addr, path)...)
	case discoveryv1.AddressTypeFQDN:
		errs = validation.IsFullyQualifiedDomainName(path, addr)
	}
	return errs
}

// validateEndpointIP rejects addresses no endpoint can have: unspecified, loopback and
// link-local ones.
func validateEndpointIP(value string, path *field.Path) field.ErrorList {
	ip := netutils.ParseIPSloppy(value)
	if ip == nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(path, value, fmt.Sprintf("may not be unspecified (%v)", value)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(path, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// validateHints checks the zone hints, then the node hints; too many zones stops the
// check before the nodes, as upstream's does.
func validateHints(hints *discoveryv1.EndpointHints, path *field.Path) field.ErrorList {
	zonesPath := path.Child("forZones")
	if len(hints.ForZones) > maxHints {
		return field.ErrorList{field.TooMany(zonesPath, len(hints.ForZones), maxHints)}
	}
	var errs field.ErrorList
	zones := map[string]bool{}
	for i, zone := range hints.ForZones {
		p := zonesPath.Index(i).Child("name")
		if zones[zone.Name] {
			errs = append(errs, field.Duplicate(p, zone.Name))
		}
		zones[zone.Name] = true
		for _, msg := range content.IsLabelValue(zone.Name) {
			errs = append(errs, field.Invalid(p, zone.Name, msg))
		}
	}
	nodesPath := path.Child("forNodes")
	if len(hints.ForNodes) > maxHints {
		return append(errs, field.TooMany(nodesPath, len(hints.ForNodes), maxHints))
	}
	nodes := map[string]bool{}
	for i, node := range hints.ForNodes {
		p := nodesPath.Index(i).Child("name")
		if nodes[node.Name] {
			errs = append(errs, field.Duplicate(p, node.Name))
		}
		nodes[node.Name] = true
		for _, msg := range apivalidation.NameIsDNSSubdomain(node.Name, false) {
			errs = append(errs, field.Invalid(p, node.Name, msg))
		}
	}
	return errs
}

// Fields offers only metadata.name and metadata.namespace, as upstream does.
func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "AddressType", Type: "string", Description: doc["addressType"]},
		{Name: "Ports", Type: "string", Description: doc["ports"]},
		{Name: "Endpoints", Type: "string", Description: doc["endpoints"]},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	eps := obj.(*discoveryv1.EndpointSlice)
	return []interface{}{
		eps.Name,
		string(eps.AddressType),
		formatPorts(eps.Ports),
		formatEndpoints(eps.Endpoints),
		registry.Since(eps.CreationTimestamp.Time, now),
	}
}

// shown is how many ports or addresses a cell lists before "+ N more...".
const shown = 3

// formatPorts lists the ports by number, by name when a port has no number, or as "*"
// when it has neither.
func formatPorts(ports []discoveryv1.EndpointPort) string {
	var list []string
	for _, port := range ports {
		if len(list) == shown {
			break
		}
		switch {
		case port.Port != nil:
			list = append(list, strconv.Itoa(int(*port.Port)))
		case port.Name != nil:
			list = append(list, *port.Name)
		default:
			list = append(list, "*")
		}
	}
	return joinShown(list, len(ports))
}

// formatEndpoints lists every endpoint's addresses, in order.
func formatEndpoints(endpoints []discoveryv1.Endpoint) string {
	var list []string
	total := 0
	for _, ep := range endpoints {
		for _, addr := range ep.Addresses {
			if len(list) < shown {
				list = append(list, addr)
			}
			total++
		}
	}
	return joinShown(list, total)
}

// joinShown joins the listed items with commas, adds "+ N more..." when total exceeds
// them, and reads "<unset>" when there is nothing to show.
func joinShown(list []string, total int) string {
	s := strings.Join(list, ",")
	if total > len(list) {
		return fmt.Sprintf("%s + %d more...", s, total-len(list))
	}
	if s == "" {
		return "<unset>"
	}
	return s
}
