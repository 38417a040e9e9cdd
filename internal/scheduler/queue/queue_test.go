package queue

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/scheduler/framework"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newPod(name string, priority int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID(name)},
		Spec:       corev1.PodSpec{Priority: &priority, Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
}

// testQueue is a queue on a fake clock whose hint answers helps.
type testQueue struct {
	*Queue
	clock *testingclock.FakeClock
	helps bool
}

func newTestQueue(t *testing.T) *testQueue {
	t.Helper()
	tq := &testQueue{clock: testingclock.NewFakeClock(t0)}
	tq.Queue = New(func(*framework.PodInfo, []string, framework.ClusterEvent) bool { return tq.helps }, Options{Clock: tq.clock})
	t.Cleanup(tq.Close)
	return tq
}

func (q *testQueue) mustPop(t *testing.T, want string) *QueuedPodInfo {
	t.Helper()
	if a, _, _ := q.Counts(); a == 0 {
		t.Fatalf("pop %s: no active pod", want)
	}
	p, ok := q.Pop()
	if !ok || p.Pod.Name != want {
		t.Fatalf("popped %v, want %s", p, want)
	}
	return p
}

func (q *testQueue) wantCounts(t *testing.T, active, backoff, unschedulable int) {
	t.Helper()
	if a, b, u := q.Counts(); a != active || b != backoff || u != unschedulable {
		t.Fatalf("counts (active, backoff, unschedulable) = (%d, %d, %d), want (%d, %d, %d)", a, b, u, active, backoff, unschedulable)
	}
}

// fail pops want and requeues it as unschedulable.
func (q *testQueue) fail(t *testing.T, want string) *QueuedPodInfo {
	t.Helper()
	p := q.mustPop(t, want)
	q.Requeue(p, []string{"NodeResourcesFit"}, true)
	q.Done(p.Key())
	return p
}

func TestPopOrdersByPriorityThenTime(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("low-old", 0))
	q.clock.Step(time.Second)
	q.Add(newPod("high", 100))
	q.clock.Step(time.Second)
	q.Add(newPod("low-new", 0))
	for _, want := range []string{"high", "low-old", "low-new"} {
		p := q.mustPop(t, want)
		q.Done(p.Key())
	}
}

func TestBackoffDuration(t *testing.T) {
	q := newTestQueue(t)
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {50, 10 * time.Second}} {
		if got := q.BackoffDuration(tc.attempts); got != tc.want {
			t.Errorf("BackoffDuration(%d) = %s, want %s", tc.attempts, got, tc.want)
		}
	}
}

func TestUnschedulablePodWaitsForAHelpfulEvent(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("p", 0))
	q.fail(t, "p")
	q.wantCounts(t, 0, 0, 1)

	q.helps = false
	q.MoveAll(framework.ClusterEvent{Kind: framework.NodeAdd, Node: &corev1.Node{}})
	q.wantCounts(t, 0, 0, 1)

	// Helped within its 1 s back-off: it waits out the back-off.
	q.helps = true
	q.clock.Step(500 * time.Millisecond)
	q.MoveAll(framework.ClusterEvent{Kind: framework.NodeAdd, Node: &corev1.Node{}})
	q.wantCounts(t, 0, 1, 0)
	q.FlushBackoff()
	q.wantCounts(t, 0, 1, 0)
	q.clock.Step(500 * time.Millisecond)
	q.FlushBackoff()
	q.wantCounts(t, 1, 0, 0)

	// Second failure: 2 s back-off; helped after it, straight to active.
	q.fail(t, "p")
	q.clock.Step(2 * time.Second)
	q.MoveAll(framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: newPod("other", 0)})
	q.wantCounts(t, 1, 0, 0)
}

func TestEventDuringFlightRetries(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("p", 0))
	p := q.mustPop(t, "p")
	q.helps = true
	q.MoveAll(framework.ClusterEvent{Kind: framework.NodeAdd, Node: &corev1.Node{}})
	q.Requeue(p, []string{"NodeAffinity"}, true)
	q.Done(p.Key())
	q.wantCounts(t, 0, 1, 0)

	// An event that does not help leaves it unschedulable.
	q.clock.Step(time.Second)
	q.FlushBackoff()
	p = q.mustPop(t, "p")
	q.helps = false
	q.MoveAll(framework.ClusterEvent{Kind: framework.NodeAdd, Node: &corev1.Node{}})
	q.Requeue(p, []string{"NodeAffinity"}, true)
	q.Done(p.Key())
	q.wantCounts(t, 0, 0, 1)
}

func TestUnschedulableFlushAfterFiveMinutes(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("p", 0))
	q.fail(t, "p")
	q.clock.Step(5 * time.Minute)
	q.FlushUnschedulable()
	q.wantCounts(t, 0, 0, 1)
	q.clock.Step(time.Second)
	q.FlushUnschedulable()
	q.wantCounts(t, 1, 0, 0)
}

func TestErroredPodBacksOff(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("p", 0))
	p := q.mustPop(t, "p")
	q.Requeue(p, nil, false)
	q.Done(p.Key())
	q.wantCounts(t, 0, 1, 0)
	q.clock.Step(999 * time.Millisecond)
	q.FlushBackoff()
	q.wantCounts(t, 0, 1, 0)
	q.clock.Step(time.Millisecond)
	q.FlushBackoff()
	q.wantCounts(t, 1, 0, 0)
}

func TestPopTakesUnschedulableBackoffWhenIdle(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("p", 0))
	q.fail(t, "p")
	q.helps = true
	q.MoveAll(framework.ClusterEvent{Kind: framework.NodeAdd, Node: &corev1.Node{}})
	q.wantCounts(t, 0, 1, 0)
	p, ok := q.Pop()
	if !ok || p.Pod.Name != "p" || p.Attempts != 2 {
		t.Fatalf("Pop = %v, %v", p, ok)
	}
}

func TestDeletedInFlightIsDropped(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("p", 0))
	p := q.mustPop(t, "p")
	q.Delete(p.Pod)
	q.Requeue(p, nil, true)
	q.Done(p.Key())
	q.wantCounts(t, 0, 0, 0)
}

func TestUpdateOfUnschedulablePod(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *corev1.Pod)
		want   [3]int
	}{
		{"status only stays", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
		}, [3]int{0, 0, 1}},
		{"labels move it", func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }, [3]int{1, 0, 0}},
		{"tolerations move it", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		}, [3]int{1, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := newTestQueue(t)
			old := newPod("p", 0)
			q.Add(old)
			q.fail(t, "p")
			q.clock.Step(time.Second)
			cur := old.DeepCopy()
			tc.change(cur)
			q.Update(old, cur)
			q.wantCounts(t, tc.want[0], tc.want[1], tc.want[2])
		})
	}
}

func TestCloseWakesPop(t *testing.T) {
	q := newTestQueue(t)
	done := make(chan bool)
	go func() {
		_, ok := q.Pop()
		done <- ok
	}()
	q.Close()
	q.Close()
	if <-done {
		t.Fatal("Pop after Close returned a pod")
	}
}

func TestRunFlushesOnTicks(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("p", 0))
	p := q.mustPop(t, "p")
	q.Requeue(p, nil, false)
	q.Done(p.Key())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(ctx)
	}()
	for !q.clock.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	q.clock.Step(time.Second)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if a, _, _ := q.Counts(); a == 1 {
			break
		}
	}
	q.wantCounts(t, 1, 0, 0)
	cancel()
	<-done
	if _, ok := q.Pop(); ok {
		t.Fatal("Pop after Run ended returned a pod")
	}
}

func TestEventsAreKeptOnlyForPodsInTheirCycle(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("binding", 0))
	q.Add(newPod("scheduling", 0))
	b := q.mustPop(t, "binding")
	q.Scheduled(b.Key())
	q.MoveAll(framework.ClusterEvent{Kind: framework.NodeAdd, Node: &corev1.Node{}})
	if len(q.events) != 0 {
		t.Fatalf("%d events kept with no pod in its cycle", len(q.events))
	}
	s := q.mustPop(t, "scheduling")
	q.MoveAll(framework.ClusterEvent{Kind: framework.NodeAdd, Node: &corev1.Node{}})
	if len(q.events) != 1 {
		t.Fatalf("%d events kept, want 1", len(q.events))
	}
	q.Done(s.Key())
	if len(q.events) != 0 {
		t.Fatalf("%d events kept after the cycle ended", len(q.events))
	}
	// The binding fails: it backs off, whatever happened meanwhile.
	q.Requeue(b, nil, false)
	q.Done(b.Key())
	q.wantCounts(t, 0, 1, 0)
}

func TestActivate(t *testing.T) {
	q := newTestQueue(t)
	q.Add(newPod("p", 0))
	q.fail(t, "p")
	q.Activate(newPod("p", 0))
	q.wantCounts(t, 0, 1, 0) // still backing off
	q.clock.Step(time.Second)
	q.FlushBackoff()
	// Activated during its attempt: retried when the attempt fails.
	p := q.mustPop(t, "p")
	q.Activate(p.Pod)
	q.Requeue(p, []string{"NodeResourcesFit"}, true)
	q.Done(p.Key())
	q.wantCounts(t, 0, 1, 0)
	// A pod the queue does not hold is not added.
	q.Activate(newPod("other", 0))
	q.wantCounts(t, 0, 1, 0)
}
