package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podium/podium/internal/connlimit"
)

// DoSOptions size the connection-attack benchmark.
type DoSOptions struct {
	Idle     int           // connections the idle attacker keeps open
	Churners int           // goroutines that open and abandon connections in a loop
	Duration time.Duration // how long the attack lasts
	Samples  int           // kubectl get pods timed without the attack
}

// DoS attacks a podium server without credentials, as issue 10 describes: one attacker
// keeps Idle connections open (each sends GET /version, reads its 401 and stays, opening
// a new connection when the server closes it), another opens connections and abandons
// them half-way in a loop. It prints the server's highest descriptor count and RSS,
// whether it survived, and the latency of `kubectl get pods` during the attack beside the
// same without it.
func DoS(bin string, opts DoSOptions, out io.Writer) error {
	if _, err := connlimit.RaiseFileLimit(); err != nil {
		return err
	}
	root, err := os.MkdirTemp("", "podium-bench-dos-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	s := NewServer(bin, filepath.Join(root, "server"))
	if _, err := s.Start(); err != nil {
		return err
	}
	defer s.Stop()
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	kubectl := func() (time.Duration, error) {
		start := time.Now()
		cmd := exec.Command(filepath.Join(bin, "podium"), "kubectl", "--kubeconfig", filepath.Join(s.DataDir, "kubeconfig.yaml"), "get", "pods")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("kubectl get pods: %v: %s", err, out)
		}
		return time.Since(start), nil
	}

	var quiet []time.Duration
	for range opts.Samples {
		d, err := kubectl()
		if err != nil {
			return err
		}
		quiet = append(quiet, d)
	}
	quietFDs, _ := openFiles(s.PID())
	quietRSS, _ := RSS(s.PID())

	ctx, cancel := context.WithTimeout(context.Background(), opts.Duration)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	var wg sync.WaitGroup
	var held, opened atomic.Int64
	for range opts.Idle {
		wg.Go(func() { idleAttacker(ctx, addr, &held, &opened) })
	}
	for range opts.Churners {
		wg.Go(func() { churner(ctx, addr, &opened) })
	}

	var maxFDs int
	var maxRSS int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if n, err := openFiles(s.PID()); err == nil && n > maxFDs {
				maxFDs = n
			}
			if r, err := RSS(s.PID()); err == nil && r > maxRSS {
				maxRSS = r
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	var attacked []time.Duration
	failed := 0
	for ctx.Err() == nil {
		d, err := kubectl()
		if err != nil {
			failed++
			continue
		}
		attacked = append(attacked, d)
	}
	wg.Wait()
	<-sampled

	survived := "yes"
	select {
	case err := <-s.exited:
		survived = fmt.Sprintf("NO (exited: %v)", err)
		s.cmd = nil
	default:
		if _, err := kubectl(); err != nil {
			survived = fmt.Sprintf("NO (%v)", err)
		}
	}
	files, _ := connlimit.RaiseFileLimit()
	p("attack for %s: %d idle connections kept open, %d churners; %d connections opened in all",
		opts.Duration, opts.Idle, opts.Churners, opened.Load())
	p("server descriptors: %d before, at most %d during (limit %d); RSS %.1f MB before, at most %.1f MB during",
		quietFDs, maxFDs, files, float64(quietRSS)/(1<<20), float64(maxRSS)/(1<<20))
	p("server survived: %s", survived)
	if len(attacked) == 0 {
		p("kubectl get pods during the attack: none of %d succeeded", failed)
		return nil
	}
	p("kubectl get pods p50/p99: %s/%s without attack (%d runs), %s/%s during it (%d runs, %d failed); p99 ratio %.2f",
		pct(quiet, 50), pct(quiet, 99), len(quiet), pct(attacked, 50), pct(attacked, 99), len(attacked), failed,
		ratio(pctRaw(attacked, 99), pctRaw(quiet, 99)))
	return nil
}

// idleAttacker keeps one connection open: TLS, one unauthenticated GET /version, its
// answer read, then nothing; a new one when the server closes it.
func idleAttacker(ctx context.Context, addr string, held, opened *atomic.Int64) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}}
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			continue
		}
		opened.Add(1)
		held.Add(1)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		_, _ = io.WriteString(c, "GET /version HTTP/1.1\r\nHost: podium\r\n\r\n")
		_, _ = io.Copy(io.Discard, c) // the 401, then until the server closes
		stop()
		c.Close()
		held.Add(-1)
	}
}

// churner opens connections in a loop and abandons each half-way: a TCP connection
// without a handshake, or a handshake and half a request.
func churner(ctx context.Context, addr string, opened *atomic.Int64) {
	for i := 0; ctx.Err() == nil; i++ {
		c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			continue
		}
		opened.Add(1)
		if i%2 == 1 {
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
			_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
			if tc.Handshake() == nil {
				_, _ = io.WriteString(tc, "GET /version HTTP/1.1\r\nHost: po")
			}
		}
		c.Close()
	}
}

// openFiles counts a process's open descriptors.
func openFiles(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries), err
}
