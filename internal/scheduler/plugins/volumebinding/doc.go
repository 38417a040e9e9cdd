// Package volumebinding provides the VolumeBinding plugin: a pod's claims must exist
// and not be going, its bound claims' volumes must allow the node (their node
// affinity), and each claim not yet bound must be one the scheduler may bind there:
// of a class with volumeBindingMode WaitForFirstConsumer, with an Available volume
// that fits it on the node or a provisioner that can make one. A claim of an Immediate
// class that is not bound keeps the pod waiting for the PV controller.
//
// Once the scheduler picked a node, Bind (the PreBind step) binds each waiting claim:
// a matching static volume gets the claim's claimRef, for the PV controller to
// complete, and a claim left to provisioning gets the volume.kubernetes.io/selected-node
// annotation, for its provisioner; then it waits until every claim is bound before the
// pod is.
package volumebinding
