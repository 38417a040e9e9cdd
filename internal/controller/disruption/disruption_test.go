package disruption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

var start = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fixture is a controller on a fake API whose informer stores are filled by hand, so
// that each sync sees exactly what the test put there.
type fixture struct {
	t        *testing.T
	client   *fake.Clientset
	factory  informers.SharedInformerFactory
	c        *Controller
	clock    *clocktesting.FakeClock
	recorder *record.FakeRecorder
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, client: client, factory: factory, c: c, clock: clocktesting.NewFakeClock(start), recorder: record.NewFakeRecorder(100)}
	c.clock, c.recorder = f.clock, f.recorder
	c.scales = func(_ context.Context, apiVersion, kind, _, _ string) (*autoscalingv1.Scale, error) {
		return nil, fmt.Errorf("no matches for kind %q in version %q", kind, apiVersion)
	}
	for _, obj := range objs {
		f.store(obj)
	}
	return f
}

// store puts obj into its informer's store.
func (f *fixture) store(obj runtime.Object) {
	f.t.Helper()
	var err error
	switch o := obj.(type) {
	case *corev1.Pod:
		err = f.factory.Core().V1().Pods().Informer().GetStore().Update(o)
	case *policyv1.PodDisruptionBudget:
		err = f.factory.Policy().V1().PodDisruptionBudgets().Informer().GetStore().Update(o)
	case *corev1.ReplicationController:
		err = f.factory.Core().V1().ReplicationControllers().Informer().GetStore().Update(o)
	case *appsv1.ReplicaSet:
		err = f.factory.Apps().V1().ReplicaSets().Informer().GetStore().Update(o)
	case *appsv1.Deployment:
		err = f.factory.Apps().V1().Deployments().Informer().GetStore().Update(o)
	case *appsv1.StatefulSet:
		err = f.factory.Apps().V1().StatefulSets().Informer().GetStore().Update(o)
	case *batchv1.Job:
	default:
		f.t.Fatalf("no store for %T", obj)
	}
	if err != nil {
		f.t.Fatal(err)
	}
}

// budget returns the budget as the API has it, and puts it in the informer's store.
func (f *fixture) budget(name string) *policyv1.PodDisruptionBudget {
	f.t.Helper()
	pdb, err := f.client.PolicyV1().PodDisruptionBudgets("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.store(pdb)
	return pdb
}

// sync syncs the budget ns/name and returns the delay it asked for.
func (f *fixture) sync(name string) time.Duration {
	f.t.Helper()
	again, err := f.c.sync(context.Background(), "ns/"+name)
	if err != nil {
		f.t.Fatalf("sync %s: %v", name, err)
	}
	return again
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

func (f *fixture) statusWrites() int {
	n := 0
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "update" && a.GetResource().Resource == "poddisruptionbudgets" && a.GetSubresource() == "status" {
			n++
		}
	}
	return n
}

func int32p(n int32) *int32 { return &n }

func ref(kind, apiVersion, name string, uid types.UID) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: &yes}}
}

func pod(name string, ready bool, owners []metav1.OwnerReference, mut ...func(*corev1.Pod)) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"),
		Labels: map[string]string{"app": "web"}, OwnerReferences: owners},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}}
	for _, m := range mut {
		m(p)
	}
	return p
}

func budget(name string, minAvailable, maxUnavailable *intstr.IntOrString, mut ...func(*policyv1.PodDisruptionBudget)) *policyv1.PodDisruptionBudget {
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Generation: 1},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: minAvailable, MaxUnavailable: maxUnavailable,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	for _, m := range mut {
		m(pdb)
	}
	return pdb
}

func intOrStr(s string) *intstr.IntOrString {
	v := intstr.Parse(s)
	return &v
}

// TestExpectedPods: an integer minAvailable counts the selected pods; percentages and
// maxUnavailable count the replicas of the pods' controllers (ReplicationController,
// Deployment through its ReplicaSet, ReplicaSet, StatefulSet, or a scale subresource),
// rounding percentages up.
func TestExpectedPods(t *testing.T) {
	rc := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "ns", UID: "rc-uid"},
		Spec: corev1.ReplicationControllerSpec{Replicas: int32p(2)}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "rs-uid"},
		Spec: appsv1.ReplicaSetSpec{Replicas: int32p(3)}}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "dep", Namespace: "ns", UID: "dep-uid"},
		Spec: appsv1.DeploymentSpec{Replicas: int32p(10)}}
	depRS := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "dep-rs", Namespace: "ns", UID: "dep-rs-uid",
		OwnerReferences: ref("Deployment", "apps/v1", "dep", "dep-uid")}, Spec: appsv1.ReplicaSetSpec{Replicas: int32p(4)}}
	ss := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "ss", Namespace: "ns", UID: "ss-uid"},
		Spec: appsv1.StatefulSetSpec{Replicas: int32p(3)}}

	byRC := ref("ReplicationController", "v1", "rc", "rc-uid")
	byRS := ref("ReplicaSet", "apps/v1", "rs", "rs-uid")
	byDep := ref("ReplicaSet", "apps/v1", "dep-rs", "dep-rs-uid")
	bySS := ref("StatefulSet", "apps/v1", "ss", "ss-uid")
	byFoo := ref("Foo", "example.com/v1", "foo", "foo-uid")
	byJob := ref("Job", "batch/v1", "job", "job-uid")
	stale := ref("ReplicaSet", "apps/v1", "rs", "old-uid")

	tests := []struct {
		name                      string
		min, max                  *intstr.IntOrString
		pods                      []*corev1.Pod
		wantExpected, wantDesired int32
		wantUnmanaged             []string
		wantErr                   string
	}{
		{name: "int minAvailable needs no controllers", min: intOrStr("2"),
			pods: []*corev1.Pod{pod("a", true, nil), pod("b", true, nil), pod("c", false, nil)}, wantExpected: 3, wantDesired: 2},
		{name: "percent minAvailable rounds up", min: intOrStr("50%"),
			pods: []*corev1.Pod{pod("a", true, byRS), pod("b", true, byRS)}, wantExpected: 3, wantDesired: 2},
		{name: "deployment", max: intOrStr("30%"),
			pods: []*corev1.Pod{pod("a", true, byDep)}, wantExpected: 10, wantDesired: 7},
		{name: "statefulset", max: intOrStr("1"),
			pods: []*corev1.Pod{pod("a", true, bySS), pod("b", true, bySS)}, wantExpected: 3, wantDesired: 2},
		{name: "replicationcontroller", max: intOrStr("1"),
			pods: []*corev1.Pod{pod("a", true, byRC)}, wantExpected: 2, wantDesired: 1},
		{name: "desired is never negative", max: intOrStr("5"),
			pods: []*corev1.Pod{pod("a", true, byRC)}, wantExpected: 2, wantDesired: 0},
		{name: "controllers add up", max: intOrStr("0"),
			pods: []*corev1.Pod{pod("a", true, byRC), pod("b", true, bySS), pod("c", true, bySS)}, wantExpected: 5, wantDesired: 5},
		{name: "unmanaged pods are named", max: intOrStr("1"),
			pods: []*corev1.Pod{pod("a", true, byRS), pod("lone", true, nil)}, wantExpected: 3, wantDesired: 2, wantUnmanaged: []string{"lone"}},
		{name: "scale subresource", min: intOrStr("50%"),
			pods: []*corev1.Pod{pod("a", true, byFoo)}, wantExpected: 7, wantDesired: 4},
		{name: "no scale subresource", max: intOrStr("1"),
			pods: []*corev1.Pod{pod("a", true, byJob)}, wantErr: "jobs.batch does not implement the scale subresource"},
		{name: "controller replaced", max: intOrStr("1"),
			pods: []*corev1.Pod{pod("a", true, stale)}, wantErr: `found no controllers for pod "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, rc, rs, dep, depRS, ss)
			f.c.scales = func(_ context.Context, apiVersion, kind, namespace, name string) (*autoscalingv1.Scale, error) {
				switch kind {
				case "Foo":
					return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, UID: "foo-uid"},
						Spec: autoscalingv1.ScaleSpec{Replicas: 7}}, nil
				case "ReplicaSet":
					return nil, apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "replicasets"}, name)
				}
				return nil, errors.New("jobs.batch does not implement the scale subresource")
			}
			expected, desired, unmanaged, err := f.c.expectedPods(context.Background(), budget("b", tt.min, tt.max), tt.pods)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if expected != tt.wantExpected || desired != tt.wantDesired || !slices.Equal(unmanaged, tt.wantUnmanaged) {
				t.Fatalf("expected %d, desired %d, unmanaged %v; want %d, %d, %v", expected, desired, unmanaged,
					tt.wantExpected, tt.wantDesired, tt.wantUnmanaged)
			}
		})
	}
}

// TestSync: the status counts the ready pods that are not being deleted, allows the
// difference from desiredHealthy, observes the generation and sets DisruptionAllowed;
// a second sync with nothing changed writes nothing.
func TestSync(t *testing.T) {
	deleting := func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: start} }
	pdb := budget("web", intOrStr("2"), nil, func(p *policyv1.PodDisruptionBudget) { p.Generation = 2 })
	f := newFixture(t, pdb, pod("a", true, nil), pod("b", true, nil), pod("c", true, nil), pod("d", false, nil), pod("e", true, nil, deleting),
		pod("other", true, nil, func(p *corev1.Pod) { p.Labels = map[string]string{"app": "db"} }))
	if again := f.sync("web"); again != 0 {
		t.Fatalf("sync asked to come back in %v", again)
	}
	got := f.budget("web").Status
	if got.ExpectedPods != 5 || got.CurrentHealthy != 3 || got.DesiredHealthy != 2 || got.DisruptionsAllowed != 1 || got.ObservedGeneration != 2 {
		t.Fatalf("status %+v", got)
	}
	c := apimeta.FindStatusCondition(got.Conditions, policyv1.DisruptionAllowedCondition)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != policyv1.SufficientPodsReason || c.ObservedGeneration != 2 || !c.LastTransitionTime.Time.Equal(start) {
		t.Fatalf("condition %+v", c)
	}
	writes := f.statusWrites()
	f.clock.Step(time.Minute)
	f.sync("web")
	if f.statusWrites() != writes {
		t.Fatal("a sync with nothing changed wrote the status")
	}
	if ev := f.events(); len(ev) != 0 {
		t.Fatalf("events %v", ev)
	}
}

// TestSyncNoPods: a budget that selects nothing allows no disruption, and says so in a
// NoPods event; an unready majority gives InsufficientPods.
func TestSyncNoPods(t *testing.T) {
	f := newFixture(t, budget("web", nil, intOrStr("1")))
	f.sync("web")
	got := f.budget("web").Status
	c := apimeta.FindStatusCondition(got.Conditions, policyv1.DisruptionAllowedCondition)
	if got.DisruptionsAllowed != 0 || got.ExpectedPods != 0 || c == nil || c.Reason != policyv1.InsufficientPodsReason || c.Status != metav1.ConditionFalse {
		t.Fatalf("status %+v", got)
	}
	if ev := f.events(); !slices.Equal(ev, []string{"Normal NoPods No matching pods found"}) {
		t.Fatalf("events %v", ev)
	}
}

// TestSyncFailSafe: a budget whose expected count cannot be computed allows no
// disruptions, with DisruptionAllowed False for SyncFailed and a
// CalculateExpectedPodCountFailed event.
func TestSyncFailSafe(t *testing.T) {
	pdb := budget("web", nil, intOrStr("1"), func(p *policyv1.PodDisruptionBudget) {
		p.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, ObservedGeneration: 1, CurrentHealthy: 2, DesiredHealthy: 1, ExpectedPods: 2}
	})
	f := newFixture(t, pdb, pod("a", true, ref("Job", "batch/v1", "job", "job-uid")))
	f.sync("web")
	got := f.budget("web").Status
	c := apimeta.FindStatusCondition(got.Conditions, policyv1.DisruptionAllowedCondition)
	if got.DisruptionsAllowed != 0 || c == nil || c.Status != metav1.ConditionFalse || c.Reason != policyv1.SyncFailedReason ||
		c.Message != `no matches for kind "Job" in version "batch/v1"` {
		t.Fatalf("status %+v", got)
	}
	ev := f.events()
	if len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning CalculateExpectedPodCountFailed Failed to calculate the number of expected pods: ") {
		t.Fatalf("events %v", ev)
	}
}

// TestDisruptedPods: an evicted pod counts as gone until it is being deleted or its
// entry expires two minutes after the eviction; the sync asks to come back then, and
// drops the entry with a NotDeleted event.
func TestDisruptedPods(t *testing.T) {
	deleting := func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: start} }
	pdb := budget("web", intOrStr("1"), nil, func(p *policyv1.PodDisruptionBudget) {
		p.Status.DisruptedPods = map[string]metav1.Time{
			"a":    metav1.NewTime(start.Add(-30 * time.Second)),
			"b":    metav1.NewTime(start.Add(-10 * time.Second)),
			"gone": metav1.NewTime(start),
		}
	})
	f := newFixture(t, pdb, pod("a", true, nil), pod("b", true, nil, deleting), pod("c", true, nil))
	if again := f.sync("web"); again != 90*time.Second {
		t.Fatalf("sync asked to come back in %v, want 90s", again)
	}
	got := f.budget("web").Status
	if len(got.DisruptedPods) != 1 || got.CurrentHealthy != 1 || got.DisruptionsAllowed != 0 {
		t.Fatalf("status %+v", got)
	}
	if _, ok := got.DisruptedPods["a"]; !ok {
		t.Fatalf("disruptedPods %v, want a", got.DisruptedPods)
	}

	f.clock.Step(90*time.Second + time.Millisecond)
	if again := f.sync("web"); again != 0 {
		t.Fatalf("sync asked to come back in %v", again)
	}
	got = f.budget("web").Status
	if len(got.DisruptedPods) != 0 || got.CurrentHealthy != 2 || got.DisruptionsAllowed != 1 {
		t.Fatalf("status after the timeout %+v", got)
	}
	if ev := f.events(); !slices.Equal(ev, []string{"Warning NotDeleted Pod was expected by PDB ns/web to be deleted but it wasn't"}) {
		t.Fatalf("events %v", ev)
	}
}

// TestStaleDisruptionTarget: a True DisruptionTarget condition on a pod that is not
// being deleted is set to False two minutes after it was set; the kubelet's, and those
// of pods being deleted or ended, are left alone.
func TestStaleDisruptionTarget(t *testing.T) {
	target := func(reason string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				Reason: reason, LastTransitionTime: metav1.NewTime(start.Add(-30 * time.Second))})
		}
	}
	f := newFixture(t,
		pod("evicted", true, nil, target("EvictionByEvictionAPI")),
		pod("kubelet", true, nil, target(corev1.PodReasonTerminationByKubelet)),
		pod("deleting", true, nil, target("EvictionByEvictionAPI"), func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: start} }),
		pod("done", true, nil, target("EvictionByEvictionAPI"), func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
	)
	syncPod := func(name string) time.Duration {
		t.Helper()
		again, err := f.c.syncPod(context.Background(), "ns/"+name)
		if err != nil {
			t.Fatal(err)
		}
		return again
	}
	for _, name := range []string{"kubelet", "deleting", "done"} {
		if again := syncPod(name); again != 0 {
			t.Fatalf("%s: sync asked to come back in %v", name, again)
		}
	}
	if again := syncPod("evicted"); again != 90*time.Second {
		t.Fatalf("sync asked to come back in %v, want 90s", again)
	}
	if n := len(f.client.Actions()); n != 0 {
		t.Fatalf("%d writes before the timeout: %v", n, f.client.Actions())
	}
	f.clock.Step(90 * time.Second)
	if again := syncPod("evicted"); again != 0 {
		t.Fatalf("sync asked to come back in %v", again)
	}
	p, err := f.client.CoreV1().Pods("ns").Get(context.Background(), "evicted", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(p.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == corev1.DisruptionTarget })
	if i < 0 {
		t.Fatalf("the DisruptionTarget condition is gone: %+v", p.Status.Conditions)
	}
	if c := p.Status.Conditions[i]; c.Status != corev1.ConditionFalse || c.Reason != "" || !c.LastTransitionTime.Time.Equal(f.clock.Now()) {
		t.Fatalf("condition %+v", c)
	}
}

// TestDiscoveryScales reads a controller's Scale over HTTP after finding its resource
// through discovery; a resource without the scale subresource, or an unknown kind, is
// an error, and a missing object is NotFound.
func TestDiscoveryScales(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/example.com/v1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"example.com/v1","resources":[
			{"name":"foos","namespaced":true,"kind":"Foo","verbs":["get"]},
			{"name":"foos/scale","namespaced":true,"group":"autoscaling","version":"v1","kind":"Scale","verbs":["get"]},
			{"name":"bars","namespaced":true,"kind":"Bar","verbs":["get"]}]}`)
	})
	mux.HandleFunc("/apis/example.com/v1/namespaces/ns/foos/foo/scale", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"foo","namespace":"ns","uid":"foo-uid"},"spec":{"replicas":6}}`)
	})
	mux.HandleFunc("/apis/example.com/v1/namespaces/ns/foos/missing/scale", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	read := discoveryScales(client)
	ctx := context.Background()
	sc, err := read(ctx, "example.com/v1", "Foo", "ns", "foo")
	if err != nil || sc.UID != "foo-uid" || sc.Spec.Replicas != 6 {
		t.Fatalf("scale %+v, err %v", sc, err)
	}
	if _, err := read(ctx, "example.com/v1", "Foo", "ns", "missing"); !apierrors.IsNotFound(err) {
		t.Fatalf("missing object: err %v, want NotFound", err)
	}
	if _, err := read(ctx, "example.com/v1", "Bar", "ns", "bar"); err == nil || err.Error() != "bars.example.com does not implement the scale subresource" {
		t.Fatalf("no scale subresource: err %v", err)
	}
	if _, err := read(ctx, "example.com/v1", "Baz", "ns", "baz"); err == nil || !strings.HasPrefix(err.Error(), `no matches for kind "Baz"`) {
		t.Fatalf("unknown kind: err %v", err)
	}
}

// TestRun drives the running controller through its informers: a budget gets its
// status, and a pod's deletion requeues it.
func TestRun(t *testing.T) {
	client := fake.NewClientset(budget("web", intOrStr("1"), nil), pod("a", true, nil), pod("b", true, nil))
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	w, err := client.PolicyV1().PodDisruptionBudgets("ns").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go c.Run(ctx)
	waitAllowed := func(want int32) {
		t.Helper()
		for {
			select {
			case e := <-w.ResultChan():
				if pdb, ok := e.Object.(*policyv1.PodDisruptionBudget); ok && pdb.Status.ObservedGeneration == 1 && pdb.Status.DisruptionsAllowed == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("disruptionsAllowed never became %d", want)
			}
		}
	}
	waitAllowed(1)
	if err := client.CoreV1().Pods("ns").Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAllowed(0)
}
