package replicaset

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestSlowStart(t *testing.T) {
	var calls atomic.Int32
	done, err := slowStart(10, func() error { calls.Add(1); return nil })
	if done != 10 || err != nil || calls.Load() != 10 {
		t.Fatalf("all succeed: done %d, err %v, calls %d", done, err, calls.Load())
	}
	calls.Store(0)
	done, err = slowStart(100, func() error { calls.Add(1); return errors.New("quota") })
	if done != 0 || err == nil || calls.Load() != 1 {
		t.Fatalf("the first fails: done %d, err %v, calls %d; want one call", done, err, calls.Load())
	}
	calls.Store(0)
	done, err = slowStart(100, func() error {
		if calls.Add(1) > 5 {
			return errors.New("quota")
		}
		return nil
	})
	// Batches of 1, 2, 4: the third has one failure, so 6 run there and 5 succeed.
	if done != 5 || err == nil || calls.Load() != 7 {
		t.Fatalf("the sixth fails: done %d, err %v, calls %d", done, err, calls.Load())
	}
}

func TestPodsToDelete(t *testing.T) {
	now := time.Now()
	pod := func(name, node string, phase corev1.PodPhase, ready bool, age time.Duration, mut ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(now.Add(-age))}}
		for _, m := range mut {
			m(p)
		}
		return p
	}
	cost := func(c string) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Annotations = map[string]string{deletionCostAnnotation: c} }
	}
	pods := []*corev1.Pod{
		pod("ready-old", "n1", corev1.PodRunning, true, time.Hour),
		pod("ready-new", "n2", corev1.PodRunning, true, time.Minute),
		pod("unscheduled", "", corev1.PodPending, false, time.Hour),
		pod("pending", "n3", corev1.PodPending, false, time.Hour),
		pod("not-ready", "n4", corev1.PodRunning, false, time.Hour),
		pod("ready-cheap", "n5", corev1.PodRunning, true, 2*time.Hour, cost("-10")),
	}
	got := podsToDelete(pods, len(pods))
	want := []string{"unscheduled", "pending", "not-ready", "ready-cheap", "ready-new", "ready-old"}
	for i, p := range got {
		if p.Name != want[i] {
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			t.Fatalf("order %v, want %v", names, want)
		}
	}
	if n := len(podsToDelete(pods, 2)); n != 2 {
		t.Fatalf("asked for 2, got %d", n)
	}
}

// TestSync runs the controller's sync on a fake API: it creates the missing pods with a
// controller reference, adopts a matching orphan, leaves others alone, deletes the
// surplus after a scale-down, and reports the pods in the status.
func TestSync(t *testing.T) {
	replicas := int32(3)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "rs-uid", Generation: 2},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}},
	}
	orphan := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: "ns", UID: "orphan-uid", Labels: map[string]string{"app": "web"}}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns", UID: "other-uid", Labels: map[string]string{"app": "db"}}}
	client := fake.NewClientset(rs, orphan, other)
	var n atomic.Int32
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		p.Name = fmt.Sprintf("%s%d", p.GenerateName, n.Add(1))
		p.UID = types.UID(p.Name)
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	syncAndWait := func(want int) *corev1.PodList {
		t.Helper()
		if _, err := c.sync(ctx, "ns/web"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			pods, _ := client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			cached, _ := c.pods.Pods("ns").List(labelsOf("app=web"))
			if len(pods.Items) == want && len(cached) == want && c.exp.Satisfied("ns/web") {
				return pods
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d pods (cache %d), want %d", len(pods.Items), len(cached), want)
			}
			time.Sleep(10 * time.Millisecond) // the fake informer has no watch to wait on here
		}
	}
	pods := syncAndWait(3)
	for _, p := range pods.Items {
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.UID != rs.UID || ref.Kind != "ReplicaSet" {
			t.Errorf("pod %s: controller %v", p.Name, ref)
		}
	}
	if p, _ := client.CoreV1().Pods("ns").Get(ctx, "other", metav1.GetOptions{}); len(p.OwnerReferences) != 0 {
		t.Errorf("a pod the selector does not pick was adopted: %v", p.OwnerReferences)
	}
	// The first sync's status counted the pods it began with; the next counts them all.
	if _, err := c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	got, _ := client.AppsV1().ReplicaSets("ns").Get(ctx, "web", metav1.GetOptions{})
	if got.Status.Replicas != 3 || got.Status.FullyLabeledReplicas != 2 || got.Status.ObservedGeneration != 2 {
		t.Errorf("status %+v; want 3 replicas, 2 fully labeled (the orphan lacks tier), generation 2", got.Status)
	}

	one := int32(1)
	got.Spec.Replicas = &one
	if _, err := client.AppsV1().ReplicaSets("ns").Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for cached, _ := c.src.get("ns", "web"); *cached.Spec.Replicas != 1; cached, _ = c.src.get("ns", "web") {
		if time.Now().After(deadline) {
			t.Fatal("the scale-down never reached the cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
	syncAndWait(1)
}

func labelsOf(s string) labels.Selector {
	sel, err := labels.Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}
