package endpointslice

import (
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// deletionExpected stands for the generation of a slice the controller deleted.
const deletionExpected = -1

// tracker remembers, per Service, the generation of every slice the controller wrote
// and the slices it deleted, until the informer shows the deletion. It tells whether
// the cache has caught up with the controller's own writes. Safe for concurrent use.
type tracker struct {
	mu   sync.Mutex                     // guards gens
	gens map[string]map[types.UID]int64 // Service key → slice UID → generation written or deletionExpected
}

func newTracker() *tracker { return &tracker{gens: map[string]map[types.UID]int64{}} }

// serviceKey is the key of the Service s belongs to, by its service-name label.
func serviceKey(s *discoveryv1.EndpointSlice) string {
	return s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
}

// wrote records that the controller created or updated s (as the API server returned
// it).
func (t *tracker) wrote(s *discoveryv1.EndpointSlice) { t.set(serviceKey(s), s.UID, s.Generation) }

// deleting records that the controller deleted s.
func (t *tracker) deleting(s *discoveryv1.EndpointSlice) {
	t.set(serviceKey(s), s.UID, deletionExpected)
}

func (t *tracker) set(key string, uid types.UID, gen int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[key]
	if m == nil {
		m = map[types.UID]int64{}
		t.gens[key] = m
	}
	m[uid] = gen
}

// stale reports whether cached, the Service key's slices in the informer cache, are
// older than what the controller wrote: a slice has an older generation, a deleted
// one is still there, or a written one is missing.
func (t *tracker) stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[key]
	if len(m) == 0 {
		return false
	}
	seen := make(map[types.UID]bool, len(cached))
	for _, s := range cached {
		seen[s.UID] = true
		if g, ok := m[s.UID]; ok && (g == deletionExpected || g > s.Generation) {
			return true
		}
	}
	for uid, g := range m {
		if g != deletionExpected && !seen[uid] {
			return true
		}
	}
	return false
}

// news reports whether s, seen by the informer, is not the controller's own latest
// write: it is untracked or has a newer generation.
func (t *tracker) news(s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.gens[serviceKey(s)][s.UID]
	return !ok || s.Generation > g
}

// gone forgets s, whose deletion the informer has shown (or which left the
// controller's care), and reports whether the controller had deleted it itself.
func (t *tracker) gone(s *discoveryv1.EndpointSlice) (expected bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := serviceKey(s)
	m := t.gens[key]
	g, ok := m[s.UID]
	delete(m, s.UID)
	if len(m) == 0 {
		delete(t.gens, key)
	}
	return ok && g == deletionExpected
}
