package expectations

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// TTL is how long unobserved expectations hold an owner back; after it
// the controller trusts what it sees, as upstream does after five minutes.
const TTL = 5 * time.Minute

// Expectations records, per owner key, the pod creations and deletions issued but
// not yet seen in the watch. Deletions are tracked by pod UID, so that a pod someone
// else deletes is not taken for one of the controller's.
type Expectations struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*expected
}

type expected struct {
	adds int
	dels map[types.UID]struct{}
	at   time.Time
}

// New returns empty expectations timed by now.
func New(now func() time.Time) *Expectations {
	return &Expectations{now: now, m: map[string]*expected{}}
}

func (e *Expectations) entry(key string) *expected {
	x := e.m[key]
	if x == nil {
		x = &expected{dels: map[types.UID]struct{}{}}
		e.m[key] = x
	}
	return x
}

// ExpectCreates records adds pod creations about to be issued for key.
func (e *Expectations) ExpectCreates(key string, adds int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.entry(key)
	x.adds += adds
	x.at = e.now()
}

// ExpectDeletes records the deletions of pods about to be issued for key.
func (e *Expectations) ExpectDeletes(key string, pods []types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.entry(key)
	for _, uid := range pods {
		x.dels[uid] = struct{}{}
	}
	x.at = e.now()
}

// Created observes one pod of key created (or takes back one creation not issued).
func (e *Expectations) Created(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil && x.adds > 0 {
		x.adds--
	}
}

// Deleted observes the deletion of the pod uid of key (or takes it back).
func (e *Expectations) Deleted(key string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x := e.m[key]; x != nil {
		delete(x.dels, uid)
	}
}

// Satisfied reports whether key may be synced: nothing it issued is still unseen, or
// what is unseen has waited longer than TTL.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.m[key]
	return x == nil || (x.adds == 0 && len(x.dels) == 0) || e.now().Sub(x.at) > TTL
}

// Forget drops key's expectations (the owner is gone, or they expired).
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
