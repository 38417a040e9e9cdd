package connlimit

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// accepted runs Accept in the background and hands over what it returns.
func accepted(t *testing.T, l *Listener) <-chan net.Conn {
	t.Helper()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func dial(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server side of c was closed: a read sees EOF.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF)
}

func listen(t *testing.T, max, unproven int) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(ln, max, unproven)
	t.Cleanup(func() { l.Close() })
	return l
}

// TestMax: with the listener full, the next connection waits in the kernel's backlog
// until one closes; the count never passes the bound.
func TestMax(t *testing.T) {
	l := listen(t, 2, 2)
	var got []net.Conn
	for range 2 {
		dial(t, l)
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	waits := make(chan struct{}, 1)
	l.mu.Lock()
	l.full = func() {
		select {
		case waits <- struct{}{}:
		default:
		}
	}
	l.mu.Unlock()
	dial(t, l)
	third := accepted(t, l)
	<-waits // Accept waits for a slot: it has not taken the third connection
	select {
	case <-third:
		t.Fatal("a third connection accepted while two are open")
	default:
	}
	if open, _ := l.Open(); open != 2 {
		t.Fatalf("open %d, want 2", open)
	}
	got[0].Close()
	if c := <-third; c == nil {
		t.Fatal("no third connection after one closed")
	}
	l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept on a closed listener: %v", err)
	}
}

// TestUnprovenShare: a client that never proves itself keeps at most its share, its
// oldest connection closed for each new one; proven connections are never closed for it.
func TestUnprovenShare(t *testing.T) {
	l := listen(t, 10, 2)
	var clients []net.Conn
	var servers []net.Conn
	for range 3 {
		clients = append(clients, dial(t, l))
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, c)
	}
	if !closedByServer(clients[0]) {
		t.Fatal("the oldest unproven connection stays open beyond the share")
	}
	if open, unproven := l.Open(); open != 2 || unproven != 2 {
		t.Fatalf("open %d unproven %d, want 2 and 2", open, unproven)
	}
	// The second proves itself (through a wrapper, as tls.Conn is); the next two new
	// connections close the third and the fourth's predecessor, never the second.
	Prove(ConnContext(context.Background(), wrapped{servers[1]}))
	for range 2 {
		clients = append(clients, dial(t, l))
		if _, err := l.Accept(); err != nil {
			t.Fatal(err)
		}
	}
	if !closedByServer(clients[2]) {
		t.Fatal("the unproven third stays open")
	}
	if open, unproven := l.Open(); open != 3 || unproven != 2 {
		t.Fatalf("open %d unproven %d, want 3 and 2", open, unproven)
	}
	_ = clients[1].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := clients[1].Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("the proven connection was closed: %v", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// wrapped stands for tls.Conn: a connection that hands out the one beneath.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

func TestBudget(t *testing.T) {
	for _, tc := range []struct {
		files        uint64
		reserve, max int
		want         int
	}{
		{files: 20000, reserve: 4096, max: 8192, want: 8192},
		{files: 8192, reserve: 4096, max: 8192, want: 4096},
		{files: 1024, reserve: 4096, max: 8192, want: 16},
	} {
		if got := Budget(tc.files, tc.reserve, tc.max); got != tc.want {
			t.Errorf("Budget(%d, %d, %d) = %d, want %d", tc.files, tc.reserve, tc.max, got, tc.want)
		}
	}
}
