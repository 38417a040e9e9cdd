// Package scheduler provides the scheduler that `podium server` runs, shaped like
// kube-scheduler: pods with no node whose schedulerName is default-scheduler wait in a
// priority queue (package queue); one goroutine takes them one at a time, filters every
// node with the filter plugins (packages under plugins/, run by package framework),
// scores the nodes that pass, assumes the pod onto the best in the cache (package
// cache) so the next pod sees it there, and hands the binding (pods/binding) to a pool
// of binders. A pod with claims not yet bound (of WaitForFirstConsumer classes) has
// them bound for its node first, by the binder (plugin VolumeBinding's Bind): a
// static volume that fits gets the claim, or the claim gets the node it is to be
// provisioned on; the pod is bound once every claim is.
//
// A pod that fits nowhere gets preemption (package preemption, upstream's
// DefaultPreemption): where evicting pods of lower priority would let it fit, it is
// nominated to that node (status.nominatedNodeName), the pods of lower priority
// nominated there lose their nomination, and the binders write the nomination, then
// mark each victim DisruptionTarget, delete it and record Preempted on it. The
// preemptor waits until the victims are gone (their deletion is an AssignedPodDelete
// event) and is then tried on its nominated node first. Meanwhile the nominated pods
// (the nominator, fed by the scheduler's own nominations and the informer) count on
// their node, when filtering pods of no higher priority, as if they were there.
//
// Either way a pod that fits nowhere gets a FailedScheduling event and the condition
// PodScheduled=False/Unschedulable with upstream's message (what preemption said
// included), and waits until a cluster event that may help it, or its back-off, or the
// periodic flush.
package scheduler
