// Package nodeunschedulable provides the NodeUnschedulable plugin: a pod may not go on
// a cordoned node (spec.unschedulable) unless it tolerates the
// node.kubernetes.io/unschedulable:NoSchedule taint.
package nodeunschedulable
