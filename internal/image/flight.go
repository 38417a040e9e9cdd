package image

import (
	"context"
	"sync"
)

// flightGroup runs one call per key at a time; callers asking for a key already in
// flight wait for its result instead of starting another. The call runs with a context
// of its own that is cancelled only when every caller waiting for it has given up.
type flightGroup struct {
	mu    sync.Mutex         // guards calls and each flight's waiters
	calls map[string]*flight // in flight, by key
}

type flight struct {
	done    chan struct{} // closed when val and err are set
	val     string
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do returns fn's result for key, calling fn unless a call for key is in flight.
func (g *flightGroup) do(ctx context.Context, key string, fn func(context.Context) (string, error)) (string, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flight{}
	}
	f, ok := g.calls[key]
	if !ok {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.calls[key] = f
		go func() {
			val, err := fn(fctx)
			cancel()
			g.mu.Lock()
			if g.calls[key] == f {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			f.val, f.err = val, err
			close(f.done)
		}()
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		g.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			// Nobody wants the result: stop the call, and let the next caller
			// start afresh rather than join a cancelled one.
			f.cancel()
			if g.calls[key] == f {
				delete(g.calls, key)
			}
		}
		g.mu.Unlock()
		return "", ctx.Err()
	}
}
