package ingress

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

const (
	// annotationIngressClass is the deprecated way of naming an Ingress's class.
	annotationIngressClass = "kubernetes.io/ingress.class"
	// maxControllerLength is the longest an IngressClass's controller may be.
	maxControllerLength = 250
)

// The values upstream accepts, sorted as its messages list them.
var (
	pathTypes = []networkingv1.PathType{networkingv1.PathTypeExact, networkingv1.PathTypeImplementationSpecific, networkingv1.PathTypePrefix}
	scopes    = []string{networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}
)

// What an Exact or Prefix path may not contain, and may not end with.
var (
	badPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	badPathSuffixes  = []string{"/..", "/."}
)

// ingressOptions relaxes the checks for values an update carries over from the stored
// Ingress.
type ingressOptions struct {
	// allowInvalidSecretName lets TLS secret names that are not DNS subdomains pass.
	allowInvalidSecretName bool
	// allowInvalidWildcardHostRule skips the rule values under wildcard hosts.
	allowInvalidWildcardHostRule bool
	// dns1035ServiceNames checks backend service names as DNS-1035 labels, as upstream
	// did before its RelaxedServiceNameValidation gate (now locked on) allowed any
	// DNS-1123 label. Only the check of stored wildcard rules still uses it.
	dns1035ServiceNames bool
}

// optionsFor returns the relaxations an update of old earns: invalid TLS secret names
// when old has one, and invalid rule values under wildcard hosts when old has one.
func optionsFor(old *networkingv1.Ingress) ingressOptions {
	var opts ingressOptions
	for _, tls := range old.Spec.TLS {
		if len(validateSecretName(tls.SecretName)) > 0 {
			opts.allowInvalidSecretName = true
			break
		}
	}
	strict := ingressOptions{dns1035ServiceNames: true}
	for i := range old.Spec.Rules {
		r := &old.Spec.Rules[i]
		if strings.Contains(r.Host, "*") && len(validateRuleValue(&r.IngressRuleValue, strict, field.NewPath("rule"))) > 0 {
			opts.allowInvalidWildcardHostRule = true
			break
		}
	}
	return opts
}

// validateIngressSpec checks that there are rules or a default backend, the default
// backend, every rule, every TLS entry and the class name.
func validateIngressSpec(spec *networkingv1.IngressSpec, opts ingressOptions, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(path, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateBackend(spec.DefaultBackend, opts, path.Child("defaultBackend"))...)
	}
	for i := range spec.Rules {
		errs = append(errs, validateRule(&spec.Rules[i], opts, path.Child("rules").Index(i))...)
	}
	for i := range spec.TLS {
		errs = append(errs, validateTLS(&spec.TLS[i], opts, path.Child("tls").Index(i))...)
	}
	if name := spec.IngressClassName; name != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*name, false) {
			errs = append(errs, field.Invalid(path.Child("ingressClassName"), *name, msg))
		}
	}
	return errs
}

// validateRule checks a rule's host, a DNS name (a wildcard one allowed) and not an IP
// address, and its paths.
func validateRule(rule *networkingv1.IngressRule, opts ingressOptions, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	wildcard := false
	if host := rule.Host; host != "" {
		hostPath := path.Child("host")
		if netutils.ParseIPSloppy(host) != nil {
			errs = append(errs, field.Invalid(hostPath, host, "must be a DNS name, not an IP address"))
		}
		errs = append(errs, validateHost(host, hostPath)...)
		wildcard = strings.Contains(host, "*")
	}
	if !wildcard || !opts.allowInvalidWildcardHostRule {
		errs = append(errs, validateRuleValue(&rule.IngressRuleValue, opts, path)...)
	}
	return errs
}

// validateHost checks a host as a DNS subdomain, or as a wildcard one when it has a "*".
func validateHost(host string, path *field.Path) field.ErrorList {
	check := validation.IsDNS1123Subdomain
	if strings.Contains(host, "*") {
		check = validation.IsWildcardDNS1123Subdomain
	}
	var errs field.ErrorList
	for _, msg := range check(host) {
		errs = append(errs, field.Invalid(path, host, msg))
	}
	return errs
}

// validateRuleValue checks an HTTP rule: at least one path, each valid.
func validateRuleValue(value *networkingv1.IngressRuleValue, opts ingressOptions, path *field.Path) field.ErrorList {
	if value.HTTP == nil {
		return nil
	}
	pathsPath := path.Child("http", "paths")
	var errs field.ErrorList
	if len(value.HTTP.Paths) == 0 {
		errs = append(errs, field.Required(pathsPath, ""))
	}
	for i := range value.HTTP.Paths {
		errs = append(errs, validatePath(&value.HTTP.Paths[i], opts, pathsPath.Index(i))...)
	}
	return errs
}

// validatePath checks an HTTP path: its pathType is required; an Exact or Prefix path
// is absolute and free of empty, "." and ".." segments and encoded slashes; an
// ImplementationSpecific path, when given, is absolute. Then its backend.
func validatePath(p *networkingv1.HTTPIngressPath, opts ingressOptions, path *field.Path) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(path.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	valuePath := path.Child("path")
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(valuePath, p.Path, "must be an absolute path"))
		}
		for _, seq := range badPathSequences {
			if strings.Contains(p.Path, seq) {
				errs = append(errs, field.Invalid(valuePath, p.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range badPathSuffixes {
			if strings.HasSuffix(p.Path, suffix) {
				errs = append(errs, field.Invalid(valuePath, p.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			errs = append(errs, field.Invalid(valuePath, p.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("pathType"), *p.PathType, pathTypes))
	}
	return append(errs, validateBackend(&p.Backend, opts, path.Child("backend"))...)
}

// validateBackend checks a backend: exactly one of a resource and a service; a
// service has a name that is a DNS label and a port given by name or by number.
func validateBackend(b *networkingv1.IngressBackend, opts ingressOptions, path *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(path, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateResourceBackend(b.Resource, path.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(path, "", "resource or service backend is required")}
	}
	var errs field.ErrorList
	svc, svcPath := b.Service, path.Child("service")
	if svc.Name == "" {
		errs = append(errs, field.Required(svcPath.Child("name"), ""))
	} else {
		check := apivalidation.NameIsDNSLabel
		if opts.dns1035ServiceNames {
			check = apivalidation.NameIsDNS1035Label
		}
		for _, msg := range check(svc.Name, false) {
			errs = append(errs, field.Invalid(svcPath.Child("name"), svc.Name, msg))
		}
	}
	port := svc.Port
	switch {
	case port.Name != "" && port.Number != 0:
		errs = append(errs, field.Invalid(path, "", "cannot set both port name & port number"))
	case port.Name != "":
		for _, msg := range validation.IsValidPortName(port.Name) {
			errs = append(errs, field.Invalid(svcPath.Child("port", "name"), port.Name, msg))
		}
	case port.Number != 0:
		for _, msg := range validation.IsValidPortNum(int(port.Number)) {
			errs = append(errs, field.Invalid(svcPath.Child("port", "number"), port.Number, msg))
		}
	default:
		errs = append(errs, field.Required(path, "port name or number is required"))
	}
	return errs
}

// validateResourceBackend checks a resource backend: an apiGroup, when given, is a DNS
// subdomain; kind and name are required and usable as path segments.
func validateResourceBackend(ref *corev1.TypedLocalObjectReference, path *field.Path) field.ErrorList {
	errs := validateAPIGroup(ref.APIGroup, path)
	errs = append(errs, validateSegment(ref.Kind, path.Child("kind"))...)
	return append(errs, validateSegment(ref.Name, path.Child("name"))...)
}

// validateAPIGroup checks an optional API group as a DNS subdomain.
func validateAPIGroup(group *string, path *field.Path) field.ErrorList {
	if group == nil {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(*group) {
		errs = append(errs, field.Invalid(path.Child("apiGroup"), *group, msg))
	}
	return errs
}

// validateSegment requires value and checks it can be a segment of a URL path.
func validateSegment(value string, path *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range content.IsPathSegmentName(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// validateTLS checks a TLS entry's hosts as DNS names (wildcard ones allowed) and its
// secret name, when given, as a Secret's name.
func validateTLS(tls *networkingv1.IngressTLS, opts ingressOptions, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, host := range tls.Hosts {
		errs = append(errs, validateHost(host, path.Child("hosts").Index(i))...)
	}
	if !opts.allowInvalidSecretName {
		for _, msg := range validateSecretName(tls.SecretName) {
			errs = append(errs, field.Invalid(path.Child("secretName"), tls.SecretName, msg))
		}
	}
	return errs
}

// validateSecretName checks a TLS secret name, which may be empty.
func validateSecretName(name string) []string {
	if name == "" {
		return nil
	}
	return apivalidation.NameIsDNSSubdomain(name, false)
}

// validateLoadBalancerStatus checks each ingress point: an IP, when given, is a valid
// IP address (strictly, as with upstream's StrictIPCIDRValidation gate on, unless old
// lists it); a hostname, when given, is a DNS name and not an IP address.
func validateLoadBalancerStatus(status, old *networkingv1.IngressLoadBalancerStatus, path *field.Path) field.ErrorList {
	var oldIPs []string
	for _, p := range old.Ingress {
		if p.IP != "" {
			oldIPs = append(oldIPs, p.IP)
		}
	}
	var errs field.ErrorList
	for i, p := range status.Ingress {
		pointPath := path.Child("ingress").Index(i)
		if p.IP != "" {
			errs = append(errs, validation.IsValidIPForLegacyField(pointPath.Child("ip"), p.IP, true, oldIPs)...)
		}
		if p.Hostname != "" {
			hostPath := pointPath.Child("hostname")
			for _, msg := range validation.IsDNS1123Subdomain(p.Hostname) {
				errs = append(errs, field.Invalid(hostPath, p.Hostname, msg))
			}
			if netutils.ParseIPSloppy(p.Hostname) != nil {
				errs = append(errs, field.Invalid(hostPath, p.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// validateIngressClassSpec checks the controller, a domain-prefixed path of at most
// 250 bytes, and the parameters. old is the stored spec on update, nil on create.
func validateIngressClassSpec(spec, old *networkingv1.IngressClassSpec) field.ErrorList {
	path := field.NewPath("spec")
	ctrlPath := path.Child("controller")
	var errs field.ErrorList
	if len(spec.Controller) > maxControllerLength {
		errs = append(errs, field.TooLong(ctrlPath, "", maxControllerLength))
	}
	errs = append(errs, validation.IsDomainPrefixedPath(ctrlPath, spec.Controller)...)
	var oldParams *networkingv1.IngressClassParametersReference
	if old != nil {
		oldParams = old.Parameters
	}
	handwritten, declarative := validateParameters(spec.Parameters, oldParams, path.Child("parameters"))
	errs = append(errs, handwritten...)
	return append(errs, declarative...)
}

// validateParameters checks a parameters reference: an apiGroup, when given, is a DNS
// subdomain; kind and name are required and usable as path segments; the scope is
// required, Cluster or Namespace; a namespace is required for, and only allowed with,
// the Namespace scope, and is a DNS label. old is the stored reference on update.
//
// Upstream requires kind and name with declarative rules, whose errors come after all
// the handwritten ones: those are returned apart, as declarative. On update the rules
// pass over a kind or name the stored reference already left empty; the handwritten
// check then reports it in its place.
func validateParameters(params, old *networkingv1.IngressClassParametersReference, path *field.Path) (handwritten, declarative field.ErrorList) {
	if params == nil {
		return nil, nil
	}
	errs := validateAPIGroup(params.APIGroup, path)
	var oldKind, oldName *string
	if old != nil {
		oldKind, oldName = &old.Kind, &old.Name
	}
	for _, f := range []struct {
		value string
		old   *string
		path  *field.Path
	}{
		{params.Kind, oldKind, path.Child("kind")},
		{params.Name, oldName, path.Child("name")},
	} {
		switch {
		case f.value != "":
			errs = append(errs, validateSegment(f.value, f.path)...)
		case f.old != nil && *f.old == "":
			errs = append(errs, field.Required(f.path, ""))
		default:
			declarative = append(declarative, field.Required(f.path, ""))
		}
	}

	scopePath, nsPath := path.Child("scope"), path.Child("namespace")
	switch scope := params.Scope; {
	case scope == nil:
		errs = append(errs, field.Required(scopePath, ""))
	case *scope == networkingv1.IngressClassParametersReferenceScopeNamespace:
		if params.Namespace == nil {
			errs = append(errs, field.Required(nsPath, "`parameters.scope` is set to 'Namespace'"))
			break
		}
		for _, msg := range apivalidation.ValidateNamespaceName(*params.Namespace, false) {
			errs = append(errs, field.Invalid(nsPath, *params.Namespace, msg))
		}
	case *scope == networkingv1.IngressClassParametersReferenceScopeCluster:
		if params.Namespace != nil {
			errs = append(errs, field.Forbidden(nsPath, "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(scopePath, *scope, scopes))
	}
	return errs, declarative
}
