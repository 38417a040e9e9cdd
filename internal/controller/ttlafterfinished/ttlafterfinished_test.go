package ttlafterfinished

import (
	"log/slog"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func finishedJob(name string, ttl int32, cond batchv1.JobConditionType) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)},
		Spec:       batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To(ttl)},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))},
			{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
		}},
	}
}

type harness struct {
	client  *fake.Clientset
	c       *Controller
	clock   *clocktesting.FakeClock
	deletes []k8stesting.DeleteActionImpl
}

// newHarness returns a controller whose Job cache holds cached, while the API holds
// api (the same Jobs unless a test makes them differ).
func newHarness(t *testing.T, cached []*batchv1.Job, api ...runtime.Object) *harness {
	t.Helper()
	if api == nil {
		for _, j := range cached {
			api = append(api, j.DeepCopy())
		}
	}
	h := &harness{client: fake.NewClientset(api...), clock: clocktesting.NewFakeClock(t0)}
	h.client.PrependReactor("delete", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		h.deletes = append(h.deletes, a.(k8stesting.DeleteActionImpl))
		return false, nil, nil
	})
	factory := informers.NewSharedInformerFactory(h.client, 0)
	c, err := newController(h.client, factory, h.clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go c.loop.Run(t.Context(), 0) // shuts the queue down when the test ends
	store := factory.Batch().V1().Jobs().Informer().GetIndexer()
	for _, j := range cached {
		if err := store.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	h.c = c
	return h
}

func (h *harness) sync(t *testing.T, name string) time.Duration {
	t.Helper()
	left, err := h.c.sync(t.Context(), "ns/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return left
}

func TestDeletesAtExpiry(t *testing.T) {
	for _, cond := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		t.Run(string(cond), func(t *testing.T) {
			h := newHarness(t, []*batchv1.Job{finishedJob("done", 100, cond)})
			if left := h.sync(t, "done"); left != 100*time.Second || len(h.deletes) != 0 {
				t.Fatalf("at the finish: requeue %v, deletes %d; want 100s and none", left, len(h.deletes))
			}
			h.clock.Step(99 * time.Second)
			if left := h.sync(t, "done"); left != time.Second || len(h.deletes) != 0 {
				t.Fatalf("a second early: requeue %v, deletes %d", left, len(h.deletes))
			}
			h.clock.Step(time.Second)
			if left := h.sync(t, "done"); left != 0 || len(h.deletes) != 1 {
				t.Fatalf("at expiry: requeue %v, deletes %d", left, len(h.deletes))
			}
			opts := h.deletes[0].DeleteOptions
			if ptr.Deref(opts.PropagationPolicy, "") != metav1.DeletePropagationBackground ||
				opts.Preconditions == nil || ptr.Deref(opts.Preconditions.UID, "") != "uid-done" {
				t.Fatalf("delete options %+v", opts)
			}
			if _, err := h.client.BatchV1().Jobs("ns").Get(t.Context(), "done", metav1.GetOptions{}); err == nil {
				t.Fatal("the Job is still there")
			}
		})
	}
}

func TestRechecksFreshCopy(t *testing.T) {
	cached := finishedJob("moved", 10, batchv1.JobComplete)
	api := cached.DeepCopy()
	api.Spec.TTLSecondsAfterFinished = ptr.To[int32](1000)
	h := newHarness(t, []*batchv1.Job{cached}, api)
	h.clock.Step(time.Minute)
	if left := h.sync(t, "moved"); left != 940*time.Second || len(h.deletes) != 0 {
		t.Fatalf("TTL raised since the cache saw it: requeue %v, deletes %d", left, len(h.deletes))
	}
}

func TestIgnoresUnfinishedAndWithoutTTL(t *testing.T) {
	running := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "running", Namespace: "ns"},
		Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To[int32](0)}}
	noTTL := finishedJob("keep", 0, batchv1.JobComplete)
	noTTL.Spec.TTLSecondsAfterFinished = nil
	h := newHarness(t, []*batchv1.Job{running, noTTL})
	h.clock.Step(time.Hour)
	for _, name := range []string{"running", "keep"} {
		if left := h.sync(t, name); left != 0 {
			t.Errorf("%s: requeue %v", name, left)
		}
	}
	if len(h.deletes) != 0 {
		t.Fatalf("deleted %d Jobs", len(h.deletes))
	}
	// A TTL of 0 deletes as soon as the Job finishes.
	h2 := newHarness(t, []*batchv1.Job{finishedJob("now", 0, batchv1.JobFailed)})
	h2.sync(t, "now")
	if len(h2.deletes) != 1 {
		t.Fatalf("TTL 0: deletes %d", len(h2.deletes))
	}
}
