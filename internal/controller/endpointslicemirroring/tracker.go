package endpointslicemirroring

import (
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// deleting is the generation recorded for a slice the controller has deleted.
const deleting = -1

// tracker remembers, per Endpoints key, the generation of every slice the controller
// wrote (or deleting for those it deleted), so that a sync can tell a cache that has
// not yet seen those writes. It is safe for concurrent use.
type tracker struct {
	mu   sync.Mutex                     // guards gens
	gens map[string]map[types.UID]int64 // by Endpoints key, then slice UID
}

func newTracker() *tracker { return &tracker{gens: map[string]map[types.UID]int64{}} }

// wrote records a slice as returned by a create or update.
func (t *tracker) wrote(key string, s *discoveryv1.EndpointSlice) { t.set(key, s.UID, s.Generation) }

// deleted records a slice the controller deleted.
func (t *tracker) deleted(key string, s *discoveryv1.EndpointSlice) { t.set(key, s.UID, deleting) }

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

// changedByOthers reports whether an observed slice is newer than the controller's
// last write of it (or is one it never wrote).
func (t *tracker) changedByOthers(key string, s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	gen, ok := t.gens[key][s.UID]
	return !ok || s.Generation > gen
}

// gone records that a slice has been observed deleted and reports whether the
// controller had deleted it itself.
func (t *tracker) gone(key string, s *discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[key]
	gen, ok := m[s.UID]
	delete(m, s.UID)
	if len(m) == 0 {
		delete(t.gens, key)
	}
	return ok && gen == deleting
}

// stale reports whether cached, the slices of key in the cache, miss any of the
// controller's writes: a slice it wrote that is absent or older, or one it deleted
// that is still there.
func (t *tracker) stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.gens[key]
	if len(m) == 0 {
		return false
	}
	present := make(map[types.UID]bool, len(cached))
	for _, s := range cached {
		present[s.UID] = true
		if gen, ok := m[s.UID]; ok && (gen == deleting || gen > s.Generation) {
			return true
		}
	}
	for uid, gen := range m {
		if gen != deleting && !present[uid] {
			return true
		}
	}
	return false
}
