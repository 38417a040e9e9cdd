package horizontalpodautoscaler

import (
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy             = (*v1Strategy)(nil)
	_ registry.Converter            = (*v1Strategy)(nil)
	_ registry.StatusMetadataWriter = (*v1Strategy)(nil)
)

// v1Strategy serves autoscaling/v1 HorizontalPodAutoscalers, stored as autoscaling/v2
// ones. Its methods take autoscaling/v1 objects; Fields and Row also accept the stored
// form. Each step converts to autoscaling/v2, applies the autoscaling/v2 behaviour and,
// for the steps that change the object, converts back, so that the round-trip
// annotations always describe the object as it will be stored.
type v1Strategy struct{}

// NewV1 returns the autoscaling/v1 HorizontalPodAutoscaler strategy. It is a
// registry.Converter: its objects are stored in the autoscaling/v2 form of NewV2.
func NewV1() registry.Strategy { return &v1Strategy{} }

func (*v1Strategy) Info() registry.Info {
	i := info("v1")
	i.StorageResource = plural
	i.StorageVersion = "v2"
	return i
}

func (*v1Strategy) New() runtime.Object        { return &autoscalingv1.HorizontalPodAutoscaler{} }
func (*v1Strategy) NewList() runtime.Object    { return &autoscalingv1.HorizontalPodAutoscalerList{} }
func (*v1Strategy) NewStorage() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }

func (*v1Strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (*v1Strategy) PrepareForCreate(obj runtime.Object) {
	h := obj.(*autoscalingv1.HorizontalPodAutoscaler)
	v2 := toV2(h)
	prepareForCreate(v2)
	replace(h, v2)
}

func (*v1Strategy) PrepareForUpdate(obj, old runtime.Object) {
	h := obj.(*autoscalingv1.HorizontalPodAutoscaler)
	v2 := toV2(h)
	prepareForUpdate(v2, toV2(old.(*autoscalingv1.HorizontalPodAutoscaler)))
	replace(h, v2)
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do: an autoscaling/v1 status writer
// reports the conditions and current metrics in annotations.
func (*v1Strategy) StatusWritesMetadata() {}

func (*v1Strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	h := obj.(*autoscalingv1.HorizontalPodAutoscaler)
	v2 := toV2(h)
	prepareForStatusUpdate(v2, toV2(old.(*autoscalingv1.HorizontalPodAutoscaler)))
	replace(h, v2)
}

// Default applies the autoscaling/v2 defaults. Upstream's autoscaling/v1 ones (one
// minimum replica, a CPU utilization target of 80% without any metric) are among them.
func (*v1Strategy) Default(obj runtime.Object) {
	h := obj.(*autoscalingv1.HorizontalPodAutoscaler)
	v2 := toV2(h)
	setDefaults(v2)
	replace(h, v2)
}

// Validate checks the autoscaling/v2 form, as upstream checks its internal one: errors
// name autoscaling/v2 fields (spec.metrics[0].resource.target.averageUtilization for
// targetCPUUtilizationPercentage).
func (*v1Strategy) Validate(obj runtime.Object) field.ErrorList {
	return validate(toV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)), nil)
}

func (*v1Strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validate(toV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)), toV2(old.(*autoscalingv1.HorizontalPodAutoscaler)))
}

func (*v1Strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatus(&toV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)).Status)
}

func (*v1Strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

// Columns and Row are those of autoscaling/v2.
func (*v1Strategy) Columns() []metav1.TableColumnDefinition { return columns() }

func (*v1Strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	return row(stored(obj), now)
}

func (*v1Strategy) ToStorage(obj runtime.Object) (runtime.Object, error) {
	h, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler)
	if !ok {
		return nil, fmt.Errorf("converting %T to an autoscaling/v2 HorizontalPodAutoscaler: not an autoscaling/v1 HorizontalPodAutoscaler", obj)
	}
	return toV2(h), nil
}

func (*v1Strategy) FromStorage(obj runtime.Object) (runtime.Object, error) {
	h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil, fmt.Errorf("converting %T to an autoscaling/v1 HorizontalPodAutoscaler: not an autoscaling/v2 HorizontalPodAutoscaler", obj)
	}
	return toV1(h)
}

// stored returns obj in the autoscaling/v2 form.
func stored(obj runtime.Object) *autoscalingv2.HorizontalPodAutoscaler {
	if h, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler); ok {
		return toV2(h)
	}
	return obj.(*autoscalingv2.HorizontalPodAutoscaler)
}

// replace makes h the autoscaling/v1 form of v2. Encoding the annotations cannot fail
// for these types; should it, h is left as it was.
func replace(h *autoscalingv1.HorizontalPodAutoscaler, v2 *autoscalingv2.HorizontalPodAutoscaler) {
	v1, err := toV1(v2)
	if err != nil {
		return
	}
	v1.TypeMeta = h.TypeMeta
	*h = *v1
}
