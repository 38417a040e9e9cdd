package statefulset

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
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

// defaultRevisionHistoryLimit is upstream's apps/v1 default.
const defaultRevisionHistoryLimit = 10

type strategy struct{}

// New returns the StatefulSet strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        appsv1.GroupName,
		Version:      "v1",
		Kind:         "StatefulSet",
		ListKind:     "StatefulSetList",
		Resource:     "statefulsets",
		Singular:     "statefulset",
		ShortNames:   []string{"sts"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status", "scale"},
	}
}

func (*strategy) New() runtime.Object     { return &appsv1.StatefulSet{} }
func (*strategy) NewList() runtime.Object { return &appsv1.StatefulSetList{} }

// ValidateName asks for a DNS label: the name is part of every pod's hostname.
func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSLabel(name, prefix)
}

// PrepareForCreate clears the status and starts the generation at 1.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	ss := obj.(*appsv1.StatefulSet)
	ss.Status = appsv1.StatefulSetStatus{}
	ss.Generation = 1
}

// PrepareForUpdate keeps the stored status and generation, bumping the generation when
// the spec, once defaulted, differs from the stored one.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	ss, oldSS := obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet)
	ss.Status = *oldSS.Status.DeepCopy()
	ss.Generation = oldSS.Generation
	setDefaults(ss)
	if !equality.Semantic.DeepEqual(ss.Spec, oldSS.Spec) {
		ss.Generation++
	}
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do.
func (*strategy) StatusWritesMetadata() {}

// PrepareForStatusUpdate keeps the stored spec.
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*appsv1.StatefulSet).Spec = *old.(*appsv1.StatefulSet).Spec.DeepCopy()
}

func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*appsv1.StatefulSet)) }

// setDefaults applies upstream's apps/v1 defaults: ordered pod management, a rolling
// update from partition 0 with one pod unavailable at a time, claims retained, one
// replica, ten revisions kept; the pod template's defaults; and the claim templates'
// defaults, apiVersion and kind included, as upstream's v1 output carries them.
func setDefaults(ss *appsv1.StatefulSet) {
	spec := &ss.Spec
	// Upstream's apps/v1 output names each claim template's kind.
	for i := range spec.VolumeClaimTemplates {
		spec.VolumeClaimTemplates[i].APIVersion, spec.VolumeClaimTemplates[i].Kind = "v1", "PersistentVolumeClaim"
	}
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	// A RollingUpdate type given without rollingUpdate stays without it, as upstream.
	if ru := spec.UpdateStrategy.RollingUpdate; spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ru != nil {
		if ru.Partition == nil {
			ru.Partition = ptr.To[int32](0)
		}
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptr.To(intstr.FromInt32(1))
		}
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.Replicas == nil {
		spec.Replicas = ptr.To[int32](1)
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptr.To[int32](defaultRevisionHistoryLimit)
	}
	pod.DefaultTemplate(&spec.Template)
	for i := range spec.VolumeClaimTemplates {
		defaultClaim(&spec.VolumeClaimTemplates[i])
	}
}

func defaultClaim(pvc *corev1.PersistentVolumeClaim) {
	pvc.APIVersion, pvc.Kind = "v1", "PersistentVolumeClaim"
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
	if pvc.Spec.VolumeMode == nil {
		pvc.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
	}
	for _, list := range []corev1.ResourceList{pvc.Spec.Resources.Limits, pvc.Spec.Resources.Requests, pvc.Status.Capacity, pvc.Status.AllocatedResources} {
		for name, q := range list {
			q.RoundUp(resource.Milli)
			list[name] = q
		}
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*appsv1.StatefulSet).Spec, field.NewPath("spec"), specOptions{})
}

// ValidateUpdate checks the new spec, tolerating in serviceName and the claim templates
// what may not change anyway, and forbids changing the fields that must stay.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	ss, oldSS := obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet)
	specPath := field.NewPath("spec")
	opts := specOptions{
		allowInvalidServiceName: true,
		skipClaimTemplates:      true,
		allowRecreate:           oldSS.Spec.UpdateStrategy.Type == appsv1.RecreateStatefulSetStrategyType,
	}
	if len(validateSpec(&oldSS.Spec, specPath, opts)) > 0 {
		opts.skipPodTemplate = true
	}
	errs := validateSpec(&ss.Spec, specPath, opts)
	errs = append(errs, apivalidation.ValidateImmutableField(ss.Spec.Selector, oldSS.Spec.Selector, specPath.Child("selector"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(withoutTypeMeta(ss.Spec.VolumeClaimTemplates), withoutTypeMeta(oldSS.Spec.VolumeClaimTemplates), specPath.Child("volumeClaimTemplates"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(ss.Spec.ServiceName, oldSS.Spec.ServiceName, specPath.Child("serviceName"))...)
	return append(errs, apivalidation.ValidateImmutableField(ss.Spec.PodManagementPolicy, oldSS.Spec.PodManagementPolicy, specPath.Child("podManagementPolicy"))...)
}

// withoutTypeMeta returns claim templates without their apiVersion and kind, which
// upstream keeps out of the comparison (its internal form has none).
func withoutTypeMeta(templates []corev1.PersistentVolumeClaim) []corev1.PersistentVolumeClaim {
	out := make([]corev1.PersistentVolumeClaim, len(templates))
	for i := range templates {
		out[i] = templates[i]
		out[i].TypeMeta = metav1.TypeMeta{}
	}
	return out
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	ss, oldSS := obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet)
	statusPath := field.NewPath("status")
	errs := validateStatus(&ss.Status, statusPath)
	return append(errs, registry.ValidateCollisionCountUpdate(ss.Status.CollisionCount, oldSS.Status.CollisionCount, statusPath.Child("collisionCount"))...)
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	cols := []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
		registry.AgeColumn(),
	}
	return append(cols, registry.ContainerColumns()...)
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	ss := obj.(*appsv1.StatefulSet)
	names, images := registry.ContainerCells(ss.Spec.Template.Spec.Containers)
	return []interface{}{
		ss.Name,
		fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, ptr.Deref(ss.Spec.Replicas, 1)),
		registry.Since(ss.CreationTimestamp.Time, now),
		names,
		images,
	}
}

// Replicas reports the scale of a StatefulSet; its selector is rendered as upstream's
// scale subresource renders it.
func (*strategy) Replicas(obj runtime.Object) (spec, status int32, selector string) {
	ss := obj.(*appsv1.StatefulSet)
	return ptr.Deref(ss.Spec.Replicas, 1), ss.Status.Replicas, registry.SelectorString(ss.Spec.Selector)
}

func (*strategy) SetReplicas(obj runtime.Object, replicas int32) {
	obj.(*appsv1.StatefulSet).Spec.Replicas = &replicas
}
