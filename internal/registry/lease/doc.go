// Package lease provides the strategy for coordination.k8s.io/v1 leases, the objects
// node heartbeats and leader election renew.
package lease
