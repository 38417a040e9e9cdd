package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

// shim serves one pod.
type shim struct {
	id     string
	dir    string // the sandbox directory, the working directory
	runc   *runcCLI
	reaper *reaper
	// memoryCgroup returns the mount point of the cgroup v1 memory hierarchy, "" if
	// none. It is looked up when first needed, at a container's exit: reading the
	// mount table at start would cost every shim of a burst a pass over the mounts
	// of every pod before it.
	memoryCgroup func() string

	mu         sync.Mutex            // guards containers and closing
	containers map[string]*container // nil values are being created
	closing    bool

	ln *os.File // the listening socket
}

func main() {
	id := flag.String("id", "", "the sandbox ID")
	runcBin := flag.String("runc", "runc", "the runc binary")
	root := flag.String("root", "/run/runc", "runc's state directory (runc --root)")
	flag.Parse()

	var ready *os.File
	var st unix.Stat_t
	if unix.Fstat(3, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO {
		unix.CloseOnExec(3)
		ready = os.NewFile(3, "ready")
	}
	if err := run(*id, *runcBin, *root, ready); err != nil {
		fmt.Fprintf(os.Stderr, "podium-shim: %v\n", err)
		if ready != nil {
			fmt.Fprintf(ready, "%v\n", err)
			ready.Close()
		}
		os.Exit(1)
	}
}

func run(id, runcBin, root string, ready *os.File) error {
	if id == "" {
		return errors.New("-id is required")
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	signal.Ignore(unix.SIGHUP, unix.SIGINT, unix.SIGPIPE)
	rp := newReaper()
	if err := rp.loop(); err != nil {
		return fmt.Errorf("becoming a subreaper: %w", err)
	}
	s := &shim{
		id:           id,
		dir:          dir,
		runc:         &runcCLI{binary: runcBin, root: root, reaper: rp},
		reaper:       rp,
		memoryCgroup: sync.OnceValue(memoryCgroupMount),
		containers:   map[string]*container{},
	}
	// The socket's name is relative to the working directory: a sandbox directory's
	// absolute path can be longer than a socket address allows.
	os.Remove(shimproto.SocketName)
	ln, err := listenUnix(shimproto.SocketName)
	if err != nil {
		return err
	}
	if err := os.Chmod(shimproto.SocketName, 0o600); err != nil {
		ln.Close()
		os.Remove(shimproto.SocketName)
		return err
	}
	s.ln = ln
	s.logf("serving sandbox %s, pid %d", id, os.Getpid())
	if ready != nil {
		fmt.Fprintln(ready, "ok")
		ready.Close()
	}
	for {
		conn, err := accept(ln)
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				select {} // shutdown exits the process
			}
			s.logf("accept: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go s.handle(conn)
	}
}

func (s *shim) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
}

func respondErr(conn *os.File, err error) {
	shimproto.WriteJSONLine(conn, &shimproto.Response{
		Version:     shimproto.Version,
		Error:       err.Error(),
		NotFound:    errors.Is(err, errNotFound),
		StartFailed: errors.Is(err, errProcessStart),
	})
}

// handle serves one connection: one request and its response, or an attach.
func (s *shim) handle(conn *os.File) {
	br := bufio.NewReaderSize(conn, 64<<10)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var req shimproto.Request
	if err := shimproto.ReadJSONLine(br, &req); err != nil {
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	if req.Version != shimproto.Version {
		respondErr(conn, fmt.Errorf("protocol version %d, this shim speaks %d", req.Version, shimproto.Version))
		conn.Close()
		return
	}
	if req.Op == shimproto.OpAttach {
		s.attach(conn, br, &req)
		return
	}
	defer conn.Close()
	resp, err := s.do(&req)
	if err != nil {
		respondErr(conn, err)
		return
	}
	resp.Version = shimproto.Version
	shimproto.WriteJSONLine(conn, resp)
	if req.Op == shimproto.OpShutdown {
		conn.Close()
		s.exit()
	}
}

func (s *shim) do(req *shimproto.Request) (*shimproto.Response, error) {
	switch req.Op {
	case shimproto.OpHello:
		return &shimproto.Response{Hello: &shimproto.Hello{Version: shimproto.Version, Pid: os.Getpid()}}, nil
	case shimproto.OpCreate:
		if req.Create == nil {
			return nil, errors.New("create without a create request")
		}
		st, err := s.create(req.ID, *req.Create)
		return &shimproto.Response{State: st}, err
	case shimproto.OpStart:
		st, err := s.start(req.ID)
		return &shimproto.Response{State: st}, err
	case shimproto.OpSignal:
		c, err := s.get(req.ID)
		if err != nil {
			return nil, err
		}
		if err := c.signal(unix.Signal(req.Signal)); err != nil {
			return nil, err
		}
		return &shimproto.Response{State: c.state()}, nil
	case shimproto.OpStop:
		c, err := s.get(req.ID)
		if err != nil {
			return nil, err
		}
		if err := c.stop(unix.Signal(req.Signal), time.Duration(req.TimeoutMillis)*time.Millisecond); err != nil {
			return nil, err
		}
		return &shimproto.Response{State: c.state()}, nil
	case shimproto.OpWait:
		c, err := s.get(req.ID)
		if err != nil {
			return nil, err
		}
		var timeout <-chan time.Time
		if req.TimeoutMillis > 0 {
			timeout = time.After(time.Duration(req.TimeoutMillis) * time.Millisecond)
		}
		select {
		case <-c.exited:
		case <-timeout:
		}
		return &shimproto.Response{State: c.state()}, nil
	case shimproto.OpState:
		c, err := s.get(req.ID)
		if err != nil {
			return nil, err
		}
		return &shimproto.Response{State: c.state()}, nil
	case shimproto.OpList:
		var states []shimproto.ContainerState
		for _, c := range s.list() {
			states = append(states, *c.state())
		}
		return &shimproto.Response{States: states}, nil
	case shimproto.OpDelete:
		return &shimproto.Response{}, s.delete(req.ID)
	case shimproto.OpKillAll:
		states, err := s.killAll()
		return &shimproto.Response{States: states}, err
	case shimproto.OpShutdown:
		return &shimproto.Response{}, s.shutdown()
	}
	return nil, fmt.Errorf("unknown operation %q", req.Op)
}

// shutdown kills and deletes every container and stops taking new ones; the caller
// then answers and calls exit.
func (s *shim) shutdown() error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	_, err := s.killAll()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, c := range s.list() {
		if err := s.delete(c.id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// exit removes the socket and ends the process.
func (s *shim) exit() {
	os.Remove(shimproto.SocketName)
	s.ln.Close()
	s.logf("shut down")
	os.Exit(0)
}

// memoryCgroupMount returns where the cgroup v1 memory controller is mounted.
func memoryCgroupMount() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 || qf[0] != "cgroup" {
			continue
		}
		for _, o := range strings.Split(qf[2], ",") {
			if o == "memory" {
				return unescapeMountPath(pf[4])
			}
		}
	}
	return ""
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			v := (int(s[i+1]-'0') << 6) | (int(s[i+2]-'0') << 3) | int(s[i+3]-'0')
			b.WriteByte(byte(v))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
