package storage

import (
	"math"
	"reflect"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*volumeAttachments)(nil)

// NewVolumeAttachments returns the VolumeAttachment strategy.
func NewVolumeAttachments() registry.Strategy { return &volumeAttachments{} }

const (
	// maxAttachmentMetadataSize is the most bytes the attachment metadata's keys and
	// values may take together.
	maxAttachmentMetadataSize = 256 << 10
	// maxVolumeErrorMessageLength is the longest an attach or detach error's message
	// may be.
	maxVolumeErrorMessageLength = 1024

	// inlineOnly is the complaint about what an inline volume may not have.
	inlineOnly = "may not be specified in the context of inline volumes"
)

// inlineAccessModes are the access modes upstream knows, sorted as its messages list
// them.
var inlineAccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod}

var (
	specPath     = field.NewPath("spec")
	attacherPath = specPath.Child("attacher")
)

// volumeAttachments is the VolumeAttachment strategy.
type volumeAttachments struct{}

func (*volumeAttachments) Info() registry.Info {
	return registry.Info{
		Group:        storagev1.GroupName,
		Version:      "v1",
		Kind:         "VolumeAttachment",
		ListKind:     "VolumeAttachmentList",
		Resource:     "volumeattachments",
		Singular:     "volumeattachment",
		Subresources: []string{"status"},
	}
}

func (*volumeAttachments) New() runtime.Object     { return &storagev1.VolumeAttachment{} }
func (*volumeAttachments) NewList() runtime.Object { return &storagev1.VolumeAttachmentList{} }

func (*volumeAttachments) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate drops the status. The generation is left as sent, as upstream
// leaves it.
func (*volumeAttachments) PrepareForCreate(obj runtime.Object) {
	obj.(*storagev1.VolumeAttachment).Status = storagev1.VolumeAttachmentStatus{}
}

// PrepareForUpdate keeps the stored status. The generation is not bumped: the spec may
// not change.
func (*volumeAttachments) PrepareForUpdate(obj, old runtime.Object) {
	obj.(*storagev1.VolumeAttachment).Status = old.(*storagev1.VolumeAttachment).Status
}

// PrepareForStatusUpdate keeps the stored spec. Error codes are kept: the
// MutableCSINodeAllocatableCount gate is on.
func (*volumeAttachments) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*storagev1.VolumeAttachment).Spec = old.(*storagev1.VolumeAttachment).Spec
}

// Default does nothing. Upstream defaults only fields of an inline volume spec's
// non-CSI sources and capacity, which validation then refuses.
func (*volumeAttachments) Default(obj runtime.Object) {}

// Validate checks the spec (the attacher, a CSI driver name; exactly one source; the
// node name and the persistent volume name, object names) and the status.
func (*volumeAttachments) Validate(obj runtime.Object) field.ErrorList {
	return validateAttachment(obj.(*storagev1.VolumeAttachment), nil)
}

// ValidateUpdate checks the attachment as on create, then that the spec did not change.
func (*volumeAttachments) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateAttachment(obj.(*storagev1.VolumeAttachment), old.(*storagev1.VolumeAttachment))
}

// ValidateStatusUpdate checks the attachment as an update does, as upstream does.
func (*volumeAttachments) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateAttachment(obj.(*storagev1.VolumeAttachment), old.(*storagev1.VolumeAttachment))
}

func (*volumeAttachments) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, false)
}

func (*volumeAttachments) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Attacher", Type: "string", Format: "name", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]},
		{Name: "PV", Type: "string", Description: storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]},
		{Name: "Node", Type: "string", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]},
		{Name: "Attached", Type: "boolean", Description: storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]},
		registry.AgeColumn(),
	}
}

// Row shows the persistent volume's name, "" for an inline volume.
func (*volumeAttachments) Row(obj runtime.Object, now time.Time) []interface{} {
	va := obj.(*storagev1.VolumeAttachment)
	return []interface{}{
		va.Name,
		va.Spec.Attacher,
		ptr.Deref(va.Spec.Source.PersistentVolumeName, ""),
		va.Spec.NodeName,
		va.Status.Attached,
		registry.Since(va.CreationTimestamp.Time, now),
	}
}

// validateAttachment checks a new attachment (old nil) or an update, whose spec may not
// change. The attacher's checks are also declarative rules upstream, which report them
// last on create; on update a changed spec is reported last, as immutable, and the
// declarative rules check nothing under it.
func validateAttachment(va, old *storagev1.VolumeAttachment) field.ErrorList {
	errs := validateCSIDriverName(va.Spec.Attacher, attacherPath, true)
	errs = append(errs, validateAttachmentSource(&va.Spec.Source, specPath.Child("source"))...)
	errs = append(errs, validateDNSSubdomain(va.Spec.NodeName, specPath.Child("nodeName"))...)
	errs = append(errs, validateAttachmentStatus(&va.Status, field.NewPath("status"))...)
	if pv := va.Spec.Source.PersistentVolumeName; pv != nil {
		errs = append(errs, validateDNSSubdomain(*pv, specPath.Child("source", "persistentVolumeName"))...)
	}

	if old == nil {
		return reported(errs, declarativeCSIDriverName(va.Spec.Attacher, attacherPath))
	}
	errs = append(errs, validateImmutable(va.Spec, old.Spec, specPath)...)
	var declarative field.ErrorList
	if !equality.Semantic.DeepEqual(va.Spec, old.Spec) {
		declarative = field.ErrorList{immutable(specPath)}
	}
	return reported(errs, declarative)
}

// validateAttachmentSource requires exactly one of a persistent volume's name, not
// empty, and an inline volume spec.
func validateAttachmentSource(src *storagev1.VolumeAttachmentSource, path *field.Path) field.ErrorList {
	const exactlyOne = "must specify exactly one of inlineVolumeSpec and persistentVolumeName"
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		return field.ErrorList{field.Required(path, exactlyOne)}
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		return field.ErrorList{field.Forbidden(path, exactlyOne)}
	case src.PersistentVolumeName != nil:
		if *src.PersistentVolumeName == "" {
			return field.ErrorList{field.Required(path.Child("persistentVolumeName"), "must specify non empty persistentVolumeName")}
		}
		return nil
	default:
		return validateInlineVolumeSpec(src.InlineVolumeSpec, path.Child("inlineVolumeSpec"))
	}
}

// validateAttachmentStatus bounds the attachment metadata's size and the errors'
// messages, and refuses negative error codes.
func validateAttachmentStatus(status *storagev1.VolumeAttachmentStatus, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	size := 0
	for k, v := range status.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachmentMetadataSize {
		errs = append(errs, field.TooLong(path.Child("attachmentMetadata"), "", maxAttachmentMetadataSize))
	}
	errs = append(errs, validateVolumeError(status.AttachError, path.Child("attachError"))...)
	return append(errs, validateVolumeError(status.DetachError, path.Child("detachError"))...)
}

func validateVolumeError(e *storagev1.VolumeError, path *field.Path) field.ErrorList {
	if e == nil {
		return nil
	}
	var errs field.ErrorList
	if len(e.Message) > maxVolumeErrorMessageLength {
		errs = append(errs, field.TooLong(path.Child("message"), "", maxVolumeErrorMessageLength))
	}
	if c := e.ErrorCode; c != nil && *c < 0 {
		errs = append(errs, field.Invalid(path.Child("errorCode"), *c, validation.InclusiveRangeError(0, math.MaxInt32)))
	}
	return errs
}

// validateInlineVolumeSpec gives an inline volume spec the checks upstream makes of
// its structure: what an inline volume may not have (claimRef, capacity, node
// affinity, a storage class, a reclaim policy but Retain, a volume mode but
// Filesystem), its access modes, and one volume source, CSI, itself checked. The
// content of other volume sources is not checked.
func validateInlineVolumeSpec(spec *corev1.PersistentVolumeSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.ClaimRef != nil {
		errs = append(errs, field.Forbidden(path.Child("claimRef"), inlineOnly))
	}
	if len(spec.Capacity) != 0 {
		errs = append(errs, field.Forbidden(path.Child("capacity"), inlineOnly))
	}
	if spec.CSI == nil {
		errs = append(errs, field.Required(path.Child("csi"), "has to be specified in the context of inline volumes"))
	}

	modesPath := path.Child("accessModes")
	if len(spec.AccessModes) == 0 {
		errs = append(errs, field.Required(modesPath, ""))
	}
	onePod, other := false, false
	for _, m := range spec.AccessModes {
		switch {
		case !slices.Contains(inlineAccessModes, m):
			errs = append(errs, field.NotSupported(modesPath, m, inlineAccessModes))
		case m == corev1.ReadWriteOncePod:
			onePod = true
		default:
			other = true
		}
	}
	if onePod && other {
		errs = append(errs, field.Forbidden(modesPath, "may not use ReadWriteOncePod with other access modes"))
	}

	if p := spec.PersistentVolumeReclaimPolicy; p != "" && p != corev1.PersistentVolumeReclaimRetain {
		errs = append(errs, field.Forbidden(path.Child("persistentVolumeReclaimPolicy"), "may only be Retain in the context of inline volumes"))
	}
	if spec.NodeAffinity != nil {
		errs = append(errs, field.Forbidden(path.Child("nodeAffinity"), inlineOnly))
	}

	others := otherSources(&spec.PersistentVolumeSource)
	switch {
	case spec.CSI != nil && others > 0:
		errs = append(errs, field.Forbidden(path.Child("csi"), "may not specify more than 1 volume type"))
	case spec.CSI != nil:
		errs = append(errs, validateCSISource(spec.CSI, path.Child("csi"))...)
	case others == 0:
		errs = append(errs, field.Required(path, "must specify a volume type"))
	}

	if spec.StorageClassName != "" {
		errs = append(errs, field.Forbidden(path.Child("storageClassName"), inlineOnly))
	}
	if m := spec.VolumeMode; m != nil && *m != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.Forbidden(path.Child("volumeMode"), "may not specify volumeMode other than Filesystem in the context of inline volumes"))
	}
	return errs
}

// otherSources counts the volume sources src sets besides CSI.
func otherSources(src *corev1.PersistentVolumeSource) int {
	v := reflect.ValueOf(src).Elem()
	n := 0
	for i := range v.NumField() {
		if f := v.Field(i); v.Type().Field(i).Name != "CSI" && f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

// validateCSISource checks a CSI volume source: a driver name, a volume handle, and
// secret references that name a secret and its namespace.
func validateCSISource(csi *corev1.CSIPersistentVolumeSource, path *field.Path) field.ErrorList {
	errs := validateCSIDriverName(csi.Driver, path.Child("driver"), false)
	if csi.VolumeHandle == "" {
		errs = append(errs, field.Required(path.Child("volumeHandle"), ""))
	}
	for _, ref := range []struct {
		ref  *corev1.SecretReference
		name string
	}{
		{csi.ControllerPublishSecretRef, "controllerPublishSecretRef"},
		{csi.ControllerExpandSecretRef, "controllerExpandSecretRef"},
		{csi.NodePublishSecretRef, "nodePublishSecretRef"},
		{csi.NodeExpandSecretRef, "nodeExpandSecretRef"},
	} {
		if ref.ref != nil {
			errs = append(errs, validateSecretReference(ref.ref, path.Child(ref.name))...)
		}
	}
	return errs
}

func validateSecretReference(ref *corev1.SecretReference, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	namePath, nsPath := path.Child("name"), path.Child("namespace")
	if ref.Name == "" {
		errs = append(errs, field.Required(namePath, ""))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(ref.Name) {
			errs = append(errs, field.Invalid(namePath, ref.Name, msg).WithOrigin("format=k8s-long-name"))
		}
	}
	if ref.Namespace == "" {
		errs = append(errs, field.Required(nsPath, ""))
	} else {
		for _, msg := range validation.IsDNS1123Label(ref.Namespace) {
			errs = append(errs, field.Invalid(nsPath, ref.Namespace, msg).WithOrigin("format=k8s-short-name"))
		}
	}
	return errs
}
