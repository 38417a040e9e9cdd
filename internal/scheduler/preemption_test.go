package scheduler

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

// prioritized returns pod(name, cpu) with priority prio, labelled app=name.
func prioritized(name, cpu string, prio int32) *corev1.Pod {
	p := pod(name, cpu)
	p.Labels = map[string]string{"app": name}
	p.Spec.Priority = &prio
	return p
}

// running returns prioritized(name, cpu, prio) bound to node and started.
func running(name, cpu string, prio int32, node string) *corev1.Pod {
	p := prioritized(name, cpu, prio)
	p.Spec.NodeName = node
	p.Status.Phase = corev1.PodRunning
	p.Status.StartTime = &metav1.Time{Time: metav1.Now().Add(-3600e9)}
	return p
}

// deletions records each pod as it was when deleted.
type deletions struct {
	mu   sync.Mutex // guards pods
	pods map[string]*corev1.Pod
}

func (c *cluster) recordDeletions() *deletions {
	d := &deletions{pods: map[string]*corev1.Pod{}}
	c.cs.PrependReactor("delete", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		da := action.(k8stesting.DeleteAction)
		if obj, err := c.cs.Tracker().Get(podsResource, da.GetNamespace(), da.GetName()); err == nil {
			d.mu.Lock()
			d.pods[da.GetName()] = obj.(*corev1.Pod).DeepCopy()
			d.mu.Unlock()
		}
		return false, nil, nil
	})
	return d
}

func (d *deletions) get(name string) *corev1.Pod {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pods[name]
}

// waitCached waits until the scheduler's cache holds the bound pods.
func (c *cluster) waitCached(pods ...*corev1.Pod) {
	c.t.Helper()
	c.eventually("pods in the cache", func() (bool, string) {
		for _, p := range pods {
			if !c.s.cache.Has(p) {
				return false, p.Name
			}
		}
		return true, ""
	})
}

func (c *cluster) exists(name string) bool {
	c.t.Helper()
	_, err := c.cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		c.t.Fatal(err)
	}
	return err == nil
}

func (c *cluster) waitEvent(podName, reason, want string) {
	c.t.Helper()
	c.eventually(reason+" event of "+podName, func() (bool, string) {
		ev := c.events(podName, reason)
		if len(ev) == 0 {
			return false, "none"
		}
		return ev[len(ev)-1].Message == want, ev[len(ev)-1].Message
	})
}

func TestPreemptionEvictsAPodOfLowerPriority(t *testing.T) {
	c := startCluster(t, node("node-1", "1", nil))
	gone := c.recordDeletions()
	low := running("low", "1", 1, "node-1")
	c.create(low)
	c.waitCached(low)
	c.create(prioritized("high", "1", 100))

	at := c.waitBound("high")
	if at["high"] != "node-1" {
		t.Fatalf("high on %q, want node-1", at["high"])
	}
	if c.exists("low") {
		t.Error("the victim was not deleted")
	}
	victim := gone.get("low")
	if victim == nil {
		t.Fatal("no deletion of the victim recorded")
	}
	var cond *corev1.PodCondition
	for i := range victim.Status.Conditions {
		if victim.Status.Conditions[i].Type == corev1.DisruptionTarget {
			cond = &victim.Status.Conditions[i]
		}
	}
	if cond == nil || cond.Status != corev1.ConditionTrue || cond.Reason != corev1.PodReasonPreemptionByScheduler ||
		cond.Message != "default-scheduler: preempting to accommodate a higher priority pod" {
		t.Errorf("victim's DisruptionTarget condition when deleted: %+v", cond)
	}
	c.waitEvent("low", "Preempted", "Preempted by pod uid-high on node node-1")
	c.waitEvent("high", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.")
	high, err := c.cs.CoreV1().Pods("default").Get(context.Background(), "high", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if high.Status.NominatedNodeName != "node-1" {
		t.Errorf("high's nominatedNodeName = %q, want node-1", high.Status.NominatedNodeName)
	}
	c.eventually("the nomination ends with the binding", func() (bool, string) {
		return c.s.nominator.nominatedNode(high) == "", c.s.nominator.nominatedNode(high)
	})
}

func TestNoPreemption(t *testing.T) {
	never := corev1.PreemptNever
	tests := []struct {
		name      string
		preemptor func() *corev1.Pod
		want      string
	}{
		{"preemptionPolicy Never", func() *corev1.Pod {
			p := prioritized("p", "1", 100)
			p.Spec.PreemptionPolicy = &never
			return p
		}, "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."},
		{"equal priority", func() *corev1.Pod { return prioritized("p", "1", 10) },
			"0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."},
		{"lower priority", func() *corev1.Pod { return prioritized("p", "1", 5) },
			"0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := startCluster(t, node("node-1", "1", nil))
			placed := running("placed", "1", 10, "node-1")
			c.create(placed)
			c.waitCached(placed)
			c.create(tc.preemptor())
			c.waitEvent("p", "FailedScheduling", tc.want)
			if !c.exists("placed") || len(c.events("placed", "Preempted")) > 0 {
				t.Error("the placed pod was preempted")
			}
			if at := c.placement(); at["p"] != "" {
				t.Errorf("p bound to %s", at["p"])
			}
		})
	}
}

func TestPreemptionRespectsPodDisruptionBudgets(t *testing.T) {
	tests := []struct {
		name      string
		nodes     []string
		wantNode  string
		wantGone  string
		wantStays string
	}{
		{"another node's pod is preempted", []string{"node-a", "node-b"}, "node-b", "free", "guarded"},
		{"a budget is violated when nothing else helps", []string{"node-a"}, "node-a", "guarded", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			for _, n := range tc.nodes {
				objs = append(objs, node(n, "1", nil))
			}
			objs = append(objs, &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "guard"},
				Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
				Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0},
			})
			c := startCluster(t, objs...)
			// The guarded pod has the lower priority: only the budget keeps it.
			placed := []*corev1.Pod{running("guarded", "1", 1, "node-a")}
			if len(tc.nodes) > 1 {
				placed = append(placed, running("free", "1", 5, "node-b"))
			}
			c.create(placedObjects(placed)...)
			c.waitCached(placed...)
			c.create(prioritized("high", "1", 100))
			if at := c.waitBound("high"); at["high"] != tc.wantNode {
				t.Errorf("high on %s, want %s", at["high"], tc.wantNode)
			}
			if c.exists(tc.wantGone) {
				t.Errorf("%s was not preempted", tc.wantGone)
			}
			if tc.wantStays != "" && !c.exists(tc.wantStays) {
				t.Errorf("%s was preempted", tc.wantStays)
			}
		})
	}
}

func placedObjects(pods []*corev1.Pod) []runtime.Object {
	out := make([]runtime.Object, len(pods))
	for i, p := range pods {
		out[i] = p
	}
	return out
}

// TestNominatedPodsReserveRoom schedules pods past a pod nominated to a node: those of
// its priority or lower must leave it its room there.
func TestNominatedPodsReserveRoom(t *testing.T) {
	held := st.Pod("held").Priority(10).Req("cpu", "2").Obj()
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string // the node, or the FailedScheduling message
	}{
		{"lower priority", st.Pod("p").Priority(5).Req("cpu", "1").Obj(),
			"0/1 nodes are available: 1 Insufficient cpu."},
		{"equal priority", st.Pod("p").Priority(10).Req("cpu", "1").Obj(),
			"0/1 nodes are available: 1 Insufficient cpu."},
		{"higher priority", st.Pod("p").Priority(20).Req("cpu", "1").Obj(), "n"},
		{"the nominated pod", held, "n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestScheduler(t)
			s.cache.AddNode(st.Node("n").Obj())
			s.cache.AddPod(st.Pod("placed").Req("cpu", "2").NodeName("n").Obj())
			s.nominator.nominate(framework.NewPodInfo(held), "n")
			s.cache.UpdateSnapshot(s.snapshot)
			got, err := s.schedulePod(framework.NewCycleState(), framework.NewPodInfo(tc.pod))
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestNominatedNodeFirst: a nominated pod goes to its node when it fits there, even
// where another node scores higher.
func TestNominatedNodeFirst(t *testing.T) {
	s := newTestScheduler(t)
	s.cache.AddNode(st.Node("busy").Obj())
	s.cache.AddNode(st.Node("empty").Obj())
	s.cache.AddPod(st.Pod("placed").Req("cpu", "3").NodeName("busy").Obj())
	p := st.Pod("p").Priority(10).Req("cpu", "1").Obj()
	s.nominator.nominate(framework.NewPodInfo(p), "busy")
	s.cache.UpdateSnapshot(s.snapshot)
	if got, err := s.schedulePod(framework.NewCycleState(), framework.NewPodInfo(p)); got != "busy" || err != nil {
		t.Errorf("schedulePod = %q, %v; want busy", got, err)
	}
}

func TestNominatorFollowsTheInformer(t *testing.T) {
	s := newTestScheduler(t)
	h := s.podHandler()
	nominated := func(name, node string) *corev1.Pod {
		p := st.Pod(name).Priority(10).Obj()
		p.Status.NominatedNodeName = node
		return p
	}
	// Seen nominated, then cleared by someone.
	a := nominated("a", "n1")
	h.OnAdd(a, false)
	if got := s.nominator.nominatedNode(a); got != "n1" {
		t.Fatalf("a nominated to %q, want n1", got)
	}
	h.OnUpdate(a, nominated("a", ""))
	if got := s.nominator.nominatedNode(a); got != "" {
		t.Errorf("a nominated to %q after it was cleared", got)
	}
	// The scheduler's own nomination outlives updates that do not touch it.
	b := nominated("b", "")
	h.OnAdd(b, false)
	s.nominator.nominate(framework.NewPodInfo(b), "n2")
	b2 := b.DeepCopy()
	b2.Labels = map[string]string{"x": "y"}
	h.OnUpdate(b, b2)
	if got := s.nominator.nominatedNode(b); got != "n2" || len(s.nominator.NominatedPodsForNode("n2")) != 1 {
		t.Errorf("b nominated to %q, want n2", got)
	}
	// Bound: the nomination ends.
	b3 := b2.DeepCopy()
	b3.Spec.NodeName = "n2"
	h.OnUpdate(b2, b3)
	if got := s.nominator.nominatedNode(b); got != "" || len(s.nominator.NominatedPodsForNode("n2")) != 0 {
		t.Errorf("b nominated to %q after binding", got)
	}
	// Deleted: likewise.
	c := nominated("c", "n1")
	h.OnAdd(c, false)
	h.OnDelete(c)
	if got := s.nominator.nominatedNode(c); got != "" {
		t.Errorf("c nominated to %q after deletion", got)
	}
}

// newTestScheduler returns a scheduler that is not running, for its scheduling
// cycle's functions.
func newTestScheduler(t *testing.T) *Scheduler {
	t.Helper()
	cs := fake.NewClientset()
	s, err := newScheduler(cs, informers.NewSharedInformerFactory(cs, 0), slog.New(slog.NewTextHandler(io.Discard, nil)), defaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPreemptorWaitsForItsEviction: a preemptor popped while the binders still evict
// its victims waits, and is retried once they are done.
func TestPreemptorWaitsForItsEviction(t *testing.T) {
	s := newTestScheduler(t)
	p := st.Pod("p").Priority(10).Obj()
	s.queue.Add(p)
	s.startPreemption(p)
	if !s.scheduleOne(context.Background()) {
		t.Fatal("the queue closed")
	}
	if a, b, u := s.queue.Counts(); a+b != 0 || u != 1 {
		t.Fatalf("queue counts %d active, %d backing off, %d unschedulable; want it unschedulable", a, b, u)
	}
	s.endPreemption(p, true)
	if a, b, u := s.queue.Counts(); a+b != 1 || u != 0 {
		t.Errorf("queue counts %d active, %d backing off, %d unschedulable; want it retried", a, b, u)
	}
	// Done with no pod waiting: nothing moves.
	s.startPreemption(p)
	s.endPreemption(p, true)
	if a, b, _ := s.queue.Counts(); a+b != 1 {
		t.Errorf("queue counts %d active, %d backing off", a, b)
	}
}
