// Package ephemeral provides the ephemeral volume controller, as
// kube-controller-manager's: for each generic ephemeral volume of a pod
// (spec.volumes[].ephemeral.volumeClaimTemplate) it creates the claim POD-VOLUME from
// the template, owned by the pod (controller, blockOwnerDeletion), so that the claim
// is bound like any other and the garbage collector deletes it with the pod. A claim
// of that name that the pod does not own is left alone; the scheduler and the agent
// refuse to use it.
package ephemeral
