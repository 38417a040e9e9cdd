// Package balancedallocation provides the NodeResourcesBalancedAllocation plugin: it
// prefers nodes whose cpu and memory would be used in equal shares once the pod is on
// them.
package balancedallocation
