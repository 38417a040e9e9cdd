package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

// container is one container of the pod.
//
// Its status goes created -> running -> exited. runc runs it only at start, as
// containerd's CRI makes its task at StartContainer: a runc run is one process where
// runc create and runc start are two. A container that fails to start, or is killed
// before it was started, goes from created to exited. exited is closed exactly when
// the status becomes exited.
type container struct {
	id   string
	dir  string // the OCI bundle
	req  shimproto.CreateRequest
	shim *shim

	exited  chan struct{}
	ran     chan struct{}  // closed when start is over, whether it ran the container or not
	outputs sync.WaitGroup // the pumps of stdout and stderr

	mu        sync.Mutex // guards st, starting, stdin, console, attachers
	st        shimproto.ContainerState
	starting  bool
	stdin     io.WriteCloser // the container's stdin; nil when closed or never open
	console   *os.File       // the terminal's master side, with Tty
	attachers map[*attacher]struct{}
}

// errNotFound marks an unknown container.
var errNotFound = errors.New("container not found")

func (s *shim) get(id string) (*container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[id]
	if !ok || c == nil {
		return nil, fmt.Errorf("container %q: %w", id, errNotFound)
	}
	return c, nil
}

// create records a container whose bundle the agent has prepared; start runs it.
func (s *shim) create(id string, req shimproto.CreateRequest) (*shimproto.ContainerState, error) {
	if id == "" || strings.ContainsAny(id, "/.") {
		return nil, fmt.Errorf("invalid container ID %q", id)
	}
	c := &container{
		id:        id,
		dir:       shimproto.ContainerDir(s.dir, id),
		req:       req,
		shim:      s,
		exited:    make(chan struct{}),
		ran:       make(chan struct{}),
		attachers: map[*attacher]struct{}{},
		st:        shimproto.ContainerState{ID: id, Status: shimproto.StatusCreated, CreatedAt: time.Now().UnixNano()},
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil, errors.New("the shim is shutting down")
	}
	if _, ok := s.containers[id]; ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("container %q already exists", id)
	}
	s.containers[id] = nil // reserved while the state is written
	s.mu.Unlock()

	err := c.persist()
	s.mu.Lock()
	if err != nil {
		delete(s.containers, id)
	} else {
		s.containers[id] = c
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("container %q: writing state: %w", id, err)
	}
	return c.state(), nil
}

// start runs the container with runc run. A container that runc cannot run is
// deleted from runc and ends exited, with the error as its message.
func (s *shim) start(id string) (*shimproto.ContainerState, error) {
	c, err := s.get(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.st.Status != shimproto.StatusCreated || c.starting {
		st := c.st.Status
		c.mu.Unlock()
		return nil, fmt.Errorf("container %q is %s, not created", id, st)
	}
	c.starting = true
	c.mu.Unlock()
	defer close(c.ran)

	started := time.Now()
	p, err := c.run()

	c.mu.Lock()
	defer c.mu.Unlock()
	c.starting = false
	if err != nil {
		c.st.Status = shimproto.StatusExited
		c.st.ExitCode = 128
		c.st.Reason = shimproto.ReasonError
		c.st.Message = err.Error()
		c.st.StartedAt, c.st.FinishedAt = started.UnixNano(), time.Now().UnixNano()
		if perr := c.persist(); perr != nil {
			s.logf("container %s: writing state: %v", id, perr)
		}
		close(c.exited)
		return nil, err
	}
	c.st.Status = shimproto.StatusRunning
	c.st.Pid, c.st.PidStart = p.pid, pidStartTime(p.pid)
	c.st.StartedAt = started.UnixNano()
	c.stdin, c.console = p.stdin, p.console
	if err := c.persist(); err != nil {
		s.logf("container %s: writing state: %v", id, err)
	}
	st := c.st
	c.outputs.Add(len(p.outputs))
	for _, o := range p.outputs {
		go c.pump(o.r, o.frame, &lineSplitter{stream: o.stream, log: p.log})
	}
	go func() {
		c.outputs.Wait()
		if p.logFile != nil {
			p.logFile.Close()
		}
	}()
	go c.waitExit(p.exit)
	return &st, nil
}

// running is what c.run hands to start: the container's init, its exit to come, and
// the shim's ends of its stdio.
type running struct {
	pid     int
	exit    <-chan unix.WaitStatus
	stdin   io.WriteCloser
	console *os.File
	outputs []output
	log     *criLog
	logFile *os.File
}

type output struct {
	r      *os.File
	frame  byte
	stream string
}

// run opens the container's log, makes its stdio (pipes, or a terminal that runc
// sends back over a socket), and runs `runc run --detach`.
func (c *container) run() (_ *running, err error) {
	s, id, req, dir := c.shim, c.id, c.req, c.dir
	p := &running{log: &criLog{now: time.Now}}
	if req.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(req.LogPath), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(req.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o640)
		if err != nil {
			return nil, err
		}
		p.logFile, p.log.w = f, f
	}
	// Our ends of the container's stdio, and the container's ends that runc inherits
	// and that we close once it has started.
	var ours, theirs []*os.File
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			f.Close()
		}
	}
	defer func() {
		closeAll(theirs)
		if err != nil {
			closeAll(ours)
			if p.console != nil {
				p.console.Close()
			}
			if p.logFile != nil {
				p.logFile.Close()
			}
		}
	}()

	runcLog := filepath.Join(dir, shimproto.RuncLogFile)
	pidFile := filepath.Join(dir, shimproto.InitPidFile)
	os.Remove(pidFile)
	args := []string{"--root", s.runc.root, "--log", runcLog, "--log-format", "json",
		"run", "--detach", "--bundle", dir, "--pid-file", pidFile}
	cmd := exec.Command(s.runc.binary)
	var consoleDone chan consoleResult
	if req.Tty {
		consoleDir, err := os.MkdirTemp("", "podium-console-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(consoleDir)
		path := filepath.Join(consoleDir, "s")
		ln, err := listenUnix(path)
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		args = append(args, "--console-socket", path)
		consoleDone = make(chan consoleResult, 1)
		go func() { consoleDone <- receiveConsole(ln) }()
	} else {
		pipe := func() (r, w *os.File, err error) {
			if r, w, err = os.Pipe(); err == nil {
				ours, theirs = append(ours, r), append(theirs, w)
			}
			return r, w, err
		}
		if req.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				return nil, err
			}
			cmd.Stdin, p.stdin = r, w
			theirs, ours = append(theirs, r), append(ours, w)
		}
		r, w, err := pipe()
		if err != nil {
			return nil, err
		}
		cmd.Stdout = w
		p.outputs = append(p.outputs, output{r, shimproto.FrameStdout, "stdout"})
		if r, w, err = pipe(); err != nil {
			return nil, err
		}
		cmd.Stderr = w
		p.outputs = append(p.outputs, output{r, shimproto.FrameStderr, "stderr"})
	}
	cmd.Args = append(append([]string{s.runc.binary}, args...), id)
	cmd.Dir = dir
	ws, err := s.reaper.run(cmd)
	if err == nil && (ws.ExitStatus() != 0 || ws.Signaled()) {
		msg := lastError(runcLog)
		if msg == "" {
			msg = fmt.Sprintf("exit code %d", exitCode(ws))
		}
		err = fmt.Errorf("%w: %w", &runcExit{op: "run", msg: msg}, errProcessStart)
	}
	if err != nil {
		s.runc.command("delete", "--force", id) // whatever a failed run left
		return nil, err
	}
	if req.Tty {
		var res consoleResult
		select {
		case res = <-consoleDone:
		case <-time.After(10 * time.Second):
			res.err = errors.New("runc sent no terminal")
		}
		if res.err != nil {
			s.runc.command("delete", "--force", id)
			return nil, fmt.Errorf("receiving the terminal: %w", res.err)
		}
		p.console = res.master
		p.outputs = append(p.outputs, output{res.master, shimproto.FrameStdout, "stdout"})
		if req.Stdin {
			p.stdin = nopCloser{res.master}
		}
	}
	if p.pid, err = readPidFile(pidFile); err != nil {
		s.runc.command("delete", "--force", id)
		return nil, err
	}
	p.exit = s.reaper.watch(p.pid)
	return p, nil
}

// nopCloser keeps a terminal open when stdin is closed: closing the master would end
// the container's output too.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type consoleResult struct {
	master *os.File
	err    error
}

// receiveConsole accepts runc's connection on ln and receives the terminal's master
// side over SCM_RIGHTS.
func receiveConsole(ln *os.File) consoleResult {
	conn, err := accept(ln)
	if err != nil {
		return consoleResult{err: err}
	}
	defer conn.Close()
	fd, err := receiveFd(conn)
	if err != nil {
		return consoleResult{err: err}
	}
	// Non-blocking, so that the runtime poller reads it and Close interrupts a read.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return consoleResult{err: err}
	}
	return consoleResult{master: os.NewFile(uintptr(fd), "pty-master")}
}

func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("reading runc's pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("runc's pid file %s holds %q", path, b)
	}
	return pid, nil
}

// pidStartTime returns field 22 of /proc/PID/stat, the process's start time in clock
// ticks since boot, or 0 when the process is gone.
func pidStartTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(fields[19], 10, 64)
	return v
}

// persist writes the state file; c.mu must be held or c not yet shared.
func (c *container) persist() error {
	return shimproto.WriteState(filepath.Join(c.dir, shimproto.StateFile), &c.st)
}

func (c *container) state() *shimproto.ContainerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	return &st
}

// waitExit records the exit of the container's init: its exit code, whether the
// cgroup saw an OOM kill, the time; it runs once per container.
func (c *container) waitExit(ch <-chan unix.WaitStatus) {
	ws := <-ch
	finished := time.Now()
	// The output usually ends with the init (the kernel kills the rest of its PID
	// namespace); do not wait forever for a process that escaped with a copy of it.
	drained := make(chan struct{})
	go func() { c.outputs.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
	}
	oom := c.shim.oomKilled(c.req.CgroupsPath)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.Status = shimproto.StatusExited
	c.st.ExitCode = exitCode(ws)
	c.st.FinishedAt = finished.UnixNano()
	c.st.OOMKilled = oom
	switch {
	case oom:
		c.st.Reason = shimproto.ReasonOOMKilled
	case c.st.ExitCode == 0:
		c.st.Reason = shimproto.ReasonCompleted
	default:
		c.st.Reason = shimproto.ReasonError
	}
	if err := c.persist(); err != nil {
		c.shim.logf("container %s: writing state: %v", c.id, err)
	}
	if c.stdin != nil {
		c.stdin.Close()
		c.stdin = nil
	}
	st := c.st
	for a := range c.attachers {
		a.exit(&st)
		delete(c.attachers, a)
	}
	close(c.exited)
}

// signal sends sig to the container's init; signalling an exited container does
// nothing. A start under way is waited for. A container that was never started has no
// process to signal: it ends at once, as if its init had died of sig. The init is the
// shim's child until reaped, so its pid cannot be reused before waitExit has run.
func (c *container) signal(sig unix.Signal) error {
	c.mu.Lock()
	for c.starting {
		c.mu.Unlock()
		<-c.ran
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	switch c.st.Status {
	case shimproto.StatusExited:
		return nil
	case shimproto.StatusCreated:
		c.st.Status = shimproto.StatusExited
		c.st.ExitCode = 128 + int32(sig)
		c.st.Reason = shimproto.ReasonError
		c.st.FinishedAt = time.Now().UnixNano()
		if err := c.persist(); err != nil {
			c.shim.logf("container %s: writing state: %v", c.id, err)
		}
		close(c.exited)
		return nil
	}
	if err := unix.Kill(c.st.Pid, sig); err != nil && err != unix.ESRCH {
		return fmt.Errorf("signalling container %q: %w", c.id, err)
	}
	return nil
}

// stop signals the container, waits up to timeout, kills it and waits for its exit.
func (c *container) stop(sig unix.Signal, timeout time.Duration) error {
	if sig == 0 {
		sig = unix.SIGTERM
	}
	if err := c.signal(sig); err != nil {
		return err
	}
	if sig != unix.SIGKILL {
		select {
		case <-c.exited:
			return nil
		case <-time.After(timeout):
		}
		if err := c.signal(unix.SIGKILL); err != nil {
			return err
		}
	}
	return c.waitKilled()
}

// waitKilled waits for the exit of a container that has been sent SIGKILL.
func (c *container) waitKilled() error {
	select {
	case <-c.exited:
		return nil
	case <-time.After(time.Minute):
		return fmt.Errorf("container %q did not exit a minute after SIGKILL", c.id)
	}
}

// delete kills the container if it still runs, kills whatever is left in its cgroup,
// and runs runc delete, which removes the container's cgroup.
func (s *shim) delete(id string) error {
	c, err := s.get(id)
	if errors.Is(err, errNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.signal(unix.SIGKILL); err != nil {
		return err
	}
	if err := c.waitKilled(); err != nil {
		return err
	}
	s.killCgroup(c.req.CgroupsPath)
	if err := s.runc.command("delete", id); err != nil && !strings.Contains(err.Error(), "not exist") {
		return err
	}
	s.mu.Lock()
	delete(s.containers, id)
	s.mu.Unlock()
	return nil
}

// killAll sends SIGKILL to every container and waits until all have exited.
func (s *shim) killAll() ([]shimproto.ContainerState, error) {
	var errs []error
	cs := s.list()
	for _, c := range cs {
		if err := c.signal(unix.SIGKILL); err != nil {
			errs = append(errs, err)
		}
	}
	var states []shimproto.ContainerState
	for _, c := range cs {
		if err := c.waitKilled(); err != nil {
			errs = append(errs, err)
		}
		states = append(states, *c.state())
	}
	return states, errors.Join(errs...)
}

func (s *shim) list() []*container {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cs []*container
	for _, c := range s.containers {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// oomKilled reports whether the kernel's OOM killer killed a process of the cgroup.
func (s *shim) oomKilled(cgroupsPath string) bool {
	memory := s.memoryCgroup()
	if memory == "" || cgroupsPath == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(memory, cgroupsPath, "memory.oom_control"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n > 0
		}
	}
	return false
}

// killCgroup kills the processes left in a container's cgroup after its init exited,
// which happens only when the container shares the host's PID namespace.
func (s *shim) killCgroup(cgroupsPath string) {
	memory := s.memoryCgroup()
	if memory == "" || cgroupsPath == "" {
		return
	}
	procs := filepath.Join(memory, cgroupsPath, "cgroup.procs")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(procs)
		if err != nil || len(strings.TrimSpace(string(b))) == 0 {
			return
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				unix.Kill(pid, unix.SIGKILL)
			}
		}
		if time.Now().After(deadline) {
			s.logf("processes left in cgroup %s: %s", cgroupsPath, strings.Join(strings.Fields(string(b)), " "))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
