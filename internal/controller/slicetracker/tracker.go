package slicetracker

import (
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// deleted stands for the generation of a slice the controller deleted.
const deleted = -1

// Tracker remembers, per owner key, the generation of every slice the controller wrote
// and the slices it deleted, until the informer shows the deletion. Safe for
// concurrent use.
type Tracker struct {
	mu   sync.Mutex                     // guards gens
	gens map[string]map[types.UID]int64 // owner key → slice UID → generation written, or deleted
}

// New returns an empty Tracker.
func New() *Tracker { return &Tracker{gens: map[string]map[types.UID]int64{}} }

// Wrote records that the controller created or updated s, of owner key, as the API
// server returned it.
func (t *Tracker) Wrote(key string, s *discoveryv1.EndpointSlice) { t.set(key, s.UID, s.Generation) }

// Deleted records that the controller deleted s.
func (t *Tracker) Deleted(key string, s *discoveryv1.EndpointSlice) { t.set(key, s.UID, deleted) }

func (t *Tracker) set(key string, uid types.UID, gen int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[key]
	if m == nil {
		m = map[types.UID]int64{}
		t.gens[key] = m
	}
	m[uid] = gen
}

// Stale reports whether cached, key's slices in the informer cache, miss any of the
// controller's writes: a slice it wrote that is absent or older, or one it deleted that
// is still there.
func (t *Tracker) Stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[key]
	if len(m) == 0 {
		return false
	}
	present := make(map[types.UID]bool, len(cached))
	for _, s := range cached {
		present[s.UID] = true
		if g, ok := m[s.UID]; ok && (g == deleted || g > s.Generation) {
			return true
		}
	}
	for uid, g := range m {
		if g != deleted && !present[uid] {
			return true
		}
	}
	return false
}

// ChangedByOthers reports whether s, seen by the informer, is not the controller's own
// latest write: it is untracked or has a newer generation.
func (t *Tracker) ChangedByOthers(key string, s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.gens[key][s.UID]
	return !ok || s.Generation > g
}

// Gone forgets s, whose deletion the informer has shown (or which left the
// controller's care), and reports whether the controller had deleted it itself.
func (t *Tracker) Gone(key string, s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[key]
	g, ok := m[s.UID]
	delete(m, s.UID)
	if len(m) == 0 {
		delete(t.gens, key)
	}
	return ok && g == deleted
}
