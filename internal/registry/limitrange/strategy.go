package limitrange

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the LimitRange strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:    "v1",
		Kind:       "LimitRange",
		ListKind:   "LimitRangeList",
		Resource:   "limitranges",
		Singular:   "limitrange",
		ShortNames: []string{"limits"},
		Namespaced: true,
	}
}

func (*strategy) New() runtime.Object     { return &corev1.LimitRange{} }
func (*strategy) NewList() runtime.Object { return &corev1.LimitRangeList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate names a range that has neither a name nor a generateName (the API
// server fills the name from generateName before) with a random UUID, as upstream does.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	lr := obj.(*corev1.LimitRange)
	if lr.Name == "" {
		lr.Name = string(uuid.NewUUID())
	}
}

func (*strategy) PrepareForUpdate(obj, old runtime.Object)       {}
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default applies DefaultItem to every item.
func (*strategy) Default(obj runtime.Object) {
	lr := obj.(*corev1.LimitRange)
	for i := range lr.Spec.Limits {
		DefaultItem(&lr.Spec.Limits[i])
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*corev1.LimitRange).Spec, field.NewPath("spec", "limits"))
}

// ValidateUpdate checks the new range as a new one: everything may change.
func (s *strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return s.Validate(obj)
}

// ValidateStatusUpdate checks as ValidateUpdate does: a range has no status subresource.
func (s *strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return s.Validate(obj)
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

// Columns are upstream's default Table columns, which limit ranges get for want of a
// printer of their own.
func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
}

// Row shows the creation time as upstream's default Table does: RFC 3339 in UTC, not
// an age.
func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	lr := obj.(*corev1.LimitRange)
	return []interface{}{lr.Name, lr.CreationTimestamp.UTC().Format(time.RFC3339)}
}
