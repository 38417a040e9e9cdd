package horizontalpodautoscaler

import (
	"reflect"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

// full is an autoscaling/v2 autoscaler using every kind of metric, a behavior and a
// status, with its CPU utilization target in second place.
func full() *autoscalingv2.HorizontalPodAutoscaler {
	h := hpa()
	h.Annotations = map[string]string{"team": "a"}
	h.Spec.Metrics = []autoscalingv2.MetricSpec{
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("500Mi"))},
		}},
		cpuUtilization(60),
		{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "queue", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"q": "jobs"}}},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("30"))},
		}},
		{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "main"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "requests-per-second"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptr.To(resource.MustParse("2k"))},
		}},
		{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "packets"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("1k"))},
		}},
		{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
			Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)},
		}},
	}
	h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To[int32](300),
			SelectPolicy:               ptr.To(autoscalingv2.MinChangePolicySelect),
			Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 60}},
			Tolerance:                  ptr.To(resource.MustParse("50m")),
		},
	}
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		ObservedGeneration: ptr.To[int64](3),
		LastScaleTime:      ptr.To(metav1.NewTime(now.Add(-time.Minute))),
		CurrentReplicas:    3,
		DesiredReplicas:    4,
		CurrentMetrics: []autoscalingv2.MetricStatus{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: corev1.ResourceMemory, Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("400Mi"))},
			}},
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
				Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("120m")), AverageUtilization: ptr.To[int32](45)},
			}},
		},
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{
			Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-time.Hour)),
			Reason: "ReadyForNewScale", Message: "recommended size matches current size", ObservedGeneration: ptr.To[int64](3),
		}},
	}
	return h
}

// The round-trip annotations of full(), as upstream writes them. The behavior is in
// upstream's internal form: Go field names, unset fields as null.
var fullAnnotations = map[string]string{
	"team": "a",
	metricsAnnotation: `[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"500Mi"}},` +
		`{"type":"External","external":{"metricName":"queue","metricSelector":{"matchLabels":{"q":"jobs"}},"targetAverageValue":"30"}},` +
		`{"type":"Object","object":{"target":{"kind":"Ingress","name":"main","apiVersion":"networking.k8s.io/v1"},"metricName":"requests-per-second","targetValue":"2k"}},` +
		`{"type":"Pods","pods":{"metricName":"packets","targetAverageValue":"1k"}},` +
		`{"type":"ContainerResource","containerResource":{"name":"cpu","targetAverageUtilization":70,"container":"app"}}]`,
	currentMetricsAnnotation: `[{"type":"Resource","resource":{"name":"memory","currentAverageValue":"400Mi"}},` +
		`{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":45,"currentAverageValue":"120m"}}]`,
	behaviorAnnotation: `{"ScaleUp":null,"ScaleDown":{"StabilizationWindowSeconds":300,"SelectPolicy":"Min",` +
		`"Policies":[{"Type":"Percent","Value":10,"PeriodSeconds":60}],"Tolerance":"50m"}}`,
	conditionsAnnotation: `[{"type":"AbleToScale","status":"True","lastTransitionTime":"2025-06-01T11:00:00Z",` +
		`"reason":"ReadyForNewScale","message":"recommended size matches current size","observedGeneration":3}]`,
}

func TestToV1(t *testing.T) {
	in := full()
	got, err := toV1(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &autoscalingv1.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: in.CreationTimestamp, Annotations: fullAnnotations},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef:                 autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:                    ptr.To[int32](2),
			MaxReplicas:                    10,
			TargetCPUUtilizationPercentage: ptr.To[int32](60),
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{
			ObservedGeneration:              ptr.To[int64](3),
			LastScaleTime:                   in.Status.LastScaleTime,
			CurrentReplicas:                 3,
			DesiredReplicas:                 4,
			CurrentCPUUtilizationPercentage: ptr.To[int32](45),
		},
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("toV1:\n got %+v\nwant %+v", got, want)
		for k, v := range got.Annotations {
			if v != want.Annotations[k] {
				t.Errorf("annotation %s:\n got %s\nwant %s", k, v, want.Annotations[k])
			}
		}
	}
	if !equality.Semantic.DeepEqual(in, full()) {
		t.Error("toV1 changed its input")
	}
	got.Spec.ScaleTargetRef.Name = "changed"
	if in.Spec.ScaleTargetRef.Name != "web" {
		t.Error("the autoscaling/v1 form shares memory with the input")
	}
}

// TestRoundTrip: what autoscaling/v2 writes reads back the same through autoscaling/v1,
// except that the CPU utilization target comes last.
func TestRoundTrip(t *testing.T) {
	in := full()
	v1, err := toV1(in)
	if err != nil {
		t.Fatal(err)
	}
	got := toV2(v1)
	want := full()
	want.TypeMeta = metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"}
	cpu := want.Spec.Metrics[1]
	want.Spec.Metrics = append(append(want.Spec.Metrics[:1:1], want.Spec.Metrics[2:]...), cpu)
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	again, err := toV1(got)
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(again, v1) {
		t.Errorf("second round trip:\n got %+v\nwant %+v", again, v1)
	}
}

// TestToV2 covers autoscaling/v1 objects as clients write them.
func TestToV2(t *testing.T) {
	base := func() *autoscalingv1.HorizontalPodAutoscaler {
		return &autoscalingv1.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MaxReplicas:    5,
			},
		}
	}
	tests := []struct {
		name        string
		in          func() *autoscalingv1.HorizontalPodAutoscaler
		annotations map[string]string
		want        func(*autoscalingv2.HorizontalPodAutoscaler)
	}{
		{
			name: "no metric",
			in:   base,
			want: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(80)}
			},
		},
		{
			name: "CPU target and current",
			in: func() *autoscalingv1.HorizontalPodAutoscaler {
				h := base()
				h.Spec.TargetCPUUtilizationPercentage = ptr.To[int32](50)
				h.Status.CurrentCPUUtilizationPercentage = ptr.To[int32](20)
				return h
			},
			want: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(50)}
				h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](20)},
				}}}
			},
		},
		{
			name: "metrics annotation only",
			in: func() *autoscalingv1.HorizontalPodAutoscaler {
				h := base()
				h.Annotations = map[string]string{metricsAnnotation: `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]`, "keep": "me"}
				return h
			},
			want: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Annotations = map[string]string{"keep": "me"}
				h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("10"))},
				}}}
			},
		},
		{
			name: "object metric with an average value and a zero value",
			in: func() *autoscalingv1.HorizontalPodAutoscaler {
				h := base()
				h.Annotations = map[string]string{metricsAnnotation: `[{"type":"Object","object":{"target":{"kind":"Service","name":"db"},"metricName":"lag","targetValue":"0","averageValue":"5"}}]`}
				return h
			},
			want: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Service", Name: "db"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "lag"},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("5"))},
				}}}
			},
		},
		{
			name: "behavior in either key case, status annotations",
			in: func() *autoscalingv1.HorizontalPodAutoscaler {
				h := base()
				h.Spec.TargetCPUUtilizationPercentage = ptr.To[int32](50)
				h.Status.CurrentCPUUtilizationPercentage = ptr.To[int32](20)
				h.Annotations = map[string]string{
					behaviorAnnotation:       `{"scaleUp":{"selectPolicy":"Disabled"}}`,
					currentMetricsAnnotation: `[{"type":"External","external":{"metricName":"queue","currentValue":"7"}}]`,
					conditionsAnnotation:     `[{"type":"ScalingActive","status":"False","reason":"FailedGetExternalMetric"}]`,
				}
				return h
			},
			want: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(50)}
				h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect)}}
				h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
					Metric:  autoscalingv2.MetricIdentifier{Name: "queue"},
					Current: autoscalingv2.MetricValueStatus{Value: ptr.To(resource.MustParse("7"))},
				}}}
				h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetExternalMetric"}}
			},
		},
		{
			name: "annotations that do not parse, an empty behavior",
			in: func() *autoscalingv1.HorizontalPodAutoscaler {
				h := base()
				h.Annotations = map[string]string{metricsAnnotation: "[{", conditionsAnnotation: "nope", behaviorAnnotation: "{}", scaleUpToleranceAnnotation: "1"}
				return h
			},
			want: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{cpuUtilization(80)}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in()
			got := toV2(in)
			want := &autoscalingv2.HorizontalPodAutoscaler{
				TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
					MaxReplicas:    5,
				},
			}
			tt.want(want)
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("toV2:\n got %+v\nwant %+v", got, want)
			}
			if !reflect.DeepEqual(in, tt.in()) {
				t.Error("toV2 changed its input")
			}
		})
	}
}

// TestToV1ReplacesAnnotations: round-trip annotations an autoscaling/v2 object carries
// are never shown; the ones shown describe the object.
func TestToV1ReplacesAnnotations(t *testing.T) {
	h := hpa()
	h.Annotations = map[string]string{metricsAnnotation: "stale", conditionsAnnotation: "stale", scaleDownToleranceAnnotation: "1"}
	got, err := toV1(h)
	if err != nil {
		t.Fatal(err)
	}
	if got.Annotations != nil {
		t.Errorf("annotations %v, want none", got.Annotations)
	}
	h.Status.Conditions = []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionFalse}}
	got, _ = toV1(h)
	want := map[string]string{conditionsAnnotation: `[{"type":"ScalingLimited","status":"False","lastTransitionTime":null}]`}
	if !reflect.DeepEqual(got.Annotations, want) {
		t.Errorf("annotations %v, want %v", got.Annotations, want)
	}
	if h.Annotations[metricsAnnotation] != "stale" {
		t.Error("toV1 changed its input's annotations")
	}
}

func TestConverter(t *testing.T) {
	c := NewV1().(registry.Converter)
	if _, ok := c.NewStorage().(*autoscalingv2.HorizontalPodAutoscaler); !ok {
		t.Errorf("NewStorage = %T", c.NewStorage())
	}
	stored, err := c.ToStorage(mustV1(t, full()))
	if err != nil {
		t.Fatal(err)
	}
	if got := stored.(*autoscalingv2.HorizontalPodAutoscaler); len(got.Spec.Metrics) != 6 || got.Annotations["team"] != "a" || len(got.Annotations) != 1 {
		t.Errorf("stored %+v", got)
	}
	served, err := c.FromStorage(full())
	if err != nil {
		t.Fatal(err)
	}
	if got := served.(*autoscalingv1.HorizontalPodAutoscaler); !reflect.DeepEqual(got.Annotations, fullAnnotations) {
		t.Errorf("served annotations %v", got.Annotations)
	}
	if _, err := c.ToStorage(full()); err == nil {
		t.Error("ToStorage accepted an autoscaling/v2 object")
	}
	if _, err := c.FromStorage(&autoscalingv1.HorizontalPodAutoscaler{}); err == nil {
		t.Error("FromStorage accepted an autoscaling/v1 object")
	}
}

func mustV1(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler) *autoscalingv1.HorizontalPodAutoscaler {
	t.Helper()
	v1, err := toV1(h)
	if err != nil {
		t.Fatal(err)
	}
	return v1
}
