package storage

import (
	"reflect"
	"strings"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*volumeAttributesClasses)(nil)

// NewVolumeAttributesClasses returns the VolumeAttributesClass strategy.
func NewVolumeAttributesClasses() registry.Strategy { return &volumeAttributesClasses{} }

var driverNamePath = field.NewPath("driverName")

// volumeAttributesClasses is the VolumeAttributesClass strategy.
type volumeAttributesClasses struct{}

func (*volumeAttributesClasses) Info() registry.Info {
	return registry.Info{
		Group:      storagev1.GroupName,
		Version:    "v1",
		Kind:       "VolumeAttributesClass",
		ListKind:   "VolumeAttributesClassList",
		Resource:   "volumeattributesclasses",
		Singular:   "volumeattributesclass",
		ShortNames: []string{"vac"},
	}
}

func (*volumeAttributesClasses) New() runtime.Object {
	return &storagev1.VolumeAttributesClass{}
}

func (*volumeAttributesClasses) NewList() runtime.Object {
	return &storagev1.VolumeAttributesClassList{}
}

func (*volumeAttributesClasses) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate does nothing: a class has no status, and upstream leaves its
// generation as sent.
func (*volumeAttributesClasses) PrepareForCreate(obj runtime.Object) {}

// PrepareForUpdate does nothing: the generation is not bumped, as upstream's is not.
func (*volumeAttributesClasses) PrepareForUpdate(obj, old runtime.Object) {}

// PrepareForStatusUpdate does nothing: classes have no status subresource.
func (*volumeAttributesClasses) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default does nothing: upstream defaults no field of a class.
func (*volumeAttributesClasses) Default(obj runtime.Object) {}

func (*volumeAttributesClasses) Validate(obj runtime.Object) field.ErrorList {
	return validateVolumeAttributesClass(obj.(*storagev1.VolumeAttributesClass))
}

// ValidateUpdate reports a changed driverName or parameters first, as forbidden
// updates, then checks the class as on create.
func (*volumeAttributesClasses) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	vac, o := obj.(*storagev1.VolumeAttributesClass), old.(*storagev1.VolumeAttributesClass)
	var errs field.ErrorList
	if vac.DriverName != o.DriverName {
		errs = append(errs, field.Forbidden(driverNamePath, "updates to driverName are forbidden."))
	}
	// Upstream compares the maps with reflect.DeepEqual: an empty map differs from
	// none. Either is refused below anyway, as a class needs a parameter.
	if !reflect.DeepEqual(vac.Parameters, o.Parameters) {
		errs = append(errs, field.Forbidden(parametersPath, "updates to parameters are forbidden."))
	}
	return append(errs, validateVolumeAttributesClass(vac)...)
}

func (*volumeAttributesClasses) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return nil
}

func (*volumeAttributesClasses) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, false)
}

func (*volumeAttributesClasses) Columns() []metav1.TableColumnDefinition {
	doc := storagev1.VolumeAttributesClass{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "DriverName", Type: "string", Description: doc["driverName"]},
		registry.AgeColumn(),
	}
}

func (*volumeAttributesClasses) Row(obj runtime.Object, now time.Time) []interface{} {
	vac := obj.(*storagev1.VolumeAttributesClass)
	return []interface{}{vac.Name, vac.DriverName, registry.Since(vac.CreationTimestamp.Time, now)}
}

// validateVolumeAttributesClass checks a class: a driver name that is, lower-cased, a
// qualified name (upstream checks it as a StorageClass's provisioner, not as a
// CSIDriver's name), and from one to 512 parameters with no empty key and at most
// 256 KiB of keys and values.
func validateVolumeAttributesClass(vac *storagev1.VolumeAttributesClass) field.ErrorList {
	var errs field.ErrorList
	if vac.DriverName == "" {
		errs = append(errs, field.Required(driverNamePath, ""))
	} else {
		errs = append(errs, validateQualifiedName(strings.ToLower(vac.DriverName), driverNamePath)...)
	}
	errs = append(errs, validateParameters(vac.Parameters)...)
	if len(vac.Parameters) == 0 {
		errs = append(errs, field.Required(parametersPath, "must contain at least one key/value pair"))
	}
	return errs
}
