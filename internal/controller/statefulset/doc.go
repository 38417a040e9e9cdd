// Package statefulset runs the StatefulSet controller: pods with stable identities and
// stable storage for every StatefulSet, as upstream's does.
//
//   - Identity: the pod of ordinal i is named <set>-<i>, for ordinals spec.ordinals.start
//     up to start+replicas-1; it carries the labels statefulset.kubernetes.io/pod-name,
//     apps.kubernetes.io/pod-index and controller-revision-hash, its hostname is its name
//     and its subdomain spec.serviceName. Two pods of one identity never exist at once: a
//     pod being deleted is waited for before its replacement is created, and failed or
//     succeeded pods are deleted, to be created afresh once gone.
//   - Pod management: OrderedReady creates pods one at a time in ordinal order, each once
//     its predecessors are Running, Ready and available for minReadySeconds, deletes them
//     from the highest ordinal down one at a time, and stops at the first unhealthy pod;
//     Parallel creates and deletes them all at once.
//   - Storage: for each volumeClaimTemplate a pod gets the claim <template>-<set>-<ordinal>,
//     created before the pod (labelled with the template's and the selector's labels),
//     and a volume of the template's name that mounts it. The
//     persistentVolumeClaimRetentionPolicy is carried out with owner references: whenDeleted
//     Delete makes the set a claim's controller, whenScaled Delete makes a pod beyond the
//     ordinal range the controller of its claims before the pod is deleted; the garbage
//     collector does the rest. Claims are read with Get, not an informer, so that a server
//     without the persistentvolumeclaims resource holds back only the pods that need one.
//   - Revisions: each pod template is a ControllerRevision named <set>-<hash> (the hash of
//     package templatehash, with status.collisionCount); a template that comes back reuses
//     its revision under the next revision number. status.currentRevision is the revision of
//     the pods below the partition and updateRevision that of the template; they become one
//     when every pod is updated and ready. Unused revisions beyond revisionHistoryLimit are
//     deleted, oldest first.
//   - Updates: RollingUpdate deletes pods of older revisions from the highest ordinal down to
//     the partition while at most maxUnavailable (default 1) pods are unavailable, so that
//     they come back at the update revision; OnDelete leaves them until someone deletes them.
//   - Ownership: pods named like the set's that its selector picks are adopted, and owned
//     pods it no longer picks are released; orphan revisions the selector picks are adopted.
//   - Status: replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas,
//     currentRevision, updateRevision, collisionCount and observedGeneration.
//
// Events are upstream's, from component statefulset-controller: SuccessfulCreate "create Pod
// NAME in StatefulSet SET successful", FailedCreate, SuccessfulDelete, FailedDelete,
// SuccessfulUpdate, FailedUpdate, and the same reasons for claims.
package statefulset
