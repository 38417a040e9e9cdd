package service

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the service strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:      "v1",
		Kind:         "Service",
		ListKind:     "ServiceList",
		Resource:     "services",
		Singular:     "service",
		ShortNames:   []string{"svc"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status", "proxy"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.Service{} }
func (*strategy) NewList() runtime.Object { return &corev1.ServiceList{} }

// ValidateName takes DNS labels, which may start with a digit (upstream's
// RelaxedServiceNameValidation, GA in 1.37).
func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSLabel(name, prefix)
}

// PrepareForCreate clears the status and fills clusterIPs from a lone clusterIP, so
// that old clients which only know the singular field keep working.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	svc := obj.(*corev1.Service)
	svc.Status = corev1.ServiceStatus{}
	if svc.Spec.ClusterIP != "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
}

// PrepareForUpdate keeps the status, carries over what was allocated when the update
// leaves it out, keeps clusterIP and clusterIPs in step, and clears what the new type
// no longer uses when the client did not set it.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	// Upstream defaults while decoding, before any of this; so do we.
	setDefaults(svc)
	svc.Status = oldSvc.Status
	keepAllocated(svc, oldSvc)
	syncClusterIPs(svc, oldSvc)
	dropUnused(svc, oldSvc)
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do (the service status conformance
// spec patches an annotation through status).
func (*strategy) StatusWritesMetadata() {}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*corev1.Service).Spec = old.(*corev1.Service).Spec
}

// Default applies upstream's defaults and, when a cluster IP is known, the IP family
// fields. A server that allocates the cluster IP after Default must default again.
func (*strategy) Default(obj runtime.Object) {
	svc := obj.(*corev1.Service)
	setDefaults(svc)
	setIPFamilies(svc)
}

// setDefaults applies upstream's API defaults.
func setDefaults(svc *corev1.Service) {
	spec := &svc.Spec
	switch spec.SessionAffinity {
	case "":
		spec.SessionAffinity = corev1.ServiceAffinityNone
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case corev1.ServiceAffinityClientIP:
		if c := spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To(corev1.DefaultClientIPServiceAffinitySeconds)},
			}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if externallyAccessible(svc) && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil && spec.Type != corev1.ServiceTypeExternalName {
		spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		if spec.AllocateLoadBalancerNodePorts == nil {
			spec.AllocateLoadBalancerNodePorts = ptr.To(true)
		}
		for i, ing := range svc.Status.LoadBalancer.Ingress {
			if ing.IP != "" && ing.IPMode == nil {
				svc.Status.LoadBalancer.Ingress[i].IPMode = ptr.To(corev1.LoadBalancerIPModeVIP)
			}
		}
	}
}

// setIPFamilies fills ipFamilyPolicy and ipFamilies from the cluster IPs, as upstream's
// allocator does on a single-stack IPv4 cluster. A headless service gets IPv4; one
// without a selector asks for both families, since its endpoints are managed by hand.
func setIPFamilies(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName || spec.ClusterIP == "" {
		return
	}
	if spec.ClusterIP == corev1.ClusterIPNone {
		if spec.IPFamilyPolicy == nil {
			policy := corev1.IPFamilyPolicySingleStack
			if len(spec.Selector) == 0 {
				policy = corev1.IPFamilyPolicyRequireDualStack
			}
			spec.IPFamilyPolicy = &policy
		}
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}
		return
	}
	if spec.IPFamilyPolicy == nil && len(spec.ClusterIPs) <= 1 {
		spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
	}
	if len(spec.IPFamilies) == 0 {
		for _, ip := range spec.ClusterIPs {
			family := corev1.IPv4Protocol
			if netutils.IsIPv6String(ip) {
				family = corev1.IPv6Protocol
			}
			spec.IPFamilies = append(spec.IPFamilies, family)
		}
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateService(obj.(*corev1.Service))
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
	return append(validateChanges(svc, oldSvc), validateService(svc)...)
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	svc := obj.(*corev1.Service)
	return validateLoadBalancerStatus(&svc.Status.LoadBalancer, &svc.Spec, field.NewPath("status", "loadBalancer"))
}

func (*strategy) Fields(obj runtime.Object) fields.Set {
	svc := obj.(*corev1.Service)
	set := registry.MetaFields(obj, true)
	set["spec.clusterIP"] = svc.Spec.ClusterIP
	set["spec.type"] = string(svc.Spec.Type)
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	doc := corev1.ServiceSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Type", Type: "string", Description: doc["type"]},
		{Name: "Cluster-IP", Type: "string", Description: doc["clusterIP"]},
		{Name: "External-IP", Type: "string", Description: doc["externalIPs"]},
		{Name: "Port(s)", Type: "string", Description: doc["ports"]},
		registry.AgeColumn(),
		{Name: "Selector", Type: "string", Priority: 1, Description: doc["selector"]},
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	svc := obj.(*corev1.Service)
	clusterIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	return []interface{}{
		svc.Name,
		string(svc.Spec.Type),
		clusterIP,
		externalIP(svc),
		ports(svc.Spec.Ports),
		registry.Since(svc.CreationTimestamp.Time, now),
		labels.FormatLabels(svc.Spec.Selector),
	}
}

// externalIP renders how the service is reached from outside: its external IPs, and for
// a load balancer also the ingress points ("<pending>" until there are some).
func externalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		seen := map[string]bool{}
		var ingress []string
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			addr := ing.IP
			if addr == "" {
				addr = ing.Hostname
			}
			if addr != "" && !seen[addr] {
				seen[addr] = true
				ingress = append(ingress, addr)
			}
		}
		sort.Strings(ingress)
		all := append(ingress, svc.Spec.ExternalIPs...)
		if len(all) == 0 {
			return "<pending>"
		}
		return strings.Join(all, ",")
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// ports renders each port as port/protocol, or port:nodePort/protocol.
func ports(list []corev1.ServicePort) string {
	if len(list) == 0 {
		return "<none>"
	}
	parts := make([]string, len(list))
	for i, p := range list {
		parts[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort > 0 {
			parts[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
	}
	return strings.Join(parts, ",")
}
