package controllerrevision

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the ControllerRevision strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:      appsv1.GroupName,
		Version:    "v1",
		Kind:       "ControllerRevision",
		ListKind:   "ControllerRevisionList",
		Resource:   "controllerrevisions",
		Singular:   "controllerrevision",
		Namespaced: true,
	}
}

func (*strategy) New() runtime.Object     { return &appsv1.ControllerRevision{} }
func (*strategy) NewList() runtime.Object { return &appsv1.ControllerRevisionList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate, PrepareForUpdate and Default do nothing: a revision has no status,
// no generation and no defaults.
func (*strategy) PrepareForCreate(obj runtime.Object)            {}
func (*strategy) PrepareForUpdate(obj, old runtime.Object)       {}
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}
func (*strategy) Default(obj runtime.Object)                     {}

// Validate checks the revision number and that the data is a JSON object.
func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	cr := obj.(*appsv1.ControllerRevision)
	return append(validateRevision(cr), validateData(cr.Data.Raw, field.NewPath("data"))...)
}

// ValidateUpdate checks the revision number and forbids changing the data.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	cr, oldCR := obj.(*appsv1.ControllerRevision), old.(*appsv1.ControllerRevision)
	return append(validateRevision(cr), apivalidation.ValidateImmutableField(cr.Data, oldCR.Data, field.NewPath("data"))...)
}

// ValidateStatusUpdate is never called: revisions have no status subresource.
func (s *strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return s.ValidateUpdate(obj, old)
}

func validateRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	return apivalidation.ValidateNonnegativeField(cr.Revision, field.NewPath("revision"))
}

// validateData requires raw to be a JSON object, with upstream's messages.
func validateData(raw []byte, fldPath *field.Path) field.ErrorList {
	if raw == nil {
		return field.ErrorList{field.Required(fldPath, "data is mandatory")}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return field.ErrorList{field.Invalid(fldPath, "<value omitted>", fmt.Sprintf("error parsing data: %v", err))}
	}
	switch v.(type) {
	case nil:
		return field.ErrorList{field.Required(fldPath, "data is mandatory")}
	case map[string]any:
		return nil
	}
	return field.ErrorList{field.Required(fldPath, "data must be a valid JSON object")}
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

// Columns are upstream's; its Revision column is typed string though its cells are
// integers.
func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Controller", Type: "string", Description: "Controller of the object"},
		{Name: "Revision", Type: "string", Description: appsv1.ControllerRevision{}.SwaggerDoc()["revision"]},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	cr := obj.(*appsv1.ControllerRevision)
	return []interface{}{cr.Name, controller(cr), cr.Revision, registry.Since(cr.CreationTimestamp.Time, now)}
}

// controller names the revision's controller as kubectl does, "daemonset.apps/web", or
// "<none>". A controller whose apiVersion does not parse (upstream fails the whole
// Table then) is shown by name alone.
func controller(cr *appsv1.ControllerRevision) string {
	ref := metav1.GetControllerOf(cr)
	if ref == nil {
		return "<none>"
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ref.Name
	}
	gk := gv.WithKind(ref.Kind).GroupKind()
	if gk.Empty() {
		return ref.Name
	}
	return strings.ToLower(gk.String()) + "/" + ref.Name
}
