// Package persistentvolume provides the binder of claims and volumes, as
// kube-controller-manager's persistentvolume-binder controller:
//
//   - a Pending claim gets the smallest Available volume that satisfies it (class,
//     access modes, size, volume mode, selector), or the volume it names, or the one
//     pre-bound to it; binding writes the volume's claimRef, then the claim's
//     volumeName, then both phases Bound, with upstream's annotations;
//   - a claim of a class with volumeBindingMode WaitForFirstConsumer is left to the
//     scheduler until it picked a node (the volume.kubernetes.io/selected-node
//     annotation); a claim that no volume satisfies is handed to its class's
//     provisioner by the volume.kubernetes.io/storage-provisioner annotation, which an
//     external provisioner (podium's local-path provisioner, say) acts on;
//   - a volume whose claim is gone is Released and reclaimed by its policy: Retain
//     keeps it, Delete is left to the provisioner that made it (a volume no provisioner
//     made fails with VolumeFailedDelete), Recycle is not supported;
//   - a bound claim whose volume is gone, or bound elsewhere, is Lost.
//
// Events carry upstream's reasons and messages (WaitForFirstConsumer,
// ExternalProvisioning, FailedBinding, VolumeMismatch, ClaimLost, ...).
package persistentvolume
