// Package storage provides the strategies for storage.k8s.io/v1 StorageClasses,
// CSIDrivers, CSINodes, VolumeAttachments and VolumeAttributesClasses, all
// cluster-scoped with DNS subdomain names: upstream's v1 defaults (a class's reclaim
// policy and binding mode, a driver's flags, lifecycle modes and fsGroup policy), its
// checks and immutable fields, the status subresources of CSINodes and
// VolumeAttachments, the generation of CSIDrivers bumped on spec changes, and the Table
// columns kubectl shows.
//
// A VolumeAttributesClass's driverName is checked as upstream checks it, like a
// StorageClass's provisioner (a qualified name once lower-cased) rather than like a
// CSIDriver's name; it needs at least one parameter. It has no declarative rules
// upstream: a changed driverName or parameters is reported first, as upstream's
// "updates to ... are forbidden." errors, before the checks of a new class.
//
// The checks upstream has moved to beta declarative validation (a StorageClass's
// provisioner, parameters, reclaim policy and binding mode, an attachment's attacher and
// spec) report as upstream's API server reports them with those rules enforced: after
// the other errors, and a changed immutable field as "field is immutable" with no value.
//
// Feature gates are taken at their v1.37 defaults: a CSIDriver's seLinuxMount and
// preventPodSchedulingIfMissing are defaulted and required, a CSINode driver's
// allocatable count may change, a VolumeAttachment error's code is kept, and a
// CSINode's status.storageHealth (the alpha CSIVolumeHealth gate) is dropped unless the
// stored status already has some.
//
// A VolumeAttachment's inlineVolumeSpec gets only the checks of an inline volume and
// its CSI source (no claimRef, capacity, node affinity or storage class; Retain only;
// Filesystem only; one volume source, CSI, with a driver, a volume handle and secret
// references that name a secret); the other volume sources are counted but their
// content is not checked, and they are not defaulted. Such a spec is refused either
// way, since an inline volume must be CSI.
//
// Upstream marks the default StorageClass with " (default)" only in list tables, and
// only the effective default: the most recently created class with the
// storageclass.kubernetes.io/is-default-class annotation (or its beta form) set to
// "true". Row, given one object, never marks it; the StorageClass strategy's Rows
// renders a whole list, marking the effective default.
//
// Upstream's warnings (a StorageClass's allowed topology with a deprecated node label, a
// CSIDriver with token requests and no serviceAccountTokenInSecrets) are not given:
// strategies here have no way to return warnings.
package storage
