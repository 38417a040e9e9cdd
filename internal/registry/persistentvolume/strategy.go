package persistentvolume

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/persistentvolumeclaim"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct {
	clock clock.PassiveClock // stamps status.lastPhaseTransitionTime
}

// New returns the PersistentVolume strategy, which stamps phase transitions with the
// wall clock.
func New() registry.Strategy { return newStrategy(clock.RealClock{}) }

func newStrategy(c clock.PassiveClock) *strategy { return &strategy{clock: c} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:      "v1",
		Kind:         "PersistentVolume",
		ListKind:     "PersistentVolumeList",
		Resource:     "persistentvolumes",
		Singular:     "persistentvolume",
		ShortNames:   []string{"pv"},
		Subresources: []string{"status"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.PersistentVolume{} }
func (*strategy) NewList() runtime.Object { return &corev1.PersistentVolumeList{} }

// ValidateName only requires a name usable as a URL path segment, as upstream does.
func (*strategy) ValidateName(name string, prefix bool) []string {
	if prefix {
		return content.IsPathSegmentPrefix(name)
	}
	return content.IsPathSegmentName(name)
}

// now returns the strategy's time at the precision the API keeps.
func (s *strategy) now() *metav1.Time {
	return ptr.To(metav1.NewTime(s.clock.Now().Truncate(time.Second)))
}

// PrepareForCreate resets the status to the Pending phase, entered now.
func (s *strategy) PrepareForCreate(obj runtime.Object) {
	pv := obj.(*corev1.PersistentVolume)
	pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: s.now()}
}

// PrepareForUpdate keeps the stored status. Volumes carry no generation, as upstream's.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	obj.(*corev1.PersistentVolume).Status = old.(*corev1.PersistentVolume).Status
}

// PrepareForStatusUpdate keeps the spec and maintains lastPhaseTransitionTime: kept
// when the phase stays and the writer left it out, stamped now when the phase changes
// and the writer left it out or unchanged.
func (s *strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	pv, oldPV := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
	pv.Spec = oldPV.Spec
	t, oldT := pv.Status.LastPhaseTransitionTime, oldPV.Status.LastPhaseTransitionTime
	switch {
	case pv.Status.Phase == oldPV.Status.Phase && t == nil:
		pv.Status.LastPhaseTransitionTime = oldT
	case pv.Status.Phase != oldPV.Status.Phase && (t == nil || t.Equal(oldT)):
		pv.Status.LastPhaseTransitionTime = s.now()
	}
}

// Default applies upstream's defaults to the spec, its volume source and the phase.
func (*strategy) Default(obj runtime.Object) {
	pv := obj.(*corev1.PersistentVolume)
	spec := &pv.Spec
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if spec.PersistentVolumeReclaimPolicy == "" {
		spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if spec.VolumeMode == nil {
		spec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
	}
	for name, q := range spec.Capacity {
		q.RoundUp(resource.Milli)
		spec.Capacity[name] = q
	}
	defaultSource(&spec.PersistentVolumeSource)
}

// defaultSource fills the defaults upstream gives the volume sources a volume may use.
func defaultSource(src *corev1.PersistentVolumeSource) {
	if h := src.HostPath; h != nil && h.Type == nil {
		h.Type = ptr.To(corev1.HostPathUnset)
	}
	if i := src.ISCSI; i != nil && i.ISCSIInterface == "" {
		i.ISCSIInterface = "default"
	}
	if r := src.RBD; r != nil {
		if r.RBDPool == "" {
			r.RBDPool = "rbd"
		}
		if r.RadosUser == "" {
			r.RadosUser = "admin"
		}
		if r.Keyring == "" {
			r.Keyring = "/etc/ceph/keyring"
		}
	}
	if a := src.AzureDisk; a != nil {
		if a.CachingMode == nil {
			a.CachingMode = ptr.To(corev1.AzureDataDiskCachingReadWrite)
		}
		if a.Kind == nil {
			a.Kind = ptr.To(corev1.AzureSharedBlobDisk)
		}
		if a.FSType == nil {
			a.FSType = ptr.To("ext4")
		}
		if a.ReadOnly == nil {
			a.ReadOnly = ptr.To(false)
		}
	}
	if s := src.ScaleIO; s != nil {
		if s.StorageMode == "" {
			s.StorageMode = "ThinProvisioned"
		}
		if s.FSType == "" {
			s.FSType = "xfs"
		}
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*corev1.PersistentVolume).Spec, field.NewPath("spec"))
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	pv, oldPV := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
	return append(validateSpec(&pv.Spec, field.NewPath("spec")), validateUpdate(pv, oldPV)...)
}

// ValidateStatusUpdate checks nothing beyond metadata, as upstream.
func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

// Fields adds "name", which upstream keeps selectable for compatibility.
func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, false)
	set["name"] = set["metadata.name"]
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	spec := corev1.PersistentVolumeSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeStatus{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Capacity", Type: "string", Description: spec["capacity"]},
		{Name: "Access Modes", Type: "string", Description: spec["accessModes"]},
		{Name: "Reclaim Policy", Type: "string", Description: spec["persistentVolumeReclaimPolicy"]},
		{Name: "Status", Type: "string", Description: status["phase"]},
		{Name: "Claim", Type: "string", Description: spec["claimRef"]},
		{Name: "StorageClass", Type: "string", Description: "StorageClass of the pv"},
		{Name: "VolumeAttributesClass", Type: "string", Description: spec["volumeAttributesClassName"]},
		{Name: "Reason", Type: "string", Description: status["reason"]},
		registry.AgeColumn(),
		{Name: "VolumeMode", Type: "string", Priority: 1, Description: spec["volumeMode"]},
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	pv := obj.(*corev1.PersistentVolume)
	claim := ""
	if ref := pv.Spec.ClaimRef; ref != nil {
		claim = ref.Namespace + "/" + ref.Name
	}
	phase := string(pv.Status.Phase)
	if pv.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	volumeMode, vac := "<unset>", "<unset>"
	if pv.Spec.VolumeMode != nil {
		volumeMode = string(*pv.Spec.VolumeMode)
	}
	if c := pv.Spec.VolumeAttributesClassName; c != nil && *c != "" {
		vac = *c
	}
	capacity := pv.Spec.Capacity[corev1.ResourceStorage]
	return []interface{}{
		pv.Name,
		capacity.String(),
		persistentvolumeclaim.AccessModesString(pv.Spec.AccessModes),
		string(pv.Spec.PersistentVolumeReclaimPolicy),
		phase,
		claim,
		storageClass(pv),
		vac,
		pv.Status.Reason,
		registry.Since(pv.CreationTimestamp.Time, now),
		volumeMode,
	}
}

// storageClass returns the volume's class: the beta annotation when present, else
// spec.storageClassName.
func storageClass(pv *corev1.PersistentVolume) string {
	if c, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		return c
	}
	return pv.Spec.StorageClassName
}
