package ingress

import (
	"fmt"
	"slices"
	"strings"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy = (*ingresses)(nil)
	_ registry.Strategy = (*ingressClasses)(nil)
)

// NewIngresses returns the Ingress strategy.
func NewIngresses() registry.Strategy { return &ingresses{} }

// NewIngressClasses returns the IngressClass strategy.
func NewIngressClasses() registry.Strategy { return &ingressClasses{} }

// maxListedHosts is how many hosts the Hosts column lists before it counts the rest.
const maxListedHosts = 3

// ingresses is the Ingress strategy.
type ingresses struct{}

func (*ingresses) Info() registry.Info {
	return registry.Info{
		Group:        networkingv1.GroupName,
		Version:      "v1",
		Kind:         "Ingress",
		ListKind:     "IngressList",
		Resource:     "ingresses",
		Singular:     "ingress",
		ShortNames:   []string{"ing"},
		Namespaced:   true,
		Subresources: []string{"status"},
	}
}

func (*ingresses) New() runtime.Object     { return &networkingv1.Ingress{} }
func (*ingresses) NewList() runtime.Object { return &networkingv1.IngressList{} }

func (*ingresses) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate drops the status and starts the generation.
func (*ingresses) PrepareForCreate(obj runtime.Object) {
	ing := obj.(*networkingv1.Ingress)
	ing.Status = networkingv1.IngressStatus{}
	ing.Generation = 1
}

// PrepareForUpdate keeps the status and bumps the generation when the spec changes.
func (*ingresses) PrepareForUpdate(obj, old runtime.Object) {
	ing, o := obj.(*networkingv1.Ingress), old.(*networkingv1.Ingress)
	ing.Status = o.Status
	if !equality.Semantic.DeepEqual(ing.Spec, o.Spec) {
		ing.Generation = o.Generation + 1
	}
}

// StatusWritesMetadata lets a status write change labels and annotations too, as
// upstream's status strategy keeps only the spec.
func (*ingresses) StatusWritesMetadata() {}

func (*ingresses) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*networkingv1.Ingress).Spec = old.(*networkingv1.Ingress).Spec
}

// Default does nothing: upstream defaults no field of a v1 Ingress.
func (*ingresses) Default(obj runtime.Object) {}

// Validate checks the spec, and that the kubernetes.io/ingress.class annotation, when
// given with spec.ingressClassName, names the same class. The status is not checked:
// a create drops it.
func (*ingresses) Validate(obj runtime.Object) field.ErrorList {
	ing := obj.(*networkingv1.Ingress)
	errs := validateIngressSpec(&ing.Spec, ingressOptions{}, field.NewPath("spec"))
	if class, ok := ing.Annotations[annotationIngressClass]; ok && ing.Spec.IngressClassName != nil && class != *ing.Spec.IngressClassName {
		errs = append(errs, field.Invalid(field.NewPath("annotations").Child(annotationIngressClass), class, "must match `ingressClassName` when both are specified"))
	}
	return errs
}

// ValidateUpdate checks the spec as on create, except that TLS secret names and the
// rules under wildcard hosts keep the invalid values the stored Ingress already has.
// The annotation is not compared with the class name again.
func (*ingresses) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	ing, o := obj.(*networkingv1.Ingress), old.(*networkingv1.Ingress)
	return validateIngressSpec(&ing.Spec, optionsFor(o), field.NewPath("spec"))
}

// ValidateStatusUpdate checks the load balancer's ingress points; IPs the stored
// status already lists pass unchecked.
func (*ingresses) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	ing, o := obj.(*networkingv1.Ingress), old.(*networkingv1.Ingress)
	return validateLoadBalancerStatus(&ing.Status.LoadBalancer, &o.Status.LoadBalancer, field.NewPath("status", "loadBalancer"))
}

func (*ingresses) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*ingresses) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Class", Type: "string", Description: "The name of the IngressClass resource that should be used for additional configuration"},
		{Name: "Hosts", Type: "string", Description: "Hosts that incoming requests are matched against before the ingress rule"},
		{Name: "Address", Type: "string", Description: "Address is a list containing ingress points for the load-balancer"},
		{Name: "Ports", Type: "string", Description: "Ports of TLS configurations that open"},
		registry.AgeColumn(),
	}
}

// Row shows the class as "<none>" when unset; the hosts of the rules, the first three
// and a count of the remaining rules, or "*" when no rule names a host; the load
// balancer's addresses (each point's IP, else its hostname), sorted and without
// repeats; and port 443 besides 80 when there is a TLS entry.
func (*ingresses) Row(obj runtime.Object, now time.Time) []interface{} {
	ing := obj.(*networkingv1.Ingress)
	class := "<none>"
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	ports := "80"
	if len(ing.Spec.TLS) != 0 {
		ports = "80, 443"
	}
	return []interface{}{
		ing.Name,
		class,
		formatHosts(ing.Spec.Rules),
		formatAddress(&ing.Status.LoadBalancer),
		ports,
		registry.Since(ing.CreationTimestamp.Time, now),
	}
}

// formatHosts lists the non-empty hosts of the rules until three are listed; when
// rules remain after that, it adds how many rules there are beyond the third.
func formatHosts(rules []networkingv1.IngressRule) string {
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == maxListedHosts {
			more = true
			break
		}
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	if len(hosts) == 0 {
		return "*"
	}
	list := strings.Join(hosts, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", list, len(rules)-maxListedHosts)
	}
	return list
}

// formatAddress joins the load balancer's addresses with commas.
func formatAddress(status *networkingv1.IngressLoadBalancerStatus) string {
	var addrs []string
	for _, p := range status.Ingress {
		switch {
		case p.IP != "":
			addrs = append(addrs, p.IP)
		case p.Hostname != "":
			addrs = append(addrs, p.Hostname)
		}
	}
	slices.Sort(addrs)
	return strings.Join(slices.Compact(addrs), ",")
}

// ingressClasses is the IngressClass strategy.
type ingressClasses struct{}

func (*ingressClasses) Info() registry.Info {
	return registry.Info{
		Group:    networkingv1.GroupName,
		Version:  "v1",
		Kind:     "IngressClass",
		ListKind: "IngressClassList",
		Resource: "ingressclasses",
		Singular: "ingressclass",
	}
}

func (*ingressClasses) New() runtime.Object     { return &networkingv1.IngressClass{} }
func (*ingressClasses) NewList() runtime.Object { return &networkingv1.IngressClassList{} }

func (*ingressClasses) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate starts the generation.
func (*ingressClasses) PrepareForCreate(obj runtime.Object) {
	obj.(*networkingv1.IngressClass).Generation = 1
}

// PrepareForUpdate bumps the generation when the spec, once defaulted, differs from
// the stored one.
func (*ingressClasses) PrepareForUpdate(obj, old runtime.Object) {
	ic, o := obj.(*networkingv1.IngressClass), old.(*networkingv1.IngressClass)
	setClassDefaults(ic)
	if !equality.Semantic.DeepEqual(ic.Spec, o.Spec) {
		ic.Generation = o.Generation + 1
	}
}

// PrepareForStatusUpdate does nothing: IngressClasses have no status subresource.
func (*ingressClasses) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default makes a parameters reference without a scope cluster-scoped.
func (*ingressClasses) Default(obj runtime.Object) {
	setClassDefaults(obj.(*networkingv1.IngressClass))
}

func setClassDefaults(ic *networkingv1.IngressClass) {
	if p := ic.Spec.Parameters; p != nil && p.Scope == nil {
		p.Scope = ptr.To(networkingv1.IngressClassParametersReferenceScopeCluster)
	}
}

func (*ingressClasses) Validate(obj runtime.Object) field.ErrorList {
	return validateIngressClassSpec(&obj.(*networkingv1.IngressClass).Spec, nil)
}

// ValidateUpdate refuses a new controller, then checks the spec as on create.
func (*ingressClasses) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	spec, oldSpec := &obj.(*networkingv1.IngressClass).Spec, &old.(*networkingv1.IngressClass).Spec
	errs := apivalidation.ValidateImmutableField(spec.Controller, oldSpec.Controller, field.NewPath("spec", "controller"))
	return append(errs, validateIngressClassSpec(spec, oldSpec)...)
}

func (*ingressClasses) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

func (*ingressClasses) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

func (*ingressClasses) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Controller", Type: "string", Description: "Controller that is responsible for handling this class"},
		{Name: "Parameters", Type: "string", Description: "A reference to a resource with additional parameters"},
		registry.AgeColumn(),
	}
}

// Row marks the default class's name with " (default)" and shows the parameters as
// "Kind/Name", "Kind.APIGroup/Name" with a group, or "<none>".
func (*ingressClasses) Row(obj runtime.Object, now time.Time) []interface{} {
	ic := obj.(*networkingv1.IngressClass)
	name := ic.Name
	if ic.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
		name += " (default)"
	}
	params := "<none>"
	if p := ic.Spec.Parameters; p != nil {
		kind := p.Kind
		if p.APIGroup != nil {
			kind += "." + *p.APIGroup
		}
		params = kind + "/" + p.Name
	}
	return []interface{}{
		name,
		ic.Spec.Controller,
		params,
		registry.Since(ic.CreationTimestamp.Time, now),
	}
}
