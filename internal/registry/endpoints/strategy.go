package endpoints

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the endpoints strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:    "v1",
		Kind:       "Endpoints",
		ListKind:   "EndpointsList",
		Resource:   "endpoints",
		Singular:   "endpoints",
		ShortNames: []string{"ep"},
		Namespaced: true,
	}
}

func (*strategy) New() runtime.Object     { return &corev1.Endpoints{} }
func (*strategy) NewList() runtime.Object { return &corev1.EndpointsList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (*strategy) PrepareForCreate(obj runtime.Object)            {}
func (*strategy) PrepareForUpdate(obj, old runtime.Object)       {}
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default sets an empty port protocol to TCP.
func (*strategy) Default(obj runtime.Object) {
	ep := obj.(*corev1.Endpoints)
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			if p := &ep.Subsets[i].Ports[j]; p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
		}
	}
}

var protocols = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	var errs field.ErrorList
	for i, ss := range obj.(*corev1.Endpoints).Subsets {
		path := field.NewPath("subsets").Index(i)
		// A headless service's endpoints may have no ports, but never no addresses.
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(path, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, validateAddress(&ss.Addresses[j], path.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, validateAddress(&ss.NotReadyAddresses[j], path.Child("notReadyAddresses").Index(j))...)
		}
		for j := range ss.Ports {
			errs = append(errs, validatePort(&ss.Ports[j], len(ss.Ports) > 1, path.Child("ports").Index(j))...)
		}
	}
	return errs
}

func (s *strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList { return s.Validate(obj) }

func (s *strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return s.Validate(obj)
}

func validateAddress(addr *corev1.EndpointAddress, path *field.Path) field.ErrorList {
	errs := validation.IsValidIPForLegacyField(path.Child("ip"), addr.IP, false, nil)
	if addr.Hostname != "" {
		for _, msg := range validation.IsDNS1123Label(addr.Hostname) {
			errs = append(errs, field.Invalid(path.Child("hostname"), addr.Hostname, msg))
		}
	}
	if addr.NodeName != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*addr.NodeName, false) {
			errs = append(errs, field.Invalid(path.Child("nodeName"), *addr.NodeName, msg))
		}
	}
	if len(errs) == 0 {
		errs = append(errs, registry.ValidateNonSpecialIP(addr.IP, path.Child("ip"))...)
	}
	return errs
}

func validatePort(port *corev1.EndpointPort, requireName bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && port.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else if port.Name != "" {
		for _, msg := range validation.IsDNS1123Label(port.Name) {
			errs = append(errs, field.Invalid(path.Child("name"), port.Name, msg))
		}
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port)) {
		errs = append(errs, field.Invalid(path.Child("port"), port.Port, msg))
	}
	switch port.Protocol {
	case "":
		errs = append(errs, field.Required(path.Child("protocol"), ""))
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
	default:
		errs = append(errs, field.NotSupported(path.Child("protocol"), port.Protocol, protocols))
	}
	if port.AppProtocol != nil {
		for _, msg := range content.IsLabelKey(*port.AppProtocol) { // a qualified name
			errs = append(errs, field.Invalid(path.Child("appProtocol"), *port.AppProtocol, msg))
		}
	}
	return errs
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Endpoints", Type: "string", Description: corev1.Endpoints{}.SwaggerDoc()["subsets"]},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	ep := obj.(*corev1.Endpoints)
	return []interface{}{ep.Name, format(ep), registry.Since(ep.CreationTimestamp.Time, now)}
}

// shown is how many ready endpoints the Endpoints column lists before "+ N more...".
const shown = 3

// format lists the ready endpoints as ip:port (plain ip for a subset without ports), port
// by port, the first three only; "<none>" when there are no subsets.
func format(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	var list []string
	count := 0
	add := func(s string) {
		count++
		if len(list) < shown {
			list = append(list, s)
		}
	}
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			for _, addr := range ss.Addresses {
				add(addr.IP)
			}
		}
		for _, port := range ss.Ports {
			for _, addr := range ss.Addresses {
				add(net.JoinHostPort(addr.IP, strconv.Itoa(int(port.Port))))
			}
		}
	}
	s := strings.Join(list, ",")
	if count > shown {
		return fmt.Sprintf("%s + %d more...", s, count-shown)
	}
	return s
}
