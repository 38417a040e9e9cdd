package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestNodeLifecycleUnreachable registers two nodes the way an agent does, through their
// node credentials, with a Lease each; one keeps renewing its Lease and one stops. The
// silent one turns Unknown once the (shortened) grace period is over, gets the
// unreachable taints, its pods turn not ready, and the pod tolerating the taint for 2 s
// is deleted after that while the one tolerating it for good stays. When the node
// reports again, the taints go.
func TestNodeLifecycleUnreachable(t *testing.T) {
	c := startCluster(t, "--node-monitor-grace-period", "3s")
	admin := c.client()
	register := func(name string) *kubernetes.Clientset {
		t.Helper()
		cs := c.nodeClient(name)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
		created, err := cs.CoreV1().Nodes().Create(bg, node, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("registering %s: %v", name, err)
		}
		nlPostReady(t, cs, created)
		now := metav1.NewMicroTime(time.Now())
		if _, err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(bg, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("lease of %s: %v", name, err)
		}
		return cs
	}
	up, gone := register("nl-up"), register("nl-gone")
	ctx, stop := context.WithCancel(bg)
	t.Cleanup(stop)
	go nlRenewEvery(ctx, up, "nl-up", time.Second)

	pods := admin.CoreV1().Pods("default")
	for name, seconds := range map[string]*int64{"brief": ptr.To[int64](2), "steadfast": nil} {
		p := podObj(name, "nl-gone")
		p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}}
		created, err := pods.Create(bg, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := metav1.Now()
		created.Status.Phase = corev1.PodRunning
		created.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		if _, err := gone.CoreV1().Pods("default").UpdateStatus(bg, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("node posting the status of %s: %v", name, err)
		}
	}

	// nl-gone never renews again: within the grace period plus a monitor period or two,
	// it is Unknown and tainted.
	var node *corev1.Node
	waitFor(t, one(admin, "nodes", "", "nl-gone"), "nl-gone Unknown with the unreachable taints", func(n *corev1.Node, ok bool) bool {
		node = n
		return ok && nodeReadyCondition(n) != nil && nodeReadyCondition(n).Status == corev1.ConditionUnknown &&
			nodeHasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) &&
			nodeHasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	})
	if r := nodeReadyCondition(node); r.Reason != "NodeStatusUnknown" || r.Message != "Kubelet stopped posting node status." {
		t.Errorf("Ready of nl-gone: %+v", r)
	}
	if out := c.mustKubectl("get", "node", "nl-gone"); !strings.Contains(out, "NotReady") {
		t.Errorf("kubectl get node nl-gone:\n%s", out)
	}
	if n, err := admin.CoreV1().Nodes().Get(bg, "nl-up", metav1.GetOptions{}); err != nil || nodeReadyCondition(n).Status != corev1.ConditionTrue || len(n.Spec.Taints) != 0 {
		t.Errorf("nl-up: %v %+v", err, n)
	}

	for _, name := range []string{"brief", "steadfast"} {
		waitFor(t, one(admin, "pods", "default", name), name+" not ready", func(p *corev1.Pod, ok bool) bool {
			if !ok {
				return false
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady {
					return cond.Status == corev1.ConditionFalse
				}
			}
			return !ok
		})
	}
	waitFor(t, one(admin, "pods", "default", "brief"), "brief evicted", func(p *corev1.Pod, ok bool) bool {
		return !ok || p.DeletionTimestamp != nil
	})
	if p, err := pods.Get(bg, "steadfast", metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Errorf("the pod tolerating the taint for good: %v %v", err, p.DeletionTimestamp)
	}
	found := false
	for deadline := time.Now().Add(10 * time.Second); !found && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		evs, err := admin.CoreV1().Events("default").List(bg, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			found = found || e.Reason == "TaintManagerEviction" && e.Message == "Marking for deletion Pod default/brief"
		}
	}
	if !found {
		t.Error("no TaintManagerEviction event for default/brief")
	}

	// nl-gone is back: it renews and reports Ready, and the taints go.
	go nlRenewEvery(ctx, gone, "nl-gone", time.Second)
	nlPostReady(t, gone, node)
	waitFor(t, one(admin, "nodes", "", "nl-gone"), "nl-gone Ready and untainted", func(n *corev1.Node, ok bool) bool {
		return ok && nodeReadyCondition(n) != nil && nodeReadyCondition(n).Status == corev1.ConditionTrue && len(n.Spec.Taints) == 0
	})
}

// nlPostReady reports node ready, with fresh heartbeats, as an agent does.
func nlPostReady(t *testing.T, cs kubernetes.Interface, node *corev1.Node) {
	t.Helper()
	cur, err := cs.CoreV1().Nodes().Get(bg, node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	cur.Status.Conditions = []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now},
	}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(bg, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status of %s: %v", node.Name, err)
	}
}

// nlRenewEvery renews the node's Lease every interval until ctx ends.
func nlRenewEvery(ctx context.Context, cs kubernetes.Interface, name string, interval time.Duration) {
	leases := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		if l, err := leases.Get(ctx, name, metav1.GetOptions{}); err == nil {
			l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
			_, _ = leases.Update(ctx, l, metav1.UpdateOptions{})
		}
	}
}

func nodeReadyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func nodeHasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}
