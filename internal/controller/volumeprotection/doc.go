// Package volumeprotection removes the protection finalizers of claims and volumes
// being deleted once nothing uses them, as kube-controller-manager's pvc-protection and
// pv-protection controllers do: a claim is in use while a scheduled pod names it as a
// volume (or, for a generic ephemeral volume, while its pod is not finished), a volume
// while it is Bound.
package volumeprotection
