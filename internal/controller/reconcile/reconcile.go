package reconcile

import (
	"context"
	"log/slog"
	"time"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// SyncFunc brings the object named by key to its desired state. It returns a delay > 0
// to look at the key again later though nothing changed, and an error to retry with
// back-off.
type SyncFunc func(ctx context.Context, key string) (time.Duration, error)

// Loop is a work queue of keys with one sync function.
type Loop struct {
	name  string
	queue workqueue.TypedRateLimitingInterface[string]
	sync  SyncFunc
	log   *slog.Logger
}

// New returns a loop named name (for logs) around sync.
func New(name string, sync SyncFunc, log *slog.Logger) *Loop {
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
	return &Loop{name: name, queue: q, sync: sync, log: log.With("controller", name)}
}

// Add queues a key.
func (l *Loop) Add(key string) { l.queue.Add(key) }

// AddAfter queues a key once d has passed.
func (l *Loop) AddAfter(key string, d time.Duration) { l.queue.AddAfter(key, d) }

// Handler returns informer event handlers that queue keyOf(obj) for every add, update
// and delete; keyOf returns "" to ignore an object.
func (l *Loop) Handler(keyOf func(obj any) string) cache.ResourceEventHandler {
	add := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if k := keyOf(obj); k != "" {
			l.queue.Add(k)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, obj any) { add(obj) },
		DeleteFunc: add,
	}
}

// Run works the queue with workers goroutines until ctx ends.
func (l *Loop) Run(ctx context.Context, workers int) {
	go func() {
		<-ctx.Done()
		l.queue.ShutDown()
	}()
	done := make(chan struct{})
	for i := 0; i < workers; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for l.next(ctx) {
			}
		}()
	}
	for i := 0; i < workers; i++ {
		<-done
	}
}

func (l *Loop) next(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	again, err := l.sync(ctx, key)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			l.log.Warn("sync failed; retrying", "key", key, "err", err)
		}
		l.queue.AddRateLimited(key)
	case again > 0:
		l.queue.Forget(key)
		l.queue.AddAfter(key, again)
	default:
		l.queue.Forget(key)
	}
	return true
}
