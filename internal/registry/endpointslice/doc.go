// Package endpointslice provides the strategy for discovery.k8s.io/v1 EndpointSlices, the
// sharded address lists of a service that kube-proxy and DNS read.
//
// Only v1 is served, so deprecatedTopology (a v1beta1 field) is never kept on write.
// Limits and messages follow upstream's validation: at most 1000 endpoints, 100 addresses
// an endpoint, 20000 ports and 8 zone or node hints an endpoint.
package endpointslice
