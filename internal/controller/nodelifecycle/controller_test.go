package nodelifecycle

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// harness runs the controller's steps by hand against a fake clientset: it copies the
// clientset's objects into the informers' caches before and after each step, steps the
// fake clock, and renews the Leases of the nodes in alive.
type harness struct {
	t       *testing.T
	ctx     context.Context
	client  *fake.Clientset
	clock   *testingclock.FakeClock
	factory informers.SharedInformerFactory
	c       *Controller
	events  *record.FakeRecorder
	alive   map[string]bool
}

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), client: fake.NewClientset(objs...),
		clock: testingclock.NewFakeClock(t0), events: record.NewFakeRecorder(1000), alive: map[string]bool{}}
	h.factory = informers.NewSharedInformerFactory(h.client, 0)
	c, err := New(h.client, h.factory, Config{Clock: h.clock}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	c.recorder, c.evictRecorder = h.events, h.events
	h.c = c
	for _, o := range objs {
		if n, ok := o.(*corev1.Node); ok {
			h.alive[n.Name] = true
		}
	}
	h.sync()
	return h
}

// sync copies the clientset's nodes, leases and pods into the informers' caches.
func (h *harness) sync() {
	h.t.Helper()
	nodes, err := h.client.CoreV1().Nodes().List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	leases, err := h.client.CoordinationV1().Leases(LeaseNamespace).List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	pods, err := h.client.CoreV1().Pods("").List(h.ctx, metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	replace := func(inf cache.SharedIndexInformer, items []any) {
		if err := inf.GetStore().Replace(items, ""); err != nil {
			h.t.Fatal(err)
		}
	}
	var items []any
	for i := range nodes.Items {
		items = append(items, &nodes.Items[i])
	}
	replace(h.factory.Core().V1().Nodes().Informer(), items)
	items = nil
	for i := range leases.Items {
		items = append(items, &leases.Items[i])
	}
	replace(h.factory.Coordination().V1().Leases().Informer(), items)
	items = nil
	for i := range pods.Items {
		items = append(items, &pods.Items[i])
	}
	replace(h.factory.Core().V1().Pods().Informer(), items)
}

// step moves the clock by d, renews the Leases of the nodes alive, and runs a monitor
// pass.
func (h *harness) step(d time.Duration) {
	h.t.Helper()
	h.clock.Step(d)
	for name := range h.alive {
		h.renew(name)
	}
	h.sync()
	h.c.monitor(h.ctx)
	h.sync()
}

func (h *harness) renew(name string) {
	h.t.Helper()
	leases := h.client.CoordinationV1().Leases(LeaseNamespace)
	l, err := leases.Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(h.clock.Now()))
	if _, err := leases.Update(h.ctx, l, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// evict runs the eviction step for a pod and returns how long until it looks again.
func (h *harness) evict(ns, name string) time.Duration {
	h.t.Helper()
	h.sync()
	again, err := h.c.syncEviction(h.ctx, ns+"/"+name)
	if err != nil {
		h.t.Fatal(err)
	}
	h.sync()
	return again
}

func (h *harness) node(name string) *corev1.Node {
	h.t.Helper()
	n, err := h.client.CoreV1().Nodes().Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) pod(name string) *corev1.Pod {
	h.t.Helper()
	p, err := h.client.CoreV1().Pods("default").Get(h.ctx, name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) podGone(name string) bool {
	_, err := h.client.CoreV1().Pods("default").Get(h.ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// drainEvents returns the events recorded so far.
func (h *harness) drainEvents() []string {
	var out []string
	for {
		select {
		case e := <-h.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (h *harness) wantEvent(want string) {
	h.t.Helper()
	got := h.drainEvents()
	if !slices.Contains(got, want) {
		h.t.Errorf("no event %q in:\n%s", want, strings.Join(got, "\n"))
	}
}

// readyNode is a node as the agent posts it, with its Lease, at t0.
func readyNode(name string, labels map[string]string) (*corev1.Node, *coordinationv1.Lease) {
	at := metav1.NewTime(t0)
	cond := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: status, Reason: reason, LastHeartbeatTime: at, LastTransitionTime: at}
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Labels: labels, CreationTimestamp: at},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
		}}}
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: LeaseNamespace},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(name), LeaseDurationSeconds: ptr.To[int32](40),
			RenewTime: ptr.To(metav1.NewMicroTime(t0))}}
	return n, l
}

// readyPod is a running pod on node with the given tolerations.
func readyPod(name, node string, tolerations ...corev1.Toleration) *corev1.Pod {
	at := metav1.NewTime(t0)
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-pod-" + name)},
		Spec: corev1.PodSpec{NodeName: node, Tolerations: tolerations, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: at},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: at},
		}}}
}

func tolerate(key string, seconds *int64) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds}
}

// twoNodes is a cluster of node "gone", whose agent the tests stop, and node "up", kept
// alive so that the zone stays healthy.
func twoNodes(pods ...runtime.Object) []runtime.Object {
	gone, goneLease := readyNode("gone", nil)
	up, upLease := readyNode("up", nil)
	return append([]runtime.Object{gone, goneLease, up, upLease}, pods...)
}

func findTaint(n *corev1.Node, key string, effect corev1.TaintEffect) *corev1.Taint {
	for i := range n.Spec.Taints {
		if n.Spec.Taints[i].Key == key && n.Spec.Taints[i].Effect == effect {
			return &n.Spec.Taints[i]
		}
	}
	return nil
}

func TestSilentNodeTurnsUnknownAfterGracePeriod(t *testing.T) {
	h := newHarness(t, twoNodes(readyPod("web", "gone"))...)
	h.step(0)
	h.step(10 * time.Second) // the agent of "gone" renews for the last time at t0+10s
	delete(h.alive, "gone")
	h.drainEvents()

	h.step(40 * time.Second) // 40 s of silence: not yet past the grace period
	if got := readyStatus(h.node("gone")); got != corev1.ConditionTrue {
		t.Fatalf("Ready after 40 s of silence = %s, want True", got)
	}
	if n := h.node("gone"); len(n.Spec.Taints) != 0 {
		t.Fatalf("taints of a node still in its grace period: %v", n.Spec.Taints)
	}

	h.step(time.Second)
	now := metav1.NewTime(h.clock.Now())
	n := h.node("gone")
	for _, typ := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure} {
		c := condition(n.Status.Conditions, typ)
		if c == nil || c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusUnknown" ||
			c.Message != "Kubelet stopped posting node status." || !c.LastHeartbeatTime.Equal(ptr.To(metav1.NewTime(t0))) ||
			!c.LastTransitionTime.Equal(&now) {
			t.Errorf("condition %s = %+v", typ, c)
		}
	}
	if c := condition(n.Status.Conditions, corev1.NodePIDPressure); c == nil || c.Status != corev1.ConditionUnknown ||
		c.Reason != "NodeStatusNeverUpdated" || c.Message != "Kubelet never posted node status." {
		t.Errorf("PIDPressure, never posted = %+v", c)
	}
	if tt := findTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule); tt == nil {
		t.Errorf("no unreachable:NoSchedule taint: %v", n.Spec.Taints)
	}
	if tt := findTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute); tt == nil || tt.TimeAdded == nil || !tt.TimeAdded.Equal(&now) {
		t.Errorf("unreachable:NoExecute taint = %+v, want one added at %v", tt, now)
	}
	if up := h.node("up"); readyStatus(up) != corev1.ConditionTrue || len(up.Spec.Taints) != 0 {
		t.Errorf("the live node changed: %v %v", up.Status.Conditions, up.Spec.Taints)
	}

	// Its pods are not ready; the reason and message of their condition stay.
	p := h.pod("web")
	if i := podCondition(p.Status.Conditions, corev1.PodReady); i < 0 || p.Status.Conditions[i].Status != corev1.ConditionFalse ||
		!p.Status.Conditions[i].LastTransitionTime.Equal(&now) {
		t.Errorf("pod conditions: %+v", p.Status.Conditions)
	}
	events := h.drainEvents()
	for _, want := range []string{"Normal NodeNotReady Node gone status is now: NodeNotReady", "Warning NodeNotReady Node is not ready"} {
		if !slices.Contains(events, want) {
			t.Errorf("no event %q in:\n%s", want, strings.Join(events, "\n"))
		}
	}

	// Later passes write nothing but the Lease renewals.
	h.client.ClearActions()
	h.step(5 * time.Second)
	for _, a := range h.client.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" && a.GetResource().Resource != "leases" {
			t.Errorf("a later pass wrote: %s %s/%s", v, a.GetResource().Resource, a.GetSubresource())
		}
	}
}

func TestNodeBackReadyLosesTaints(t *testing.T) {
	h := newHarness(t, twoNodes()...)
	h.step(0)
	delete(h.alive, "gone")
	h.step(41 * time.Second)
	n := h.node("gone")
	if readyStatus(n) != corev1.ConditionUnknown || len(n.Spec.Taints) != 2 {
		t.Fatalf("node after its grace period: %v %v", n.Status.Conditions, n.Spec.Taints)
	}

	// The agent is back: it renews the Lease and reports Ready.
	h.alive["gone"] = true
	now := metav1.NewTime(h.clock.Now().Add(5 * time.Second))
	c := condition(n.Status.Conditions, corev1.NodeReady)
	c.Status, c.Reason, c.LastHeartbeatTime, c.LastTransitionTime = corev1.ConditionTrue, "KubeletReady", now, now
	if _, err := h.client.CoreV1().Nodes().UpdateStatus(h.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.step(5 * time.Second)
	if n := h.node("gone"); readyStatus(n) != corev1.ConditionTrue || len(n.Spec.Taints) != 0 {
		t.Fatalf("node back: %v taints %v", n.Status.Conditions, n.Spec.Taints)
	}
}

func TestNotReadyNodeGetsNotReadyTaints(t *testing.T) {
	h := newHarness(t, twoNodes()...)
	h.step(0)
	// The agent reports the node not ready, and keeps renewing.
	n := h.node("gone")
	c := condition(n.Status.Conditions, corev1.NodeReady)
	c.Status, c.Reason = corev1.ConditionFalse, "KubeletNotReady"
	if _, err := h.client.CoreV1().Nodes().UpdateStatus(h.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.step(5 * time.Second)
	n = h.node("gone")
	if findTaint(n, corev1.TaintNodeNotReady, corev1.TaintEffectNoSchedule) == nil ||
		findTaint(n, corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute) == nil || len(n.Spec.Taints) != 2 {
		t.Fatalf("taints of a node reporting NotReady: %v", n.Spec.Taints)
	}
	// Then it goes silent: the not-ready taints become unreachable ones.
	delete(h.alive, "gone")
	h.step(41 * time.Second)
	n = h.node("gone")
	if findTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) == nil ||
		findTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) == nil || len(n.Spec.Taints) != 2 {
		t.Fatalf("taints of a node gone silent: %v", n.Spec.Taints)
	}
}

func TestEviction(t *testing.T) {
	h := newHarness(t, twoNodes(
		readyPod("intolerant", "gone"),
		readyPod("five-minutes", "gone", tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](300)), tolerate(corev1.TaintNodeNotReady, ptr.To[int64](300))),
		readyPod("forever", "gone", tolerate(corev1.TaintNodeUnreachable, nil)),
		readyPod("elsewhere", "up"),
	)...)
	h.step(0)
	for _, p := range []string{"intolerant", "five-minutes", "forever", "elsewhere"} {
		if again := h.evict("default", p); again != 0 || h.podGone(p) {
			t.Fatalf("%s on an untainted node: again %v, gone %v", p, again, h.podGone(p))
		}
	}
	delete(h.alive, "gone")
	h.step(41 * time.Second)
	if findTaint(h.node("gone"), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) == nil {
		t.Fatal("no NoExecute taint")
	}
	h.drainEvents()

	// Not tolerated: deleted at once, as a disruption target.
	if again := h.evict("default", "intolerant"); again != 0 || !h.podGone("intolerant") {
		t.Fatalf("intolerant pod: again %v, gone %v", again, h.podGone("intolerant"))
	}
	h.wantEvent("Normal TaintManagerEviction Marking for deletion Pod default/intolerant")
	var marked bool
	for _, a := range h.client.Actions() {
		if a.GetVerb() == "update" && a.GetSubresource() == "status" && a.GetResource().Resource == "pods" {
			p := a.(interface{ GetObject() runtime.Object }).GetObject().(*corev1.Pod)
			if i := podCondition(p.Status.Conditions, corev1.DisruptionTarget); p.Name == "intolerant" && i >= 0 &&
				p.Status.Conditions[i].Reason == "DeletionByTaintManager" {
				marked = true
			}
		}
	}
	if !marked {
		t.Error("the evicted pod was not marked DisruptionTarget")
	}

	// Tolerated for 300 s from the taint's timeAdded.
	if again := h.evict("default", "five-minutes"); again != 300*time.Second {
		t.Fatalf("five-minutes: again %v, want 5m", again)
	}
	h.clock.Step(299 * time.Second)
	if again := h.evict("default", "five-minutes"); again != time.Second || h.podGone("five-minutes") {
		t.Fatalf("five-minutes after 299 s: again %v, gone %v", again, h.podGone("five-minutes"))
	}
	h.clock.Step(time.Second)
	if again := h.evict("default", "five-minutes"); again != 0 || !h.podGone("five-minutes") {
		t.Fatalf("five-minutes after 300 s: again %v, gone %v", again, h.podGone("five-minutes"))
	}
	h.wantEvent("Normal TaintManagerEviction Marking for deletion Pod default/five-minutes")

	// Tolerated with no period: never.
	h.clock.Step(time.Hour)
	if again := h.evict("default", "forever"); again != 0 || h.podGone("forever") {
		t.Fatalf("forever: again %v, gone %v", again, h.podGone("forever"))
	}
	if again := h.evict("default", "elsewhere"); again != 0 || h.podGone("elsewhere") {
		t.Fatalf("elsewhere: again %v, gone %v", again, h.podGone("elsewhere"))
	}
}

func TestEvictionCancelledWhenNodeReturns(t *testing.T) {
	h := newHarness(t, twoNodes(readyPod("web", "gone", tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](60))))...)
	h.step(0)
	delete(h.alive, "gone")
	h.step(41 * time.Second)
	if again := h.evict("default", "web"); again != 60*time.Second {
		t.Fatalf("again %v, want 1m", again)
	}
	h.alive["gone"] = true
	n := h.node("gone")
	now := metav1.NewTime(h.clock.Now())
	c := condition(n.Status.Conditions, corev1.NodeReady)
	c.Status, c.LastHeartbeatTime, c.LastTransitionTime = corev1.ConditionTrue, now, now
	if _, err := h.client.CoreV1().Nodes().UpdateStatus(h.ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.step(5 * time.Second)
	h.drainEvents()
	if again := h.evict("default", "web"); again != 0 {
		t.Fatalf("again %v after the taint went", again)
	}
	h.wantEvent("Normal TaintManagerEviction Cancelling deletion of Pod default/web")
	h.clock.Step(time.Hour)
	if h.evict("default", "web"); h.podGone("web") {
		t.Fatal("pod deleted after its node came back")
	}
}

func TestPodBoundToNotReadyNode(t *testing.T) {
	h := newHarness(t, twoNodes()...)
	h.step(0)
	delete(h.alive, "gone")
	h.step(41 * time.Second)
	if _, err := h.client.CoreV1().Pods("default").Create(h.ctx, readyPod("late", "gone"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync()
	if err := h.c.syncBoundPod(h.ctx, "default/late"); err != nil {
		t.Fatal(err)
	}
	p := h.pod("late")
	if i := podCondition(p.Status.Conditions, corev1.PodReady); p.Status.Conditions[i].Status != corev1.ConditionFalse {
		t.Fatalf("pod bound to a node not ready: %+v", p.Status.Conditions)
	}
}

// A cluster whose every node is silent more likely lost its control plane's network than
// all its nodes: the nodes turn Unknown and get the NoSchedule taint, but no NoExecute.
func TestAllNodesSilentNoEviction(t *testing.T) {
	n, l := readyNode("only", nil)
	h := newHarness(t, n, l, readyPod("web", "only"))
	h.step(0)
	delete(h.alive, "only")
	h.step(41 * time.Second)
	h.step(5 * time.Second)
	n = h.node("only")
	if readyStatus(n) != corev1.ConditionUnknown || findTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) == nil {
		t.Fatalf("node: %v %v", n.Status.Conditions, n.Spec.Taints)
	}
	if findTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) != nil {
		t.Fatalf("NoExecute taint with no node ready: %v", n.Spec.Taints)
	}
	if p := h.pod("web"); p.Status.Conditions[podCondition(p.Status.Conditions, corev1.PodReady)].Status != corev1.ConditionFalse {
		t.Fatalf("pod still ready: %+v", p.Status.Conditions)
	}
}

// In a healthy zone, nodes get their NoExecute taint one every 10 s (0.1 nodes/s).
func TestNoExecuteTaintRate(t *testing.T) {
	var objs []runtime.Object
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		n, l := readyNode(name, map[string]string{corev1.LabelTopologyZone: "z1"})
		objs = append(objs, n, l)
	}
	h := newHarness(t, objs...)
	h.step(0)
	delete(h.alive, "a")
	delete(h.alive, "b")
	h.step(41 * time.Second)
	tainted := func() (names []string) {
		for _, name := range []string{"a", "b"} {
			if findTaint(h.node(name), corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) != nil {
				names = append(names, name)
			}
		}
		return names
	}
	if got := tainted(); len(got) != 1 {
		t.Fatalf("tainted at once: %v, want one node", got)
	}
	h.step(5 * time.Second)
	if got := tainted(); len(got) != 1 {
		t.Fatalf("tainted after 5 s: %v, want one node", got)
	}
	h.step(5 * time.Second)
	if got := tainted(); len(got) != 2 {
		t.Fatalf("tainted after 10 s: %v, want both", got)
	}
	for _, name := range []string{"a", "b"} {
		if findTaint(h.node(name), corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule) == nil {
			t.Errorf("%s has no NoSchedule taint", name)
		}
	}
}

func TestNodeNeverPostedStatus(t *testing.T) {
	up, upLease := readyNode("up", nil)
	bare := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bare", CreationTimestamp: metav1.NewTime(t0)}}
	h := newHarness(t, up, upLease, bare)
	delete(h.alive, "bare")
	h.step(0)
	h.step(60 * time.Second) // the startup grace period
	if n := h.node("bare"); len(n.Status.Conditions) != 0 {
		t.Fatalf("conditions within the startup grace period: %v", n.Status.Conditions)
	}
	h.step(time.Second)
	n := h.node("bare")
	c := condition(n.Status.Conditions, corev1.NodeReady)
	if c == nil || c.Status != corev1.ConditionUnknown || c.Reason != "NodeStatusNeverUpdated" || len(n.Status.Conditions) != 4 {
		t.Fatalf("conditions: %+v", n.Status.Conditions)
	}
}

func TestNoScheduleTaints(t *testing.T) {
	tests := []struct {
		name          string
		conditions    map[corev1.NodeConditionType]corev1.ConditionStatus
		unschedulable bool
		want          []string
	}{
		{name: "ready", conditions: map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeReady: corev1.ConditionTrue}},
		{name: "not ready", conditions: map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeReady: corev1.ConditionFalse},
			want: []string{corev1.TaintNodeNotReady}},
		{name: "unknown", conditions: map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeReady: corev1.ConditionUnknown},
			want: []string{corev1.TaintNodeUnreachable}},
		{name: "pressure", conditions: map[corev1.NodeConditionType]corev1.ConditionStatus{
			corev1.NodeReady: corev1.ConditionTrue, corev1.NodeMemoryPressure: corev1.ConditionTrue,
			corev1.NodeDiskPressure: corev1.ConditionTrue, corev1.NodePIDPressure: corev1.ConditionTrue,
			corev1.NodeNetworkUnavailable: corev1.ConditionTrue},
			want: []string{corev1.TaintNodeMemoryPressure, corev1.TaintNodeDiskPressure, corev1.TaintNodePIDPressure, corev1.TaintNodeNetworkUnavailable}},
		{name: "cordoned", conditions: map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeReady: corev1.ConditionTrue},
			unschedulable: true, want: []string{corev1.TaintNodeUnschedulable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: tt.unschedulable}}
			for _, typ := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure,
				corev1.NodePIDPressure, corev1.NodeNetworkUnavailable} {
				if s, ok := tt.conditions[typ]; ok {
					n.Status.Conditions = append(n.Status.Conditions, corev1.NodeCondition{Type: typ, Status: s})
				}
			}
			var got []string
			for _, taint := range noScheduleTaints(n) {
				if taint.Effect != corev1.TaintEffectNoSchedule {
					t.Errorf("effect %s", taint.Effect)
				}
				got = append(got, taint.Key)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// Taints of others stay; the controller's own that no longer apply go; those that
	// stay keep their timeAdded.
	before := metav1.NewTime(t0)
	now := metav1.NewTime(t0.Add(time.Minute))
	taints := []corev1.Taint{
		{Key: "example.com/dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &before},
		{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &before},
		{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &before},
	}
	got := withNoSchedule(taints, []corev1.Taint{
		{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule},
		{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule},
	}, now)
	want := []corev1.Taint{taints[0], taints[1], taints[3], {Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &now}}
	if !sameTaints(got, want) {
		t.Errorf("withNoSchedule:\n got %v\nwant %v", got, want)
	}

	cordoned := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}}
	if !needsNoSchedule(cordoned) {
		t.Error("a cordoned node without the unschedulable taint needs none")
	}
	cordoned.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule, TimeAdded: &before}}
	if needsNoSchedule(cordoned) {
		t.Error("a cordoned node with the unschedulable taint needs more")
	}
}

func TestEvictionTime(t *testing.T) {
	since := t0
	now := t0.Add(10 * time.Second)
	added := metav1.NewTime(t0.Add(-time.Minute))
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}
	untimed := corev1.Taint{Key: "example.com/maintenance", Effect: corev1.TaintEffectNoExecute}
	tests := []struct {
		name        string
		tolerations []corev1.Toleration
		taints      []corev1.Taint
		want        time.Time
		wantOK      bool
	}{
		{name: "no toleration", taints: []corev1.Taint{unreachable}, want: now, wantOK: true},
		{name: "other key", tolerations: []corev1.Toleration{tolerate(corev1.TaintNodeNotReady, nil)}, taints: []corev1.Taint{unreachable},
			want: now, wantOK: true},
		{name: "forever", tolerations: []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, nil)}, taints: []corev1.Taint{unreachable}},
		{name: "all keys", tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, taints: []corev1.Taint{unreachable, untimed}},
		{name: "from timeAdded", tolerations: []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](300))},
			taints: []corev1.Taint{unreachable}, want: added.Add(300 * time.Second), wantOK: true},
		{name: "negative is zero", tolerations: []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](-5))},
			taints: []corev1.Taint{unreachable}, want: added.Time, wantOK: true},
		{name: "no timeAdded: from since", tolerations: []corev1.Toleration{tolerate("example.com/maintenance", ptr.To[int64](30))},
			taints: []corev1.Taint{untimed}, want: since.Add(30 * time.Second), wantOK: true},
		{name: "earliest wins", tolerations: []corev1.Toleration{
			tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](300)), tolerate("example.com/maintenance", ptr.To[int64](30))},
			taints: []corev1.Taint{unreachable, untimed}, want: since.Add(30 * time.Second), wantOK: true},
		{name: "one untolerated", tolerations: []corev1.Toleration{tolerate(corev1.TaintNodeUnreachable, nil)},
			taints: []corev1.Taint{unreachable, untimed}, want: now, wantOK: true},
		{name: "first matching toleration is used", tolerations: []corev1.Toleration{
			tolerate(corev1.TaintNodeUnreachable, nil), tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](1))},
			taints: []corev1.Taint{unreachable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := evictionTime(tt.tolerations, tt.taints, since, now)
			if ok != tt.wantOK || !got.Equal(tt.want) {
				t.Errorf("got %v %v, want %v %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestComputeZoneState(t *testing.T) {
	T, F, U := corev1.ConditionTrue, corev1.ConditionFalse, corev1.ConditionUnknown
	tests := []struct {
		name  string
		ready []corev1.ConditionStatus
		want  zoneState
	}{
		{name: "all ready", ready: []corev1.ConditionStatus{T, T}, want: zoneNormal},
		{name: "none ready", ready: []corev1.ConditionStatus{U, F}, want: zoneFull},
		{name: "two of three down is few", ready: []corev1.ConditionStatus{T, U, U}, want: zoneNormal},
		{name: "three of five down", ready: []corev1.ConditionStatus{T, T, U, U, F}, want: zonePartial},
		{name: "three of six down", ready: []corev1.ConditionStatus{T, T, T, U, U, F}, want: zoneNormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := computeZoneState(tt.ready, DefaultUnhealthyZoneThreshold); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestRun drives the running controller, with informers, through a fake clock: the silent
// node turns Unknown after 40 s and is tainted, an intolerant pod goes at once and one
// tolerating the taint for 60 s goes 60 s later.
func TestRun(t *testing.T) {
	objs := twoNodes(readyPod("intolerant", "gone"), readyPod("minute", "gone", tolerate(corev1.TaintNodeUnreachable, ptr.To[int64](60))))
	client := fake.NewClientset(objs...)
	clk := testingclock.NewFakeClock(t0)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, Config{Clock: clk}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	events := record.NewFakeRecorder(1000)
	c.recorder, c.evictRecorder = events, events
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go c.Run(ctx)

	leases := client.CoordinationV1().Leases(LeaseNamespace)
	// advance renews the live node's Lease, moves the clock and gives the controller a
	// moment to act.
	advance := func(d time.Duration) {
		l, err := leases.Get(ctx, "up", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(clk.Now()))
		if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		clk.Step(d)
		time.Sleep(20 * time.Millisecond)
	}
	tainted := func() bool {
		n, err := client.CoreV1().Nodes().Get(ctx, "gone", metav1.GetOptions{})
		return err == nil && findTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) != nil
	}
	gone := func(name string) bool {
		_, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}
	// eventually waits for cond. A busy machine can make the controller miss a tick of
	// the fake clock (its ticker keeps one), so while waiting the clock moves on a
	// second every 100 ms of real time: only ever later than what is being waited for.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline, nextStep := time.Now().Add(20*time.Second), time.Now().Add(100*time.Millisecond); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20 s", what)
			}
			if time.Now().After(nextStep) {
				clk.Step(time.Second)
				nextStep = time.Now().Add(100 * time.Millisecond)
			}
		}
	}
	for clk.Since(t0) < 40*time.Second {
		advance(5 * time.Second)
		if tainted() {
			t.Fatalf("tainted after %v of silence", clk.Since(t0))
		}
	}
	advance(5 * time.Second)
	eventually("unreachable taint after 45 s", tainted)
	eventually("intolerant pod deleted", func() bool { return gone("intolerant") })
	if gone("minute") {
		t.Fatal("the pod tolerating 60 s went at once")
	}
	taintedAt := clk.Now()
	for clk.Since(taintedAt) < 55*time.Second {
		advance(5 * time.Second)
	}
	if gone("minute") {
		t.Fatalf("the pod tolerating 60 s went after %v", clk.Since(taintedAt))
	}
	advance(5 * time.Second)
	eventually("pod deleted 60 s after the taint", func() bool { return gone("minute") })
}
