// Package selectorspread provides the SelectorSpread plugin: it prefers the nodes, and
// the zones (topology.kubernetes.io/zone), with the fewest pods of the same group as
// the pod, so that the replicas of a controller, or pods with the same labels, spread
// across nodes. This is upstream's default spreading for pods without topology spread
// constraints: with a controller, its pods; without, pods with the same labels in the
// same namespace (framework.SpreadKey).
package selectorspread
