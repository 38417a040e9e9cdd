package daemonset

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

var _ registry.Strategy = (*strategy)(nil)

// defaultRevisionHistoryLimit is upstream's apps/v1 default.
const defaultRevisionHistoryLimit = 10

type strategy struct{}

// New returns the DaemonSet strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        appsv1.GroupName,
		Version:      "v1",
		Kind:         "DaemonSet",
		ListKind:     "DaemonSetList",
		Resource:     "daemonsets",
		Singular:     "daemonset",
		ShortNames:   []string{"ds"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status"},
	}
}

func (*strategy) New() runtime.Object     { return &appsv1.DaemonSet{} }
func (*strategy) NewList() runtime.Object { return &appsv1.DaemonSetList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate clears the status, starts the generation at 1 and the template
// generation at 1 or more. A template generation that is not an integer is left for
// Validate to report.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	ds := obj.(*appsv1.DaemonSet)
	ds.Status = appsv1.DaemonSetStatus{}
	ds.Generation = 1
	if tg, ok := templateGeneration(ds); ok && tg < 1 {
		setTemplateGeneration(ds, 1)
	}
}

// PrepareForUpdate keeps the stored status and template generation. When the pod
// template, once defaulted, differs from the stored one, both the template generation
// and the generation go up by one; when only the rest of the spec differs, only the
// generation does.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	ds, oldDS := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	ds.Status = *oldDS.Status.DeepCopy()
	ds.Generation = oldDS.Generation
	tg, _ := templateGeneration(oldDS)
	setDefaults(ds)
	switch {
	case !equality.Semantic.DeepEqual(ds.Spec.Template, oldDS.Spec.Template):
		tg++
		ds.Generation++
	case !equality.Semantic.DeepEqual(ds.Spec, oldDS.Spec):
		ds.Generation++
	}
	setTemplateGeneration(ds, tg)
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do.
func (*strategy) StatusWritesMetadata() {}

// PrepareForStatusUpdate keeps the stored spec.
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*appsv1.DaemonSet).Spec = *old.(*appsv1.DaemonSet).Spec.DeepCopy()
}

// templateGeneration returns the template generation annotation's value: 0 and true
// when it is absent, false when it is not an integer.
func templateGeneration(ds *appsv1.DaemonSet) (int64, bool) {
	value, ok := ds.Annotations[appsv1.DeprecatedTemplateGeneration]
	if !ok {
		return 0, true
	}
	tg, err := strconv.ParseInt(value, 10, 64)
	return tg, err == nil
}

func setTemplateGeneration(ds *appsv1.DaemonSet, tg int64) {
	annotations := make(map[string]string, len(ds.Annotations)+1)
	for k, v := range ds.Annotations {
		annotations[k] = v
	}
	annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(tg, 10)
	ds.Annotations = annotations
}

func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*appsv1.DaemonSet)) }

// setDefaults applies upstream's apps/v1 defaults: a rolling update of one pod
// unavailable and none surging, ten revisions kept, and the pod template's defaults.
func setDefaults(ds *appsv1.DaemonSet) {
	spec := &ds.Spec
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		ru := spec.UpdateStrategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptr.To(intstr.FromInt32(1))
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = ptr.To(intstr.FromInt32(0))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptr.To[int32](defaultRevisionHistoryLimit)
	}
	pod.DefaultTemplate(&spec.Template)
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	ds := obj.(*appsv1.DaemonSet)
	errs := validateTemplateGeneration(ds)
	return append(errs, validateSpec(&ds.Spec, field.NewPath("spec"), false)...)
}

// ValidateUpdate forbids changing the selector and checks the new spec, tolerating
// label values in the selector that the stored one already has.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	ds, oldDS := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	specPath := field.NewPath("spec")
	errs := apivalidation.ValidateImmutableField(ds.Spec.Selector, oldDS.Spec.Selector, specPath.Child("selector"))
	return append(errs, validateSpec(&ds.Spec, specPath, metav1validation.LabelSelectorHasInvalidLabelValue(oldDS.Spec.Selector))...)
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	ds, oldDS := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	statusPath := field.NewPath("status")
	errs := validateStatus(&ds.Status, statusPath)
	return append(errs, registry.ValidateCollisionCountUpdate(ds.Status.CollisionCount, oldDS.Status.CollisionCount, statusPath.Child("collisionCount"))...)
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	status := appsv1.DaemonSetStatus{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Desired", Type: "integer", Description: status["desiredNumberScheduled"]},
		{Name: "Current", Type: "integer", Description: status["currentNumberScheduled"]},
		{Name: "Ready", Type: "integer", Description: status["numberReady"]},
		{Name: "Up-to-date", Type: "integer", Description: status["updatedNumberScheduled"]},
		{Name: "Available", Type: "integer", Description: status["numberAvailable"]},
		{Name: "Node Selector", Type: "string", Description: corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]},
		registry.AgeColumn(),
	}
	cols = append(cols, registry.ContainerColumns()...)
	return append(cols, metav1.TableColumnDefinition{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"]})
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	ds := obj.(*appsv1.DaemonSet)
	names, images := registry.ContainerCells(ds.Spec.Template.Spec.Containers)
	return []interface{}{
		ds.Name,
		int64(ds.Status.DesiredNumberScheduled),
		int64(ds.Status.CurrentNumberScheduled),
		int64(ds.Status.NumberReady),
		int64(ds.Status.UpdatedNumberScheduled),
		int64(ds.Status.NumberAvailable),
		labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
		registry.Since(ds.CreationTimestamp.Time, now),
		names,
		images,
		metav1.FormatLabelSelector(ds.Spec.Selector),
	}
}
