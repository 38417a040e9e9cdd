package stream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// closeNotifier is a ResponseWriter whose hijacked connection closes closed when it is
// closed: how a handler learns that a WebSocket session has ended. Reads from the
// connection after it was closed on this side end with io.EOF, so that the WebSocket
// read loop takes the session's own end for a normal one rather than logging an error.
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
	c := &notifyingConn{Conn: conn, n: n}
	var r io.Reader = c
	if k := rw.Reader.Buffered(); k > 0 {
		// What the client sent after its request is already read from conn.
		head, _ := rw.Reader.Peek(k)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(head)), c)
	}
	return c, bufio.NewReadWriter(bufio.NewReader(r), bufio.NewWriter(c)), nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (n *closeNotifier) Unwrap() http.ResponseWriter { return n.ResponseWriter }

type notifyingConn struct {
	net.Conn
	n *closeNotifier
}

func (c *notifyingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if errors.Is(err, net.ErrClosed) {
		err = io.EOF
	}
	return n, err
}

func (c *notifyingConn) Close() error {
	c.n.once.Do(func() { close(c.n.closed) })
	return c.Conn.Close()
}
