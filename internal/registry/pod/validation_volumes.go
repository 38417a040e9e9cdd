package pod

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

var supportedHostPathTypes = sets.New(corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate,
	corev1.HostPathDirectory, corev1.HostPathFileOrCreate, corev1.HostPathFile,
	corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev)

// volumeSourceNames lists the sources set in src by their JSON names, in the order
// upstream checks them, so that the same one counts as "first" when several are set.
func volumeSourceNames(src *corev1.VolumeSource) []string {
	candidates := []struct {
		name string
		set  bool
	}{
		{"emptyDir", src.EmptyDir != nil},
		{"hostPath", src.HostPath != nil},
		{"gitRepo", src.GitRepo != nil},
		{"gcePersistentDisk", src.GCEPersistentDisk != nil},
		{"awsElasticBlockStore", src.AWSElasticBlockStore != nil},
		{"secret", src.Secret != nil},
		{"nfs", src.NFS != nil},
		{"iscsi", src.ISCSI != nil},
		{"glusterfs", src.Glusterfs != nil},
		{"flocker", src.Flocker != nil},
		{"persistentVolumeClaim", src.PersistentVolumeClaim != nil},
		{"rbd", src.RBD != nil},
		{"cinder", src.Cinder != nil},
		{"cephFS", src.CephFS != nil},
		{"quobyte", src.Quobyte != nil},
		{"downwardAPI", src.DownwardAPI != nil},
		{"fc", src.FC != nil},
		{"flexVolume", src.FlexVolume != nil},
		{"configMap", src.ConfigMap != nil},
		{"azureFile", src.AzureFile != nil},
		{"vsphereVolume", src.VsphereVolume != nil},
		{"photonPersistentDisk", src.PhotonPersistentDisk != nil},
		{"portworxVolume", src.PortworxVolume != nil},
		{"azureDisk", src.AzureDisk != nil},
		{"storageos", src.StorageOS != nil},
		{"projected", src.Projected != nil},
		{"scaleIO", src.ScaleIO != nil},
		{"csi", src.CSI != nil},
		{"ephemeral", src.Ephemeral != nil},
		{"image", src.Image != nil},
	}
	var names []string
	for _, c := range candidates {
		if c.set {
			names = append(names, c.name)
		}
	}
	return names
}

// validateVolumes checks the pod's volumes and returns the valid ones by name, for
// the mount checks.
func validateVolumes(volumes []corev1.Volume, podMeta *metav1.ObjectMeta, fldPath *field.Path) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	valid := map[string]corev1.VolumeSource{}
	names := sets.New[string]()
	for i, vol := range volumes {
		p := fldPath.Index(i)
		volErrs := validateVolumeSource(&vol.VolumeSource, vol.Name, podMeta, p)
		if vol.Name == "" {
			volErrs = append(volErrs, field.Required(p.Child("name"), ""))
		} else {
			volErrs = append(volErrs, validateDNSLabel(vol.Name, p.Child("name"))...)
		}
		if names.Has(vol.Name) {
			volErrs = append(volErrs, field.Duplicate(p.Child("name"), vol.Name))
		}
		if len(volErrs) == 0 {
			names.Insert(vol.Name)
			valid[vol.Name] = vol.VolumeSource
		}
		errs = append(errs, volErrs...)
	}
	return valid, errs
}

func validateVolumeSource(src *corev1.VolumeSource, volName string, podMeta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	names := volumeSourceNames(src)
	if len(names) == 0 {
		return field.ErrorList{field.Required(fldPath, "must specify a volume type")}
	}
	var errs field.ErrorList
	for _, extra := range names[1:] {
		errs = append(errs, field.Forbidden(fldPath.Child(extra), "may not specify more than 1 volume type"))
	}
	p := fldPath.Child(names[0])
	switch names[0] {
	case "emptyDir":
		if l := src.EmptyDir.SizeLimit; l != nil && l.Sign() < 0 {
			errs = append(errs, field.Forbidden(p.Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
	case "hostPath":
		if src.HostPath.Path == "" {
			return append(errs, field.Required(p.Child("path"), ""))
		}
		errs = append(errs, validateNoBacksteps(src.HostPath.Path, p.Child("path"))...)
		if t := src.HostPath.Type; t != nil && !supportedHostPathTypes.Has(*t) {
			errs = append(errs, field.NotSupported(p.Child("type"), *t, sets.List(supportedHostPathTypes)))
		}
	case "gitRepo":
		if src.GitRepo.Repository == "" {
			errs = append(errs, field.Required(p.Child("repository"), ""))
		}
		errs = append(errs, validateLocalDescendingPath(src.GitRepo.Directory, p.Child("directory"))...)
	case "secret":
		if src.Secret.SecretName == "" {
			errs = append(errs, field.Required(p.Child("secretName"), ""))
		}
		errs = append(errs, validateFileMode(src.Secret.DefaultMode, p.Child("defaultMode"))...)
		for i := range src.Secret.Items {
			errs = append(errs, validateKeyToPath(&src.Secret.Items[i], p.Child("items").Index(i))...)
		}
	case "configMap":
		if src.ConfigMap.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		errs = append(errs, validateFileMode(src.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		for i := range src.ConfigMap.Items {
			errs = append(errs, validateKeyToPath(&src.ConfigMap.Items[i], p.Child("items").Index(i))...)
		}
	case "downwardAPI":
		errs = append(errs, validateFileMode(src.DownwardAPI.DefaultMode, p.Child("defaultMode"))...)
		for i := range src.DownwardAPI.Items {
			errs = append(errs, validateDownwardAPIFile(&src.DownwardAPI.Items[i], p)...)
		}
	case "projected":
		errs = append(errs, validateProjected(src.Projected, p)...)
	case "persistentVolumeClaim":
		if src.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(p.Child("claimName"), ""))
		}
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
		if src.CSI.Driver == "" {
			errs = append(errs, field.Required(p.Child("driver"), ""))
		}
	case "ephemeral":
		if src.Ephemeral.VolumeClaimTemplate == nil {
			errs = append(errs, field.Required(p.Child("volumeClaimTemplate"), ""))
		}
		if podMeta != nil && podMeta.Name != "" && volName != "" {
			claimName := podMeta.Name + "-" + volName
			for _, msg := range apivalidation.NameIsDNSSubdomain(claimName, false) {
				errs = append(errs, field.Invalid(p.Child("name"), volName, fmt.Sprintf("PVC name %q: %v", claimName, msg)))
			}
		}
	case "image":
		if src.Image.Reference == "" {
			errs = append(errs, field.Required(p.Child("reference"), ""))
		}
		errs = append(errs, validatePullPolicy(src.Image.PullPolicy, p.Child("pullPolicy"))...)
	}
	return errs
}

func validateFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kp.Key == "" {
		errs = append(errs, field.Required(fldPath.Child("key"), ""))
	}
	if kp.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(kp.Path, fldPath.Child("path"))...)
	errs = append(errs, validateFileMode(kp.Mode, fldPath.Child("mode"))...)
	return errs
}

func validateDownwardAPIFile(file *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if file.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validateLocalNonReservedPath(file.Path, fldPath.Child("path"))...)
	switch {
	case file.FieldRef != nil:
		errs = append(errs, validateFieldSelector(file.FieldRef, volumeFieldPaths, fldPath.Child("fieldRef"))...)
		if file.ResourceFieldRef != nil {
			errs = append(errs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case file.ResourceFieldRef != nil:
		errs = append(errs, validateResourceFieldSelector(file.ResourceFieldRef, true, fldPath.Child("resourceFieldRef"))...)
	default:
		errs = append(errs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	errs = append(errs, validateFileMode(file.Mode, fldPath.Child("mode"))...)
	return errs
}

func validateProjected(proj *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	errs := validateFileMode(proj.DefaultMode, fldPath.Child("defaultMode"))
	for i, src := range proj.Sources {
		p := fldPath.Child("sources").Index(i)
		n := 0
		if src.Secret != nil {
			n++
			if src.Secret.Name == "" {
				errs = append(errs, field.Required(p.Child("secret", "name"), ""))
			}
			for j := range src.Secret.Items {
				errs = append(errs, validateKeyToPath(&src.Secret.Items[j], p.Child("secret", "items").Index(j))...)
			}
		}
		if src.ConfigMap != nil {
			n++
			if src.ConfigMap.Name == "" {
				errs = append(errs, field.Required(p.Child("configMap", "name"), ""))
			}
			for j := range src.ConfigMap.Items {
				errs = append(errs, validateKeyToPath(&src.ConfigMap.Items[j], p.Child("configMap", "items").Index(j))...)
			}
		}
		if src.DownwardAPI != nil {
			n++
			for j := range src.DownwardAPI.Items {
				errs = append(errs, validateDownwardAPIFile(&src.DownwardAPI.Items[j], p.Child("downwardAPI"))...)
			}
		}
		if tok := src.ServiceAccountToken; tok != nil {
			n++
			if tok.ExpirationSeconds != nil && *tok.ExpirationSeconds < 600 {
				errs = append(errs, field.Invalid(p.Child("serviceAccountToken", "expirationSeconds"), *tok.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
			}
			if tok.Path == "" {
				errs = append(errs, field.Required(p.Child("serviceAccountToken", "path"), ""))
			}
		}
		if src.ClusterTrustBundle != nil {
			n++
		}
		if src.PodCertificate != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

func validateNoBacksteps(target string, fldPath *field.Path) field.ErrorList {
	for _, part := range strings.Split(target, "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(fldPath, target, "must not contain '..'")}
		}
	}
	return nil
}

func validateLocalDescendingPath(target string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(fldPath, target, "must be a relative path"))
	}
	return append(errs, validateNoBacksteps(target, fldPath)...)
}

func validateLocalNonReservedPath(target string, fldPath *field.Path) field.ErrorList {
	errs := validateLocalDescendingPath(target, fldPath)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(fldPath, target, "must not start with '..'"))
	}
	return errs
}
