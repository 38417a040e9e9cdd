package priorityclass

import (
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy      = (*strategy)(nil)
	_ registry.DeleteChecker = (*strategy)(nil)
)

type strategy struct{}

// New returns the PriorityClass strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:      schedulingv1.GroupName,
		Version:    "v1",
		Kind:       "PriorityClass",
		ListKind:   "PriorityClassList",
		Resource:   "priorityclasses",
		Singular:   "priorityclass",
		ShortNames: []string{"pc"},
	}
}

func (*strategy) New() runtime.Object     { return &schedulingv1.PriorityClass{} }
func (*strategy) NewList() runtime.Object { return &schedulingv1.PriorityClassList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate starts the generation, as upstream does; a class has no status.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	obj.(*schedulingv1.PriorityClass).Generation = 1
}

func (*strategy) PrepareForUpdate(obj, old runtime.Object)       {}
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default sets an unset preemptionPolicy to PreemptLowerPriority.
func (*strategy) Default(obj runtime.Object) {
	pc := obj.(*schedulingv1.PriorityClass)
	if pc.PreemptionPolicy == nil {
		pc.PreemptionPolicy = ptr.To(corev1.PreemptLowerPriority)
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validate(obj.(*schedulingv1.PriorityClass))
}

// ValidateUpdate checks only what may not change, value and preemptionPolicy: upstream
// does not check the new object again, so a system class may, say, become the global
// default.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateUpdate(obj.(*schedulingv1.PriorityClass), old.(*schedulingv1.PriorityClass))
}

// ValidateStatusUpdate refuses nothing: a class has no status subresource.
func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

// CheckDelete refuses to delete a system class, with upstream's message.
func (*strategy) CheckDelete(obj runtime.Object) error {
	pc := obj.(*schedulingv1.PriorityClass)
	if _, ok := systemValue(pc.Name); ok {
		return apierrors.NewForbidden(schedulingv1.Resource("priorityclasses"), pc.Name,
			errors.New("this is a system priority class and cannot be deleted"))
	}
	return nil
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

// Columns are upstream's, in its order: the preemption policy follows the age, and
// kubectl shows it without -o wide.
func (*strategy) Columns() []metav1.TableColumnDefinition {
	doc := schedulingv1.PriorityClass{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Value", Type: "integer", Description: doc["value"]},
		{Name: "Global-Default", Type: "boolean", Description: doc["globalDefault"]},
		registry.AgeColumn(),
		{Name: "PreemptionPolicy", Type: "string", Description: doc["preemptionPolicy"]},
	}
}

// Row shows an unset preemption policy as "".
func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	pc := obj.(*schedulingv1.PriorityClass)
	return []interface{}{
		pc.Name,
		int64(pc.Value),
		pc.GlobalDefault,
		registry.Since(pc.CreationTimestamp.Time, now),
		string(ptr.Deref(pc.PreemptionPolicy, "")),
	}
}
