// Package cache provides the scheduler's view of the cluster: every node and the pods
// placed on it, including pods the scheduler has assumed onto a node while their
// binding is still in flight, so that the next pods see those requests before the
// informer shows the binding. Snapshot hands a scheduling cycle a consistent copy,
// updated incrementally from the NodeInfos that changed since the last one.
//
// An assumed pod stays until the informer shows it bound (AddPod confirms it, on
// whatever node it landed), it is deleted, or the binding fails (ForgetPod).
package cache
