package horizontalpodautoscaler

import (
	"reflect"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestValidate(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	setMetric := func(m autoscalingv2.MetricSpec) func(*autoscalingv2.HorizontalPodAutoscaler) {
		return func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics = []autoscalingv2.MetricSpec{m} }
	}
	tests := []struct {
		name   string
		modify func(*autoscalingv2.HorizontalPodAutoscaler)
		want   []string
	}{
		{name: "valid", modify: func(*autoscalingv2.HorizontalPodAutoscaler) {}, want: []string{}},
		{
			name: "no target",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1"}
			},
			want: []string{"spec.scaleTargetRef.kind: Required value", "spec.scaleTargetRef.name: Required value"},
		},
		{
			name: "target names that are no path segments",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "..", Name: "a/b"}
			},
			want: []string{
				`spec.scaleTargetRef.kind: Invalid value: "..": may not be '..'`,
				`spec.scaleTargetRef.name: Invalid value: "a/b": may not contain '/'`,
			},
		},
		{
			name:   "target in the core group",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.APIVersion = "v1" },
			want:   []string{`spec.scaleTargetRef.apiVersion: Invalid value: "v1": apiVersion must specify API group`},
		},
		{
			name: "ReplicationController in the core group",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "ReplicationController", Name: "web"}
			},
			want: []string{},
		},
		{
			name:   "malformed apiVersion",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.APIVersion = "apps/v1/x" },
			want:   []string{`spec.scaleTargetRef.apiVersion: Invalid value: "apps/v1/x": unexpected GroupVersion string: apps/v1/x`},
		},
		{
			name: "no maxReplicas, after the handwritten errors",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.MaxReplicas = 0
				h.Spec.ScaleTargetRef.Name = ""
			},
			want: []string{
				"spec.maxReplicas: Invalid value: 0: must be greater than or equal to `minReplicas`",
				"spec.scaleTargetRef.name: Required value",
				"spec.maxReplicas: Required value",
			},
		},
		{
			name: "maxReplicas under minReplicas",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.MinReplicas, h.Spec.MaxReplicas = ptr.To[int32](5), 3
			},
			want: []string{"spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"},
		},
		{
			name: "negative replicas",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.MinReplicas, h.Spec.MaxReplicas = ptr.To[int32](-1), -2
			},
			want: []string{
				"spec.maxReplicas: Invalid value: -2: must be greater than or equal to `minReplicas`",
				"spec.minReplicas: Invalid value: -1: must be greater than or equal to 0",
				"spec.maxReplicas: Invalid value: -2: must be greater than or equal to 1",
			},
		},
		{
			name:   "scale to zero on CPU",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas = ptr.To[int32](0) },
			want:   []string{"spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas"},
		},
		{
			name: "scale to zero on a queue",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.MinReplicas = ptr.To[int32](0)
				h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("30")},
				}})
			},
			want: []string{},
		},
		{
			name:   "metric without a type or a source",
			modify: setMetric(autoscalingv2.MetricSpec{}),
			want: []string{
				"spec.metrics[0].type: Required value: must specify a metric source type",
				`spec.metrics[0].type: Unsupported value: "": supported values: "ContainerResource", "External", "Object", "Pods", "Resource"`,
			},
		},
		{
			name:   "source missing",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType}),
			want:   []string{"spec.metrics[0].pods: Required value: must populate information for the given metric source"},
		},
		{
			name: "two sources, the first checked",
			modify: setMetric(autoscalingv2.MetricSpec{
				Type:     autoscalingv2.ResourceMetricSourceType,
				Resource: cpuUtilization(50).Resource,
				Pods:     &autoscalingv2.PodsMetricSource{Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1")}},
			}),
			want: []string{
				"spec.metrics[0].pods.metric.name: Required value: must specify a metric name",
				"spec.metrics[0].pods: Forbidden: must populate the given metric source only",
			},
		},
		{
			name: "resource targets",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Target: autoscalingv2.MetricTarget{Type: "Bogus", AverageUtilization: ptr.To[int32](0), AverageValue: q("-1")},
			}}),
			want: []string{
				"spec.metrics[0].resource.name: Required value: must specify a resource name",
				`spec.metrics[0].resource.target.type: Invalid value: "Bogus": must be either Utilization, Value, or AverageValue`,
				`spec.metrics[0].resource.target.averageValue: Invalid value: "-1": must be positive`,
				"spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
				"spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization",
			},
		},
		{
			name: "resource target missing",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU,
			}}),
			want: []string{
				"spec.metrics[0].resource.target.type: Required value: must specify a metric target type",
				`spec.metrics[0].resource.target.type: Invalid value: "": must be either Utilization, Value, or AverageValue`,
				"spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization",
			},
		},
		{
			name: "container resource",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name: "disk", Container: "App_1", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)},
			}}),
			want: []string{
				`spec.metrics[0].containerResource.name: Invalid value: "disk": must be a standard resource type or fully qualified`,
				`spec.metrics[0].containerResource.name: Invalid value: "disk": must be a standard resource for containers`,
				`spec.metrics[0].containerResource.container: Invalid value: "App_1": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			},
		},
		{
			name: "container resource missing names",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1")},
			}}),
			want: []string{
				"spec.metrics[0].containerResource.name: Required value: must specify a resource name",
				"spec.metrics[0].containerResource.container: Required value: must specify a container",
			},
		},
		{
			name: "external targets",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "a/b"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("0"), AverageValue: q("1")},
			}}),
			want: []string{
				`spec.metrics[0].external.metric.name: Invalid value: "a/b": may not contain '/'`,
				`spec.metrics[0].external.target.value: Invalid value: "0": must be positive`,
				"spec.metrics[0].external.target.value: Forbidden: may not set both a target value for metric and a per-pod target",
			},
		},
		{
			name: "external target missing",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "queue"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType},
			}}),
			want: []string{"spec.metrics[0].external.target.averageValue: Required value: must set either a target value for metric or a per-pod target"},
		},
		{
			name: "object",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
				DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service"},
				Metric:          autoscalingv2.MetricIdentifier{Name: "rps"},
				Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType},
			}}),
			want: []string{
				"spec.metrics[0].object.describedObject.name: Required value",
				"spec.metrics[0].object.target.averageValue: Required value: must set either a target value or averageValue",
			},
		},
		{
			name: "pods",
			modify: setMetric(autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "qps"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("1")},
			}}),
			want: []string{"spec.metrics[0].pods.target.averageValue: Required value: must specify a positive target averageValue"},
		},
		{
			name: "behavior",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
					ScaleUp: &autoscalingv2.HPAScalingRules{
						StabilizationWindowSeconds: ptr.To[int32](-1),
						SelectPolicy:               ptr.To[autoscalingv2.ScalingPolicySelect]("Sometimes"),
						Policies:                   []autoscalingv2.HPAScalingPolicy{},
					},
					ScaleDown: &autoscalingv2.HPAScalingRules{
						StabilizationWindowSeconds: ptr.To[int32](3601),
						Policies: []autoscalingv2.HPAScalingPolicy{
							{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60},
							{Type: "Nodes", Value: 0, PeriodSeconds: 1801},
							{Type: autoscalingv2.PercentScalingPolicy, Value: 10, PeriodSeconds: 0},
						},
						Tolerance: q("-100m"),
					},
				}
			},
			want: []string{
				"spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero",
				`spec.behavior.scaleUp.selectPolicy: Unsupported value: "Sometimes": supported values: "Disabled", "Max", "Min"`,
				"spec.behavior.scaleUp.policies: Required value: must specify at least one Policy",
				"spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600",
				`spec.behavior.scaleDown.policies[1].type: Unsupported value: "Nodes": supported values: "Percent", "Pods"`,
				"spec.behavior.scaleDown.policies[1].value: Invalid value: 0: must be greater than zero",
				"spec.behavior.scaleDown.policies[1].periodSeconds: Invalid value: 1801: must be less than or equal to 1800",
				"spec.behavior.scaleDown.policies[2].periodSeconds: Invalid value: 0: must be greater than zero",
				`spec.behavior.scaleDown.tolerance: Invalid value: "-100m": must be greater than or equal to 0`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hpa()
			tt.modify(h)
			if got := summary(NewV2().Validate(h)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestValidateV1 checks the autoscaling/v2 form of an autoscaling/v1 write, with its
// field paths.
func TestValidateV1(t *testing.T) {
	h := &autoscalingv1.HorizontalPodAutoscaler{
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef:                 autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:                    3,
			TargetCPUUtilizationPercentage: ptr.To[int32](0),
		},
	}
	h.Annotations = map[string]string{behaviorAnnotation: `{"ScaleUp":{"Policies":[{"Type":"Pods","Value":0,"PeriodSeconds":15}]}}`}
	s := NewV1()
	s.Default(h)
	want := []string{
		"spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
		"spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
	}
	if got := summary(s.Validate(h)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors\n%q\nwant\n%q", got, want)
	}
}

// TestValidateUpdate: what a stored object already has is let through where upstream
// lets it through.
func TestValidateUpdate(t *testing.T) {
	objectMetric := func(apiVersion string) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: apiVersion, Kind: "Service", Name: "db"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "lag"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: ptr.To(resource.MustParse("1"))},
		}}
	}
	tests := []struct {
		name      string
		old, h    func(*autoscalingv2.HorizontalPodAutoscaler)
		want      []string
		wantNewly []string // the errors of h as a new object
	}{
		{
			name: "target apiVersion kept",
			old:  func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.APIVersion = "v1" },
			h: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.ScaleTargetRef.APIVersion = "v1"
				h.Spec.MaxReplicas = 4
			},
			want:      []string{},
			wantNewly: []string{`spec.scaleTargetRef.apiVersion: Invalid value: "v1": apiVersion must specify API group`},
		},
		{
			name: "target kind changed",
			old:  func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.APIVersion = "v1" },
			h: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.ScaleTargetRef.APIVersion, h.Spec.ScaleTargetRef.Kind = "v1", "StatefulSet"
			},
			want:      []string{`spec.scaleTargetRef.apiVersion: Invalid value: "v1": apiVersion must specify API group`},
			wantNewly: []string{`spec.scaleTargetRef.apiVersion: Invalid value: "v1": apiVersion must specify API group`},
		},
		{
			name: "described objects already invalid",
			old: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{objectMetric("a/b/c")}
			},
			h: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics = []autoscalingv2.MetricSpec{objectMetric("x/y/z")}
			},
			want:      []string{},
			wantNewly: []string{`spec.metrics[0].object.describedObject.apiVersion: Invalid value: "x/y/z": unexpected GroupVersion string: x/y/z`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, h := hpa(), hpa()
			tt.old(old)
			tt.h(h)
			if got := summary(NewV2().ValidateUpdate(h, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("update errors\n%q\nwant\n%q", got, tt.want)
			}
			if got := summary(NewV2().Validate(h)); !reflect.DeepEqual(got, tt.wantNewly) {
				t.Errorf("create errors\n%q\nwant\n%q", got, tt.wantNewly)
			}
		})
	}
}
