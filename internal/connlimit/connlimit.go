package connlimit

import (
	"container/list"
	"context"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// RaiseFileLimit raises the soft limit on open descriptors to the hard limit and returns
// the limit now in force.
func RaiseFileLimit() (uint64, error) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}

// Budget returns how many connections a listener may hold when the process may open
// files descriptors: what is left after reserve (for etcd, the agent, logs and images),
// and at most max.
func Budget(files uint64, reserve, max int) int {
	left := int64(files) - int64(reserve)
	if left < 16 {
		left = 16
	}
	if left > int64(max) {
		left = int64(max)
	}
	return int(left)
}

// Listener accepts at most Max connections at once; while it is full, Accept waits for
// one to close. At most Unproven of them may belong to clients that have not been marked
// proven (Prove): a new connection beyond that closes the oldest unproven one.
type Listener struct {
	net.Listener
	max, unproven int

	mu      sync.Mutex
	freed   *sync.Cond
	open    int
	closed  bool
	waiting *list.List // unproven connections, oldest first
	// full, when set (by tests), is called with mu held each time Accept starts to
	// wait for a slot.
	full func()
}

// NewListener wraps ln; unproven is capped at max.
func NewListener(ln net.Listener, max, unproven int) *Listener {
	if unproven > max {
		unproven = max
	}
	l := &Listener{Listener: ln, max: max, unproven: unproven, waiting: list.New()}
	l.freed = sync.NewCond(&l.mu)
	return l
}

// Accept waits for a free slot, then for a connection.
func (l *Listener) Accept() (net.Conn, error) {
	l.mu.Lock()
	for l.open >= l.max && !l.closed {
		if l.full != nil {
			l.full()
		}
		l.freed.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return nil, net.ErrClosed
	}
	l.open++
	l.mu.Unlock()
	c, err := l.Listener.Accept()
	if err != nil {
		l.release()
		return nil, err
	}
	tc := &conn{Conn: c, l: l}
	var evict *conn
	l.mu.Lock()
	tc.elem = l.waiting.PushBack(tc)
	if l.waiting.Len() > l.unproven {
		evict = l.waiting.Remove(l.waiting.Front()).(*conn)
		evict.elem = nil
	}
	l.mu.Unlock()
	if evict != nil {
		_ = evict.Close()
	}
	return tc, nil
}

// Close closes the listener and wakes an Accept that waits for a slot, which then fails.
func (l *Listener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	l.closed = true
	l.freed.Broadcast()
	l.mu.Unlock()
	return err
}

// Open returns the connections held now, and how many of them are unproven.
func (l *Listener) Open() (open, unproven int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.waiting.Len()
}

func (l *Listener) release() {
	l.mu.Lock()
	l.open--
	l.freed.Signal()
	l.mu.Unlock()
}

// conn is an accepted connection; elem is its place among the unproven, nil once proven
// (or evicted).
type conn struct {
	net.Conn
	l    *Listener
	elem *list.Element
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.elem != nil {
			c.l.waiting.Remove(c.elem)
			c.elem = nil
		}
		c.l.open--
		c.l.freed.Signal()
		c.l.mu.Unlock()
	})
	return err
}

func (c *conn) prove() {
	c.l.mu.Lock()
	if c.elem != nil {
		c.l.waiting.Remove(c.elem)
		c.elem = nil
	}
	c.l.mu.Unlock()
}

type ctxKey struct{}

// ConnContext is for http.Server.ConnContext: it lets Prove find the connection of a
// request.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// Prove marks the connection that carried a request (its context derived from
// ConnContext) as belonging to an authenticated client.
func Prove(ctx context.Context) {
	c, _ := ctx.Value(ctxKey{}).(net.Conn)
	for c != nil {
		if tc, ok := c.(*conn); ok {
			tc.prove()
			return
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return
		}
		c = u.NetConn()
	}
}
