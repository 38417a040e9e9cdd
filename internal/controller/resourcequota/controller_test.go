package resourcequota

import (
	"context"
	"log/slog"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/apiserver/pkg/quota/v1/generic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/quota"
)

func TestSync(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	objects := map[schema.GroupResource][]runtime.Object{
		{Resource: "pods"}: {
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "team"}},
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "done", Namespace: "team"}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
		},
		{Group: "apps", Resource: "deployments"}: {&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team"}}},
	}
	list := func(gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error) {
		return objects[gvr.GroupResource()], nil
	}
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "team"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourcePods: resource.MustParse("5"), "count/deployments.apps": resource.MustParse("2")}}}
	cs := fake.NewClientset(q)
	factory := informers.NewSharedInformerFactory(cs, 0)
	registry := generic.NewRegistry(quota.NewConfiguration(list, clock.RealClock{}).Evaluators())
	counter := func(gr schema.GroupResource) quotav1.Evaluator {
		return quota.NewObjectCountEvaluator(gr.WithVersion(""), list)
	}
	c := New(cs, factory, registry, counter, nil, slog.New(slog.DiscardHandler))
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	defer factory.Shutdown()
	defer cancel()
	if _, err := c.sync(ctx, "team/q"); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.CoreV1().ResourceQuotas("team").Get(ctx, "q", metav1.GetOptions{})
	if used := got.Status.Used[corev1.ResourcePods]; used.Value() != 1 {
		t.Errorf("pods used %s, want 1 (a finished pod uses nothing)", used.String())
	}
	if used := got.Status.Used["count/deployments.apps"]; used.Value() != 1 {
		t.Errorf("deployments used %s, want 1", used.String())
	}
	if hard := got.Status.Hard[corev1.ResourcePods]; hard.Value() != 5 {
		t.Errorf("status.hard %v", got.Status.Hard)
	}
}
