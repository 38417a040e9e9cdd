package endpoints

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// triggerTimes works out the endpoints.kubernetes.io/last-change-trigger-time of a
// Service: the earliest change, among those not yet accounted for, that may move its
// endpoints. A pod's change time is its Ready condition's lastTransitionTime; the
// Service's is its creation time (updates carry no time). It is safe for concurrent
// use; each Service is only looked at by one worker at a time.
type triggerTimes struct {
	mu   sync.Mutex           // guards seen
	seen map[string]*lastSeen // by Service key
}

// lastSeen is what a Service's previous sync saw.
type lastSeen struct {
	service time.Time
	pods    map[string]time.Time // by pod name
}

func newTriggerTimes() *triggerTimes { return &triggerTimes{seen: map[string]*lastSeen{}} }

// observe records the pods and Service a sync of key sees and returns the earliest
// change time not seen by the previous sync; zero when there is none.
func (t *triggerTimes) observe(key string, svc *corev1.Service, pods []*corev1.Pod) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev := t.seen[key]
	next := &lastSeen{service: svc.CreationTimestamp.Time, pods: make(map[string]time.Time, len(pods))}
	var earliest time.Time
	consider := func(at time.Time) {
		if !at.IsZero() && (earliest.IsZero() || at.Before(earliest)) {
			earliest = at
		}
	}
	for _, pod := range pods {
		at := readyTransition(pod)
		next.pods[pod.Name] = at
		if prev == nil {
			consider(at)
			continue
		}
		if was, ok := prev.pods[pod.Name]; !ok || !was.Equal(at) {
			consider(at)
		}
	}
	if prev == nil || !prev.service.Equal(next.service) {
		consider(next.service)
	}
	t.seen[key] = next
	return earliest
}

// forget drops what was seen of a deleted Service.
func (t *triggerTimes) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.seen, key)
}

func readyTransition(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}
