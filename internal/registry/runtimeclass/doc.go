// Package runtimeclass provides the strategy for node.k8s.io/v1 RuntimeClasses, which
// name the container runtime configuration (the CRI handler) a pod runs with: DNS
// subdomain names, a handler that is a DNS label and never changes, the checks of the
// pod overhead's resource names and quantities and of the scheduling constraints (node
// selector labels, tolerations), and the Table columns kubectl shows.
//
// The handler checks upstream has moved to declarative validation report as upstream's
// API server reports them with its beta declarative rules enabled: after the other
// errors, and a changed handler as "field is immutable" with no value.
package runtimeclass
