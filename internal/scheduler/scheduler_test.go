package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podium/podium/internal/scheduler/queue"
)

var podsResource = corev1.SchemeGroupVersion.WithResource("pods")

// cluster is a scheduler running against a fake clientset whose pods/binding sets
// spec.nodeName, and pods/status the status alone, as the API server does.
type cluster struct {
	t  *testing.T
	cs *fake.Clientset
	s  *Scheduler
}

func startCluster(t *testing.T, objs ...runtime.Object) *cluster {
	t.Helper()
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ca := action.(k8stesting.CreateAction)
		if ca.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := ca.GetObject().(*corev1.Binding)
		obj, err := cs.Tracker().Get(podsResource, b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		if pod.Spec.NodeName != "" {
			return true, nil, apierrors.NewConflict(podsResource.GroupResource(), pod.Name,
				fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		return true, b, cs.Tracker().Update(podsResource, pod, pod.Namespace)
	})
	// A status write changes the status alone, as the API server's subresource does,
	// so that a late one cannot undo a binding.
	cs.PrependReactor("update", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ua := action.(k8stesting.UpdateAction)
		if ua.GetSubresource() != "status" {
			return false, nil, nil
		}
		pod := ua.GetObject().(*corev1.Pod)
		obj, err := cs.Tracker().Get(podsResource, pod.Namespace, pod.Name)
		if err != nil {
			return true, nil, err
		}
		cur := obj.(*corev1.Pod).DeepCopy()
		cur.Status = pod.Status
		return true, cur, cs.Tracker().Update(podsResource, cur, cur.Namespace)
	})
	factory := informers.NewSharedInformerFactory(cs, 0)
	opts := defaultOptions()
	opts.queue = queue.Options{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	s, err := newScheduler(cs, factory, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		factory.Shutdown()
	})
	return &cluster{t: t, cs: cs, s: s}
}

func node(name string, cpu string, labels map[string]string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(cpu),
				corev1.ResourceMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods:   resource.MustParse("110"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

func pod(name, cpu string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
	}
}

func (c *cluster) create(objs ...runtime.Object) {
	c.t.Helper()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Pod:
			_, err = c.cs.CoreV1().Pods(o.Namespace).Create(context.Background(), o, metav1.CreateOptions{})
		case *corev1.Node:
			_, err = c.cs.CoreV1().Nodes().Create(context.Background(), o, metav1.CreateOptions{})
		}
		if err != nil {
			c.t.Fatal(err)
		}
	}
}

// eventually polls cond for up to 10 s.
func (c *cluster) eventually(what string, cond func() (bool, string)) {
	c.t.Helper()
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	c.t.Fatalf("%s: not within 10s; last: %s", what, last)
}

// placement returns each pod's node.
func (c *cluster) placement() map[string]string {
	c.t.Helper()
	l, err := c.cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range l.Items {
		out[p.Name] = p.Spec.NodeName
	}
	return out
}

func (c *cluster) waitBound(names ...string) map[string]string {
	c.t.Helper()
	var at map[string]string
	c.eventually("pods bound", func() (bool, string) {
		at = c.placement()
		for _, n := range names {
			if at[n] == "" {
				return false, fmt.Sprint(at)
			}
		}
		return true, ""
	})
	return at
}

func (c *cluster) events(podName, reason string) []corev1.Event {
	l, err := c.cs.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	var out []corev1.Event
	for _, e := range l.Items {
		if e.InvolvedObject.Name == podName && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

func TestSchedulerSpreadsPodsOverNodes(t *testing.T) {
	c := startCluster(t, node("node-1", "4", nil), node("node-2", "4", nil), node("node-3", "4", nil))
	var names []string
	for i := 0; i < 9; i++ {
		p := pod(fmt.Sprintf("web-%d", i), "100m")
		names = append(names, p.Name)
		c.create(p)
	}
	at := c.waitBound(names...)
	perNode := map[string]int{}
	for _, n := range at {
		perNode[n]++
	}
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		if perNode[n] != 3 {
			t.Errorf("pods per node = %v, want 3 on each", perNode)
			break
		}
	}
	c.eventually("Scheduled event", func() (bool, string) {
		ev := c.events("web-0", "Scheduled")
		if len(ev) == 0 {
			return false, "none"
		}
		want := "Successfully assigned default/web-0 to " + at["web-0"]
		return ev[0].Message == want, ev[0].Message
	})
}

func TestSchedulerNodeSelector(t *testing.T) {
	c := startCluster(t, node("node-1", "4", nil), node("node-2", "4", map[string]string{"disk": "ssd"}), node("node-3", "4", nil))
	for i := 0; i < 3; i++ {
		p := pod(fmt.Sprintf("db-%d", i), "100m")
		p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
		c.create(p)
	}
	at := c.waitBound("db-0", "db-1", "db-2")
	for name, n := range at {
		if n != "node-2" {
			t.Errorf("%s on %s, want node-2", name, n)
		}
	}
}

func TestSchedulerUnschedulableUntilAFittingNodeAppears(t *testing.T) {
	c := startCluster(t, node("node-1", "1", map[string]string{"disk": "ssd"}), node("node-2", "4", nil), node("node-3", "4", nil))
	p := pod("big", "2")
	p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	c.create(p)
	const want = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. " +
		"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
	c.eventually("FailedScheduling event", func() (bool, string) {
		ev := c.events("big", "FailedScheduling")
		if len(ev) == 0 {
			return false, "none"
		}
		return ev[0].Message == want && ev[0].Type == corev1.EventTypeWarning, ev[0].Message
	})
	c.eventually("PodScheduled=False", func() (bool, string) {
		got, err := c.cs.CoreV1().Pods("default").Get(context.Background(), "big", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == corev1.PodScheduled {
				return cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable && cond.Message == want,
					fmt.Sprintf("%+v", cond)
			}
		}
		return false, "no PodScheduled condition"
	})
	if at := c.placement(); at["big"] != "" {
		t.Fatalf("big bound to %s", at["big"])
	}
	c.create(node("node-4", "4", map[string]string{"disk": "ssd"}))
	if at := c.waitBound("big"); at["big"] != "node-4" {
		t.Errorf("big on %s, want node-4", at["big"])
	}
}

func TestSchedulerSkipsCordonedAndNotReadyNodes(t *testing.T) {
	cordoned := node("node-cordoned", "4", nil)
	cordoned.Spec.Unschedulable = true
	notReady := node("node-notready", "4", nil)
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	c := startCluster(t, cordoned, notReady, node("node-1", "4", nil), node("node-2", "4", nil))
	var names []string
	for i := 0; i < 8; i++ {
		p := pod(fmt.Sprintf("p-%d", i), "100m")
		names = append(names, p.Name)
		c.create(p)
	}
	for name, n := range c.waitBound(names...) {
		if n != "node-1" && n != "node-2" {
			t.Errorf("%s on %s", name, n)
		}
	}
}

func TestSchedulerNoNodes(t *testing.T) {
	c := startCluster(t)
	c.create(pod("lonely", "100m"))
	c.eventually("FailedScheduling event", func() (bool, string) {
		ev := c.events("lonely", "FailedScheduling")
		if len(ev) == 0 {
			return false, "none"
		}
		return ev[0].Message == "no nodes available to schedule pods", ev[0].Message
	})
	c.create(node("node-1", "4", nil))
	c.waitBound("lonely")
}

func TestSchedulerPodAntiAffinity(t *testing.T) {
	nodes := []runtime.Object{}
	for _, n := range []string{"node-1", "node-2", "node-3"} {
		nodes = append(nodes, node(n, "4", map[string]string{corev1.LabelHostname: n}))
	}
	c := startCluster(t, nodes...)
	replica := func(name string) *corev1.Pod {
		p := pod(name, "100m")
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: corev1.LabelHostname, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}}
		return p
	}
	// Created at once: each replica must see the ones assumed before it.
	c.create(replica("r-1"), replica("r-2"), replica("r-3"))
	c.waitBound("r-1", "r-2", "r-3")
	seen := map[string]bool{}
	for _, n := range c.placement() {
		seen[n] = true
	}
	if len(seen) != 3 {
		t.Errorf("replicas share nodes: %v", c.placement())
	}
	c.create(replica("r-4"))
	const want = "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. " +
		"preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
	c.eventually("FailedScheduling event", func() (bool, string) {
		ev := c.events("r-4", "FailedScheduling")
		if len(ev) == 0 {
			return false, "none"
		}
		return ev[0].Message == want, ev[0].Message
	})
	// Deleting a replica frees its node.
	if err := c.cs.CoreV1().Pods("default").Delete(context.Background(), "r-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitBound("r-4")
}

func TestSchedulerRetriesAFailedBinding(t *testing.T) {
	c := startCluster(t, node("node-1", "4", nil))
	failures := 1
	var mu sync.Mutex
	c.cs.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return true, nil, apierrors.NewInternalError(fmt.Errorf("etcd is having a bad day"))
		}
		return false, nil, nil
	})
	c.create(pod("p", "100m"))
	c.waitBound("p")
	c.eventually("FailedScheduling for the binding", func() (bool, string) {
		ev := c.events("p", "FailedScheduling")
		if len(ev) == 0 {
			return false, "none"
		}
		return ev[0].Message == "binding rejected: Internal error occurred: etcd is having a bad day", ev[0].Message
	})
}
