// Package persistentvolume provides the strategy for core/v1 PersistentVolumes:
// upstream's defaults (Retain reclaim policy, Filesystem volume mode, Pending phase),
// its validation of the spec (capacity, access modes, exactly one volume source, node
// affinity) and of what may change once a volume exists (not its source nor its volume
// mode, nor a node affinity once set), the status subresource with its phase
// transition time, and the Table columns kubectl shows.
package persistentvolume
