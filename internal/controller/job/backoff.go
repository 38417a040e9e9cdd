package job

import (
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Upstream's delays before failed pods are replaced: initialBackoff after the first
// failure, doubling with each further one since the last success, at most maxBackoff.
const (
	initialBackoff = 10 * time.Second
	maxBackoff     = 10 * time.Minute
)

// backoffRecord is a Job's run of failures since its last success.
type backoffRecord struct {
	failures    int32
	lastFailure time.Time // when the newest of them finished
}

// backoffStore holds the records of the Jobs being synced, by key. Records live in
// memory only: after a restart a Job starts with none, as upstream's does.
type backoffStore struct {
	mu sync.Mutex // guards m
	m  map[string]backoffRecord
}

func newBackoffStore() *backoffStore { return &backoffStore{m: map[string]backoffRecord{}} }

func (b *backoffStore) get(key string) backoffRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[key]
}

func (b *backoffStore) set(key string, r backoffRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = r
}

func (b *backoffStore) forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}

// next is key's record once the newly finished pods are added: a success resets the
// run to the failures that finished after the newest success.
func (b *backoffStore) next(key string, succeeded, failed []*corev1.Pod) backoffRecord {
	r := b.get(key)
	failed = byFinishTime(failed)
	if len(succeeded) > 0 {
		succeeded = byFinishTime(succeeded)
		lastSuccess := finishTime(succeeded[len(succeeded)-1])
		r = backoffRecord{}
		for i := len(failed) - 1; i >= 0 && finishTime(failed[i]).After(lastSuccess); i-- {
			if r.failures == 0 {
				r.lastFailure = finishTime(failed[i])
			}
			r.failures++
		}
		return r
	}
	if len(failed) > 0 {
		r.failures += int32(len(failed))
		r.lastFailure = finishTime(failed[len(failed)-1])
	}
	return r
}

// remaining is how long after now the replacement of failed pods must wait.
func (r backoffRecord) remaining(now time.Time) time.Duration {
	return backoffLeft(r.failures, r.lastFailure, now)
}

// backoffLeft is the delay owed after failures failures, the last at last.
func backoffLeft(failures int32, last, now time.Time) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := initialBackoff
	for i := int32(1); i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return max(d-now.Sub(last), 0)
}

// indexBackoffLeft is how long the replacement of the failed pod last of an index
// must wait under backoffLimitPerIndex; 0 when the index has no failed pod.
func indexBackoffLeft(last *corev1.Pod, now time.Time) time.Duration {
	if last == nil {
		return 0
	}
	return backoffLeft(allIndexFailures(last)+1, finishTime(last), now)
}

func byFinishTime(pods []*corev1.Pod) []*corev1.Pod {
	out := append([]*corev1.Pod(nil), pods...)
	sort.SliceStable(out, func(i, j int) bool { return finishTime(out[i]).Before(finishTime(out[j])) })
	return out
}

// finishTime estimates when p finished: when its last container terminated, else
// when it stopped being ready, else when its deletion began (less the grace
// period), else when it was created.
func finishTime(p *corev1.Pod) time.Time {
	var last time.Time
	complete := len(p.Status.ContainerStatuses) > 0
	for _, cs := range p.Status.ContainerStatuses {
		t := cs.State.Terminated
		if t == nil || t.FinishedAt.IsZero() {
			complete = false
			break
		}
		if t.FinishedAt.After(last) {
			last = t.FinishedAt.Time
		}
	}
	if complete {
		return last
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Add(-secs(ptr.Deref(p.DeletionGracePeriodSeconds, 0)))
	}
	return p.CreationTimestamp.Time
}
