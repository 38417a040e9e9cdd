// Package deployment runs the Deployment controller: it rolls a Deployment's pods from
// one template to the next through ReplicaSets, as upstream's does.
//
//   - Each template gets a ReplicaSet named after the Deployment and the template's
//     hash (upstream's pod-template-hash, so names match upstream's), with the hash in
//     its selector and pod labels, and a revision annotation: a template seen before
//     (kubectl rollout undo) takes its old ReplicaSet and a new revision.
//   - RollingUpdate scales the new ReplicaSet up as far as maxSurge allows and the old
//     ones down as far as maxUnavailable allows, counting available pods (ready for
//     minReadySeconds), old unhealthy pods first; a rollout whose new pods never become
//     available stops there, and the old pods keep serving. Recreate scales the old
//     ReplicaSets to zero, waits for their pods to end, then scales the new one up.
//   - A change of replicas alone during a rollout is spread over the active
//     ReplicaSets in proportion to their sizes, as upstream does.
//   - Status: replicas, updated, ready, available and unavailable counts, and the
//     Available and Progressing conditions with upstream's reasons (NewReplicaSetCreated,
//     FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
//     ProgressDeadlineExceeded, DeploymentPaused, DeploymentResumed).
//   - A paused Deployment is scaled but not rolled; old ReplicaSets beyond
//     revisionHistoryLimit are deleted once a rollout is complete.
package deployment
