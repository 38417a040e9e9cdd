package storage

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*csiNodes)(nil)

// NewCSINodes returns the CSINode strategy.
func NewCSINodes() registry.Strategy { return &csiNodes{} }

const (
	// maxNodeIDLength is the longest a driver's node ID may be.
	maxNodeIDLength = 256
	// maxHealthConditions is how many health conditions one storage health entry may
	// have.
	maxHealthConditions = 16
	// maxHealthReasonLength and maxHealthMessageLength bound a health condition's
	// reason and message.
	maxHealthReasonLength  = 256
	maxHealthMessageLength = 1024
)

// The values upstream accepts, in the order its messages list them.
var (
	healthStatuses    = []storagev1.StorageHealthStatusType{storagev1.StorageDegraded, storagev1.StorageUnreachable}
	healthAccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod}
	healthVolumeModes = []corev1.PersistentVolumeMode{corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeBlock}
)

var driversPath = field.NewPath("spec", "drivers")

// csiNodes is the CSINode strategy.
type csiNodes struct{}

func (*csiNodes) Info() registry.Info {
	return registry.Info{
		Group:        storagev1.GroupName,
		Version:      "v1",
		Kind:         "CSINode",
		ListKind:     "CSINodeList",
		Resource:     "csinodes",
		Singular:     "csinode",
		Subresources: []string{"status"},
	}
}

func (*csiNodes) New() runtime.Object     { return &storagev1.CSINode{} }
func (*csiNodes) NewList() runtime.Object { return &storagev1.CSINodeList{} }

// ValidateName checks the name as a node's, a DNS subdomain.
func (*csiNodes) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate drops the status. The generation is left as sent, as upstream
// leaves it.
func (*csiNodes) PrepareForCreate(obj runtime.Object) {
	obj.(*storagev1.CSINode).Status = storagev1.CSINodeStatus{}
}

// PrepareForUpdate keeps the stored status. The generation is not bumped.
func (*csiNodes) PrepareForUpdate(obj, old runtime.Object) {
	obj.(*storagev1.CSINode).Status = old.(*storagev1.CSINode).Status
}

// PrepareForStatusUpdate keeps the stored spec, and drops status.storageHealth unless
// the stored status has some: the CSIVolumeHealth gate is off.
func (*csiNodes) PrepareForStatusUpdate(obj, old runtime.Object) {
	n, o := obj.(*storagev1.CSINode), old.(*storagev1.CSINode)
	n.Spec = o.Spec
	if len(o.Status.StorageHealth) == 0 {
		n.Status.StorageHealth = nil
	}
}

// Default does nothing: upstream defaults no field of a v1 CSINode.
func (*csiNodes) Default(obj runtime.Object) {}

// Validate checks the drivers: each a CSI driver name, given once, with a node ID of at
// most 256 bytes, a non-negative allocatable count, and distinct, non-empty topology
// keys that are qualified names (their errors reported at the driver).
func (*csiNodes) Validate(obj runtime.Object) field.ErrorList {
	return reported(validateNodeDrivers(obj.(*storagev1.CSINode).Spec.Drivers), nil)
}

// ValidateUpdate checks the drivers as on create, then that a driver the stored object
// has, found again by name, changed at most its allocatable count.
func (*csiNodes) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	drivers, oldDrivers := obj.(*storagev1.CSINode).Spec.Drivers, old.(*storagev1.CSINode).Spec.Drivers
	errs := validateNodeDrivers(drivers)
	for i := range oldDrivers {
		for j := range drivers {
			d, o := withoutAllocatable(&drivers[j]), withoutAllocatable(&oldDrivers[i])
			if d.Name == o.Name && !equality.Semantic.DeepEqual(d, o) {
				errs = append(errs, field.Invalid(driversPath, d, apivalidation.FieldImmutableErrorMsg))
			}
		}
	}
	return reported(errs, nil)
}

// ValidateStatusUpdate checks the storage health entries: distinct driver names, at
// most 16 conditions each, each with a known status, a reason and optional message of
// bounded length, and a known access mode and volume mode when given.
func (*csiNodes) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	health := obj.(*storagev1.CSINode).Status.StorageHealth
	path := field.NewPath("status", "storageHealth")
	var errs field.ErrorList
	seen := sets.New[string]()
	for i := range health {
		h := &health[i]
		hPath := path.Index(i)
		if seen.Has(h.Name) {
			errs = append(errs, field.Duplicate(hPath, h.Name))
		}
		seen.Insert(h.Name)
		errs = append(errs, validateStorageHealth(h, hPath)...)
	}
	return reported(errs, nil)
}

func (*csiNodes) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

func (*csiNodes) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Drivers", Type: "integer", Description: "Drivers indicates the number of CSI drivers registered on the node"},
		registry.AgeColumn(),
	}
}

// Row counts the drivers.
func (*csiNodes) Row(obj runtime.Object, now time.Time) []interface{} {
	n := obj.(*storagev1.CSINode)
	return []interface{}{n.Name, int64(len(n.Spec.Drivers)), registry.Since(n.CreationTimestamp.Time, now)}
}

// internalDriver has the shape of upstream's internal CSINodeDriver, which has no JSON
// names: upstream compares drivers, and shows a changed one in its immutability error,
// in that form.
type internalDriver struct {
	Name         string
	NodeID       string
	TopologyKeys []string
	Allocatable  *struct{ Count *int32 }
}

// withoutAllocatable returns d, its allocatable count left out, in upstream's internal
// form.
func withoutAllocatable(d *storagev1.CSINodeDriver) *internalDriver {
	return &internalDriver{Name: d.Name, NodeID: d.NodeID, TopologyKeys: d.TopologyKeys}
}

func validateNodeDrivers(drivers []storagev1.CSINodeDriver) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range drivers {
		d := &drivers[i]
		path := driversPath.Index(i)
		errs = append(errs, validateCSIDriverName(d.Name, path.Child("name"), false)...)
		idPath := path.Child("nodeID")
		if d.NodeID == "" {
			errs = append(errs, field.Required(idPath, ""))
		}
		if len(d.NodeID) > maxNodeIDLength {
			errs = append(errs, field.Invalid(idPath, d.NodeID, fmt.Sprintf("must be %d characters or less", maxNodeIDLength)))
		}
		if a := d.Allocatable; a != nil && a.Count != nil {
			errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*a.Count), path.Child("allocatable", "count"))...)
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Duplicate(path.Child("name"), d.Name))
		}
		names.Insert(d.Name)
		keys := sets.New[string]()
		for _, key := range d.TopologyKeys {
			if key == "" {
				errs = append(errs, field.Required(path, ""))
			}
			if keys.Has(key) {
				errs = append(errs, field.Duplicate(path, key))
			}
			keys.Insert(key)
			errs = append(errs, validateQualifiedName(key, path)...)
		}
	}
	return errs
}

// validateStorageHealth checks one storage health entry: a driver name and at most 16
// conditions, which are then checked one by one.
func validateStorageHealth(h *storagev1.StorageHealth, path *field.Path) field.ErrorList {
	errs := validateCSIDriverName(h.Name, path.Child("name"), false)
	condsPath := path.Child("healthConditions")
	if len(h.HealthConditions) > maxHealthConditions {
		return append(errs, field.TooMany(condsPath, len(h.HealthConditions), maxHealthConditions))
	}
	for i := range h.HealthConditions {
		c := &h.HealthConditions[i]
		cPath := condsPath.Index(i)
		if !slices.Contains(healthStatuses, c.Status) {
			errs = append(errs, field.NotSupported(cPath.Child("status"), c.Status, healthStatuses))
		}
		reasonPath := cPath.Child("reason")
		if c.Reason == "" {
			errs = append(errs, field.Required(reasonPath, ""))
		} else {
			for _, msg := range metav1validation.IsValidConditionReason(c.Reason) {
				errs = append(errs, field.Invalid(reasonPath, c.Reason, msg))
			}
			if len(c.Reason) > maxHealthReasonLength {
				errs = append(errs, field.TooLong(reasonPath, c.Reason, maxHealthReasonLength))
			}
		}
		if len(c.Message) > maxHealthMessageLength {
			errs = append(errs, field.TooLong(cPath.Child("message"), c.Message, maxHealthMessageLength))
		}
		if m := c.AccessMode; m != nil && !slices.Contains(healthAccessModes, *m) {
			errs = append(errs, field.NotSupported(cPath.Child("accessMode"), *m, healthAccessModes))
		}
		if m := c.VolumeMode; m != nil && !slices.Contains(healthVolumeModes, *m) {
			errs = append(errs, field.NotSupported(cPath.Child("volumeMode"), *m, healthVolumeModes))
		}
	}
	return errs
}
