// Package tainttoleration provides the TaintToleration plugin: a pod may not go on a
// node with a NoSchedule or NoExecute taint it does not tolerate, and ranks nodes
// lower the more PreferNoSchedule taints it does not tolerate.
//
// A node whose Ready condition is not True counts as tainted
// node.kubernetes.io/not-ready:NoSchedule unless it already carries the not-ready or
// unreachable taint of the node lifecycle controller, so that a cluster without that
// controller still keeps new pods off nodes that are not ready.
package tainttoleration
