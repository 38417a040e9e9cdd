package stream

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// closeNotifier is a ResponseWriter whose hijacked connection closes closed when it is
// closed: how a handler learns that a WebSocket session has ended.
type closeNotifier struct {
	http.ResponseWriter
	closed chan struct{}
	once   sync.Once
}

func newCloseNotifier(w http.ResponseWriter) *closeNotifier {
	return &closeNotifier{ResponseWriter: w, closed: make(chan struct{})}
}

// Hijack implements http.Hijacker.
func (n *closeNotifier) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(n.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &notifyingConn{Conn: conn, n: n}, rw, nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (n *closeNotifier) Unwrap() http.ResponseWriter { return n.ResponseWriter }

type notifyingConn struct {
	net.Conn
	n *closeNotifier
}

func (c *notifyingConn) Close() error {
	c.n.once.Do(func() { close(c.n.closed) })
	return c.Conn.Close()
}
