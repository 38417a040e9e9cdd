package statefulset

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/controller/expectations"
)

var (
	podsResource      = corev1.SchemeGroupVersion.WithResource("pods")
	claimsResource    = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
	setsResource      = appsv1.SchemeGroupVersion.WithResource("statefulsets")
	revisionsResource = appsv1.SchemeGroupVersion.WithResource("controllerrevisions")
)

// harness runs the controller against a fake API without starting informers: observe
// copies the API's objects into the informer stores and calls the pod handlers, as a
// watch would, so that every test step is deterministic. Pods are deleted gracefully:
// a deleted pod is terminating until gone is called.
type harness struct {
	t       *testing.T
	client  *fake.Clientset
	c       *Controller
	clock   *clocktesting.FakeClock
	events  *record.FakeRecorder
	pods    cache.Indexer
	sets    cache.Indexer
	revs    cache.Indexer
	version int                    // the last resourceVersion given to a stored pod
	seen    map[string]*corev1.Pod // stored pods without their resourceVersion
	uids    int
}

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	h := &harness{t: t, client: fake.NewClientset(objs...), clock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		events: record.NewFakeRecorder(1000), seen: map[string]*corev1.Pod{}}
	tracker := h.client.Tracker()
	stamp := func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject().(metav1.Object)
		h.uids++
		obj.SetUID(types.UID(fmt.Sprintf("%s-uid-%d", obj.GetName(), h.uids)))
		obj.SetCreationTimestamp(metav1.NewTime(h.clock.Now()))
		if p, ok := obj.(*corev1.Pod); ok && p.Status.Phase == "" {
			p.Status.Phase = corev1.PodPending
		}
		return false, nil, nil
	}
	h.client.PrependReactor("create", "pods", stamp)
	h.client.PrependReactor("create", "controllerrevisions", stamp)
	h.client.PrependReactor("create", "persistentvolumeclaims", stamp)
	h.client.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d := a.(k8stesting.DeleteAction)
		obj, err := tracker.Get(podsResource, d.GetNamespace(), d.GetName())
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		if pre := d.GetDeleteOptions().Preconditions; pre != nil && pre.UID != nil && *pre.UID != pod.UID {
			return true, nil, apierrors.NewConflict(podsResource.GroupResource(), pod.Name, fmt.Errorf("uid precondition"))
		}
		if pod.DeletionTimestamp == nil {
			now := metav1.NewTime(h.clock.Now())
			pod.DeletionTimestamp = &now
		}
		return true, nil, tracker.Update(podsResource, pod, pod.Namespace)
	})
	factory := informers.NewSharedInformerFactory(h.client, 0)
	c, err := New(h.client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.clock = h.clock
	c.exp = expectations.New(h.clock.Now)
	c.recorder = h.events
	h.c = c
	h.pods = factory.Core().V1().Pods().Informer().GetIndexer()
	h.sets = factory.Apps().V1().StatefulSets().Informer().GetIndexer()
	h.revs = factory.Apps().V1().ControllerRevisions().Informer().GetIndexer()
	h.observe()
	return h
}

func (h *harness) list(resource string) []runtime.Object {
	h.t.Helper()
	var obj runtime.Object
	var err error
	switch resource {
	case "pods":
		obj, err = h.client.Tracker().List(podsResource, corev1.SchemeGroupVersion.WithKind("Pod"), "")
	case "statefulsets":
		obj, err = h.client.Tracker().List(setsResource, appsv1.SchemeGroupVersion.WithKind("StatefulSet"), "")
	case "controllerrevisions":
		obj, err = h.client.Tracker().List(revisionsResource, appsv1.SchemeGroupVersion.WithKind("ControllerRevision"), "")
	case "persistentvolumeclaims":
		obj, err = h.client.Tracker().List(claimsResource, corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), "")
	}
	if err != nil {
		h.t.Fatal(err)
	}
	switch l := obj.(type) {
	case *corev1.PodList:
		var out []runtime.Object
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out
	case *appsv1.StatefulSetList:
		var out []runtime.Object
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out
	case *appsv1.ControllerRevisionList:
		var out []runtime.Object
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out
	case *corev1.PersistentVolumeClaimList:
		var out []runtime.Object
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out
	}
	return nil
}

// observe brings the informer stores up to the API's objects and tells the controller
// of every pod added, changed or removed.
func (h *harness) observe() {
	h.t.Helper()
	replace := func(store cache.Indexer, objs []runtime.Object) {
		items := make([]any, len(objs))
		for i, o := range objs {
			items[i] = o
		}
		if err := store.Replace(items, ""); err != nil {
			h.t.Fatal(err)
		}
	}
	replace(h.sets, h.list("statefulsets"))
	replace(h.revs, h.list("controllerrevisions"))
	current := map[string]bool{}
	for _, o := range h.list("pods") {
		pod := o.(*corev1.Pod).DeepCopy()
		key := pod.Namespace + "/" + pod.Name
		current[key] = true
		pod.ResourceVersion = ""
		old, known := h.seen[key]
		if known && old.UID == pod.UID && equality.Semantic.DeepEqual(old, pod) {
			continue
		}
		h.seen[key] = pod.DeepCopy()
		h.version++
		pod.ResourceVersion = strconv.Itoa(h.version)
		if known && old.UID != pod.UID {
			h.removePod(key)
			known = false
		}
		if !known {
			_ = h.pods.Add(pod)
			h.c.podAdded(pod)
			continue
		}
		prev, _, _ := h.pods.GetByKey(key)
		_ = h.pods.Update(pod)
		h.c.podUpdated(prev, pod)
	}
	for key := range h.seen {
		if !current[key] {
			h.removePod(key)
		}
	}
}

func (h *harness) removePod(key string) {
	prev, ok, _ := h.pods.GetByKey(key)
	delete(h.seen, key)
	if ok {
		_ = h.pods.Delete(prev)
		h.c.podDeleted(prev)
	}
}

// sync syncs the set ns/web and observes what it did.
func (h *harness) sync() (time.Duration, error) {
	h.t.Helper()
	again, err := h.c.sync(h.t.Context(), "ns/web")
	h.observe()
	return again, err
}

func (h *harness) mustSync() {
	h.t.Helper()
	if _, err := h.sync(); err != nil {
		h.t.Fatal(err)
	}
}

// podNames returns the names of the pods there are, with "*" after those terminating.
func (h *harness) podNames() []string {
	var names []string
	for _, o := range h.list("pods") {
		p := o.(*corev1.Pod)
		name := p.Name
		if p.DeletionTimestamp != nil {
			name += "*"
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (h *harness) wantPods(want ...string) {
	h.t.Helper()
	if got := h.podNames(); !slices.Equal(got, want) {
		h.t.Fatalf("pods %v, want %v", got, want)
	}
}

func (h *harness) pod(name string) *corev1.Pod {
	h.t.Helper()
	obj, err := h.client.Tracker().Get(podsResource, "ns", name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return obj.(*corev1.Pod).DeepCopy()
}

func (h *harness) updatePod(name string, mut func(*corev1.Pod)) {
	h.t.Helper()
	p := h.pod(name)
	if p == nil {
		h.t.Fatalf("no pod %s", name)
	}
	mut(p)
	if err := h.client.Tracker().Update(podsResource, p, "ns"); err != nil {
		h.t.Fatal(err)
	}
	h.observe()
}

// ready makes pods running and ready as of now.
func (h *harness) ready(names ...string) {
	h.t.Helper()
	for _, name := range names {
		h.updatePod(name, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(h.clock.Now())}}
		})
	}
}

func (h *harness) phase(name string, phase corev1.PodPhase) {
	h.t.Helper()
	h.updatePod(name, func(p *corev1.Pod) { p.Status.Phase = phase })
}

// deletePod deletes a pod as a user would; it is terminating until gone.
func (h *harness) deletePod(name string) {
	h.t.Helper()
	if err := h.client.CoreV1().Pods("ns").Delete(h.t.Context(), name, metav1.DeleteOptions{}); err != nil {
		h.t.Fatal(err)
	}
	h.observe()
}

// gone ends the termination of pods.
func (h *harness) gone(names ...string) {
	h.t.Helper()
	for _, name := range names {
		if err := h.client.Tracker().Delete(podsResource, "ns", name); err != nil {
			h.t.Fatal(err)
		}
	}
	h.observe()
}

func (h *harness) set() *appsv1.StatefulSet {
	h.t.Helper()
	obj, err := h.client.Tracker().Get(setsResource, "ns", "web")
	if err != nil {
		h.t.Fatal(err)
	}
	return obj.(*appsv1.StatefulSet).DeepCopy()
}

// updateSet changes the set's spec as a user would.
func (h *harness) updateSet(mut func(*appsv1.StatefulSet)) {
	h.t.Helper()
	set := h.set()
	mut(set)
	set.Generation++
	if err := h.client.Tracker().Update(setsResource, set, "ns"); err != nil {
		h.t.Fatal(err)
	}
	h.observe()
}

// rollOut syncs, making every pod ready, until the set has want ready pods and nothing
// more to do.
func (h *harness) rollOut(want int) {
	h.t.Helper()
	for range 3 * want {
		h.mustSync()
		var notReady []string
		for _, o := range h.list("pods") {
			if p := o.(*corev1.Pod); !runningAndReady(p) && p.DeletionTimestamp == nil {
				notReady = append(notReady, p.Name)
			}
		}
		h.ready(notReady...)
		if st := h.set().Status; len(notReady) == 0 && st.ReadyReplicas == int32(want) && st.Replicas == int32(want) {
			return
		}
	}
	h.t.Fatalf("no rollout to %d pods: %v, status %+v", want, h.podNames(), h.set().Status)
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

func hasEvent(events []string, want string) bool {
	return slices.ContainsFunc(events, func(e string) bool { return strings.HasPrefix(e, want) })
}

// newSet is the set ns/web of n replicas, OrderedReady with a rolling update, as the
// API server defaults it.
func newSet(n int32, mut ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "set-uid", Generation: 1},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(n),
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			ServiceName:         "web-svc",
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)}},
			RevisionHistoryLimit: ptr.To[int32](10),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}},
			},
		},
	}
	for _, m := range mut {
		m(set)
	}
	return set
}

func parallel(set *appsv1.StatefulSet) { set.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }

func image(tag string) func(*appsv1.StatefulSet) {
	return func(set *appsv1.StatefulSet) { set.Spec.Template.Spec.Containers[0].Image = "busybox:" + tag }
}
