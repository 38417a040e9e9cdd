package job

import (
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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
)

// harness drives the controller's sync against a fake API. Its informer stores are
// fed by refresh, which plays the watch: it copies the API's objects into the stores
// and calls the pod handlers, so tests control exactly what the cache has seen.
type harness struct {
	t      *testing.T
	client *fake.Clientset
	c      *Controller
	clock  *clocktesting.FakeClock
	events *record.FakeRecorder
	jobs   cache.Indexer
	pods   cache.Indexer
	rv     int
	seen   map[string]*corev1.Pod // the API's pods as last refreshed, by key
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	client := fake.NewClientset(objs...)
	clk := clocktesting.NewFakeClock(t0)
	var n atomic.Int32
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if p.Name == "" {
			p.Name = fmt.Sprintf("%s%03d", p.GenerateName, n.Add(1))
		}
		p.UID = types.UID("uid-" + p.Name)
		p.CreationTimestamp = metav1.NewTime(clk.Now())
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := newController(client, factory, clk, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	events := record.NewFakeRecorder(1000)
	c.recorder = events
	// Workers 0: the loops only shut their queues down when the test ends.
	go c.loop.Run(t.Context(), 0)
	go c.orphans.Run(t.Context(), 0)
	h := &harness{t: t, client: client, c: c, clock: clk, events: events,
		jobs: factory.Batch().V1().Jobs().Informer().GetIndexer(),
		pods: factory.Core().V1().Pods().Informer().GetIndexer(),
		seen: map[string]*corev1.Pod{}}
	h.refresh()
	return h
}

// refresh brings the informer stores up to the API's state.
func (h *harness) refresh() {
	h.t.Helper()
	h.refreshJobs()
	list, err := h.client.CoreV1().Pods("").List(h.t.Context(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	current := map[string]bool{}
	for i := range list.Items {
		p := list.Items[i].DeepCopy()
		key := keyOf(p)
		current[key] = true
		old := h.seen[key]
		if old != nil && equality.Semantic.DeepEqual(withoutRV(old), withoutRV(p)) {
			continue
		}
		h.rv++
		p.ResourceVersion = strconv.Itoa(h.rv)
		h.seen[key] = p
		if old == nil {
			_ = h.pods.Add(p)
			h.c.podAdded(p)
		} else {
			_ = h.pods.Update(p)
			h.c.podUpdated(old, p)
		}
	}
	for key, old := range h.seen {
		if !current[key] {
			delete(h.seen, key)
			_ = h.pods.Delete(old)
			h.c.podGone(old, true)
		}
	}
}

func (h *harness) refreshJobs() {
	h.t.Helper()
	list, err := h.client.BatchV1().Jobs("").List(h.t.Context(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, obj := range h.jobs.List() {
		_ = h.jobs.Delete(obj)
	}
	for i := range list.Items {
		_ = h.jobs.Add(list.Items[i].DeepCopy())
	}
}

func withoutRV(p *corev1.Pod) *corev1.Pod {
	p = p.DeepCopy()
	p.ResourceVersion = ""
	return p
}

// sync refreshes the cache, syncs the Job and refreshes again.
func (h *harness) sync(name string) time.Duration {
	h.t.Helper()
	h.refresh()
	again, err := h.c.sync(h.t.Context(), "ns/"+name)
	if err != nil {
		h.t.Fatalf("sync %s: %v", name, err)
	}
	h.refresh()
	return again
}

func (h *harness) job(name string) *batchv1.Job {
	h.t.Helper()
	j, err := h.client.BatchV1().Jobs("ns").Get(h.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

func (h *harness) updateJob(name string, mutate func(*batchv1.Job)) {
	h.t.Helper()
	j := h.job(name)
	mutate(j)
	j.Generation++
	if _, err := h.client.BatchV1().Jobs("ns").Update(h.t.Context(), j, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// podList returns the API's pods, by name.
func (h *harness) podList() []corev1.Pod {
	h.t.Helper()
	list, err := h.client.CoreV1().Pods("ns").List(h.t.Context(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

func (h *harness) activePodNames() []string {
	var out []string
	for _, p := range h.podList() {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p.Name)
		}
	}
	return out
}

// finish makes the kubelet's report: the pod ended with exit code (0: Succeeded).
func (h *harness) finish(name string, exitCode int32) {
	h.t.Helper()
	p, err := h.client.CoreV1().Pods("ns").Get(h.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	p.Status.Phase = corev1.PodSucceeded
	if exitCode != 0 {
		p.Status.Phase = corev1.PodFailed
	}
	now := metav1.NewTime(h.clock.Now())
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, FinishedAt: now}}}}
	if _, err := h.client.CoreV1().Pods("ns").UpdateStatus(h.t.Context(), p, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// drainEvents returns the events recorded since the last call, as "Reason Message".
func (h *harness) drainEvents() []string {
	var out []string
	for {
		select {
		case e := <-h.events.Events:
			_, rest, _ := strings.Cut(e, " ") // drop the type
			out = append(out, rest)
		default:
			return out
		}
	}
}

func (h *harness) wantEvent(want string) {
	h.t.Helper()
	events := h.drainEvents()
	for _, e := range events {
		if e == want {
			return
		}
	}
	h.t.Fatalf("no event %q among %q", want, events)
}

// newJob is a Job as the API server stores it: defaulted, with the generated selector
// and template labels.
func newJob(name string, completions, parallelism int32, mutate ...func(*batchv1.Job)) *batchv1.Job {
	uid := types.UID("job-" + name)
	lbls := map[string]string{batchv1.ControllerUidLabel: string(uid), batchv1.JobNameLabel: name,
		"controller-uid": string(uid), "job-name": name}
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: uid, Generation: 1},
		Spec: batchv1.JobSpec{
			Completions:          ptr.To(completions),
			Parallelism:          ptr.To(parallelism),
			BackoffLimit:         ptr.To[int32](6),
			CompletionMode:       ptr.To(batchv1.NonIndexedCompletion),
			Suspend:              ptr.To(false),
			PodReplacementPolicy: ptr.To(batchv1.TerminatingOrFailed),
			ManualSelector:       ptr.To(false),
			Selector:             &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: string(uid)}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	for _, m := range mutate {
		m(j)
	}
	return j
}

func indexed(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) }

// conditions renders a Job's conditions as "Type=Status/Reason" in order.
func conditions(j *batchv1.Job) string {
	var parts []string
	for _, c := range j.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s/%s", c.Type, c.Status, c.Reason))
	}
	return strings.Join(parts, " ")
}
