package runtimeclass

import (
	"time"

	nodev1 "k8s.io/api/node/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the RuntimeClass strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:    nodev1.GroupName,
		Version:  "v1",
		Kind:     "RuntimeClass",
		ListKind: "RuntimeClassList",
		Resource: "runtimeclasses",
		Singular: "runtimeclass",
	}
}

func (*strategy) New() runtime.Object     { return &nodev1.RuntimeClass{} }
func (*strategy) NewList() runtime.Object { return &nodev1.RuntimeClassList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// A RuntimeClass has no status and no field the server owns; upstream defaults nothing.
func (*strategy) PrepareForCreate(obj runtime.Object)            {}
func (*strategy) PrepareForUpdate(obj, old runtime.Object)       {}
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}
func (*strategy) Default(obj runtime.Object)                     {}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validate(obj.(*nodev1.RuntimeClass), nil)
}

// ValidateUpdate checks the class as on create, and that the handler is unchanged.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validate(obj.(*nodev1.RuntimeClass), old.(*nodev1.RuntimeClass))
}

// ValidateStatusUpdate refuses nothing: a class has no status subresource.
func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

// Columns are upstream's. Upstream describes Handler from ObjectMeta's documentation,
// which has no "handler", so the column has no description.
func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Handler", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["handler"]},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	rc := obj.(*nodev1.RuntimeClass)
	return []interface{}{rc.Name, rc.Handler, registry.Since(rc.CreationTimestamp.Time, now)}
}
