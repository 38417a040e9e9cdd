package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/miekg/dns"

	"github.com/podium/podium/internal/connlimit"
)

const (
	tcpFirstRead  = 2 * time.Second // from accept to the first whole query
	tcpIdle       = 8 * time.Second // between queries
	tcpWrite      = 2 * time.Second // one answer written
	tcpMaxQueries = 128             // a connection is closed after that many
	shutdownWait  = 5 * time.Second
)

// Listen opens UDP and TCP sockets on addr, the same port for both (a free one when
// addr's port is 0).
func Listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns address %q: %w", addr, err)
	}
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns on udp %s: %w", addr, err)
		}
		bound := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		ln, err := net.Listen("tcp", net.JoinHostPort(host, bound))
		if err == nil {
			return pc, ln, nil
		}
		_ = pc.Close()
		// A free UDP port may be taken for TCP: try another one.
		if port != "0" || attempt == 4 {
			return nil, nil, fmt.Errorf("dns on tcp %s: %w", net.JoinHostPort(host, bound), err)
		}
	}
}

// Run listens on addr (UDP and TCP) and serves until ctx ends.
func (s *Server) Run(ctx context.Context, addr string) error {
	pc, ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, pc, ln)
}

// Serve answers queries arriving on pc and ln until ctx ends or either fails, then
// closes both and waits (a few seconds at most) for the queries being answered. It
// never forwards to its own address, should an upstream be it.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn, ln net.Listener) error {
	s.log.Info("dns: serving", "addr", pc.LocalAddr().String(), "zone", s.zone.origin)
	s.fwd.dropSelf(pc.LocalAddr(), func(up string) {
		s.log.Warn("dns: upstream is this server, not forwarding to it", "upstream", up)
	})

	udp := &dns.Server{PacketConn: pc, Handler: s, UDPSize: maxUDPSize}
	tcp := &dns.Server{
		Listener:      &writeDeadlineListener{Listener: connlimit.NewListener(ln, s.maxConn, s.maxConn), timeout: tcpWrite},
		Handler:       s,
		ReadTimeout:   tcpFirstRead,
		IdleTimeout:   func() time.Duration { return tcpIdle },
		MaxTCPQueries: tcpMaxQueries,
	}
	servers := []*dns.Server{udp, tcp}
	done := make(chan error, len(servers))
	for _, srv := range servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { done <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-done:
			// Not started: it has closed its socket; stop the others.
			for _, other := range servers {
				if other != srv {
					_ = other.Shutdown()
				}
			}
			_ = pc.Close()
			_ = ln.Close()
			return fmt.Errorf("dns: serving: %w", err)
		}
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-done:
	}
	stop, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	for _, srv := range servers {
		_ = srv.ShutdownContext(stop)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("dns: serving: %w", err)
	}
	return nil
}

// writeDeadlineListener gives every write on its connections a deadline, so that a
// client that does not read cannot hold a handler.
type writeDeadlineListener struct {
	net.Listener
	timeout time.Duration
}

func (l *writeDeadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &writeDeadlineConn{Conn: c, timeout: l.timeout}, nil
}

type writeDeadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *writeDeadlineConn) Write(b []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
