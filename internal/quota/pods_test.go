package quota

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// container returns a container named name with requests and limits.
func container(name string, requests, limits corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

// pod returns a pod in namespace ns with containers.
func pod(name string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       corev1.PodSpec{Containers: containers},
	}
}

func newPodEvaluator(t *testing.T, list ListFunc) (quotav1.Evaluator, *clocktesting.FakePassiveClock) {
	t.Helper()
	if list == nil {
		list = newStore().list
	}
	clk := clocktesting.NewFakePassiveClock(epoch)
	return NewPodEvaluator(list, clk), clk
}

func TestPodConstraints(t *testing.T) {
	tests := []struct {
		name     string
		pod      *corev1.Pod
		required []corev1.ResourceName
		want     string // the error, "" for none
	}{{
		name: "init container misses memory",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "1m", "memory", "1Mi"), nil))
			p.Spec.InitContainers = []corev1.Container{container("dummy", rl("cpu", "1m"), rl("cpu", "2m"))}
			return p
		}(),
		required: []corev1.ResourceName{corev1.ResourceMemory},
		want:     "must specify memory for: dummy",
	}, {
		name: "containers named in order",
		pod: pod("p",
			container("foo", rl("cpu", "1m"), rl("cpu", "2m")),
			container("bar", rl("cpu", "1m"), rl("cpu", "2m"))),
		required: []corev1.ResourceName{corev1.ResourceMemory},
		want:     "must specify memory for: bar,foo",
	}, {
		name:     "resources in order",
		pod:      pod("p", container("foo", nil, nil), container("bar", nil, nil)),
		required: []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceCPU},
		want:     "must specify cpu for: bar,foo; memory for: bar,foo",
	}, {
		name:     "limits",
		pod:      pod("p", container("app", rl("cpu", "1", "memory", "1Gi"), rl("memory", "1Gi"))),
		required: []corev1.ResourceName{corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceRequestsCPU},
		want:     "must specify limits.cpu for: app",
	}, {
		name:     "all stated",
		pod:      pod("p", container("app", rl("cpu", "1", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi"))),
		required: []corev1.ResourceName{corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory},
	}, {
		name:     "only cpu and memory are required",
		pod:      pod("p", container("app", nil, nil)),
		required: []corev1.ResourceName{corev1.ResourcePods, corev1.ResourceRequestsEphemeralStorage, "requests.example.com/gpu", "hugepages-2Mi"},
	}, {
		name: "pod-level resources",
		pod: func() *corev1.Pod {
			p := pod("p", container("foo", nil, nil), container("bar", nil, nil))
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: rl("cpu", "1m")}
			return p
		}(),
		required: []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceCPU},
	}}
	e, _ := newPodEvaluator(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Constraints(tt.required, tt.pod)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Constraints() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodRejectsOtherTypes(t *testing.T) {
	e, _ := newPodEvaluator(t, nil)
	if _, err := e.Usage(&corev1.Service{}); !errors.Is(err, ErrUnsupportedObject) {
		t.Errorf("Usage(service) error = %v, want ErrUnsupportedObject", err)
	}
	if err := e.Constraints([]corev1.ResourceName{corev1.ResourceCPU}, &corev1.Service{}); !errors.Is(err, ErrUnsupportedObject) {
		t.Errorf("Constraints(service) error = %v, want ErrUnsupportedObject", err)
	}
	if _, err := e.MatchingScopes(&corev1.Service{}, []corev1.ScopedResourceSelectorRequirement{{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists}}); !errors.Is(err, ErrUnsupportedObject) {
		t.Errorf("MatchingScopes(service) error = %v, want ErrUnsupportedObject", err)
	}
}

func TestPodUsage(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want corev1.ResourceList
	}{{
		name: "best effort",
		pod:  pod("p", container("app", nil, nil)),
		want: rl("count/pods", "1", "pods", "1"),
	}, {
		name: "requests and limits summed over containers",
		pod: pod("p",
			container("a", rl("cpu", "100m", "memory", "1Gi", "ephemeral-storage", "1Gi"), rl("cpu", "200m", "memory", "2Gi", "ephemeral-storage", "2Gi")),
			container("b", rl("cpu", "300m", "memory", "1Gi"), rl("cpu", "1", "memory", "1Gi"))),
		want: rl("count/pods", "1", "pods", "1",
			"cpu", "400m", "requests.cpu", "400m", "limits.cpu", "1200m",
			"memory", "2Gi", "requests.memory", "2Gi", "limits.memory", "3Gi",
			"ephemeral-storage", "1Gi", "requests.ephemeral-storage", "1Gi", "limits.ephemeral-storage", "2Gi"),
	}, {
		name: "init containers take the max, overhead adds to requests and set limits",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "100m", "memory", "1Gi"), rl("cpu", "200m")))
			p.Spec.InitContainers = []corev1.Container{container("init", rl("cpu", "500m"), nil)}
			p.Spec.Overhead = rl("cpu", "10m", "memory", "64Mi")
			return p
		}(),
		want: rl("count/pods", "1", "pods", "1",
			"cpu", "510m", "requests.cpu", "510m", "limits.cpu", "210m",
			"memory", "1088Mi", "requests.memory", "1088Mi"),
	}, {
		name: "sidecars add to the containers",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "100m"), nil))
			sidecar := container("sidecar", rl("cpu", "50m"), nil)
			sidecar.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
			p.Spec.InitContainers = []corev1.Container{sidecar}
			return p
		}(),
		want: rl("count/pods", "1", "pods", "1", "cpu", "150m", "requests.cpu", "150m"),
	}, {
		name: "hugepages and extended resources",
		pod: pod("p", container("app",
			rl("hugepages-2Mi", "4Mi", "example.com/gpu", "2", "deviceclass.resource.kubernetes.io/gpu.example.com", "1"),
			rl("hugepages-2Mi", "4Mi", "example.com/gpu", "2", "deviceclass.resource.kubernetes.io/gpu.example.com", "1"))),
		want: rl("count/pods", "1", "pods", "1",
			"hugepages-2Mi", "4Mi", "requests.hugepages-2Mi", "4Mi",
			"requests.example.com/gpu", "2",
			"requests.deviceclass.resource.kubernetes.io/gpu.example.com", "1"),
	}, {
		name: "pod-level resources",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "500m"), nil))
			p.Spec.Resources = &corev1.ResourceRequirements{Requests: rl("cpu", "2", "memory", "1Gi"), Limits: rl("memory", "2Gi")}
			return p
		}(),
		want: rl("count/pods", "1", "pods", "1",
			"cpu", "2", "requests.cpu", "2", "memory", "1Gi", "requests.memory", "1Gi", "limits.memory", "2Gi"),
	}, {
		name: "resized: the larger of spec and status",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "1"), rl("cpu", "2")))
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name:               "app",
				AllocatedResources: rl("cpu", "1"),
				Resources:          &corev1.ResourceRequirements{Requests: rl("cpu", "1500m"), Limits: rl("cpu", "3")},
			}}
			return p
		}(),
		want: rl("count/pods", "1", "pods", "1", "cpu", "1500m", "requests.cpu", "1500m", "limits.cpu", "3"),
	}, {
		name: "succeeded",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "1"), nil))
			p.Status.Phase = corev1.PodSucceeded
			return p
		}(),
		want: rl("count/pods", "1"),
	}, {
		name: "failed",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "1"), nil))
			p.Status.Phase = corev1.PodFailed
			return p
		}(),
		want: rl("count/pods", "1"),
	}, {
		name: "deleted, within grace",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "1"), nil))
			p.DeletionTimestamp = &metav1.Time{Time: epoch.Add(-20 * time.Second)}
			p.DeletionGracePeriodSeconds = ptr.To[int64](30)
			return p
		}(),
		want: rl("count/pods", "1", "pods", "1", "cpu", "1", "requests.cpu", "1"),
	}, {
		name: "deleted, past grace",
		pod: func() *corev1.Pod {
			p := pod("p", container("app", rl("cpu", "1"), nil))
			p.DeletionTimestamp = &metav1.Time{Time: epoch.Add(-31 * time.Second)}
			p.DeletionGracePeriodSeconds = ptr.To[int64](30)
			return p
		}(),
		want: rl("count/pods", "1"),
	}}
	e, _ := newPodEvaluator(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Usage(tt.pod)
			if err != nil {
				t.Fatalf("Usage() error = %v", err)
			}
			wantUsage(t, got, tt.want)
		})
	}
}

func TestPodUsageFollowsClock(t *testing.T) {
	e, clk := newPodEvaluator(t, nil)
	p := pod("p", container("app", rl("cpu", "1"), nil))
	p.DeletionTimestamp = &metav1.Time{Time: epoch}
	p.DeletionGracePeriodSeconds = ptr.To[int64](30)

	clk.SetTime(epoch.Add(30 * time.Second))
	got, _ := e.Usage(p)
	wantUsage(t, got, rl("count/pods", "1", "pods", "1", "cpu", "1", "requests.cpu", "1"))

	clk.SetTime(epoch.Add(30*time.Second + time.Nanosecond))
	got, _ = e.Usage(p)
	wantUsage(t, got, rl("count/pods", "1"))
}

func TestPodMatchesScope(t *testing.T) {
	bestEffort := pod("be", container("app", nil, nil))
	ephemeralOnly := pod("eph", container("app", rl("ephemeral-storage", "1Gi"), nil))
	zeroCPU := pod("zero", container("app", rl("cpu", "0"), rl("cpu", "0")))
	burstable := pod("burstable", container("app", nil, nil), container("b", rl("memory", "1Gi"), nil))
	initBurstable := func() *corev1.Pod {
		p := pod("initburstable", container("app", nil, nil))
		p.Spec.InitContainers = []corev1.Container{container("init", rl("cpu", "1"), nil)}
		return p
	}()
	statusBestEffort := func() *corev1.Pod {
		p := pod("statusbe", container("app", rl("cpu", "1"), nil))
		p.Status.QOSClass = corev1.PodQOSBestEffort
		return p
	}()
	podLevel := func() *corev1.Pod {
		p := pod("podlevel", container("app", nil, nil))
		p.Spec.Resources = &corev1.ResourceRequirements{Limits: rl("memory", "1Gi")}
		return p
	}()
	terminating := func() *corev1.Pod {
		p := pod("terminating", container("app", nil, nil))
		p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
		return p
	}()
	highPriority := func() *corev1.Pod {
		p := pod("high", container("app", nil, nil))
		p.Spec.PriorityClassName = "high"
		return p
	}()
	crossNamespace := func() *corev1.Pod {
		p := pod("cross", container("app", nil, nil))
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight:          1,
				PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "zone", NamespaceSelector: &metav1.LabelSelector{}},
			}},
		}}
		return p
	}()
	sameNamespace := func() *corev1.Pod {
		p := pod("same", container("app", nil, nil))
		p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "zone"}},
		}}
		return p
	}()

	scope := func(name corev1.ResourceQuotaScope) corev1.ScopedResourceSelectorRequirement {
		return corev1.ScopedResourceSelectorRequirement{ScopeName: name, Operator: corev1.ScopeSelectorOpExists}
	}
	priority := func(op corev1.ScopeSelectorOperator, values ...string) corev1.ScopedResourceSelectorRequirement {
		return corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: op, Values: values}
	}
	tests := []struct {
		name  string
		pod   *corev1.Pod
		scope corev1.ScopedResourceSelectorRequirement
		want  bool
	}{
		{"no resources is best effort", bestEffort, scope(corev1.ResourceQuotaScopeBestEffort), true},
		{"no resources is not NotBestEffort", bestEffort, scope(corev1.ResourceQuotaScopeNotBestEffort), false},
		{"ephemeral storage only is best effort", ephemeralOnly, scope(corev1.ResourceQuotaScopeBestEffort), true},
		{"zero cpu is best effort", zeroCPU, scope(corev1.ResourceQuotaScopeBestEffort), true},
		{"one container with memory is not best effort", burstable, scope(corev1.ResourceQuotaScopeBestEffort), false},
		{"one container with memory is NotBestEffort", burstable, scope(corev1.ResourceQuotaScopeNotBestEffort), true},
		{"init container with cpu is not best effort", initBurstable, scope(corev1.ResourceQuotaScopeBestEffort), false},
		{"status QoS class wins", statusBestEffort, scope(corev1.ResourceQuotaScopeBestEffort), true},
		{"pod-level limits are not best effort", podLevel, scope(corev1.ResourceQuotaScopeBestEffort), false},
		{"deadline is terminating", terminating, scope(corev1.ResourceQuotaScopeTerminating), true},
		{"deadline is not NotTerminating", terminating, scope(corev1.ResourceQuotaScopeNotTerminating), false},
		{"no deadline is not terminating", bestEffort, scope(corev1.ResourceQuotaScopeTerminating), false},
		{"no deadline is NotTerminating", bestEffort, scope(corev1.ResourceQuotaScopeNotTerminating), true},
		{"priority class exists", highPriority, priority(corev1.ScopeSelectorOpExists), true},
		{"no priority class does not exist", bestEffort, priority(corev1.ScopeSelectorOpExists), false},
		{"priority class in", highPriority, priority(corev1.ScopeSelectorOpIn, "low", "high"), true},
		{"priority class not in values", highPriority, priority(corev1.ScopeSelectorOpIn, "low"), false},
		{"no priority class not in In", bestEffort, priority(corev1.ScopeSelectorOpIn, "high"), false},
		{"priority class NotIn", highPriority, priority(corev1.ScopeSelectorOpNotIn, "high"), false},
		{"other priority class NotIn", highPriority, priority(corev1.ScopeSelectorOpNotIn, "low"), true},
		{"no priority class NotIn", bestEffort, priority(corev1.ScopeSelectorOpNotIn, "low"), true},
		{"no priority class DoesNotExist", bestEffort, priority(corev1.ScopeSelectorOpDoesNotExist), true},
		{"priority class DoesNotExist", highPriority, priority(corev1.ScopeSelectorOpDoesNotExist), false},
		{"namespace selector is cross-namespace", crossNamespace, scope(corev1.ResourceQuotaScopeCrossNamespacePodAffinity), true},
		{"plain affinity is not cross-namespace", sameNamespace, scope(corev1.ResourceQuotaScopeCrossNamespacePodAffinity), false},
		{"no affinity is not cross-namespace", bestEffort, scope(corev1.ResourceQuotaScopeCrossNamespacePodAffinity), false},
		{"pods have no VolumeAttributesClass scope", bestEffort, scope(corev1.ResourceQuotaScopeVolumeAttributesClass), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := podMatchesScope(tt.scope, tt.pod)
			if err != nil {
				t.Fatalf("podMatchesScope() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("podMatchesScope() = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("bad operator", func(t *testing.T) {
		e, _ := newPodEvaluator(t, nil)
		_, err := e.MatchingScopes(highPriority, []corev1.ScopedResourceSelectorRequirement{priority("Equals", "high")})
		if err == nil {
			t.Fatal("MatchingScopes() error = nil, want one")
		}
	})
}

func TestPodMatchingScopesAndUncovered(t *testing.T) {
	e, _ := newPodEvaluator(t, nil)
	p := pod("p", container("app", nil, nil))
	p.Spec.PriorityClassName = "high"
	selectors := []corev1.ScopedResourceSelectorRequirement{
		{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists},
		{ScopeName: corev1.ResourceQuotaScopeTerminating, Operator: corev1.ScopeSelectorOpExists},
		{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}},
	}
	matched, err := e.MatchingScopes(p, selectors)
	if err != nil {
		t.Fatal(err)
	}
	if len(matched) != 2 || matched[0].ScopeName != corev1.ResourceQuotaScopeBestEffort || matched[1].ScopeName != corev1.ResourceQuotaScopePriorityClass {
		t.Errorf("MatchingScopes() = %v, want BestEffort and PriorityClass", matched)
	}
	uncovered, err := e.UncoveredQuotaScopes(matched, matched[1:])
	if err != nil {
		t.Fatal(err)
	}
	if len(uncovered) != 1 || uncovered[0].ScopeName != corev1.ResourceQuotaScopeBestEffort {
		t.Errorf("UncoveredQuotaScopes() = %v, want BestEffort", uncovered)
	}
}

func TestPodMatchingResources(t *testing.T) {
	e, _ := newPodEvaluator(t, nil)
	input := []corev1.ResourceName{
		"pods", "count/pods", "requests.cpu", "limits.memory", "cpu", "ephemeral-storage",
		"hugepages-2Mi", "requests.hugepages-1Gi",
		"requests.example.com/gpu", "requests.deviceclass.resource.kubernetes.io/gpu.example.com",
		"example.com/gpu", "services", "requests.storage", "requests.kubernetes.io/foo", "count/services",
	}
	got := e.MatchingResources(input)
	want := []corev1.ResourceName{
		"count/pods", "cpu", "ephemeral-storage", "limits.memory", "pods", "requests.cpu",
		"hugepages-2Mi", "requests.hugepages-1Gi",
		"requests.example.com/gpu", "requests.deviceclass.resource.kubernetes.io/gpu.example.com",
	}
	if len(got) != len(want) {
		t.Fatalf("MatchingResources() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("MatchingResources() = %v, want %v", got, want)
		}
	}
}

func TestPodMatches(t *testing.T) {
	e, _ := newPodEvaluator(t, nil)
	be := pod("be", container("app", nil, nil))
	quota := func(scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{
			Spec:   corev1.ResourceQuotaSpec{Scopes: scopes},
			Status: corev1.ResourceQuotaStatus{Hard: rl("pods", "10")},
		}
	}
	tests := []struct {
		name  string
		quota *corev1.ResourceQuota
		want  bool
	}{
		{"no scopes", quota(), true},
		{"in scope", quota(corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotTerminating), true},
		{"out of scope", quota(corev1.ResourceQuotaScopeNotBestEffort), false},
		{"other resources", &corev1.ResourceQuota{Status: corev1.ResourceQuotaStatus{Hard: rl("services", "1")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Matches(tt.quota, be)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Matches() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPodHandles(t *testing.T) {
	plain := pod("p", container("app", nil, nil))
	deadline := plain.DeepCopy()
	deadline.Spec.ActiveDeadlineSeconds = ptr.To[int64](10)
	attrs := func(obj, old *corev1.Pod, sub string, op admission.Operation) admission.Attributes {
		return admission.NewAttributesRecord(runtimeObject(obj), runtimeObject(old), corev1.SchemeGroupVersion.WithKind("Pod"), "ns", "p",
			podsResource, sub, op, nil, false, nil)
	}
	tests := []struct {
		name  string
		attrs admission.Attributes
		want  bool
	}{
		{"create", attrs(plain, nil, "", admission.Create), true},
		{"update", attrs(plain, plain, "", admission.Update), false},
		{"update adding a deadline", attrs(deadline, plain, "", admission.Update), true},
		{"update removing a deadline", attrs(plain, deadline, "", admission.Update), true},
		{"delete", attrs(nil, plain, "", admission.Delete), false},
		{"connect", attrs(nil, nil, "", admission.Connect), false},
		{"resize", attrs(plain, plain, "resize", admission.Update), true},
		{"status", attrs(plain, plain, "status", admission.Update), false},
		{"create binding", attrs(plain, nil, "binding", admission.Create), false},
	}
	e, _ := newPodEvaluator(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Handles(tt.attrs); got != tt.want {
				t.Errorf("Handles() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPodUsageStats(t *testing.T) {
	be := pod("be", container("app", nil, nil))
	burstable := pod("burstable", container("app", rl("cpu", "1", "memory", "1Gi"), rl("cpu", "2")))
	burstable.Spec.PriorityClassName = "high"
	done := pod("done", container("app", rl("cpu", "4"), nil))
	done.Status.Phase = corev1.PodSucceeded
	elsewhere := pod("elsewhere", container("app", rl("cpu", "8"), nil))
	elsewhere.Namespace = "other"
	s := newStore(be, burstable, done, elsewhere)
	e, _ := newPodEvaluator(t, s.list)

	tests := []struct {
		name string
		opts quotav1.UsageStatsOptions
		want corev1.ResourceList
	}{{
		name: "all",
		opts: quotav1.UsageStatsOptions{Namespace: "ns", Resources: []corev1.ResourceName{"pods", "count/pods", "requests.cpu", "limits.cpu", "requests.memory"}},
		want: rl("pods", "2", "count/pods", "3", "cpu", "1", "requests.cpu", "1", "limits.cpu", "2", "memory", "1Gi", "requests.memory", "1Gi"),
	}, {
		name: "best effort",
		opts: quotav1.UsageStatsOptions{Namespace: "ns", Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}, Resources: []corev1.ResourceName{"pods"}},
		want: rl("pods", "1", "count/pods", "1"),
	}, {
		name: "priority class selector",
		opts: quotav1.UsageStatsOptions{Namespace: "ns", Resources: []corev1.ResourceName{"pods"},
			ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
				ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"},
			}}}},
		want: rl("pods", "1", "count/pods", "1", "cpu", "1", "requests.cpu", "1", "limits.cpu", "2", "memory", "1Gi", "requests.memory", "1Gi"),
	}, {
		name: "empty namespace counts zero",
		opts: quotav1.UsageStatsOptions{Namespace: "empty", Resources: []corev1.ResourceName{"pods", "requests.cpu"}},
		want: rl("pods", "0", "requests.cpu", "0"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.UsageStats(tt.opts)
			if err != nil {
				t.Fatalf("UsageStats() error = %v", err)
			}
			wantUsage(t, got.Used, tt.want)
		})
	}

	t.Run("list fails", func(t *testing.T) {
		s.broken[podsResource] = true
		t.Cleanup(func() { delete(s.broken, podsResource) })
		_, err := e.UsageStats(quotav1.UsageStatsOptions{Namespace: "ns", Resources: []corev1.ResourceName{"pods"}})
		if err == nil || !strings.Contains(err.Error(), errNotSynced.Error()) {
			t.Errorf("UsageStats() error = %v, want one naming %v", err, errNotSynced)
		}
	})
}

// runtimeObject returns p as a runtime.Object, nil (not a typed nil) for a nil pod.
func runtimeObject(p *corev1.Pod) runtime.Object {
	if p == nil {
		return nil
	}
	return p
}
