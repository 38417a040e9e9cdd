// Package replicaset runs the ReplicaSet controller: it keeps spec.replicas pods of
// every ReplicaSet, as upstream's does.
//
//   - Pods are the ReplicaSet's when their controller reference names it; orphans
//     whose labels match its selector are adopted, and owned pods that stop matching
//     are released (while the ReplicaSet is not being deleted).
//   - Missing pods are created from the template in slow-start batches (1, 2, 4, ...,
//     at most 500 a sync), so that a template that cannot be created fails once
//     instead of hundreds of times; surplus pods are deleted in upstream's order (not
//     scheduled, pending, not ready, lower pod-deletion-cost, ... first).
//   - Expectations: after creating or deleting pods, a ReplicaSet is not synced again
//     until the watch has shown every one of those changes (or five minutes passed),
//     so that a lagging watch never makes it create or delete twice.
//   - Status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas (ready
//     for minReadySeconds), observedGeneration, and the ReplicaFailure condition when
//     pods cannot be created or deleted.
//
// Events are upstream's: SuccessfulCreate, SuccessfulDelete, FailedCreate, FailedDelete.
package replicaset
