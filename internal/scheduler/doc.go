// Package scheduler provides the scheduler that `podium server` runs, shaped like
// kube-scheduler: pods with no node whose schedulerName is default-scheduler wait in a
// priority queue (package queue); one goroutine takes them one at a time, filters every
// node with the filter plugins (packages under plugins/, run by package framework),
// scores the nodes that pass, assumes the pod onto the best in the cache (package
// cache) so the next pod sees it there, and hands the binding (pods/binding) to a pool
// of binders. A pod that fits nowhere gets a FailedScheduling event and the condition
// PodScheduled=False/Unschedulable with upstream's message, and waits until a cluster
// event that may help it, or its back-off, or the periodic flush. podium does not
// preempt.
package scheduler
