package cache

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func bound(p *corev1.Pod, node string) *corev1.Pod {
	p = p.DeepCopy()
	p.Spec.NodeName = node
	return p
}

func requested(t *testing.T, s *Snapshot, node string) int64 {
	t.Helper()
	ni := s.Get(node)
	if ni == nil {
		t.Fatalf("no node %s in the snapshot", node)
	}
	return ni.Requested.MilliCPU
}

func TestAssumeConfirmForget(t *testing.T) {
	c, s := New(), NewSnapshot()
	c.AddNode(st.Node("n1").Obj())
	c.AddNode(st.Node("n2").Obj())
	pod := st.Pod("p").Req("cpu", "1").Obj()

	if err := c.AssumePod(framework.NewPodInfo(bound(pod, "n1"))); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(framework.NewPodInfo(bound(pod, "n1"))); err == nil {
		t.Error("assuming a pod twice: no error")
	}
	c.UpdateSnapshot(s)
	if !c.IsAssumed(pod) || requested(t, s, "n1") != 1000 {
		t.Fatalf("assumed pod not accounted: %d", requested(t, s, "n1"))
	}

	// The informer shows it bound where it was assumed: confirmed, counted once.
	if moved := c.AddPod(bound(pod, "n1")); moved != nil {
		t.Errorf("moved = %v", moved.Spec.NodeName)
	}
	c.UpdateSnapshot(s)
	if c.IsAssumed(pod) || requested(t, s, "n1") != 1000 {
		t.Errorf("after confirming: assumed %v, n1 requests %d", c.IsAssumed(pod), requested(t, s, "n1"))
	}
	c.ForgetPod(pod) // a confirmed pod is not forgotten
	c.UpdateSnapshot(s)
	if requested(t, s, "n1") != 1000 {
		t.Error("ForgetPod removed a bound pod")
	}
	c.RemovePod(pod)
	c.UpdateSnapshot(s)
	if requested(t, s, "n1") != 0 || c.Has(pod) {
		t.Error("RemovePod left the pod")
	}

	// Assumed on n1, bound elsewhere: n1 is freed and reported.
	other := st.Pod("q").Req("cpu", "2").Obj()
	if err := c.AssumePod(framework.NewPodInfo(bound(other, "n1"))); err != nil {
		t.Fatal(err)
	}
	if moved := c.AddPod(bound(other, "n2")); moved == nil || moved.Spec.NodeName != "n1" {
		t.Errorf("moved = %v, want the pod as assumed on n1", moved)
	}
	c.UpdateSnapshot(s)
	if requested(t, s, "n1") != 0 || requested(t, s, "n2") != 2000 {
		t.Errorf("n1 %d, n2 %d", requested(t, s, "n1"), requested(t, s, "n2"))
	}

	// A failed binding: forgotten.
	third := st.Pod("r").Req("cpu", "1").Obj()
	_ = c.AssumePod(framework.NewPodInfo(bound(third, "n1")))
	c.ForgetPod(third)
	c.UpdateSnapshot(s)
	if requested(t, s, "n1") != 0 || c.Has(third) {
		t.Error("ForgetPod left the assumed pod")
	}
}

func TestSnapshotClonesOnlyWhatChanged(t *testing.T) {
	c, s := New(), NewSnapshot()
	for _, n := range []string{"n3", "n1", "n2"} {
		c.AddNode(st.Node(n).Obj())
	}
	c.UpdateSnapshot(s)
	var names []string
	for _, ni := range s.List() {
		names = append(names, ni.Node().Name)
	}
	if len(names) != 3 || names[0] != "n1" || names[2] != "n3" {
		t.Fatalf("list = %v, want n1 n2 n3", names)
	}
	n1, n2 := s.Get("n1"), s.Get("n2")
	c.AddPod(bound(st.Pod("p").Req("cpu", "1").Obj(), "n2"))
	c.UpdateSnapshot(s)
	if s.Get("n1") != n1 {
		t.Error("unchanged n1 was cloned again")
	}
	if s.Get("n2") == n2 || s.List()[1] != s.Get("n2") || n2.Requested.MilliCPU != 0 {
		t.Error("n2's change is not in a new clone, or changed the old one")
	}
}

func TestRemovedNodeKeepsItsPodsAccounted(t *testing.T) {
	c, s := New(), NewSnapshot()
	node := st.Node("n1").Obj()
	c.AddNode(node)
	c.AddNode(st.Node("n2").Obj())
	pod := bound(st.Pod("p").Req("cpu", "1").Obj(), "n1")
	c.AddPod(pod)
	c.RemoveNode(node)
	c.UpdateSnapshot(s)
	if len(s.List()) != 1 || s.List()[0].Node().Name != "n2" {
		t.Fatalf("list has %d nodes", len(s.List()))
	}
	c.AddNode(node)
	c.UpdateSnapshot(s)
	if len(s.List()) != 2 || requested(t, s, "n1") != 1000 {
		t.Errorf("node back: %d nodes, n1 requests %d", len(s.List()), requested(t, s, "n1"))
	}
	c.RemoveNode(node)
	c.RemovePod(pod)
	c.UpdateSnapshot(s)
	if s.Get("n1") != nil || len(s.List()) != 1 {
		t.Error("node and its last pod gone, but the snapshot keeps it")
	}
}
