package deployment

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

var (
	_ registry.Strategy = (*strategy)(nil)
	_ registry.Scaler   = (*strategy)(nil)
)

// Upstream's apps/v1 defaults.
const (
	defaultRevisionHistoryLimit    = 10
	defaultProgressDeadlineSeconds = 600
	defaultMaxSurge                = "25%"
	defaultMaxUnavailable          = "25%"
)

type strategy struct{}

// New returns the Deployment strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        appsv1.GroupName,
		Version:      "v1",
		Kind:         "Deployment",
		ListKind:     "DeploymentList",
		Resource:     "deployments",
		Singular:     "deployment",
		ShortNames:   []string{"deploy"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status", "scale"},
	}
}

func (*strategy) New() runtime.Object     { return &appsv1.Deployment{} }
func (*strategy) NewList() runtime.Object { return &appsv1.DeploymentList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate clears the status and starts the generation at 1.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	d := obj.(*appsv1.Deployment)
	d.Status = appsv1.DeploymentStatus{}
	d.Generation = 1
}

// PrepareForUpdate keeps the stored status and generation, bumping the generation when
// the spec, once defaulted, or the annotations differ from the stored ones.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	d.Status = *oldD.Status.DeepCopy()
	d.Generation = oldD.Generation
	setDefaults(d)
	if !equality.Semantic.DeepEqual(d.Spec, oldD.Spec) || !equality.Semantic.DeepEqual(d.Annotations, oldD.Annotations) {
		d.Generation++
	}
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do.
func (*strategy) StatusWritesMetadata() {}

// PrepareForStatusUpdate keeps the stored spec and labels.
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	kept := oldD.DeepCopy()
	d.Spec = kept.Spec
	d.Labels = kept.Labels
}

func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*appsv1.Deployment)) }

// setDefaults applies upstream's apps/v1 defaults: one replica, a rolling update of
// 25% surge and 25% unavailable, ten old ReplicaSets kept, a ten-minute progress
// deadline, and the pod template's defaults. An empty rollback annotation is dropped,
// as upstream's conversion drops it.
func setDefaults(d *appsv1.Deployment) {
	if v, ok := d.Annotations[appsv1.DeprecatedRollbackTo]; ok && v == "" {
		delete(d.Annotations, appsv1.DeprecatedRollbackTo)
	}
	spec := &d.Spec
	if spec.Replicas == nil {
		spec.Replicas = ptr.To[int32](1)
	}
	if spec.Strategy.Type == "" {
		spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if spec.Strategy.RollingUpdate == nil {
			spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		ru := spec.Strategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptr.To(intstr.FromString(defaultMaxUnavailable))
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = ptr.To(intstr.FromString(defaultMaxSurge))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptr.To[int32](defaultRevisionHistoryLimit)
	}
	if spec.ProgressDeadlineSeconds == nil {
		spec.ProgressDeadlineSeconds = ptr.To[int32](defaultProgressDeadlineSeconds)
	}
	pod.DefaultTemplate(&spec.Template)
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateDeployment(obj.(*appsv1.Deployment))
}

// ValidateUpdate checks the new Deployment; the selector may not change.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	errs := validateDeployment(d)
	return append(errs, apivalidation.ValidateImmutableField(d.Spec.Selector, oldD.Spec.Selector, field.NewPath("spec", "selector"))...)
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	d, oldD := obj.(*appsv1.Deployment), old.(*appsv1.Deployment)
	statusPath := field.NewPath("status")
	errs := validateStatus(&d.Status, statusPath)
	return append(errs, registry.ValidateCollisionCountUpdate(d.Status.CollisionCount, oldD.Status.CollisionCount, statusPath.Child("collisionCount"))...)
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

// Columns are upstream's; its Up-to-date and Available columns are typed string
// though their cells are integers.
func (*strategy) Columns() []metav1.TableColumnDefinition {
	status := appsv1.DeploymentStatus{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
		{Name: "Up-to-date", Type: "string", Description: status["updatedReplicas"]},
		{Name: "Available", Type: "string", Description: status["availableReplicas"]},
		registry.AgeColumn(),
	}
	cols = append(cols, registry.ContainerColumns()...)
	return append(cols, metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]})
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	d := obj.(*appsv1.Deployment)
	selector := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		selector = s.String()
	}
	names, images := registry.ContainerCells(d.Spec.Template.Spec.Containers)
	return []interface{}{
		d.Name,
		fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, ptr.Deref(d.Spec.Replicas, 1)),
		int64(d.Status.UpdatedReplicas),
		int64(d.Status.AvailableReplicas),
		registry.Since(d.CreationTimestamp.Time, now),
		names,
		images,
		selector,
	}
}

// Replicas reports the scale of a Deployment; its selector is rendered as upstream's
// scale subresource renders it.
func (*strategy) Replicas(obj runtime.Object) (spec, status int32, selector string) {
	d := obj.(*appsv1.Deployment)
	return ptr.Deref(d.Spec.Replicas, 1), d.Status.Replicas, registry.SelectorString(d.Spec.Selector)
}

func (*strategy) SetReplicas(obj runtime.Object, replicas int32) {
	obj.(*appsv1.Deployment).Spec.Replicas = &replicas
}
