package queue

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Upstream's defaults.
const (
	DefaultInitialBackoff     = 1 * time.Second
	DefaultMaxBackoff         = 10 * time.Second
	DefaultMaxInUnschedulable = 5 * time.Minute

	backoffFlushInterval       = 1 * time.Second
	unschedulableFlushInterval = 30 * time.Second
)

// QueuedPodInfo is a pod in the queue with its scheduling history.
type QueuedPodInfo struct {
	*framework.PodInfo
	// Timestamp is when the pod entered the queue, or last failed.
	Timestamp time.Time
	// InitialAttemptTimestamp is when the pod was first popped.
	InitialAttemptTimestamp time.Time
	// Attempts counts the times the pod was popped.
	Attempts int
	// UnschedulablePlugins names the plugins that rejected the pod in its last attempt.
	UnschedulablePlugins []string

	key string
	// errored: the last attempt failed with an error rather than finding no node.
	errored bool
}

// Hint reports whether ev may make pod, rejected by the plugins rejectedBy, schedulable.
type Hint func(pod *framework.PodInfo, rejectedBy []string, ev framework.ClusterEvent) bool

// Options tune a Queue; zero values take upstream's defaults.
type Options struct {
	Clock              clock.WithTicker
	InitialBackoff     time.Duration
	MaxBackoff         time.Duration
	MaxInUnschedulable time.Duration
}

// Queue is the scheduling queue. It is safe for concurrent use.
type Queue struct {
	clock              clock.WithTicker
	hint               Hint
	initialBackoff     time.Duration
	maxBackoff         time.Duration
	maxInUnschedulable time.Duration

	mu   sync.Mutex // guards everything below; cond waits on it
	cond *sync.Cond
	// active is ordered by priority, then Timestamp.
	active *podHeap
	// backoff is ordered by the end of each pod's back-off.
	backoff       *podHeap
	unschedulable map[string]*QueuedPodInfo
	// inFlight holds the pods popped and not yet Done.
	inFlight map[string]*flight
	// inCycle counts the pods of inFlight in their scheduling cycle (popped, not yet
	// Scheduled); events are recorded only while there are some.
	inCycle int
	// events are the cluster events recorded during scheduling cycles, by seq.
	events []recordedEvent
	seq    uint64
	closed bool
}

type flight struct {
	// seq is the sequence number of the last event recorded before the pod's pop.
	seq uint64
	// inCycle: popped and not yet Scheduled.
	inCycle bool
	deleted bool
}

type recordedEvent struct {
	seq uint64
	ev  framework.ClusterEvent
	// updated is the key of a pending pod that changed while in flight.
	updated string
}

// New returns a queue that asks hint which unschedulable pods an event may help.
func New(hint Hint, opts Options) *Queue {
	q := &Queue{
		clock: opts.Clock, hint: hint,
		initialBackoff: opts.InitialBackoff, maxBackoff: opts.MaxBackoff, maxInUnschedulable: opts.MaxInUnschedulable,
		unschedulable: map[string]*QueuedPodInfo{}, inFlight: map[string]*flight{},
	}
	if q.clock == nil {
		q.clock = clock.RealClock{}
	}
	if q.initialBackoff <= 0 {
		q.initialBackoff = DefaultInitialBackoff
	}
	if q.maxBackoff <= 0 {
		q.maxBackoff = DefaultMaxBackoff
	}
	if q.maxInUnschedulable <= 0 {
		q.maxInUnschedulable = DefaultMaxInUnschedulable
	}
	q.cond = sync.NewCond(&q.mu)
	q.active = newPodHeap(func(a, b *QueuedPodInfo) bool {
		pa, pb := framework.PodPriority(a.Pod), framework.PodPriority(b.Pod)
		if pa != pb {
			return pa > pb
		}
		return a.Timestamp.Before(b.Timestamp)
	})
	q.backoff = newPodHeap(func(a, b *QueuedPodInfo) bool {
		return q.backoffExpiry(a).Before(q.backoffExpiry(b))
	})
	return q
}

// BackoffDuration returns the back-off after attempts attempts: the initial back-off
// doubled for each attempt after the first, at most the maximum.
func (q *Queue) BackoffDuration(attempts int) time.Duration {
	d := q.initialBackoff
	for i := 1; i < attempts; i++ {
		if d > q.maxBackoff-d {
			return q.maxBackoff
		}
		d += d
	}
	return min(d, q.maxBackoff)
}

func (q *Queue) backoffExpiry(p *QueuedPodInfo) time.Time {
	return p.Timestamp.Add(q.BackoffDuration(p.Attempts))
}

func (q *Queue) backingOff(p *QueuedPodInfo) bool {
	return p.Attempts > 0 && q.backoffExpiry(p).After(q.clock.Now())
}

// Add queues a new pending pod, or updates it when it is queued already.
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := framework.PodKey(pod)
	if q.updateLocked(nil, pod, key) {
		return
	}
	q.active.add(&QueuedPodInfo{PodInfo: framework.NewPodInfo(pod), Timestamp: q.clock.Now(), key: key})
	q.cond.Broadcast()
}

// Update replaces a queued pod. A change of its spec, labels or annotations moves an
// unschedulable pod back (to back-off if it is still backing off); a change of its
// status alone (the scheduler's own condition) does not.
func (q *Queue) Update(old, pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := framework.PodKey(pod)
	if q.updateLocked(old, pod, key) {
		return
	}
	if _, ok := q.inFlight[key]; ok {
		return
	}
	q.active.add(&QueuedPodInfo{PodInfo: framework.NewPodInfo(pod), Timestamp: q.clock.Now(), key: key})
	q.cond.Broadcast()
}

// updateLocked updates the pod where it is and reports whether it was anywhere.
func (q *Queue) updateLocked(old, pod *corev1.Pod, key string) bool {
	if p, ok := q.active.get(key); ok {
		q.active.update(q.withPod(p, pod))
		return true
	}
	if p, ok := q.backoff.get(key); ok {
		q.backoff.update(q.withPod(p, pod))
		return true
	}
	if p, ok := q.unschedulable[key]; ok {
		p = q.withPod(p, pod)
		if old != nil && !changed(old, pod) {
			q.unschedulable[key] = p
			return true
		}
		delete(q.unschedulable, key)
		q.requeueLocked(p)
		return true
	}
	if _, ok := q.inFlight[key]; ok {
		if old == nil || changed(old, pod) {
			q.recordLocked(recordedEvent{updated: key})
		}
		return true
	}
	return false
}

func (q *Queue) withPod(p *QueuedPodInfo, pod *corev1.Pod) *QueuedPodInfo {
	c := *p
	c.PodInfo = framework.NewPodInfo(pod)
	return &c
}

// changed reports whether a pod changed in a way that may change where it fits.
func changed(old, pod *corev1.Pod) bool {
	return !equality.Semantic.DeepEqual(old.Spec, pod.Spec) ||
		!equality.Semantic.DeepEqual(old.Labels, pod.Labels) ||
		!equality.Semantic.DeepEqual(old.Annotations, pod.Annotations)
}

// Delete removes a pod that was deleted, bound, or is no longer the scheduler's.
func (q *Queue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := framework.PodKey(pod)
	q.active.remove(key)
	q.backoff.remove(key)
	delete(q.unschedulable, key)
	if f, ok := q.inFlight[key]; ok {
		f.deleted = true
	}
}

// Pop waits for the next active pod and marks it in flight; false once the queue is
// closed. With no active pod, a pod backing off after being found unschedulable is
// taken early rather than leaving the scheduler idle (upstream's PopFromBackoffQ); one
// backing off after an error is not. Every popped pod must be passed to Done, after
// Requeue if it failed.
func (q *Queue) Pop() (*QueuedPodInfo, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		if p := q.backoff.peek(); p != nil && !p.errored {
			q.active.add(q.backoff.pop())
			break
		}
		q.cond.Wait()
	}
	if q.closed {
		return nil, false
	}
	p := q.active.pop()
	p.Attempts++
	if p.InitialAttemptTimestamp.IsZero() {
		p.InitialAttemptTimestamp = q.clock.Now()
	}
	q.inFlight[p.key] = &flight{seq: q.seq, inCycle: true}
	q.inCycle++
	return p, true
}

// Scheduled tells the queue that a popped pod found a node and is being bound: the
// events that follow no longer concern it (a failed binding backs off regardless), so
// a slow binding does not hold them.
func (q *Queue) Scheduled(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if f, ok := q.inFlight[key]; ok && f.inCycle {
		f.inCycle = false
		q.inCycle--
		q.trimLocked()
	}
}

// Done ends a popped pod's flight.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if f, ok := q.inFlight[key]; ok {
		if f.inCycle {
			q.inCycle--
		}
		delete(q.inFlight, key)
		q.trimLocked()
	}
}

// trimLocked drops the events every pod in its scheduling cycle has seen already.
func (q *Queue) trimLocked() {
	if q.inCycle == 0 {
		q.events = nil
		return
	}
	oldest := q.seq
	for _, f := range q.inFlight {
		if f.inCycle {
			oldest = min(oldest, f.seq)
		}
	}
	i := 0
	for i < len(q.events) && q.events[i].seq <= oldest {
		i++
	}
	q.events = q.events[i:]
}

// Requeue puts back a popped pod whose attempt failed: rejected by the plugins
// rejectedBy when unschedulable is set, else failed with an error. An unschedulable pod
// waits in the unschedulable set unless an event recorded during its flight may help
// it; an errored one backs off. A pod deleted, or queued again, meanwhile is dropped.
func (q *Queue) Requeue(p *QueuedPodInfo, rejectedBy []string, unschedulable bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f, ok := q.inFlight[p.key]
	if !ok || f.deleted {
		return
	}
	if _, ok := q.active.get(p.key); ok {
		return
	}
	if _, ok := q.backoff.get(p.key); ok {
		return
	}
	p.Timestamp = q.clock.Now()
	p.UnschedulablePlugins = rejectedBy
	p.errored = !unschedulable
	if !unschedulable {
		q.backoff.add(p)
		return
	}
	for _, e := range q.events {
		if e.seq <= f.seq {
			continue
		}
		if (e.updated != "" && e.updated == p.key) || (e.updated == "" && q.hint(p.PodInfo, rejectedBy, e.ev)) {
			q.requeueLocked(p)
			return
		}
	}
	q.unschedulable[p.key] = p
}

// requeueLocked moves p to back-off if it is backing off, else to active.
func (q *Queue) requeueLocked(p *QueuedPodInfo) {
	if q.backingOff(p) {
		q.backoff.add(p)
	} else {
		q.active.add(p)
	}
	q.cond.Broadcast()
}

func (q *Queue) recordLocked(e recordedEvent) {
	if q.inCycle == 0 {
		return
	}
	q.seq++
	e.seq = q.seq
	q.events = append(q.events, e)
}

// MoveAll moves the unschedulable pods that ev may help back to be retried, and
// remembers ev for the pods in their scheduling cycle.
func (q *Queue) MoveAll(ev framework.ClusterEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.recordLocked(recordedEvent{ev: ev})
	for key, p := range q.unschedulable {
		if q.hint(p.PodInfo, p.UnschedulablePlugins, ev) {
			delete(q.unschedulable, key)
			q.requeueLocked(p)
		}
	}
}

// Activate retries a pod waiting in the unschedulable set as if an event had helped
// it (after its back-off, if it is still backing off); a pod in its scheduling cycle is
// retried when that attempt fails. Other pods are left as they are. The scheduler
// activates a preemptor that was put back to wait while its preemption was being
// carried out, since the events it waited for may have come meanwhile.
func (q *Queue) Activate(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := framework.PodKey(pod)
	if p, ok := q.unschedulable[key]; ok {
		delete(q.unschedulable, key)
		q.requeueLocked(p)
		return
	}
	if _, ok := q.inFlight[key]; ok {
		q.recordLocked(recordedEvent{updated: key})
	}
}

// FlushBackoff moves the pods whose back-off is over to active.
func (q *Queue) FlushBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	moved := false
	for p := q.backoff.peek(); p != nil && !q.backoffExpiry(p).After(now); p = q.backoff.peek() {
		q.active.add(q.backoff.pop())
		moved = true
	}
	if moved {
		q.cond.Broadcast()
	}
}

// FlushUnschedulable retries the pods unschedulable for longer than the maximum.
func (q *Queue) FlushUnschedulable() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for key, p := range q.unschedulable {
		if now.Sub(p.Timestamp) > q.maxInUnschedulable {
			delete(q.unschedulable, key)
			q.requeueLocked(p)
		}
	}
}

// Run flushes the back-off queue every second and the unschedulable set every 30 s
// until ctx ends, then closes the queue.
func (q *Queue) Run(ctx context.Context) {
	backoff := q.clock.NewTicker(backoffFlushInterval)
	defer backoff.Stop()
	unsched := q.clock.NewTicker(unschedulableFlushInterval)
	defer unsched.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-backoff.C():
			q.FlushBackoff()
		case <-unsched.C():
			q.FlushUnschedulable()
		}
	}
}

// Close wakes Pop, which then returns false. It is safe to call twice.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Counts returns how many pods are active, backing off and unschedulable.
func (q *Queue) Counts() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable)
}
