package quota

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestConfigurationEvaluators(t *testing.T) {
	cfg := NewConfiguration(newStore().list, clocktesting.NewFakePassiveClock(epoch))
	var got []string
	for _, e := range cfg.Evaluators() {
		got = append(got, e.GroupResource().String())
	}
	slices.Sort(got)
	want := []string{"configmaps", "persistentvolumeclaims", "pods", "replicationcontrollers", "resourcequotas", "secrets", "services"}
	if !slices.Equal(got, want) {
		t.Errorf("evaluators = %v, want %v", got, want)
	}

	ignored := cfg.IgnoredResources()
	for _, gr := range []schema.GroupResource{
		{Resource: "events"}, {Group: "events.k8s.io", Resource: "events"}, {Resource: "bindings"},
		{Resource: "componentstatuses"}, {Group: "authentication.k8s.io", Resource: "tokenreviews"},
		{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"},
		{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"},
		{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"},
		{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"},
		{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"},
	} {
		if _, ok := ignored[gr]; !ok {
			t.Errorf("%s is not ignored", gr)
		}
	}
	if len(ignored) != 10 {
		t.Errorf("%d ignored resources, want 10", len(ignored))
	}
	delete(IgnoredResources(), schema.GroupResource{Resource: "events"})
	if _, ok := IgnoredResources()[schema.GroupResource{Resource: "events"}]; !ok {
		t.Error("IgnoredResources() shares its map between calls")
	}
}

// TestCalculateUsage measures a namespace as the quota status controller does.
func TestCalculateUsage(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: "ns", Name: name} }
	s := newStore(
		pod("web", container("app", rl("cpu", "250m", "memory", "256Mi"), rl("cpu", "500m", "memory", "256Mi"))),
		pod("batch", container("app", nil, nil)),
		service("lb", corev1.ServiceTypeLoadBalancer, 0, 0),
		claim("data", "gold", "5Gi"),
		&corev1.ConfigMap{ObjectMeta: meta("a")},
		&corev1.ConfigMap{ObjectMeta: meta("b")},
		&corev1.Secret{ObjectMeta: meta("s")},
	)
	cfg := NewConfiguration(s.list, clocktesting.NewFakePassiveClock(epoch))
	registry := generic.NewRegistry(cfg.Evaluators())
	hard := rl(
		"pods", "10", "count/pods", "10", "requests.cpu", "4", "limits.memory", "8Gi",
		"services", "5", "services.loadbalancers", "1", "services.nodeports", "5",
		"persistentvolumeclaims", "5", "requests.storage", "100Gi", "gold.storageclass.storage.k8s.io/requests.storage", "10Gi",
		"configmaps", "10", "count/configmaps", "10", "secrets", "10", "count/secrets", "10",
		"count/replicationcontrollers", "10", "resourcequotas", "1",
	)
	got, err := quotav1.CalculateUsage("ns", nil, hard, registry, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantUsage(t, got, rl(
		"pods", "2", "count/pods", "2", "requests.cpu", "250m", "limits.memory", "256Mi",
		"services", "1", "services.loadbalancers", "1", "services.nodeports", "2",
		"persistentvolumeclaims", "1", "requests.storage", "5Gi", "gold.storageclass.storage.k8s.io/requests.storage", "5Gi",
		"configmaps", "2", "count/configmaps", "2", "secrets", "1", "count/secrets", "1",
		"count/replicationcontrollers", "0", "resourcequotas", "0",
	))

	t.Run("scoped", func(t *testing.T) {
		got, err := quotav1.CalculateUsage("ns", []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}, rl("pods", "10"), registry, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantUsage(t, got, rl("pods", "1"))
	})

	t.Run("a failing list leaves its resources out", func(t *testing.T) {
		s.broken[corev1.SchemeGroupVersion.WithResource("configmaps")] = true
		t.Cleanup(func() { clear(s.broken) })
		got, err := quotav1.CalculateUsage("ns", nil, rl("configmaps", "10", "pods", "10"), registry, nil)
		if err == nil || !strings.Contains(err.Error(), "configmaps") {
			t.Errorf("CalculateUsage() error = %v, want one naming configmaps", err)
		}
		wantUsage(t, got, rl("pods", "2"))
	})
}

func TestObjectCountEvaluator(t *testing.T) {
	deployments := appsv1.SchemeGroupVersion.WithResource("deployments")
	list := func(gvr schema.GroupVersionResource, ns string) ([]runtime.Object, error) {
		if gvr != deployments || ns != "ns" {
			return nil, nil
		}
		return []runtime.Object{&appsv1.Deployment{}, &appsv1.Deployment{}}, nil
	}
	e := NewObjectCountEvaluator(deployments, list)
	if got := e.GroupResource(); got != deployments.GroupResource() {
		t.Errorf("GroupResource() = %v", got)
	}
	got, err := e.UsageStats(quotav1.UsageStatsOptions{Namespace: "ns", Resources: []corev1.ResourceName{"count/deployments.apps"}})
	if err != nil {
		t.Fatal(err)
	}
	wantUsage(t, got.Used, rl("count/deployments.apps", "2"))
	if m := e.MatchingResources([]corev1.ResourceName{"count/deployments.apps", "deployments", "pods"}); !slices.Equal(m, []corev1.ResourceName{"count/deployments.apps"}) {
		t.Errorf("MatchingResources() = %v", m)
	}
}
