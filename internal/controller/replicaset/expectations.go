package replicaset

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// expectationsTTL is how long unobserved expectations hold a ReplicaSet back; after it
// the controller trusts what it sees, as upstream does after five minutes.
const expectationsTTL = 5 * time.Minute

// expectations records, per ReplicaSet key, the pod creations and deletions issued but
// not yet seen in the watch. Deletions are tracked by pod UID, so that a pod someone
// else deletes is not taken for one of the controller's.
type expectations struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*expected
}

type expected struct {
	adds int
	dels map[types.UID]struct{}
	at   time.Time
}

func newExpectations(now func() time.Time) *expectations {
	return &expectations{now: now, m: map[string]*expected{}}
}

func (e *expectations) entry(key string) *expected {
	x := e.m[key]
	if x == nil {
		x = &expected{dels: map[types.UID]struct{}{}}
		e.m[key] = x
	}
	return x
}

// expectCreates records adds pod creations about to be issued for key.
func (e *expectations) expectCreates(key string, adds int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.entry(key)
	x.adds += adds
	x.at = e.now()
}

// expectDeletes records the deletions of pods about to be issued for key.
func (e *expectations) expectDeletes(key string, pods []types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.entry(key)
	for _, uid := range pods {
		x.dels[uid] = struct{}{}
	}
	x.at = e.now()
}

// created observes one pod of key created (or takes back one creation not issued).
func (e *expectations) created(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil && x.adds > 0 {
		x.adds--
	}
}

// deleted observes the deletion of the pod uid of key (or takes it back).
func (e *expectations) deleted(key string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil {
		delete(x.dels, uid)
	}
}

// satisfied reports whether key may be synced: nothing it issued is still unseen, or
// what is has waited longer than expectationsTTL.
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.m[key]
	return x == nil || (x.adds == 0 && len(x.dels) == 0) || e.now().Sub(x.at) > expectationsTTL
}

// forget drops key's expectations (the ReplicaSet is gone, or they expired).
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
