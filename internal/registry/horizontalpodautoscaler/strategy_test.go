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
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// hpa returns a valid autoscaling/v2 autoscaler of Deployment "web" on CPU.
func hpa() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    10,
			Metrics:        []autoscalingv2.MetricSpec{cpuUtilization(50)},
		},
	}
}

// summary renders each error as its message.
func summary(errs field.ErrorList) []string {
	out := []string{}
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestInfo(t *testing.T) {
	v2 := registry.Info{
		Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler", ListKind: "HorizontalPodAutoscalerList",
		Resource: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler", ShortNames: []string{"hpa"},
		Categories: []string{"all"}, Namespaced: true, Subresources: []string{"status"},
	}
	v1 := v2
	v1.Version, v1.StorageResource, v1.StorageVersion = "v1", "horizontalpodautoscalers", "v2"
	tests := []struct {
		name     string
		strategy registry.Strategy
		want     registry.Info
		obj      runtime.Object
	}{
		{name: "v2", strategy: NewV2(), want: v2, obj: &autoscalingv2.HorizontalPodAutoscaler{}},
		{name: "v1", strategy: NewV1(), want: v1, obj: &autoscalingv1.HorizontalPodAutoscaler{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.strategy
			if got := s.Info(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Info = %+v\nwant %+v", got, tt.want)
			}
			if reflect.TypeOf(s.New()) != reflect.TypeOf(tt.obj) {
				t.Errorf("New = %T", s.New())
			}
			if _, ok := s.(registry.StatusMetadataWriter); !ok {
				t.Error("status writes may not change the metadata")
			}
			if msgs := s.ValidateName("Web_1", false); len(msgs) == 0 {
				t.Error("ValidateName accepted a name that is no DNS subdomain")
			}
			want := fields.Set{"metadata.name": "web", "metadata.namespace": "default"}
			obj := tt.obj.DeepCopyObject()
			obj.(metav1.Object).SetName("web")
			obj.(metav1.Object).SetNamespace("default")
			if got := s.Fields(obj); !reflect.DeepEqual(got, want) {
				t.Errorf("Fields = %v, want %v", got, want)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		spec autoscalingv2.HorizontalPodAutoscalerSpec
		want autoscalingv2.HorizontalPodAutoscalerSpec
	}{
		{
			name: "empty",
			want: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](1), Metrics: []autoscalingv2.MetricSpec{cpuUtilization(80)}},
		},
		{
			name: "set",
			spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](3), Metrics: []autoscalingv2.MetricSpec{cpuUtilization(40)}},
			want: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](3), Metrics: []autoscalingv2.MetricSpec{cpuUtilization(40)}},
		},
		{
			name: "empty behavior",
			spec: autoscalingv2.HorizontalPodAutoscalerSpec{Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}},
			want: autoscalingv2.HorizontalPodAutoscalerSpec{
				MinReplicas: ptr.To[int32](1),
				Metrics:     []autoscalingv2.MetricSpec{cpuUtilization(80)},
				Behavior:    &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: scaleUpRules(), ScaleDown: scaleDownRules()},
			},
		},
		{
			name: "part of a behavior",
			spec: autoscalingv2.HorizontalPodAutoscalerSpec{Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](60), Tolerance: ptr.To(resource.MustParse("20m"))},
				ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect), Policies: []autoscalingv2.HPAScalingPolicy{}},
			}},
			want: autoscalingv2.HorizontalPodAutoscalerSpec{
				MinReplicas: ptr.To[int32](1),
				Metrics:     []autoscalingv2.MetricSpec{cpuUtilization(80)},
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
					ScaleUp: &autoscalingv2.HPAScalingRules{
						StabilizationWindowSeconds: ptr.To[int32](60),
						SelectPolicy:               ptr.To(autoscalingv2.MaxChangePolicySelect),
						Policies: []autoscalingv2.HPAScalingPolicy{
							{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
							{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
						},
						Tolerance: ptr.To(resource.MustParse("20m")),
					},
					// An explicit empty list of policies stays, for validation to refuse.
					ScaleDown: &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect), Policies: []autoscalingv2.HPAScalingPolicy{}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &autoscalingv2.HorizontalPodAutoscaler{Spec: tt.spec}
			NewV2().Default(h)
			if !equality.Semantic.DeepEqual(h.Spec, tt.want) {
				t.Errorf("spec\n%+v\nwant\n%+v", h.Spec, tt.want)
			}
			again := h.DeepCopy()
			NewV2().Default(again)
			if !equality.Semantic.DeepEqual(again, h) {
				t.Error("Default is not idempotent")
			}
		})
	}
}

func TestDefaultScaleDownWindowUnset(t *testing.T) {
	if w := scaleDownRules().StabilizationWindowSeconds; w != nil {
		t.Errorf("scale-down stabilization window defaults to %d; the controller's setting must apply", *w)
	}
}

// TestDefaultDropsRoundTripAnnotations: an autoscaling/v2 write never stores them.
func TestDefaultDropsRoundTripAnnotations(t *testing.T) {
	h := hpa()
	h.Annotations = map[string]string{metricsAnnotation: "[]", behaviorAnnotation: "{}", "team": "a"}
	NewV2().Default(h)
	if want := map[string]string{"team": "a"}; !reflect.DeepEqual(h.Annotations, want) {
		t.Errorf("annotations %v, want %v", h.Annotations, want)
	}
}

// TestV1Default: an empty autoscaling/v1 spec gets one minimum replica and an 80% CPU
// target; a behavior given in its annotation is completed there.
func TestV1Default(t *testing.T) {
	h := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{behaviorAnnotation: `{"ScaleDown":{"StabilizationWindowSeconds":60}}`}},
	}
	NewV1().Default(h)
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 1 || h.Spec.TargetCPUUtilizationPercentage == nil || *h.Spec.TargetCPUUtilizationPercentage != 80 {
		t.Errorf("spec %+v", h.Spec)
	}
	want := `{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15},` +
		`{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null},` +
		`"ScaleDown":{"StabilizationWindowSeconds":60,"SelectPolicy":"Max","Policies":[{"Type":"Percent","Value":100,"PeriodSeconds":15}],"Tolerance":null}}`
	if got := h.Annotations[behaviorAnnotation]; got != want {
		t.Errorf("behavior annotation\n%s\nwant\n%s", got, want)
	}
	if len(h.Annotations) != 1 {
		t.Errorf("annotations %v", h.Annotations)
	}
}

func TestPrepareForCreate(t *testing.T) {
	h := full()
	h.Generation = 7
	NewV2().PrepareForCreate(h)
	if h.Generation != 1 || !equality.Semantic.DeepEqual(h.Status, autoscalingv2.HorizontalPodAutoscalerStatus{}) {
		t.Errorf("generation %d, status %+v", h.Generation, h.Status)
	}

	v1 := mustV1(t, full())
	NewV1().PrepareForCreate(v1)
	if v1.Generation != 1 || v1.Status.CurrentReplicas != 0 || v1.Status.CurrentCPUUtilizationPercentage != nil {
		t.Errorf("generation %d, status %+v", v1.Generation, v1.Status)
	}
	// The status annotations go with the status; the spec ones stay.
	_, conditions := v1.Annotations[conditionsAnnotation]
	_, current := v1.Annotations[currentMetricsAnnotation]
	if conditions || current || v1.Annotations[metricsAnnotation] != fullAnnotations[metricsAnnotation] {
		t.Errorf("annotations %v", v1.Annotations)
	}
}

// TestUpdate: the status and generation are the server's; the generation moves with
// the spec, compared once defaulted. The same holds through autoscaling/v1, where the
// spec is partly in annotations.
func TestUpdate(t *testing.T) {
	tests := []struct {
		name           string
		modify         func(*autoscalingv2.HorizontalPodAutoscaler)
		wantGeneration int64
	}{
		{name: "unchanged", modify: func(*autoscalingv2.HorizontalPodAutoscaler) {}, wantGeneration: 2},
		{name: "labels", modify: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Labels = map[string]string{"a": "b"} }, wantGeneration: 2},
		{
			name: "defaults left out",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Behavior.ScaleUp = nil
			},
			wantGeneration: 2,
		},
		{name: "max replicas", modify: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 20 }, wantGeneration: 3},
		{
			name: "a metric the v1 form keeps in an annotation",
			modify: func(h *autoscalingv2.HorizontalPodAutoscaler) {
				h.Spec.Metrics[0].Resource.Target.AverageValue = ptr.To(resource.MustParse("1Gi"))
			},
			wantGeneration: 3,
		},
	}
	stored := func() *autoscalingv2.HorizontalPodAutoscaler {
		h := full()
		h.Spec.Behavior.ScaleUp = scaleUpRules()
		// Stored as an autoscaling/v1 write would leave it, CPU last.
		v1, _ := toV1(h)
		h = toV2(v1)
		h.Generation = 2
		return h
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := stored()
			h := old.DeepCopy()
			h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 99}
			tt.modify(h)

			s := NewV2()
			v2 := h.DeepCopy()
			s.PrepareForUpdate(v2, old)
			s.Default(v2)
			if v2.Generation != tt.wantGeneration || !equality.Semantic.DeepEqual(v2.Status, old.Status) {
				t.Errorf("v2: generation %d, want %d; status %+v", v2.Generation, tt.wantGeneration, v2.Status)
			}
			if errs := s.ValidateUpdate(v2, old); len(errs) != 0 {
				t.Errorf("v2: %v", errs)
			}

			s = NewV1()
			v1, oldV1 := mustV1(t, h), mustV1(t, old)
			// A client of autoscaling/v1 sends the status annotations it read, or none.
			delete(v1.Annotations, conditionsAnnotation)
			s.PrepareForUpdate(v1, oldV1)
			s.Default(v1)
			if v1.Generation != tt.wantGeneration || !equality.Semantic.DeepEqual(v1.Status, oldV1.Status) ||
				v1.Annotations[conditionsAnnotation] != oldV1.Annotations[conditionsAnnotation] {
				t.Errorf("v1: generation %d, want %d; status %+v; annotations %v", v1.Generation, tt.wantGeneration, v1.Status, v1.Annotations)
			}
			if errs := s.ValidateUpdate(v1, oldV1); len(errs) != 0 {
				t.Errorf("v1: %v", errs)
			}
			if got, want := toV2(v1), toV2(mustV1(t, v2)); !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("v1 stores\n%+v\nv2 stores\n%+v", got, want)
			}
		})
	}
}

// TestStatusUpdate: a status write keeps the stored spec. Through autoscaling/v1 the
// conditions and current metrics come from the annotations.
func TestStatusUpdate(t *testing.T) {
	old := full()
	NewV2().Default(old)
	status := autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: 5, DesiredReplicas: 6,
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionTrue, Reason: "TooManyReplicas"}},
	}

	h := old.DeepCopy()
	h.Spec.MaxReplicas = 50
	h.Spec.Behavior = nil
	h.Status = status
	s := NewV2()
	s.PrepareForStatusUpdate(h, old)
	s.Default(h)
	if !equality.Semantic.DeepEqual(h.Spec, old.Spec) || !equality.Semantic.DeepEqual(h.Status, status) {
		t.Errorf("v2: spec %+v, status %+v", h.Spec, h.Status)
	}
	if errs := s.ValidateStatusUpdate(h, old); len(errs) != 0 {
		t.Errorf("v2: %v", errs)
	}

	oldV1 := mustV1(t, old)
	v1 := oldV1.DeepCopy()
	v1.Spec.MaxReplicas = 50
	delete(v1.Annotations, metricsAnnotation)
	v1.Status = autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 5, DesiredReplicas: 6}
	v1.Annotations[conditionsAnnotation] = `[{"type":"ScalingLimited","status":"True","reason":"TooManyReplicas"}]`
	delete(v1.Annotations, currentMetricsAnnotation)
	s = NewV1()
	s.PrepareForStatusUpdate(v1, oldV1)
	s.Default(v1)
	got := toV2(v1)
	if !equality.Semantic.DeepEqual(got.Spec, toV2(oldV1).Spec) || !equality.Semantic.DeepEqual(got.Status, status) {
		t.Errorf("v1: spec %+v, status %+v", got.Spec, got.Status)
	}
	if errs := s.ValidateStatusUpdate(v1, oldV1); len(errs) != 0 {
		t.Errorf("v1: %v", errs)
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	old := hpa()
	h := old.DeepCopy()
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: -1, DesiredReplicas: -2,
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, ObservedGeneration: ptr.To[int64](1)},
			{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, ObservedGeneration: ptr.To[int64](-1)},
		},
	}
	want := []string{
		"status.conditions[1].observedGeneration: Invalid value: -1: must be greater than or equal to 0",
		"status.currentReplicas: Invalid value: -1: must be greater than or equal to 0",
		"status.desiredReplicas: Invalid value: -2: must be greater than or equal to 0",
	}
	if got := summary(NewV2().ValidateStatusUpdate(h, old)); !reflect.DeepEqual(got, want) {
		t.Errorf("v2 errors\n%q\nwant\n%q", got, want)
	}
	if got := summary(NewV1().ValidateStatusUpdate(mustV1(t, h), mustV1(t, old))); !reflect.DeepEqual(got, want) {
		t.Errorf("v1 errors\n%q\nwant\n%q", got, want)
	}
}

// TestLifecycle drives both strategies as the API server does: a create through
// autoscaling/v1 read through autoscaling/v2, a status write through autoscaling/v2
// read through autoscaling/v1.
func TestLifecycle(t *testing.T) {
	v1s, v2s := NewV1(), NewV2()
	conv := v1s.(registry.Converter)
	in := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Annotations: map[string]string{
			metricsAnnotation: `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]`,
		}},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    4,
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{CurrentReplicas: 3},
	}
	v1s.PrepareForCreate(in)
	v1s.Default(in)
	if errs := v1s.Validate(in); len(errs) != 0 {
		t.Fatal(errs)
	}
	obj, err := conv.ToStorage(in)
	if err != nil {
		t.Fatal(err)
	}
	stored := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if stored.Generation != 1 || *stored.Spec.MinReplicas != 1 || len(stored.Spec.Metrics) != 1 ||
		stored.Spec.Metrics[0].Type != autoscalingv2.PodsMetricSourceType || stored.Annotations != nil || stored.Status.CurrentReplicas != 0 {
		t.Fatalf("stored %+v", stored)
	}

	h := stored.DeepCopy()
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{
		CurrentReplicas: 2, DesiredReplicas: 2,
		CurrentMetrics: []autoscalingv2.MetricStatus{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
			Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Current: autoscalingv2.MetricValueStatus{AverageValue: ptr.To(resource.MustParse("4"))},
		}}},
	}
	v2s.PrepareForStatusUpdate(h, stored)
	v2s.Default(h)
	if errs := v2s.ValidateStatusUpdate(h, stored); len(errs) != 0 {
		t.Fatal(errs)
	}
	obj, err = conv.FromStorage(h)
	if err != nil {
		t.Fatal(err)
	}
	served := obj.(*autoscalingv1.HorizontalPodAutoscaler)
	want := map[string]string{
		metricsAnnotation:        `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]`,
		currentMetricsAnnotation: `[{"type":"Pods","pods":{"metricName":"qps","currentAverageValue":"4"}}]`,
	}
	if !reflect.DeepEqual(served.Annotations, want) || served.Spec.TargetCPUUtilizationPercentage != nil || served.Status.CurrentReplicas != 2 {
		t.Errorf("served %+v", served)
	}
	wantRow := []interface{}{"web", "Deployment/web", "4/10", "1", int64(4), int64(2), "<unknown>"}
	if got := v1s.Row(served, now); !reflect.DeepEqual(got, wantRow) {
		t.Errorf("row %#v, want %#v", got, wantRow)
	}
}

func TestTable(t *testing.T) {
	var names []string
	for _, c := range NewV2().Columns() {
		names = append(names, c.Name)
	}
	wantNames := []string{"Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("columns %q, want %q", names, wantNames)
	}
	if !reflect.DeepEqual(NewV1().Columns(), NewV2().Columns()) {
		t.Error("the versions' columns differ")
	}

	h := hpa()
	h.Status.CurrentReplicas = 3
	want := []interface{}{"web", "Deployment/web", "cpu: <unknown>/50%", "2", int64(10), int64(3), "5m"}
	if got := NewV2().Row(h, now); !reflect.DeepEqual(got, want) {
		t.Errorf("v2 row %#v, want %#v", got, want)
	}
	for _, obj := range []runtime.Object{mustV1(t, h), h} {
		if got := NewV1().Row(obj, now); !reflect.DeepEqual(got, want) {
			t.Errorf("v1 row of %T %#v, want %#v", obj, got, want)
		}
	}
	h.Spec.MinReplicas = nil
	if got := NewV2().Row(h, now)[3]; got != "<unset>" {
		t.Errorf("MinPods %v, want <unset>", got)
	}
}

func TestTargets(t *testing.T) {
	q := func(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }
	resourceMetric := func(name corev1.ResourceName, target autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: name, Target: target}}
	}
	resourceStatus := func(name corev1.ResourceName, current autoscalingv2.MetricValueStatus) autoscalingv2.MetricStatus {
		return autoscalingv2.MetricStatus{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: name, Current: current}}
	}
	external := func(target autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: target}}
	}
	externalStatus := func(current autoscalingv2.MetricValueStatus) autoscalingv2.MetricStatus {
		return autoscalingv2.MetricStatus{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{Current: current}}
	}
	tests := []struct {
		name     string
		specs    []autoscalingv2.MetricSpec
		statuses []autoscalingv2.MetricStatus
		want     string
	}{
		{name: "none", want: "<none>"},
		{name: "cpu unknown", specs: []autoscalingv2.MetricSpec{cpuUtilization(80)}, want: "cpu: <unknown>/80%"},
		{
			name:     "cpu",
			specs:    []autoscalingv2.MetricSpec{cpuUtilization(80)},
			statuses: []autoscalingv2.MetricStatus{resourceStatus(corev1.ResourceCPU, autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](50)})},
			want:     "cpu: 50%/80%",
		},
		{
			name:  "utilization with no target",
			specs: []autoscalingv2.MetricSpec{resourceMetric(corev1.ResourceMemory, autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType})},
			want:  "memory: <unknown>/<auto>",
		},
		{
			name:     "average value",
			specs:    []autoscalingv2.MetricSpec{resourceMetric(corev1.ResourceMemory, autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1Gi")})},
			statuses: []autoscalingv2.MetricStatus{resourceStatus(corev1.ResourceMemory, autoscalingv2.MetricValueStatus{AverageValue: q("300Mi")})},
			want:     "memory: 300Mi/1Gi",
		},
		{
			name: "container resource",
			specs: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](60)},
			}}},
			statuses: []autoscalingv2.MetricStatus{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{
				Name: corev1.ResourceCPU, Container: "app", Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](75)},
			}}},
			want: "cpu: 75%/60%",
		},
		{
			name:     "external value, average value unreported",
			specs:    []autoscalingv2.MetricSpec{external(autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("100")}), external(autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("30")})},
			statuses: []autoscalingv2.MetricStatus{externalStatus(autoscalingv2.MetricValueStatus{Value: q("120")}), externalStatus(autoscalingv2.MetricValueStatus{Value: q("7")})},
			want:     "120/100, <unknown>/30 (avg)",
		},
		{
			name: "pods and object",
			specs: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Target: autoscalingv2.MetricTarget{AverageValue: q("1k")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{Target: autoscalingv2.MetricTarget{AverageValue: q("2")}}},
			},
			statuses: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Current: autoscalingv2.MetricValueStatus{AverageValue: q("500")}}},
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricStatus{Current: autoscalingv2.MetricValueStatus{AverageValue: q("1500m")}}},
			},
			want: "500/1k, 1500m/2 (avg)",
		},
		{
			name:  "more than two, an unknown type",
			specs: []autoscalingv2.MetricSpec{cpuUtilization(80), {Type: "Custom"}, cpuUtilization(70), cpuUtilization(60)},
			want:  "cpu: <unknown>/80%, <unknown type> + 2 more...",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatMetrics(tt.specs, tt.statuses); got != tt.want {
				t.Errorf("Targets %q, want %q", got, tt.want)
			}
		})
	}
}
