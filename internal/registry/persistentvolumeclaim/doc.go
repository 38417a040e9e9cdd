// Package persistentvolumeclaim provides the strategy for core/v1 PersistentVolumeClaims:
// upstream's defaults (Filesystem volume mode, Pending phase), its validation of the
// spec and of what may change once a claim exists (the volume name once, the storage
// request of a bound claim, the volume attributes class), the status subresource the
// volume controllers write, and the Table columns kubectl shows. It adds no finalizer:
// upstream's kubernetes.io/pvc-protection comes from an admission plugin.
package persistentvolumeclaim
