package agent

import (
	"context"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// deadline is when a pod's termination must end: the grace period after it began. A
// deletion with a shorter grace period moves it earlier, never later.
type deadline struct {
	clock clock.Clock

	mu    sync.Mutex // guards at and moved
	at    time.Time
	moved chan struct{} // closed, and replaced, when at moves
}

func newDeadline(clk clock.Clock, grace time.Duration) *deadline {
	return &deadline{clock: clk, at: clk.Now().Add(grace), moved: make(chan struct{})}
}

// get returns the deadline and a channel closed when it moves.
func (d *deadline) get() (time.Time, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.at, d.moved
}

// shorten moves the deadline to grace from now, if that is earlier.
func (d *deadline) shorten(grace time.Duration) {
	at := d.clock.Now().Add(grace)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !at.Before(d.at) {
		return
	}
	d.at = at
	close(d.moved)
	d.moved = make(chan struct{})
}

// left returns the whole seconds until the deadline, at least 0.
func (d *deadline) left() int64 {
	at, _ := d.get()
	return max(int64(at.Sub(d.clock.Now())/time.Second), 0)
}

// context returns a context of parent that ends at the deadline, wherever it moves.
func (d *deadline) context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		for {
			at, moved := d.get()
			select {
			case <-ctx.Done():
				return
			case <-moved:
			case <-d.clock.After(at.Sub(d.clock.Now())):
				cancel()
				return
			}
		}
	}()
	return ctx, cancel
}
