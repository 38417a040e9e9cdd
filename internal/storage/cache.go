package storage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// InitialEventsEndAnnotation marks the bookmark that ends the initial events of a watch
// opened with sendInitialEvents.
const InitialEventsEndAnnotation = "k8s.io/initial-events-end"

// Cache mirrors one resource's objects from a single etcd watch and serves watches (and
// lists at "any" revision) from memory. It keeps the recent history of changes, so that a
// watch can resume from a resourceVersion a little in the past.
//
// Objects handed out by the cache are shared: callers must not modify them.
type Cache struct {
	store    *Store
	prefix   string
	newObj   func() runtime.Object
	capacity int

	mu       sync.Mutex // guards everything below
	objects  map[string]runtime.Object
	history  []event // changes after oldest, in revision order
	oldest   int64   // every change after this revision is in history
	rev      int64   // the revision the cache reflects
	gen      uint64  // counts the changes of objects (apply and reset)
	watchers map[*cacheWatcher]struct{}
	ready    chan struct{}
	changed  *sync.Cond // broadcast when rev moves
	stopped  bool
}

type event struct {
	key       string
	rev       int64
	obj, prev runtime.Object // prev is nil for a creation, obj is nil for a deletion
}

// NewCache returns a cache of the objects under prefix. Run fills and follows it.
func NewCache(store *Store, prefix string, newObj func() runtime.Object, capacity int) *Cache {
	c := &Cache{store: store, prefix: prefix, newObj: newObj, capacity: capacity,
		objects: map[string]runtime.Object{}, watchers: map[*cacheWatcher]struct{}{}, ready: make(chan struct{})}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Run lists the prefix, then follows etcd's watch until ctx ends, relisting if the watch
// falls behind a compaction. Watchers are ended when Run returns.
func (c *Cache) Run(ctx context.Context) {
	defer c.stop()
	for ctx.Err() == nil {
		if err := c.follow(ctx); err != nil && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// Ready is closed once the cache holds a complete list.
func (c *Cache) Ready() <-chan struct{} { return c.ready }

func (c *Cache) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	for w := range c.watchers {
		w.terminate()
	}
	c.watchers = map[*cacheWatcher]struct{}{}
	c.changed.Broadcast()
}

func (c *Cache) follow(ctx context.Context) error {
	list, err := c.store.List(ctx, c.prefix, ListOptions{}, c.newObj)
	if err != nil {
		return err
	}
	c.reset(list)
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := c.store.client.Watch(wctx, c.prefix, clientv3.WithPrefix(), clientv3.WithRev(list.Revision+1), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return err
		}
		if resp.IsProgressNotify() {
			c.advance(resp.Header.Revision)
			continue
		}
		evs := make([]event, 0, len(resp.Events))
		for _, ev := range resp.Events {
			e := event{key: string(ev.Kv.Key), rev: ev.Kv.ModRevision}
			if ev.PrevKv != nil {
				e.prev = c.newObj()
				if err := c.store.decode(ev.PrevKv.Value, ev.PrevKv.ModRevision, e.prev); err != nil {
					return err
				}
			}
			if ev.Type == clientv3.EventTypePut {
				e.obj = c.newObj()
				if err := c.store.decode(ev.Kv.Value, ev.Kv.ModRevision, e.obj); err != nil {
					return err
				}
			} else if e.prev != nil {
				if err := setRV(e.prev, ev.Kv.ModRevision); err != nil {
					return err
				}
			}
			evs = append(evs, e)
		}
		// The header can be ahead of these events while etcd catches a slow watcher up
		// in batches, so only the events themselves move the cache's revision.
		if n := len(evs); n > 0 {
			c.apply(evs, evs[n-1].rev)
		}
	}
	return ctx.Err()
}

// reset replaces the cache's content with a fresh list. Watchers of the old content are
// ended: they cannot know what changed in between.
func (c *Cache) reset(list ListResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.objects = make(map[string]runtime.Object, len(list.Items))
	for _, obj := range list.Items {
		m, _ := meta.Accessor(obj)
		c.objects[keyOf(c.prefix, m.GetNamespace(), m.GetName())] = obj
	}
	c.history = nil
	c.oldest, c.rev = list.Revision, list.Revision
	c.gen++
	for w := range c.watchers {
		w.terminate()
	}
	c.watchers = map[*cacheWatcher]struct{}{}
	select {
	case <-c.ready:
	default:
		close(c.ready)
	}
	c.changed.Broadcast()
}

// keyOf rebuilds an object's key under prefix (which ends in "/").
func keyOf(prefix, namespace, name string) string {
	if namespace == "" {
		return prefix + name
	}
	return prefix + namespace + "/" + name
}

func (c *Cache) apply(evs []event, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(evs) > 0 {
		c.gen++
	}
	for _, e := range evs {
		if e.obj != nil {
			c.objects[e.key] = e.obj
		} else {
			delete(c.objects, e.key)
		}
		c.history = append(c.history, e)
		for w := range c.watchers {
			if !w.send(e) {
				delete(c.watchers, w)
			}
		}
	}
	if over := len(c.history) - c.capacity; over > 0 {
		// Drop the oldest quarter at once, so trimming is rare.
		drop := over + c.capacity/4
		if drop > len(c.history) {
			drop = len(c.history)
		}
		c.oldest = c.history[drop-1].rev
		c.history = append([]event(nil), c.history[drop:]...)
	}
	if rev > c.rev {
		c.rev = rev
	}
	c.changed.Broadcast()
}

func (c *Cache) advance(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev > c.rev {
		c.rev = rev
		c.changed.Broadcast()
	}
}

// Bookmark sends every watcher that asked for bookmarks one carrying the cache's current
// revision. The API server calls it periodically.
func (c *Cache) Bookmark() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.watchers {
		if w.bookmarks && !w.bookmark(c.rev, false) {
			delete(c.watchers, w)
		}
	}
}

// waitFor blocks, with c.mu held, until the cache reflects rev or the deadline passes.
// While it waits it asks etcd for progress notifications, which move the cache's
// revision forward even when nothing under its prefix changed.
func (c *Cache) waitFor(rev int64, deadline time.Time) error {
	if c.rev >= rev {
		return nil
	}
	done := make(chan struct{})
	defer close(done)
	go c.requestProgress(done)
	timer := time.AfterFunc(time.Until(deadline), func() {
		c.mu.Lock()
		c.changed.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	for c.rev < rev && !c.stopped && time.Now().Before(deadline) {
		c.changed.Wait()
	}
	if c.rev < rev {
		return fmt.Errorf("waiting for revision %d (cache at %d): %w", rev, c.rev, ErrTooLarge)
	}
	return nil
}

// progressInterval spaces the progress requests of a waiting reader.
const progressInterval = 20 * time.Millisecond

// requestProgress asks etcd for a progress notification on the cache's watch stream,
// now and every progressInterval until done is closed.
func (c *Cache) requestProgress(done <-chan struct{}) {
	ctx := clientv3.WithRequireLeader(context.Background())
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = c.store.client.RequestProgress(rctx)
		cancel()
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// List returns the cached objects under prefix (which must lie within the cache's
// prefix) that filter accepts, sorted by key, and the revision they reflect. It waits
// for the cache to reach minRev, for at most three seconds.
func (c *Cache) List(ctx context.Context, prefix string, minRev int64, filter func(runtime.Object) bool) ([]runtime.Object, int64, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.waitFor(minRev, time.Now().Add(3*time.Second)); err != nil {
		return nil, 0, err
	}
	return c.snapshot(prefix, filter), c.rev, nil
}

func (c *Cache) snapshot(prefix string, filter func(runtime.Object) bool) []runtime.Object {
	keys := make([]string, 0, len(c.objects))
	for k, obj := range c.objects {
		if strings.HasPrefix(k, prefix) && (filter == nil || filter(obj)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]runtime.Object, len(keys))
	for i, k := range keys {
		out[i] = c.objects[k]
	}
	return out
}

// WatchOptions say where a watch starts and what it sees.
type WatchOptions struct {
	// Prefix limits the watch to keys under it (one namespace); empty means the
	// cache's whole prefix.
	Prefix string
	// Revision starts the watch after that revision. 0 starts at the current state,
	// sent first as ADDED events.
	Revision int64
	// InitialEvents sends the current state as ADDED events, then a bookmark
	// annotated k8s.io/initial-events-end, then changes (sendInitialEvents=true).
	InitialEvents bool
	// Bookmarks asks for periodic BOOKMARK events.
	Bookmarks bool
	// Filter keeps the objects a watch sees; an object that stops matching is sent as
	// DELETED, one that starts matching as ADDED.
	Filter func(runtime.Object) bool
	// MinRevision, for a watch that starts with the current state, is the revision
	// that state must reflect at least (etcd's current one, for a consistent start).
	MinRevision int64
	// SkipInitial starts a watch with Revision 0 at the current state without
	// sending it (sendInitialEvents=false).
	SkipInitial bool
}

// ErrGone marks a watch whose start revision is older than the cache's history.
var ErrGone = errors.New("too old resource version")

// Watch starts a watch. A revision older than the kept history is ErrGone; one newer
// than etcd's is ErrTooLarge after a short wait.
func (c *Cache) Watch(ctx context.Context, opts WatchOptions) (watch.Interface, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if opts.Prefix == "" {
		opts.Prefix = c.prefix
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, errors.New("watch cache stopped")
	}
	w := newCacheWatcher(opts)
	switch {
	case opts.InitialEvents || opts.Revision == 0:
		if err := c.waitFor(max(opts.Revision, opts.MinRevision), time.Now().Add(3*time.Second)); err != nil {
			return nil, err
		}
		if c.stopped {
			return nil, errors.New("watch cache stopped")
		}
		if !opts.SkipInitial || opts.InitialEvents {
			for _, obj := range c.snapshot(opts.Prefix, opts.Filter) {
				w.queue = append(w.queue, watch.Event{Type: watch.Added, Object: obj})
			}
		}
		if opts.InitialEvents {
			w.queue = append(w.queue, w.bookmarkEvent(c.rev, true))
		}
	default:
		if err := c.waitFor(opts.Revision, time.Now().Add(3*time.Second)); err != nil {
			return nil, err
		}
		// Checked after the wait, which lets go of the lock: a relist or a trim may
		// have happened meanwhile.
		if c.stopped {
			return nil, errors.New("watch cache stopped")
		}
		if opts.Revision < c.oldest {
			return nil, fmt.Errorf("resource version %d, oldest kept %d: %w", opts.Revision, c.oldest, ErrGone)
		}
		i := sort.Search(len(c.history), func(i int) bool { return c.history[i].rev > opts.Revision })
		for _, e := range c.history[i:] {
			if ev, ok := w.translate(e); ok {
				w.queue = append(w.queue, ev)
			}
		}
	}
	c.watchers[w] = struct{}{}
	go w.run(ctx)
	go func() {
		<-w.done
		c.mu.Lock()
		delete(c.watchers, w)
		c.mu.Unlock()
	}()
	return w, nil
}

// watcherBuffer bounds the events waiting for a slow client. A watcher that falls further
// behind is ended; its client resumes from the last resourceVersion it saw.
const watcherBuffer = 4096

type cacheWatcher struct {
	prefix    string
	filter    func(runtime.Object) bool
	bookmarks bool
	newObj    func() runtime.Object

	queue []watch.Event // initial events, sent first by run
	// pending holds the events offered since run last took them, at most
	// watcherBuffer; ready tells run there are some. It grows only as a client falls
	// behind, so an idle watcher holds almost nothing.
	mu      sync.Mutex
	pending []watch.Event
	ready   chan struct{}
	result  chan watch.Event
	done    chan struct{}
	once    sync.Once
}

func newCacheWatcher(opts WatchOptions) *cacheWatcher {
	return &cacheWatcher{prefix: opts.Prefix, filter: opts.Filter, bookmarks: opts.Bookmarks,
		ready: make(chan struct{}, 1), result: make(chan watch.Event), done: make(chan struct{})}
}

func (w *cacheWatcher) matches(obj runtime.Object) bool {
	return obj != nil && (w.filter == nil || w.filter(obj))
}

// translate turns a change into what this watcher sees, if anything.
func (w *cacheWatcher) translate(e event) (watch.Event, bool) {
	if !strings.HasPrefix(e.key, w.prefix) {
		return watch.Event{}, false
	}
	cur, prev := w.matches(e.obj), w.matches(e.prev)
	switch {
	case e.obj == nil && prev:
		return watch.Event{Type: watch.Deleted, Object: e.prev}, true
	case cur && prev:
		return watch.Event{Type: watch.Modified, Object: e.obj}, true
	case cur:
		return watch.Event{Type: watch.Added, Object: e.obj}, true
	case prev:
		// The object left the watcher's view: it gets the last state it saw, at the
		// revision of the change.
		gone := e.prev.DeepCopyObject()
		if err := setRV(gone, e.rev); err != nil {
			return watch.Event{}, false
		}
		return watch.Event{Type: watch.Deleted, Object: gone}, true
	}
	return watch.Event{}, false
}

// send queues a change; false means the watcher is gone or too slow and was ended.
func (w *cacheWatcher) send(e event) bool {
	ev, ok := w.translate(e)
	if !ok {
		return w.alive()
	}
	return w.offer(ev)
}

func (w *cacheWatcher) offer(ev watch.Event) bool {
	if !w.alive() {
		return false
	}
	w.mu.Lock()
	full := len(w.pending) >= watcherBuffer
	if !full {
		w.pending = append(w.pending, ev)
	}
	w.mu.Unlock()
	if full {
		w.terminate()
		return false
	}
	select {
	case w.ready <- struct{}{}:
	default: // run has been told already
	}
	return true
}

// take returns the pending events and empties the queue.
func (w *cacheWatcher) take() []watch.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	evs := w.pending
	w.pending = nil
	return evs
}

func (w *cacheWatcher) alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

func (w *cacheWatcher) bookmark(rev int64, initialEnd bool) bool {
	return w.offer(w.bookmarkEvent(rev, initialEnd))
}

// bookmarkEvent carries a *Bookmark; the API server turns it into an object of the
// watched kind.
func (w *cacheWatcher) bookmarkEvent(rev int64, initialEnd bool) watch.Event {
	b := &Bookmark{Revision: rev, InitialEventsEnd: initialEnd}
	return watch.Event{Type: watch.Bookmark, Object: b}
}

func (w *cacheWatcher) run(ctx context.Context) {
	defer w.terminate()
	defer close(w.result)
	for _, ev := range w.queue {
		select {
		case w.result <- ev:
		case <-ctx.Done():
			return
		case <-w.done:
			return
		}
	}
	w.queue = nil
	for {
		select {
		case <-w.ready:
			for _, ev := range w.take() {
				select {
				case w.result <- ev:
				case <-ctx.Done():
					return
				case <-w.done:
					return
				}
			}
		case <-ctx.Done():
			return
		case <-w.done:
			return
		}
	}
}

func (w *cacheWatcher) terminate() { w.once.Do(func() { close(w.done) }) }

// Stop ends the watch; safe to call more than once.
func (w *cacheWatcher) Stop() { w.terminate() }

// ResultChan delivers the watch's events; it is closed when the watch ends.
func (w *cacheWatcher) ResultChan() <-chan watch.Event { return w.result }

var _ watch.Interface = (*cacheWatcher)(nil)

// Bookmark is the object of a BOOKMARK event from the cache: the revision the watcher has
// seen everything up to.
type Bookmark struct {
	Revision         int64
	InitialEventsEnd bool // the end of a watch's initial events
}

// GetObjectKind returns an empty kind: a Bookmark never leaves the API server.
func (b *Bookmark) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the bookmark.
func (b *Bookmark) DeepCopyObject() runtime.Object { c := *b; return &c }

// Generation counts the changes of the cache's objects: it moves whenever one is
// added, changed or removed, so that a reader can keep what it derived from them until
// it does.
func (c *Cache) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Get returns the cached object at key, if the cache holds one.
func (c *Cache) Get(key string) (runtime.Object, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj, ok := c.objects[key]
	return obj, ok
}
