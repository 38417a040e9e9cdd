package persistentvolume

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry/persistentvolumeclaim"
	"github.com/podium/podium/internal/registry/pod"
	"github.com/podium/podium/internal/resourcename"
)

var (
	reclaimPolicies = []corev1.PersistentVolumeReclaimPolicy{
		corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain,
	}
	hostPathTypes = []corev1.HostPathType{
		corev1.HostPathUnset, corev1.HostPathBlockDev, corev1.HostPathCharDev, corev1.HostPathDirectory,
		corev1.HostPathDirectoryOrCreate, corev1.HostPathFile, corev1.HostPathFileOrCreate, corev1.HostPathSocket,
	}
	storageOnly = []corev1.ResourceName{corev1.ResourceStorage}
)

// sourceNames returns the JSON names of the volume sources src sets, in upstream's
// order of checking.
func sourceNames(src *corev1.PersistentVolumeSource) []string {
	var names []string
	for _, s := range []struct {
		name string
		set  bool
	}{
		{"hostPath", src.HostPath != nil},
		{"gcePersistentDisk", src.GCEPersistentDisk != nil},
		{"awsElasticBlockStore", src.AWSElasticBlockStore != nil},
		{"glusterfs", src.Glusterfs != nil},
		{"flocker", src.Flocker != nil},
		{"nfs", src.NFS != nil},
		{"rbd", src.RBD != nil},
		{"quobyte", src.Quobyte != nil},
		{"cephFS", src.CephFS != nil},
		{"iscsi", src.ISCSI != nil},
		{"cinder", src.Cinder != nil},
		{"fc", src.FC != nil},
		{"flexVolume", src.FlexVolume != nil},
		{"azureFile", src.AzureFile != nil},
		{"vsphereVolume", src.VsphereVolume != nil},
		{"photonPersistentDisk", src.PhotonPersistentDisk != nil},
		{"portworxVolume", src.PortworxVolume != nil},
		{"azureDisk", src.AzureDisk != nil},
		{"scaleIO", src.ScaleIO != nil},
		{"local", src.Local != nil},
		{"storageos", src.StorageOS != nil},
		{"csi", src.CSI != nil},
	} {
		if s.set {
			names = append(names, s.name)
		}
	}
	return names
}

// validateSpec checks a volume's spec as upstream does for a PersistentVolume (not
// an inline volume).
func validateSpec(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(fldPath.Child("accessModes"), ""))
	}
	errs = append(errs, persistentvolumeclaim.ValidateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)

	capPath := fldPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(capPath, spec.Capacity, storageOnly))
	}
	for _, name := range resourcename.Sorted(spec.Capacity) {
		q := spec.Capacity[name]
		if q.Value() < 0 {
			errs = append(errs, field.Invalid(capPath.Key(string(name)), q.Value(), "must be a valid resource quantity"))
		}
		errs = append(errs, persistentvolumeclaim.ValidatePositiveQuantity(q, capPath.Key(string(name)))...)
	}

	if p := spec.PersistentVolumeReclaimPolicy; p != "" && !slices.Contains(reclaimPolicies, p) {
		errs = append(errs, field.NotSupported(fldPath.Child("persistentVolumeReclaimPolicy"), p, reclaimPolicies))
	}
	if spec.NodeAffinity != nil {
		errs = append(errs, validateNodeAffinity(spec.NodeAffinity, fldPath.Child("nodeAffinity"))...)
	}

	names := sourceNames(&spec.PersistentVolumeSource)
	if len(names) == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a volume type"))
	} else {
		errs = append(errs, validateSource(&spec.PersistentVolumeSource, names[0], fldPath)...)
		if names[0] == "local" && spec.NodeAffinity == nil {
			errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
		for _, extra := range names[1:] {
			errs = append(errs, field.Forbidden(fldPath.Child(extra), "may not specify more than 1 volume type"))
		}
	}

	if h := spec.HostPath; h != nil && path.Clean(h.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		errs = append(errs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if c := spec.StorageClassName; c != "" {
		errs = append(errs, persistentvolumeclaim.ValidateClassName(c, fldPath.Child("storageClassName"))...)
	}
	errs = append(errs, persistentvolumeclaim.ValidateVolumeMode(spec.VolumeMode, fldPath.Child("volumeMode"))...)
	if c := spec.VolumeAttributesClassName; c != nil {
		if *c == "" {
			errs = append(errs, field.Required(fldPath.Child("volumeAttributesClassName"), "an empty string is disallowed"))
		} else {
			errs = append(errs, persistentvolumeclaim.ValidateClassName(*c, fldPath.Child("volumeAttributesClassName"))...)
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(fldPath.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

// validateSource checks the fields of the named source that podium knows: hostPath,
// local, nfs and csi. Other sources are accepted as they are.
func validateSource(src *corev1.PersistentVolumeSource, name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	p := fldPath.Child(name)
	switch name {
	case "hostPath":
		if src.HostPath.Path == "" {
			return field.ErrorList{field.Required(p.Child("path"), "")}
		}
		errs = append(errs, validateNoBacksteps(src.HostPath.Path, p.Child("path"))...)
		if t := src.HostPath.Type; t != nil && !slices.Contains(hostPathTypes, *t) {
			errs = append(errs, field.NotSupported(p.Child("type"), *t, hostPathTypes))
		}
	case "local":
		if src.Local.Path == "" {
			return field.ErrorList{field.Required(p.Child("path"), "")}
		}
		errs = append(errs, validateNoBacksteps(src.Local.Path, p.Child("path"))...)
	case "nfs":
		if src.NFS.Server == "" {
			errs = append(errs, field.Required(p.Child("server"), ""))
		}
		if src.NFS.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		if !path.IsAbs(src.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
	case "csi":
		errs = append(errs, validateCSI(src.CSI, p)...)
	}
	return errs
}

func validateNoBacksteps(target string, fldPath *field.Path) field.ErrorList {
	if slices.Contains(strings.Split(target, "/"), "..") {
		return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
	}
	return nil
}

// validateCSI checks the driver name, the volume handle and every secret reference.
func validateCSI(csi *corev1.CSIPersistentVolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	driverPath := fldPath.Child("driver")
	switch {
	case csi.Driver == "":
		errs = append(errs, field.Required(driverPath, ""))
	case len(csi.Driver) > 63:
		errs = append(errs, field.TooLong(driverPath, csi.Driver, 63))
	}
	if csi.Driver != "" {
		for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(csi.Driver)) {
			errs = append(errs, field.Invalid(driverPath, csi.Driver, msg))
		}
	}
	if csi.VolumeHandle == "" {
		errs = append(errs, field.Required(fldPath.Child("volumeHandle"), ""))
	}
	for _, ref := range []struct {
		name string
		ref  *corev1.SecretReference
	}{
		{"controllerPublishSecretRef", csi.ControllerPublishSecretRef},
		{"nodeStageSecretRef", csi.NodeStageSecretRef},
		{"nodePublishSecretRef", csi.NodePublishSecretRef},
		{"controllerExpandSecretRef", csi.ControllerExpandSecretRef},
		{"nodeExpandSecretRef", csi.NodeExpandSecretRef},
	} {
		if ref.ref != nil {
			errs = append(errs, validateSecretRef(ref.ref, fldPath.Child(ref.name))...)
		}
	}
	return errs
}

func validateSecretRef(ref *corev1.SecretReference, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		for _, msg := range apivalidation.NameIsDNSSubdomain(ref.Name, false) {
			errs = append(errs, field.Invalid(fldPath.Child("name"), ref.Name, msg))
		}
	}
	if ref.Namespace == "" {
		errs = append(errs, field.Required(fldPath.Child("namespace"), ""))
	} else {
		for _, msg := range apivalidation.ValidateNamespaceName(ref.Namespace, false) {
			errs = append(errs, field.Invalid(fldPath.Child("namespace"), ref.Namespace, msg))
		}
	}
	return errs
}

// validateNodeAffinity requires node constraints and checks them as a pod's required
// node affinity.
func validateNodeAffinity(aff *corev1.VolumeNodeAffinity, fldPath *field.Path) field.ErrorList {
	reqPath := fldPath.Child("required")
	if aff.Required == nil {
		return field.ErrorList{field.Required(reqPath, "must specify required node constraints")}
	}
	return pod.ValidateNodeSelector(aff.Required, false, reqPath)
}

// validateUpdate checks what may not change in a stored volume: its source (except
// that a CSI controllerExpandSecretRef may be added), its volume mode, a node affinity
// once set, and a volume attributes class may not go back to unset.
func validateUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	var errs field.ErrorList
	src := &pv.Spec.PersistentVolumeSource
	if old.Spec.CSI != nil && old.Spec.CSI.ControllerExpandSecretRef == nil && src.CSI != nil && src.CSI.ControllerExpandSecretRef != nil {
		src = src.DeepCopy()
		src.CSI.ControllerExpandSecretRef = nil
	}
	if !equality.Semantic.DeepEqual(*src, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), fmt.Sprintf(
			"spec.persistentvolumesource is immutable after creation\n%v", cmp.Diff(old.Spec.PersistentVolumeSource, *src))))
	}
	errs = append(errs, apivalidation.ValidateImmutableField(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil {
		errs = append(errs, apivalidation.ValidateImmutableField(pv.Spec.NodeAffinity, old.Spec.NodeAffinity, field.NewPath("nodeAffinity"))...)
	}
	if old.Spec.VolumeAttributesClassName != nil && pv.Spec.VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}
