package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	scalefake "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var start = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeMetrics is a MetricsSource serving the PodMetrics it holds, or err.
type fakeMetrics struct {
	items []metricsv1beta1.PodMetrics
	err   error
	calls int
}

var _ MetricsSource = (*fakeMetrics)(nil)

func (m *fakeMetrics) PodMetrics(_ context.Context, namespace string, selector labels.Selector) ([]metricsv1beta1.PodMetrics, error) {
	m.calls++
	if m.err != nil {
		return nil, m.err
	}
	var out []metricsv1beta1.PodMetrics
	for _, item := range m.items {
		if item.Namespace == namespace && selector.Matches(labels.Set(item.Labels)) {
			out = append(out, item)
		}
	}
	return out, nil
}

// fixture is a controller on a fake API whose informer stores are filled by hand, with
// one scale target, the Deployment ns/web, whose Scale the fixture keeps.
type fixture struct {
	t        *testing.T
	client   *fake.Clientset
	factory  informers.SharedInformerFactory
	c        *Controller
	clock    *clocktesting.FakeClock
	recorder *record.FakeRecorder
	metrics  *fakeMetrics
	scale    autoscalingv1.Scale
	updates  []int32 // the replicas of each scale update
}

func newFixture(t *testing.T, hpa *autoscalingv2.HorizontalPodAutoscaler, replicas int32, pods ...*corev1.Pod) *fixture {
	t.Helper()
	client := fake.NewClientset(hpa)
	factory := informers.NewSharedInformerFactory(client, 0)
	mapper := apimeta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}})
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, apimeta.RESTScopeNamespace)
	scales := &scalefake.FakeScaleClient{}
	f := &fixture{t: t, client: client, factory: factory, clock: clocktesting.NewFakeClock(start),
		recorder: record.NewFakeRecorder(100), metrics: &fakeMetrics{},
		scale: autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
			Spec: autoscalingv1.ScaleSpec{Replicas: replicas}, Status: autoscalingv1.ScaleStatus{Replicas: replicas, Selector: "app=web"}}}
	scales.AddReactor("get", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" || a.(clienttesting.GetAction).GetName() != "web" {
			return true, nil, fmt.Errorf("unexpected %v", a)
		}
		return true, f.scale.DeepCopy(), nil
	})
	scales.AddReactor("update", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		sc := a.(clienttesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		f.updates = append(f.updates, sc.Spec.Replicas)
		f.scale.Spec.Replicas = sc.Spec.Replicas
		return true, sc, nil
	})
	c, err := New(client, scales, mapper, f.metrics, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.clock, c.recorder = f.clock, f.recorder
	f.c = c
	f.storeHPA(hpa)
	c.added(hpa)
	for _, p := range pods {
		if err := factory.Core().V1().Pods().Informer().GetStore().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) storeHPA(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	f.t.Helper()
	if err := f.factory.Autoscaling().V2().HorizontalPodAutoscalers().Informer().GetStore().Update(hpa); err != nil {
		f.t.Fatal(err)
	}
}

// sync syncs ns/web and puts the autoscaler as the API then has it in the informer's
// store, for the next sync to see.
func (f *fixture) sync() *autoscalingv2.HorizontalPodAutoscaler {
	f.t.Helper()
	again, err := f.c.sync(context.Background(), "ns/web")
	if err != nil || again != syncPeriod {
		f.t.Fatalf("sync = %v, %v; want %v, nil", again, err, syncPeriod)
	}
	hpa, err := f.client.AutoscalingV2().HorizontalPodAutoscalers("ns").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.storeHPA(hpa)
	return hpa
}

// step moves the clock on by d and syncs.
func (f *fixture) step(d time.Duration) *autoscalingv2.HorizontalPodAutoscaler {
	f.t.Helper()
	f.clock.Step(d)
	return f.sync()
}

// events returns the events recorded since the last call.
func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// cpu sets each named pod's usage of CPU (in its "app" container), sampled now.
func (f *fixture) cpu(usage map[string]string) {
	f.metrics.items = nil
	for name, q := range usage {
		f.metrics.items = append(f.metrics.items, podMetrics(name, f.clock.Now(), container("app", corev1.ResourceCPU, q)))
	}
}

func container(name string, res corev1.ResourceName, q string) metricsv1beta1.ContainerMetrics {
	return metricsv1beta1.ContainerMetrics{Name: name, Usage: corev1.ResourceList{res: resource.MustParse(q)}}
}

func podMetrics(name string, at time.Time, containers ...metricsv1beta1.ContainerMetrics) metricsv1beta1.PodMetrics {
	return metricsv1beta1.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Timestamp:  metav1.NewTime(at), Window: metav1.Duration{Duration: 30 * time.Second},
		Containers: containers,
	}
}

// pod is a running pod of ns/web, ready for the last hour, whose "app" container
// requests 100m CPU and 100Mi memory.
func pod(name string, mut ...func(*corev1.Pod)) *corev1.Pod {
	long := metav1.NewTime(start.Add(-time.Hour))
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi")}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &long,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: long}}},
	}
	for _, m := range mut {
		m(p)
	}
	return p
}

func pods(n int, mut ...func(*corev1.Pod)) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range n {
		out = append(out, pod(fmt.Sprintf("p%d", i), mut...))
	}
	return out
}

func pending(p *corev1.Pod) {
	p.Status = corev1.PodStatus{Phase: corev1.PodPending}
}

// startedAgo makes the pod start d before the test's start, ready since ready after
// that (not ready at all when ready < 0).
func startedAgo(d, ready time.Duration) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		started := metav1.NewTime(start.Add(-d))
		p.Status.StartTime = &started
		if ready < 0 {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: started}}
			return
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(started.Add(ready))}}
	}
}

// autoscaler is ns/web, scaling the Deployment web between 1 and 10 replicas for 100%
// CPU utilization.
func autoscaler(mut ...func(*autoscalingv2.HorizontalPodAutoscaler)) *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Generation: 1},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{utilization(corev1.ResourceCPU, 100)},
		},
	}
	for _, m := range mut {
		m(h)
	}
	return h
}

func utilization(res corev1.ResourceName, percent int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: res, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &percent}}}
}

func minMax(lo, hi int32) func(*autoscalingv2.HorizontalPodAutoscaler) {
	return func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MinReplicas, h.Spec.MaxReplicas = &lo, hi }
}

func metrics(specs ...autoscalingv2.MetricSpec) func(*autoscalingv2.HorizontalPodAutoscaler) {
	return func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics = specs }
}

// behavior gives the autoscaler a behavior as the API server completes it: upstream's
// default rules, changed by mut, with no scale-down stabilization window unless mut
// sets one.
func behavior(mut func(b *autoscalingv2.HorizontalPodAutoscalerBehavior)) func(*autoscalingv2.HorizontalPodAutoscaler) {
	return func(h *autoscalingv2.HorizontalPodAutoscaler) {
		b := completeBehavior(&autoscalingv2.HorizontalPodAutoscalerBehavior{}, 0)
		if mut != nil {
			mut(b)
		}
		h.Spec.Behavior = b
	}
}

// conditions renders the autoscaler's conditions as "Type=Status Reason: message".
func conditions(hpa *autoscalingv2.HorizontalPodAutoscaler) []string {
	var out []string
	for _, c := range hpa.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
	}
	return out
}

func condition(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) string {
	for _, c := range hpa.Status.Conditions {
		if c.Type == t {
			return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
		}
	}
	return ""
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// TestScaleUpOnHighCPU: two pods at twice their CPU request against a 100% target are
// scaled to four, with upstream's event, conditions and status.
func TestScaleUpOnHighCPU(t *testing.T) {
	f := newFixture(t, autoscaler(), 2, pods(2)...)
	f.cpu(map[string]string{"p0": "200m", "p1": "200m"})
	hpa := f.sync()

	equal(t, "scale updates", f.updates, []int32{4})
	equal(t, "events", f.events(), []string{
		"Normal SuccessfulRescale New size: 4; reason: cpu resource utilization (percentage of request) above target",
	})
	equal(t, "conditions", conditions(hpa), []string{
		"AbleToScale=True SucceededRescale: the HPA controller was able to update the target scale to 4",
		"ScalingActive=True ValidMetricFound: the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
		"ScalingLimited=False DesiredWithinRange: the desired count is within the acceptable range",
		"ScaledToZero=False NotScaledToZero: the HPA controller did not scale the workload to zero",
	})
	s := hpa.Status
	if s.CurrentReplicas != 2 || s.DesiredReplicas != 4 {
		t.Errorf("replicas: current %d desired %d; want 2 and 4", s.CurrentReplicas, s.DesiredReplicas)
	}
	if s.LastScaleTime == nil || !s.LastScaleTime.Time.Equal(start) {
		t.Errorf("lastScaleTime %v, want %v", s.LastScaleTime, start)
	}
	if s.ObservedGeneration == nil || *s.ObservedGeneration != 1 {
		t.Errorf("observedGeneration %v, want 1", s.ObservedGeneration)
	}
	if len(s.CurrentMetrics) != 1 || s.CurrentMetrics[0].Resource == nil {
		t.Fatalf("currentMetrics %+v", s.CurrentMetrics)
	}
	cur := s.CurrentMetrics[0].Resource
	if cur.Name != corev1.ResourceCPU || *cur.Current.AverageUtilization != 200 || cur.Current.AverageValue.String() != "200m" {
		t.Errorf("current cpu metric %+v, want 200%% and 200m", cur.Current)
	}

	// The next sync, with the target at 4 replicas and new pods not yet in, proposes 4
	// again: no change, and no new lastScaleTime.
	hpa = f.step(15 * time.Second)
	equal(t, "scale updates", f.updates, []int32{4})
	if hpa.Status.CurrentReplicas != 4 || hpa.Status.DesiredReplicas != 4 || !hpa.Status.LastScaleTime.Time.Equal(start) {
		t.Errorf("status after the next sync: %+v", hpa.Status)
	}
	if got := condition(hpa, autoscalingv2.AbleToScale); got != "True ReadyForNewScale: recommended size matches current size" {
		t.Errorf("AbleToScale: %s", got)
	}
}

// TestTolerance: a usage ratio within the tolerance (0.1 each way, or the behavior's)
// keeps the replica count.
func TestTolerance(t *testing.T) {
	tolerance := func(down, up string) func(*autoscalingv2.HorizontalPodAutoscaler) {
		return behavior(func(b *autoscalingv2.HorizontalPodAutoscalerBehavior) {
			if down != "" {
				b.ScaleDown.Tolerance = ptr.To(resource.MustParse(down))
			}
			if up != "" {
				b.ScaleUp.Tolerance = ptr.To(resource.MustParse(up))
			}
		})
	}
	tests := []struct {
		name  string
		usage string // of each of 4 pods, of 100m requested
		mut   func(*autoscalingv2.HorizontalPodAutoscaler)
		want  []int32 // scale updates
	}{
		{name: "5% above", usage: "105m"},
		{name: "10% above", usage: "110m"},
		{name: "11% above", usage: "111m", want: []int32{5}},
		{name: "9% below, no scale-down window", usage: "91m", mut: tolerance("", "")},
		{name: "30% below, no scale-down window", usage: "70m", mut: tolerance("", ""), want: []int32{3}},
		{name: "5% above, scale-up tolerance 2%", usage: "105m", mut: tolerance("", "0.02"), want: []int32{5}},
		{name: "40% below, scale-down tolerance 50%", usage: "60m", mut: tolerance("0.5", "")},
		{name: "60% below, scale-down tolerance 50%", usage: "40m", mut: tolerance("0.5", ""), want: []int32{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hpa := autoscaler()
			if tt.mut != nil {
				hpa = autoscaler(tt.mut)
			}
			f := newFixture(t, hpa, 4, pods(4)...)
			f.cpu(map[string]string{"p0": tt.usage, "p1": tt.usage, "p2": tt.usage, "p3": tt.usage})
			got := f.sync()
			equal(t, "scale updates", f.updates, tt.want)
			if tt.want == nil && got.Status.DesiredReplicas != 4 {
				t.Errorf("desiredReplicas %d, want 4", got.Status.DesiredReplicas)
			}
		})
	}
}

// TestScaleDownAfterStabilizationWindow: a lower recommendation is applied only once
// every higher one (the count first seen included) is older than the window: 5
// minutes without a behavior, the behavior's scaleDown window with one.
func TestScaleDownAfterStabilizationWindow(t *testing.T) {
	tests := []struct {
		name    string
		hpa     *autoscalingv2.HorizontalPodAutoscaler
		scaleAt time.Duration
		reason  string
	}{
		{name: "default window", hpa: autoscaler(), scaleAt: 5*time.Minute + 15*time.Second,
			reason: "True ScaleDownStabilized: recent recommendations were higher than current one, applying the highest recent recommendation"},
		{name: "behavior window 60s", hpa: autoscaler(behavior(func(b *autoscalingv2.HorizontalPodAutoscalerBehavior) {
			b.ScaleDown.StabilizationWindowSeconds = ptr.To[int32](60)
		})), scaleAt: time.Minute,
			reason: "True ScaleDownStabilized: recent recommendations were higher than current one, applying the highest recent recommendation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.hpa, 4, pods(4)...)
			f.cpu(map[string]string{"p0": "20m", "p1": "20m", "p2": "20m", "p3": "20m"})
			hpa := f.sync()
			for elapsed := time.Duration(0); elapsed < tt.scaleAt; elapsed += 15 * time.Second {
				if elapsed > 0 {
					hpa = f.step(15 * time.Second)
				}
				if len(f.updates) != 0 {
					t.Fatalf("scaled at %v, before %v", elapsed, tt.scaleAt)
				}
				if got := condition(hpa, autoscalingv2.AbleToScale); got != tt.reason {
					t.Fatalf("at %v AbleToScale: %s", elapsed, got)
				}
				if hpa.Status.DesiredReplicas != 4 {
					t.Fatalf("at %v desiredReplicas %d", elapsed, hpa.Status.DesiredReplicas)
				}
			}
			f.events()
			hpa = f.step(15 * time.Second)
			equal(t, "scale updates", f.updates, []int32{1})
			equal(t, "events", f.events(), []string{"Normal SuccessfulRescale New size: 1; reason: All metrics below target"})
			if hpa.Status.DesiredReplicas != 1 {
				t.Errorf("desiredReplicas %d, want 1", hpa.Status.DesiredReplicas)
			}
		})
	}
}

// TestPolicyLimits: the behavior's policies bound each change against the changes
// made within their period; each step is one sync, 15 s after the last.
func TestPolicyLimits(t *testing.T) {
	rules := func(sel autoscalingv2.ScalingPolicySelect, policies ...autoscalingv2.HPAScalingPolicy) *autoscalingv2.HPAScalingRules {
		return &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0), SelectPolicy: &sel, Policies: policies}
	}
	podsPer := func(n, seconds int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: n, PeriodSeconds: seconds}
	}
	percentPer := func(n, seconds int32) autoscalingv2.HPAScalingPolicy {
		return autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: n, PeriodSeconds: seconds}
	}
	tests := []struct {
		name     string
		replicas int32  // the target's, and its pods
		usage    string // of each pod, of 100m requested: the recommendation is replicas × usage / 100m
		up, down *autoscalingv2.HPAScalingRules
		want     []int32 // the target's replicas after each step
		limited  string  // ScalingLimited after the first step
	}{
		{name: "default scale up: 4 pods or 100% per 15s", replicas: 1, usage: "2000m",
			want:    []int32{5, 10, 10},
			limited: "True ScaleUpLimit: the desired replica count is increasing faster than the maximum scale rate"},
		{name: "2 pods per 60s", replicas: 2, usage: "500m", up: rules(autoscalingv2.MaxChangePolicySelect, podsPer(2, 60)),
			want:    []int32{4, 4, 4, 4, 6},
			limited: "True ScaleUpLimit: the desired replica count is increasing faster than the maximum scale rate"},
		{name: "min of 50% and 1 pod", replicas: 4, usage: "500m",
			up:   rules(autoscalingv2.MinChangePolicySelect, percentPer(50, 15), podsPer(1, 15)),
			want: []int32{5, 6, 7}},
		{name: "max of 50% and 1 pod", replicas: 4, usage: "500m",
			up:   rules(autoscalingv2.MaxChangePolicySelect, percentPer(50, 15), podsPer(1, 15)),
			want: []int32{6, 9, 10}},
		{name: "scale up disabled", replicas: 2, usage: "500m", up: rules(autoscalingv2.DisabledPolicySelect, podsPer(4, 15)),
			want:    []int32{2, 2},
			limited: "True ScaleUpLimit: the desired replica count is increasing faster than the maximum scale rate"},
		{name: "50% down per 60s", replicas: 8, usage: "10m", down: rules(autoscalingv2.MaxChangePolicySelect, percentPer(50, 60)),
			want:    []int32{4, 4, 4, 4, 2},
			limited: "True ScaleDownLimit: the desired replica count is decreasing faster than the maximum scale rate"},
		{name: "min of 1 pod and 50% down", replicas: 8, usage: "10m",
			down: rules(autoscalingv2.MinChangePolicySelect, podsPer(1, 15), percentPer(50, 15)),
			want: []int32{7, 6, 5}},
		{name: "scale down disabled", replicas: 8, usage: "10m", down: rules(autoscalingv2.DisabledPolicySelect, percentPer(100, 15)),
			want: []int32{8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hpa := autoscaler(behavior(func(b *autoscalingv2.HorizontalPodAutoscalerBehavior) {
				if tt.up != nil {
					b.ScaleUp = tt.up
				}
				if tt.down != nil {
					b.ScaleDown = tt.down
				}
			}))
			f := newFixture(t, hpa, tt.replicas, pods(int(tt.replicas))...)
			usage := map[string]string{}
			for i := range tt.replicas {
				usage[fmt.Sprintf("p%d", i)] = tt.usage
			}
			f.cpu(usage)
			var got []int32
			for i := range tt.want {
				if i > 0 {
					f.clock.Step(15 * time.Second)
				}
				hpa = f.sync()
				if i == 0 && tt.limited != "" {
					if l := condition(hpa, autoscalingv2.ScalingLimited); l != tt.limited {
						t.Errorf("ScalingLimited: %s\nwant %s", l, tt.limited)
					}
				}
				got = append(got, f.scale.Spec.Replicas)
			}
			equal(t, "replicas", got, tt.want)
		})
	}
}

// TestMinMaxReplicas: the result is clamped to [minReplicas, maxReplicas], which
// ScalingLimited reports; a target outside them is brought in without reading metrics.
func TestMinMaxReplicas(t *testing.T) {
	noWindow := behavior(nil)
	tests := []struct {
		name     string
		hpa      *autoscalingv2.HorizontalPodAutoscaler
		replicas int32
		usage    string // of each pod
		want     int32
		limited  string
		event    string
	}{
		{name: "above maxReplicas", hpa: autoscaler(minMax(1, 3)), replicas: 2, usage: "400m", want: 3,
			limited: "True TooManyReplicas: the desired replica count is more than the maximum replica count",
			event:   "Normal SuccessfulRescale New size: 3; reason: cpu resource utilization (percentage of request) above target"},
		{name: "faster than twice the replicas", hpa: autoscaler(minMax(1, 20)), replicas: 3, usage: "800m", want: 6,
			limited: "True ScaleUpLimit: the desired replica count is increasing faster than the maximum scale rate",
			event:   "Normal SuccessfulRescale New size: 6; reason: cpu resource utilization (percentage of request) above target"},
		{name: "below minReplicas", hpa: autoscaler(minMax(3, 10), noWindow), replicas: 6, usage: "10m", want: 3,
			limited: "True TooFewReplicas: the desired replica count is less than the minimum replica count",
			event:   "Normal SuccessfulRescale New size: 3; reason: All metrics below target"},
		{name: "at maxReplicas", hpa: autoscaler(minMax(1, 4)), replicas: 4, usage: "200m", want: 4,
			limited: "True TooManyReplicas: the desired replica count is more than the maximum replica count"},
		{name: "target above maxReplicas", hpa: autoscaler(minMax(1, 5)), replicas: 8, want: 5,
			event: "Normal SuccessfulRescale New size: 5; reason: Current number of replicas above Spec.MaxReplicas"},
		{name: "target below minReplicas", hpa: autoscaler(minMax(2, 5)), replicas: 1, want: 2,
			event: "Normal SuccessfulRescale New size: 2; reason: Current number of replicas below Spec.MinReplicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.hpa, tt.replicas, pods(int(tt.replicas))...)
			if tt.usage == "" {
				f.metrics.err = errors.New("metrics are not to be read")
			} else {
				usage := map[string]string{}
				for i := range tt.replicas {
					usage[fmt.Sprintf("p%d", i)] = tt.usage
				}
				f.cpu(usage)
			}
			hpa := f.sync()
			if f.scale.Spec.Replicas != tt.want || hpa.Status.DesiredReplicas != tt.want {
				t.Errorf("replicas %d, desiredReplicas %d; want %d", f.scale.Spec.Replicas, hpa.Status.DesiredReplicas, tt.want)
			}
			if got := condition(hpa, autoscalingv2.ScalingLimited); got != tt.limited {
				t.Errorf("ScalingLimited: %q\nwant %q", got, tt.limited)
			}
			var want []string
			if tt.event != "" {
				want = []string{tt.event}
			}
			equal(t, "events", f.events(), want)
			if tt.usage == "" && f.metrics.calls != 0 {
				t.Errorf("metrics read %d times", f.metrics.calls)
			}
		})
	}
}

// TestMissingMetrics: with no metrics the autoscaler does not scale and says why;
// pods without a sample count as using nothing on a scale up and their whole request
// on a scale down.
func TestMissingMetrics(t *testing.T) {
	t.Run("metrics API fails", func(t *testing.T) {
		f := newFixture(t, autoscaler(), 4, pods(4)...)
		f.metrics.err = errors.New("the server could not find the requested resource (get pods.metrics.k8s.io)")
		hpa := f.sync()
		equal(t, "scale updates", f.updates, nil)
		const cause = "failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
		equal(t, "events", f.events(), []string{
			"Warning FailedGetResourceMetric " + cause,
			"Warning FailedComputeMetricsReplicas invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: " + cause,
		})
		equal(t, "conditions", conditions(hpa), []string{
			"AbleToScale=True SucceededGetScale: the HPA controller was able to get the target's current scale",
			"ScalingActive=False FailedGetResourceMetric: the HPA was unable to compute the replica count: " + cause,
		})
		if hpa.Status.CurrentReplicas != 4 || hpa.Status.DesiredReplicas != 0 || len(hpa.Status.CurrentMetrics) != 1 {
			t.Errorf("status %+v", hpa.Status)
		}
	})
	t.Run("no PodMetrics", func(t *testing.T) {
		f := newFixture(t, autoscaler(), 4, pods(4)...)
		hpa := f.sync()
		want := "False FailedGetResourceMetric: the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"
		if got := condition(hpa, autoscalingv2.ScalingActive); got != want {
			t.Errorf("ScalingActive: %s\nwant %s", got, want)
		}
	})
	t.Run("missing pods use nothing on a scale up", func(t *testing.T) {
		// 200% measured; with p2 at 0: 400m of 300m, ⌈1.33×3⌉ = 4.
		f := newFixture(t, autoscaler(), 3, pods(3)...)
		f.cpu(map[string]string{"p0": "200m", "p1": "200m"})
		f.sync()
		equal(t, "scale updates", f.updates, []int32{4})
	})
	t.Run("missing pods use their request on a scale down", func(t *testing.T) {
		// 20% of a 50% target measured; with p3 at 100m: 130m of 400m is 32%,
		// ⌈0.64×4⌉ = 3 (not ⌈0.2×3⌉ = 1).
		f := newFixture(t, autoscaler(behavior(nil), metrics(utilization(corev1.ResourceCPU, 50))), 4, pods(4)...)
		f.cpu(map[string]string{"p0": "10m", "p1": "10m", "p2": "10m"})
		f.sync()
		equal(t, "scale updates", f.updates, []int32{3})
	})
	t.Run("missing request", func(t *testing.T) {
		noRequest := func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests = nil }
		f := newFixture(t, autoscaler(), 2, pod("p0", noRequest), pod("p1"))
		f.cpu(map[string]string{"p0": "200m", "p1": "200m"})
		hpa := f.sync()
		equal(t, "scale updates", f.updates, nil)
		want := "False FailedGetResourceMetric: the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod p0"
		if got := condition(hpa, autoscalingv2.ScalingActive); got != want {
			t.Errorf("ScalingActive: %s\nwant %s", got, want)
		}
	})
}

// TestUnreadyPods: pods not ready do not count as they are measured: on a scale up they
// use nothing, and a scale up they would turn into a scale down does not happen.
func TestUnreadyPods(t *testing.T) {
	tests := []struct {
		name  string
		pods  []*corev1.Pod
		usage map[string]string
		want  []int32
	}{
		{name: "pending pods hold off a scale up their share would undo",
			// p0 at 120%: alone ⌈1.2×1⌉ = 2 (a scale down); with p1..p3 at 0: 30%.
			pods:  append(pods(1), pod("p1", pending), pod("p2", pending), pod("p3", pending)),
			usage: map[string]string{"p0": "120m"}},
		{name: "pending pods count as idle on a scale up",
			// p0, p1 at 300%; with p2, p3 at 0: 150%, ⌈1.5×4⌉ = 6.
			pods:  append(pods(2), pod("p2", pending), pod("p3", pending)),
			usage: map[string]string{"p0": "300m", "p1": "300m"}, want: []int32{6}},
		{name: "CPU of pods starting up is ignored",
			// p2, p3 started a minute ago and are not ready: their busy start does not count.
			pods:  append(pods(2), pod("p2", startedAgo(time.Minute, -1)), pod("p3", startedAgo(time.Minute, -1))),
			usage: map[string]string{"p0": "100m", "p1": "100m", "p2": "900m", "p3": "900m"}},
		{name: "CPU sampled before a starting pod became ready is ignored",
			pods:  append(pods(2), pod("p2", startedAgo(time.Minute, 50*time.Second))),
			usage: map[string]string{"p0": "100m", "p1": "100m", "p2": "900m"}},
		{name: "CPU of a pod ready for a full window counts",
			// (100+100+400)/300 = 200%, ⌈2×3⌉ = 6.
			pods:  append(pods(2), pod("p2", startedAgo(time.Minute, 20*time.Second))),
			usage: map[string]string{"p0": "100m", "p1": "100m", "p2": "400m"}, want: []int32{6}},
		{name: "CPU of a pod that was ready and is not any more counts",
			// Started 10 minutes ago, unready since a minute after: (100+100+400)/300.
			pods: append(pods(2), pod("p2", startedAgo(10*time.Minute, 0), func(p *corev1.Pod) {
				p.Status.Conditions[0].Status = corev1.ConditionFalse
				p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(start.Add(-9 * time.Minute))
			})),
			usage: map[string]string{"p0": "100m", "p1": "100m", "p2": "400m"}, want: []int32{6}},
		{name: "failed and deleted pods are ignored",
			pods: append(pods(2), pod("p2", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }),
				pod("p3", func(p *corev1.Pod) { p.DeletionTimestamp = ptr.To(metav1.NewTime(start)) })),
			usage: map[string]string{"p0": "100m", "p1": "100m", "p2": "900m", "p3": "900m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, autoscaler(), int32(len(tt.pods)), tt.pods...)
			f.cpu(tt.usage)
			hpa := f.sync()
			equal(t, "scale updates", f.updates, tt.want)
			if got := condition(hpa, autoscalingv2.ScalingActive); !strings.HasPrefix(got, "True ") {
				t.Errorf("ScalingActive: %s", got)
			}
		})
	}
}

// TestLargestRecommendation: with several metrics the largest proposal wins and names
// the reason; memory is read against requests and shown in binary units.
func TestLargestRecommendation(t *testing.T) {
	avg := resource.MustParse("100Mi")
	memValue := autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &avg}}}
	// CPU at 125% proposes 5, memory at 150Mi of 100Mi 6.
	f := newFixture(t, autoscaler(metrics(utilization(corev1.ResourceCPU, 100), memValue)), 4, pods(4)...)
	for i := range 4 {
		f.metrics.items = append(f.metrics.items, podMetrics(fmt.Sprintf("p%d", i), start,
			metricsv1beta1.ContainerMetrics{Name: "app", Usage: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("125m"), corev1.ResourceMemory: resource.MustParse("150Mi")}}))
	}
	hpa := f.sync()
	equal(t, "scale updates", f.updates, []int32{6})
	equal(t, "events", f.events(), []string{"Normal SuccessfulRescale New size: 6; reason: memory resource above target"})
	if len(hpa.Status.CurrentMetrics) != 2 {
		t.Fatalf("currentMetrics %+v", hpa.Status.CurrentMetrics)
	}
	if got := hpa.Status.CurrentMetrics[0].Resource.Current; *got.AverageUtilization != 125 || got.AverageValue.String() != "125m" {
		t.Errorf("cpu %+v", got)
	}
	if got := hpa.Status.CurrentMetrics[1].Resource.Current; got.AverageUtilization != nil || got.AverageValue.String() != "150Mi" {
		t.Errorf("memory %+v", got)
	}
}

// TestContainerResource: a ContainerResource metric reads one container's usage
// against that container's request.
func TestContainerResource(t *testing.T) {
	sidecar := func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}})
	}
	target := int32(100)
	spec := autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
		ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceCPU, Container: "app",
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}
	f := newFixture(t, autoscaler(metrics(spec)), 2, pods(2, sidecar)...)
	for _, name := range []string{"p0", "p1"} {
		// 200% in app, 100% over the whole pod.
		f.metrics.items = append(f.metrics.items, podMetrics(name, start,
			container("app", corev1.ResourceCPU, "200m"), container("sidecar", corev1.ResourceCPU, "0")))
	}
	hpa := f.sync()
	equal(t, "scale updates", f.updates, []int32{4})
	equal(t, "events", f.events(), []string{
		"Normal SuccessfulRescale New size: 4; reason: cpu container resource utilization (percentage of request) above target"})
	cur := hpa.Status.CurrentMetrics[0].ContainerResource
	if cur == nil || cur.Container != "app" || *cur.Current.AverageUtilization != 200 {
		t.Errorf("currentMetrics %+v", hpa.Status.CurrentMetrics)
	}

	f = newFixture(t, autoscaler(metrics(spec)), 2, pods(2, sidecar)...)
	f.metrics.items = []metricsv1beta1.PodMetrics{podMetrics("p0", start, container("sidecar", corev1.ResourceCPU, "0"))}
	hpa = f.sync()
	want := "False FailedGetContainerResourceMetric: the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready)"
	if got := condition(hpa, autoscalingv2.ScalingActive); got != want {
		t.Errorf("ScalingActive: %s\nwant %s", got, want)
	}
}

// TestScalingDisabled: a target scaled to zero is left alone.
func TestScalingDisabled(t *testing.T) {
	f := newFixture(t, autoscaler(), 0)
	hpa := f.sync()
	equal(t, "scale updates", f.updates, nil)
	equal(t, "conditions", conditions(hpa), []string{
		"AbleToScale=True SucceededGetScale: the HPA controller was able to get the target's current scale",
		"ScalingActive=False ScalingDisabled: scaling is disabled since the replica count of the target is zero",
	})
	if hpa.Status.CurrentReplicas != 0 || hpa.Status.DesiredReplicas != 0 || f.metrics.calls != 0 {
		t.Errorf("status %+v, metrics read %d times", hpa.Status, f.metrics.calls)
	}
}

// TestTargetProblems: a target whose scale cannot be read, or has no selector, or
// whose pods another autoscaler scales, is not scaled.
func TestTargetProblems(t *testing.T) {
	t.Run("unknown kind", func(t *testing.T) {
		f := newFixture(t, autoscaler(func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "web"}
		}), 2, pods(2)...)
		hpa := f.sync()
		got := condition(hpa, autoscalingv2.AbleToScale)
		if want := "False FailedGetScale: the HPA controller was unable to get the target's current scale: no matches for kind \"Widget\" in group \"example.com\""; got != want {
			t.Errorf("AbleToScale: %s\nwant %s", got, want)
		}
		if ev := f.events(); len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning FailedGetScale ") {
			t.Errorf("events %q", ev)
		}
	})
	t.Run("no selector", func(t *testing.T) {
		f := newFixture(t, autoscaler(), 2, pods(2)...)
		f.scale.Status.Selector = ""
		hpa := f.sync()
		equal(t, "events", f.events(), []string{
			"Warning SelectorRequired selector is required",
			"Warning FailedComputeMetricsReplicas selector is required",
		})
		if got := condition(hpa, autoscalingv2.ScalingActive); got != "False InvalidSelector: the HPA target's scale is missing a selector" {
			t.Errorf("ScalingActive: %s", got)
		}
	})
	t.Run("ambiguous selector", func(t *testing.T) {
		f := newFixture(t, autoscaler(), 2, pods(2)...)
		f.cpu(map[string]string{"p0": "300m", "p1": "300m"})
		f.c.selectors.add("ns", "other")
		f.c.selectors.update("ns", "other", labels.SelectorFromSet(labels.Set{"app": "web"}))
		hpa := f.sync()
		equal(t, "scale updates", f.updates, nil)
		want := "False AmbiguousSelector: pods by selector app=web are controlled by more than one HPA (e.g. [other web])"
		if got := condition(hpa, autoscalingv2.ScalingActive); got != want {
			t.Errorf("ScalingActive: %s\nwant %s", got, want)
		}
	})
}

// TestDeletedAutoscalerIsForgotten: a deleted autoscaler is not synced again and its
// history goes.
func TestDeletedAutoscalerIsForgotten(t *testing.T) {
	f := newFixture(t, autoscaler(), 2, pods(2)...)
	f.cpu(map[string]string{"p0": "100m", "p1": "100m"})
	f.sync()
	if len(f.c.histories) != 1 {
		t.Fatalf("histories %v", f.c.histories)
	}
	hpa := autoscaler()
	if err := f.factory.Autoscaling().V2().HorizontalPodAutoscalers().Informer().GetStore().Delete(hpa); err != nil {
		t.Fatal(err)
	}
	f.c.deleted(hpa)
	again, err := f.c.sync(context.Background(), "ns/web")
	if again != 0 || err != nil || len(f.c.histories) != 0 {
		t.Errorf("sync = %v, %v; histories %v", again, err, f.c.histories)
	}
}
