// Package ingress provides the strategies for networking.k8s.io/v1 Ingresses and
// IngressClasses: DNS subdomain names, upstream's one v1 default (a parameters
// reference without a scope is cluster-scoped), the checks of rules, paths, backends,
// TLS entries and load balancer status, and of an IngressClass's controller and
// parameters, the status subresource of Ingresses with generations bumped on spec
// changes, and the Table columns kubectl shows.
//
// The required kind and name of an IngressClass's parameters belong to upstream's
// declarative validation and report as its API server reports them with the beta
// declarative rules enforced: after the handwritten errors, unless an update leaves
// them as they were.
//
// Upstream's warnings (the deprecated kubernetes.io/ingress.class annotation without
// spec.ingressClassName, load balancer IPs in non-canonical form) are not given:
// strategies here have no way to return warnings.
package ingress
