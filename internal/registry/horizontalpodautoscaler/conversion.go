package horizontalpodautoscaler

import (
	"encoding/json"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The annotations in which an autoscaling/v1 object carries what it has no fields for,
// upstream's keys. The tolerance ones are written by no version any more, but are
// dropped with the others.
const (
	metricsAnnotation            = "autoscaling.alpha.kubernetes.io/metrics"
	currentMetricsAnnotation     = "autoscaling.alpha.kubernetes.io/current-metrics"
	conditionsAnnotation         = "autoscaling.alpha.kubernetes.io/conditions"
	behaviorAnnotation           = "autoscaling.alpha.kubernetes.io/behavior"
	scaleUpToleranceAnnotation   = "autoscaling.alpha.kubernetes.io/scale-up-tolerance"
	scaleDownToleranceAnnotation = "autoscaling.alpha.kubernetes.io/scale-down-tolerance"
)

var roundTripAnnotations = []string{
	metricsAnnotation, currentMetricsAnnotation, conditionsAnnotation, behaviorAnnotation,
	scaleUpToleranceAnnotation, scaleDownToleranceAnnotation,
}

// dropRoundTripAnnotations returns annotations without the round-trip ones: annotations
// itself when it has none, else a copy (nil when nothing is left).
func dropRoundTripAnnotations(annotations map[string]string) map[string]string {
	found := false
	for _, k := range roundTripAnnotations {
		if _, ok := annotations[k]; ok {
			found = true
			break
		}
	}
	if !found {
		return annotations
	}
	out := map[string]string{}
	for k, v := range annotations {
		out[k] = v
	}
	for _, k := range roundTripAnnotations {
		delete(out, k)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// The behavior annotation holds upstream's internal form of the behavior, which has no
// JSON tags: its keys are the Go field names ("ScaleUp", "StabilizationWindowSeconds")
// and unset fields are written as null. These types reproduce that form; decoding
// matches keys regardless of case, so the autoscaling/v2 form is accepted too.
type behaviorJSON struct {
	ScaleUp   *rulesJSON
	ScaleDown *rulesJSON
}

type rulesJSON struct {
	StabilizationWindowSeconds *int32
	SelectPolicy               *autoscalingv2.ScalingPolicySelect
	Policies                   []policyJSON
	Tolerance                  *resource.Quantity
}

type policyJSON struct {
	Type          autoscalingv2.HPAScalingPolicyType
	Value         int32
	PeriodSeconds int32
}

func behaviorToJSON(in *autoscalingv2.HorizontalPodAutoscalerBehavior) behaviorJSON {
	return behaviorJSON{ScaleUp: rulesToJSON(in.ScaleUp), ScaleDown: rulesToJSON(in.ScaleDown)}
}

func rulesToJSON(in *autoscalingv2.HPAScalingRules) *rulesJSON {
	if in == nil {
		return nil
	}
	out := &rulesJSON{StabilizationWindowSeconds: in.StabilizationWindowSeconds, SelectPolicy: in.SelectPolicy, Tolerance: in.Tolerance}
	if in.Policies != nil {
		out.Policies = make([]policyJSON, len(in.Policies))
		for i, p := range in.Policies {
			out.Policies[i] = policyJSON(p)
		}
	}
	return out
}

func (in behaviorJSON) toV2() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: in.ScaleUp.toV2(), ScaleDown: in.ScaleDown.toV2()}
}

func (in *rulesJSON) toV2() *autoscalingv2.HPAScalingRules {
	if in == nil {
		return nil
	}
	out := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: in.StabilizationWindowSeconds, SelectPolicy: in.SelectPolicy, Tolerance: in.Tolerance}
	if in.Policies != nil {
		out.Policies = make([]autoscalingv2.HPAScalingPolicy, len(in.Policies))
		for i, p := range in.Policies {
			out.Policies[i] = autoscalingv2.HPAScalingPolicy(p)
		}
	}
	return out
}

// cpuUtilization returns the metric autoscaling/v1's targetCPUUtilizationPercentage
// stands for.
func cpuUtilization(percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name:   corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)},
		},
	}
}

// isCPUUtilization reports whether m is a CPU utilization target, which autoscaling/v1
// holds in targetCPUUtilizationPercentage rather than in the metrics annotation.
func isCPUUtilization(m *autoscalingv2.MetricSpec) bool {
	return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
		m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil
}

// toV2 converts an autoscaling/v1 object to a new autoscaling/v2 one sharing no memory
// with it. The round-trip annotations restore the fields autoscaling/v1 lacks; one
// that does not parse is ignored, and none is kept. With no metric at all, the CPU
// utilization target defaults to 80%, as upstream's conversion has it.
func toV2(in *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	in = in.DeepCopy()
	out := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: autoscalingv2.SchemeGroupVersion.String(), Kind: kind},
		ObjectMeta: in.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
			MinReplicas:    in.Spec.MinReplicas,
			MaxReplicas:    in.Spec.MaxReplicas,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: in.Status.ObservedGeneration,
			LastScaleTime:      in.Status.LastScaleTime,
			CurrentReplicas:    in.Status.CurrentReplicas,
			DesiredReplicas:    in.Status.DesiredReplicas,
		},
	}
	if p := in.Spec.TargetCPUUtilizationPercentage; p != nil {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(*p)}
	}
	if p := in.Status.CurrentCPUUtilizationPercentage; p != nil {
		out.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{
			Type:     autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: p}},
		}}
	}

	annotations := in.Annotations
	// The other metrics come first, the CPU utilization target last.
	if enc, ok := annotations[metricsAnnotation]; ok {
		var specs []autoscalingv1.MetricSpec
		if json.Unmarshal([]byte(enc), &specs) == nil {
			metrics := make([]autoscalingv2.MetricSpec, 0, len(specs)+len(out.Spec.Metrics))
			for i := range specs {
				metrics = append(metrics, metricSpecToV2(&specs[i]))
			}
			out.Spec.Metrics = append(metrics, out.Spec.Metrics...)
		}
	}
	if enc, ok := annotations[behaviorAnnotation]; ok {
		var b behaviorJSON
		if json.Unmarshal([]byte(enc), &b) == nil && (b.ScaleUp != nil || b.ScaleDown != nil) {
			out.Spec.Behavior = b.toV2()
		}
	}
	// The current metrics replace the CPU utilization: they hold it too, with its raw value.
	if enc, ok := annotations[currentMetricsAnnotation]; ok {
		var statuses []autoscalingv1.MetricStatus
		if json.Unmarshal([]byte(enc), &statuses) == nil {
			out.Status.CurrentMetrics = make([]autoscalingv2.MetricStatus, len(statuses))
			for i := range statuses {
				out.Status.CurrentMetrics[i] = metricStatusToV2(&statuses[i])
			}
		}
	}
	if len(out.Spec.Metrics) == 0 {
		out.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(defaultCPUUtilization)}
	}
	if enc, ok := annotations[conditionsAnnotation]; ok {
		var conditions []autoscalingv1.HorizontalPodAutoscalerCondition
		if json.Unmarshal([]byte(enc), &conditions) == nil {
			out.Status.Conditions = make([]autoscalingv2.HorizontalPodAutoscalerCondition, len(conditions))
			for i, c := range conditions {
				out.Status.Conditions[i] = autoscalingv2.HorizontalPodAutoscalerCondition{
					Type:               autoscalingv2.HorizontalPodAutoscalerConditionType(c.Type),
					Status:             c.Status,
					LastTransitionTime: c.LastTransitionTime,
					Reason:             c.Reason,
					Message:            c.Message,
					ObservedGeneration: c.ObservedGeneration,
				}
			}
		}
	}
	out.Annotations = dropRoundTripAnnotations(annotations)
	return out
}

// toV1 converts an autoscaling/v2 object to a new autoscaling/v1 one sharing no memory
// with it. The first CPU utilization target becomes targetCPUUtilizationPercentage;
// the other metrics, the current metrics, the behavior and the conditions, when there
// are any, go into the round-trip annotations, replacing any the object had.
func toV1(in *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv1.HorizontalPodAutoscaler, error) {
	in = in.DeepCopy()
	out := &autoscalingv1.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: autoscalingv1.SchemeGroupVersion.String(), Kind: kind},
		ObjectMeta: in.ObjectMeta,
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(in.Spec.ScaleTargetRef),
			MinReplicas:    in.Spec.MinReplicas,
			MaxReplicas:    in.Spec.MaxReplicas,
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{
			ObservedGeneration: in.Status.ObservedGeneration,
			LastScaleTime:      in.Status.LastScaleTime,
			CurrentReplicas:    in.Status.CurrentReplicas,
			DesiredReplicas:    in.Status.DesiredReplicas,
		},
	}
	var other []autoscalingv1.MetricSpec
	for i := range in.Spec.Metrics {
		m := &in.Spec.Metrics[i]
		if !isCPUUtilization(m) {
			other = append(other, metricSpecToV1(m))
		} else if out.Spec.TargetCPUUtilizationPercentage == nil {
			out.Spec.TargetCPUUtilizationPercentage = ptr.To(*m.Resource.Target.AverageUtilization)
		}
	}
	// The last CPU utilization reported wins, as in upstream's conversion.
	for _, m := range in.Status.CurrentMetrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU && m.Resource.Current.AverageUtilization != nil {
			out.Status.CurrentCPUUtilizationPercentage = ptr.To(*m.Resource.Current.AverageUtilization)
		}
	}

	// in is a copy: its annotations may be written to.
	annotations := dropRoundTripAnnotations(out.Annotations)
	set := func(key string, v interface{}) error {
		enc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encoding annotation %s of HorizontalPodAutoscaler %s/%s: %w", key, in.Namespace, in.Name, err)
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[key] = string(enc)
		return nil
	}
	if len(other) > 0 {
		if err := set(metricsAnnotation, other); err != nil {
			return nil, err
		}
	}
	if n := len(in.Status.CurrentMetrics); n > 0 {
		statuses := make([]autoscalingv1.MetricStatus, n)
		for i := range in.Status.CurrentMetrics {
			statuses[i] = metricStatusToV1(&in.Status.CurrentMetrics[i])
		}
		if err := set(currentMetricsAnnotation, statuses); err != nil {
			return nil, err
		}
	}
	if in.Spec.Behavior != nil {
		if err := set(behaviorAnnotation, behaviorToJSON(in.Spec.Behavior)); err != nil {
			return nil, err
		}
	}
	if n := len(in.Status.Conditions); n > 0 {
		conditions := make([]autoscalingv1.HorizontalPodAutoscalerCondition, n)
		for i, c := range in.Status.Conditions {
			conditions[i] = autoscalingv1.HorizontalPodAutoscalerCondition{
				Type:               autoscalingv1.HorizontalPodAutoscalerConditionType(c.Type),
				Status:             c.Status,
				LastTransitionTime: c.LastTransitionTime,
				Reason:             c.Reason,
				Message:            c.Message,
				ObservedGeneration: c.ObservedGeneration,
			}
		}
		if err := set(conditionsAnnotation, conditions); err != nil {
			return nil, err
		}
	}
	out.Annotations = annotations
	return out, nil
}

func metricSpecToV1(in *autoscalingv2.MetricSpec) autoscalingv1.MetricSpec {
	out := autoscalingv1.MetricSpec{Type: autoscalingv1.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		out.Object = &autoscalingv1.ObjectMetricSource{
			Target:       autoscalingv1.CrossVersionObjectReference(s.DescribedObject),
			MetricName:   s.Metric.Name,
			Selector:     s.Metric.Selector,
			AverageValue: s.Target.AverageValue,
		}
		if s.Target.Value != nil {
			out.Object.TargetValue = *s.Target.Value
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv1.PodsMetricSource{MetricName: s.Metric.Name, Selector: s.Metric.Selector}
		if s.Target.AverageValue != nil {
			out.Pods.TargetAverageValue = *s.Target.AverageValue
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv1.ResourceMetricSource{
			Name:                     s.Name,
			TargetAverageUtilization: s.Target.AverageUtilization,
			TargetAverageValue:       s.Target.AverageValue,
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv1.ContainerResourceMetricSource{
			Name:                     s.Name,
			Container:                s.Container,
			TargetAverageUtilization: s.Target.AverageUtilization,
			TargetAverageValue:       s.Target.AverageValue,
		}
	}
	if s := in.External; s != nil {
		out.External = &autoscalingv1.ExternalMetricSource{
			MetricName:         s.Metric.Name,
			MetricSelector:     s.Metric.Selector,
			TargetValue:        s.Target.Value,
			TargetAverageValue: s.Target.AverageValue,
		}
	}
	return out
}

// metricSpecToV2 converts a metric of the metrics annotation. The target type follows
// from which targets are set, as in upstream's conversion.
func metricSpecToV2(in *autoscalingv1.MetricSpec) autoscalingv2.MetricSpec {
	out := autoscalingv2.MetricSpec{Type: autoscalingv2.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		target := autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: &s.TargetValue, AverageValue: s.AverageValue}
		if s.AverageValue != nil {
			// autoscaling/v1 cannot leave targetValue out: a zero one means none.
			target.Type, target.Value = autoscalingv2.AverageValueMetricType, nil
			if !s.TargetValue.IsZero() {
				target.Value = &s.TargetValue
			}
		}
		out.Object = &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference(s.Target),
			Target:          target,
			Metric:          autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &s.TargetAverageValue},
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv2.ResourceMetricSource{Name: s.Name, Target: resourceTarget(s.TargetAverageUtilization, s.TargetAverageValue)}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricSource{
			Name:      s.Name,
			Container: s.Container,
			Target:    resourceTarget(s.TargetAverageUtilization, s.TargetAverageValue),
		}
	}
	if s := in.External; s != nil {
		typ := autoscalingv2.AverageValueMetricType
		if s.TargetValue != nil {
			typ = autoscalingv2.ValueMetricType
		}
		out.External = &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.MetricSelector},
			Target: autoscalingv2.MetricTarget{Type: typ, Value: s.TargetValue, AverageValue: s.TargetAverageValue},
		}
	}
	return out
}

// resourceTarget is a (container) resource metric's target: a utilization when one is
// given, else an average value.
func resourceTarget(utilization *int32, value *resource.Quantity) autoscalingv2.MetricTarget {
	typ := autoscalingv2.AverageValueMetricType
	if utilization != nil {
		typ = autoscalingv2.UtilizationMetricType
	}
	return autoscalingv2.MetricTarget{Type: typ, AverageValue: value, AverageUtilization: utilization}
}

func metricStatusToV1(in *autoscalingv2.MetricStatus) autoscalingv1.MetricStatus {
	out := autoscalingv1.MetricStatus{Type: autoscalingv1.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		out.Object = &autoscalingv1.ObjectMetricStatus{
			Target:       autoscalingv1.CrossVersionObjectReference(s.DescribedObject),
			MetricName:   s.Metric.Name,
			Selector:     s.Metric.Selector,
			AverageValue: s.Current.AverageValue,
		}
		if s.Current.Value != nil {
			out.Object.CurrentValue = *s.Current.Value
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv1.PodsMetricStatus{MetricName: s.Metric.Name, Selector: s.Metric.Selector}
		if s.Current.AverageValue != nil {
			out.Pods.CurrentAverageValue = *s.Current.AverageValue
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv1.ResourceMetricStatus{Name: s.Name, CurrentAverageUtilization: s.Current.AverageUtilization}
		if s.Current.AverageValue != nil {
			out.Resource.CurrentAverageValue = *s.Current.AverageValue
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv1.ContainerResourceMetricStatus{Name: s.Name, Container: s.Container, CurrentAverageUtilization: s.Current.AverageUtilization}
		if s.Current.AverageValue != nil {
			out.ContainerResource.CurrentAverageValue = *s.Current.AverageValue
		}
	}
	if s := in.External; s != nil {
		out.External = &autoscalingv1.ExternalMetricStatus{
			MetricName:          s.Metric.Name,
			MetricSelector:      s.Metric.Selector,
			CurrentAverageValue: s.Current.AverageValue,
		}
		if s.Current.Value != nil {
			out.External.CurrentValue = *s.Current.Value
		}
	}
	return out
}

// metricStatusToV2 converts a status of the current metrics annotation. The values
// autoscaling/v1 cannot leave out are kept, zero or not, as in upstream's conversion.
func metricStatusToV2(in *autoscalingv1.MetricStatus) autoscalingv2.MetricStatus {
	out := autoscalingv2.MetricStatus{Type: autoscalingv2.MetricSourceType(in.Type)}
	if s := in.Object; s != nil {
		out.Object = &autoscalingv2.ObjectMetricStatus{
			Metric:          autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Current:         autoscalingv2.MetricValueStatus{Value: &s.CurrentValue, AverageValue: s.AverageValue},
			DescribedObject: autoscalingv2.CrossVersionObjectReference(s.Target),
		}
	}
	if s := in.Pods; s != nil {
		out.Pods = &autoscalingv2.PodsMetricStatus{
			Metric:  autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Current: autoscalingv2.MetricValueStatus{AverageValue: &s.CurrentAverageValue},
		}
	}
	if s := in.Resource; s != nil {
		out.Resource = &autoscalingv2.ResourceMetricStatus{
			Name:    s.Name,
			Current: autoscalingv2.MetricValueStatus{AverageValue: &s.CurrentAverageValue, AverageUtilization: s.CurrentAverageUtilization},
		}
	}
	if s := in.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricStatus{
			Name:      s.Name,
			Container: s.Container,
			Current:   autoscalingv2.MetricValueStatus{AverageValue: &s.CurrentAverageValue, AverageUtilization: s.CurrentAverageUtilization},
		}
	}
	if s := in.External; s != nil {
		out.External = &autoscalingv2.ExternalMetricStatus{
			Metric:  autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.MetricSelector},
			Current: autoscalingv2.MetricValueStatus{Value: &s.CurrentValue, AverageValue: s.CurrentAverageValue},
		}
	}
	return out
}
