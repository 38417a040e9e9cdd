package replicationcontroller

import (
	"maps"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

var (
	_ registry.Strategy           = (*strategy)(nil)
	_ registry.Scaler             = (*strategy)(nil)
	_ registry.DependentsOrphaner = (*strategy)(nil)
)

type strategy struct{}

// New returns the ReplicationController strategy. It is also a registry.Scaler.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:      "v1",
		Kind:         "ReplicationController",
		ListKind:     "ReplicationControllerList",
		Resource:     "replicationcontrollers",
		Singular:     "replicationcontroller",
		ShortNames:   []string{"rc"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status", "scale"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.ReplicationController{} }
func (*strategy) NewList() runtime.Object { return &corev1.ReplicationControllerList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (*strategy) PrepareForCreate(obj runtime.Object) {
	rc := obj.(*corev1.ReplicationController)
	rc.Status = corev1.ReplicationControllerStatus{}
	rc.Generation = 1
}

// PrepareForUpdate keeps the stored status and bumps the generation when the spec,
// once defaulted, differs from the stored one.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	rc, oldRC := obj.(*corev1.ReplicationController), old.(*corev1.ReplicationController)
	rc.Status = oldRC.Status
	defaulted := rc.DeepCopy()
	setDefaults(defaulted)
	if !equality.Semantic.DeepEqual(defaulted.Spec, oldRC.Spec) {
		rc.Generation = oldRC.Generation + 1
	}
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do.
func (*strategy) StatusWritesMetadata() {}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*corev1.ReplicationController).Spec = old.(*corev1.ReplicationController).Spec
}

func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*corev1.ReplicationController)) }

// setDefaults applies upstream's v1 defaults: one replica, and when the template has
// labels, an empty selector and empty object labels both become the template's labels.
func setDefaults(rc *corev1.ReplicationController) {
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = ptr.To[int32](1)
	}
	t := rc.Spec.Template
	if t == nil {
		return
	}
	if t.Labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = maps.Clone(t.Labels)
		}
		if len(rc.Labels) == 0 {
			rc.Labels = maps.Clone(t.Labels)
		}
	}
	pod.DefaultTemplate(t)
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*corev1.ReplicationController).Spec, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec as on create: every field of a
// ReplicationController's spec may change.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*corev1.ReplicationController).Spec, field.NewPath("spec"))
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatus(&obj.(*corev1.ReplicationController).Status, field.NewPath("status"))
}

// Fields adds status.replicas to the metadata fields, as upstream does.
func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, true)
	set["status.replicas"] = strconv.Itoa(int(obj.(*corev1.ReplicationController).Status.Replicas))
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	spec, status := corev1.ReplicationControllerSpec{}.SwaggerDoc(), corev1.ReplicationControllerStatus{}.SwaggerDoc()
	columns := []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Desired", Type: "integer", Description: spec["replicas"]},
		{Name: "Current", Type: "integer", Description: status["replicas"]},
		{Name: "Ready", Type: "integer", Description: status["readyReplicas"]},
		registry.AgeColumn(),
	}
	columns = append(columns, registry.ContainerColumns()...)
	return append(columns, metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: spec["selector"]})
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	rc := obj.(*corev1.ReplicationController)
	var containers []corev1.Container
	if rc.Spec.Template != nil {
		containers = rc.Spec.Template.Spec.Containers
	}
	names, images := registry.ContainerCells(containers)
	return []interface{}{
		rc.Name,
		int64(ptr.Deref(rc.Spec.Replicas, 0)),
		int64(rc.Status.Replicas),
		int64(rc.Status.ReadyReplicas),
		registry.Since(rc.CreationTimestamp.Time, now),
		names,
		images,
		labels.FormatLabels(rc.Spec.Selector),
	}
}

// OrphansDependentsByDefault is true: deleting a v1 ReplicationController without a
// propagation policy leaves its pods, as upstream keeps for compatibility.
func (*strategy) OrphansDependentsByDefault() bool { return true }

// Replicas returns spec.replicas (1 when unset), status.replicas and the selector
// rendered as a label selector string.
func (*strategy) Replicas(obj runtime.Object) (spec, status int32, selector string) {
	rc := obj.(*corev1.ReplicationController)
	return ptr.Deref(rc.Spec.Replicas, 1), rc.Status.Replicas, labels.SelectorFromSet(rc.Spec.Selector).String()
}

func (*strategy) SetReplicas(obj runtime.Object, replicas int32) {
	obj.(*corev1.ReplicationController).Spec.Replicas = ptr.To(replicas)
}
