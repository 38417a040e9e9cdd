package replicaset

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

var (
	_ registry.Strategy = (*strategy)(nil)
	_ registry.Scaler   = (*strategy)(nil)
)

type strategy struct{}

// New returns the ReplicaSet strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        appsv1.GroupName,
		Version:      "v1",
		Kind:         "ReplicaSet",
		ListKind:     "ReplicaSetList",
		Resource:     "replicasets",
		Singular:     "replicaset",
		ShortNames:   []string{"rs"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status", "scale"},
	}
}

func (*strategy) New() runtime.Object     { return &appsv1.ReplicaSet{} }
func (*strategy) NewList() runtime.Object { return &appsv1.ReplicaSetList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate clears the status and starts the generation at 1.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	rs := obj.(*appsv1.ReplicaSet)
	rs.Status = appsv1.ReplicaSetStatus{}
	rs.Generation = 1
}

// PrepareForUpdate keeps the stored status and generation, bumping the generation when
// the spec, once defaulted, differs from the stored one.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	rs, oldRS := obj.(*appsv1.ReplicaSet), old.(*appsv1.ReplicaSet)
	rs.Status = *oldRS.Status.DeepCopy()
	rs.Generation = oldRS.Generation
	setDefaults(rs)
	if !equality.Semantic.DeepEqual(rs.Spec, oldRS.Spec) {
		rs.Generation++
	}
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do.
func (*strategy) StatusWritesMetadata() {}

// PrepareForStatusUpdate keeps the stored spec.
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*appsv1.ReplicaSet).Spec = *old.(*appsv1.ReplicaSet).Spec.DeepCopy()
}

// Default sets one replica when none is asked for and defaults the pod template.
func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*appsv1.ReplicaSet)) }

func setDefaults(rs *appsv1.ReplicaSet) {
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = ptr.To[int32](1)
	}
	pod.DefaultTemplate(&rs.Spec.Template)
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*appsv1.ReplicaSet).Spec, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec; the selector may not change.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	rs, oldRS := obj.(*appsv1.ReplicaSet), old.(*appsv1.ReplicaSet)
	specPath := field.NewPath("spec")
	errs := validateSpec(&rs.Spec, specPath)
	return append(errs, apivalidation.ValidateImmutableField(rs.Spec.Selector, oldRS.Spec.Selector, specPath.Child("selector"))...)
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatus(&obj.(*appsv1.ReplicaSet).Status, field.NewPath("status"))
}

// Fields adds status.replicas, which upstream lets a field selector match.
func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, true)
	set["status.replicas"] = strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	spec, status := appsv1.ReplicaSetSpec{}.SwaggerDoc(), appsv1.ReplicaSetStatus{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Desired", Type: "integer", Description: spec["replicas"]},
		{Name: "Current", Type: "integer", Description: status["replicas"]},
		{Name: "Ready", Type: "integer", Description: status["readyReplicas"]},
		registry.AgeColumn(),
	}
	cols = append(cols, registry.ContainerColumns()...)
	return append(cols, metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: spec["selector"]})
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	rs := obj.(*appsv1.ReplicaSet)
	names, images := registry.ContainerCells(rs.Spec.Template.Spec.Containers)
	return []interface{}{
		rs.Name,
		int64(ptr.Deref(rs.Spec.Replicas, 1)),
		int64(rs.Status.Replicas),
		int64(rs.Status.ReadyReplicas),
		registry.Since(rs.CreationTimestamp.Time, now),
		names,
		images,
		metav1.FormatLabelSelector(rs.Spec.Selector),
	}
}

// Replicas reports the scale of a ReplicaSet; its selector is rendered as upstream's
// scale subresource renders it.
func (*strategy) Replicas(obj runtime.Object) (spec, status int32, selector string) {
	rs := obj.(*appsv1.ReplicaSet)
	return ptr.Deref(rs.Spec.Replicas, 1), rs.Status.Replicas, registry.SelectorString(rs.Spec.Selector)
}

func (*strategy) SetReplicas(obj runtime.Object, replicas int32) {
	obj.(*appsv1.ReplicaSet).Spec.Replicas = &replicas
}
