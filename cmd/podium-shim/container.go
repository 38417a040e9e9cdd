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
// Its status goes created -> running -> exited, or created -> exited when its init
// dies before it was started. exited is closed exactly when the status becomes exited.
type container struct {
	id   string
	dir  string // the OCI bundle
	req  shimproto.CreateRequest
	shim *shim

	exited  chan struct{}
	outputs sync.WaitGroup // the pumps of stdout and stderr

	mu        sync.Mutex // guards st, starting, stdin, attachers
	st        shimproto.ContainerState
	starting  bool
	stdin     io.WriteCloser // the container's stdin; nil when closed or never open
	console   *os.File       // the terminal's master side, with Tty; set before c is shared
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

// create runs runc create for a bundle the agent has prepared.
func (s *shim) create(id string, req shimproto.CreateRequest) (*shimproto.ContainerState, error) {
	if id == "" || strings.ContainsAny(id, "/.") {
		return nil, fmt.Errorf("invalid container ID %q", id)
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
	s.containers[id] = nil // reserved while runc create runs
	s.mu.Unlock()

	c, err := s.createContainer(id, req)
	s.mu.Lock()
	if err != nil {
		delete(s.containers, id)
	} else {
		s.containers[id] = c
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c.state(), nil
}

func (s *shim) createContainer(id string, req shimproto.CreateRequest) (*container, error) {
	dir := shimproto.ContainerDir(s.dir, id)
	c := &container{
		id:        id,
		dir:       dir,
		req:       req,
		shim:      s,
		exited:    make(chan struct{}),
		attachers: map[*attacher]struct{}{},
	}

	var logFile *os.File
	if req.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(req.LogPath), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(req.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o640)
		if err != nil {
			return nil, err
		}
		logFile = f
	}
	log := &criLog{now: time.Now}
	if logFile != nil {
		log.w = logFile
	}
	fail := func(err error) (*container, error) {
		if logFile != nil {
			logFile.Close()
		}
		return nil, err
	}

	runcLog := filepath.Join(dir, shimproto.RuncLogFile)
	pidFile := filepath.Join(dir, shimproto.InitPidFile)
	os.Remove(pidFile)
	args := []string{"--root", s.runc.root, "--log", runcLog, "--log-format", "json",
		"create", "--bundle", dir, "--pid-file", pidFile}

	// Our ends of the container's stdio, and the container's ends that runc inherits
	// and that we close once it has started.
	var ours, theirs []*os.File
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			f.Close()
		}
	}
	var stdoutR, stderrR *os.File
	var consoleDone chan consoleResult
	var consoleDir string
	var consoleLn *os.File
	cmd := exec.Command(s.runc.binary)
	if req.Tty {
		d, err := os.MkdirTemp("", "podium-console-")
		if err != nil {
			return fail(err)
		}
		consoleDir = d
		defer os.RemoveAll(consoleDir)
		path := filepath.Join(consoleDir, "s")
		ln, err := listenUnix(path)
		if err != nil {
			return fail(err)
		}
		consoleLn = ln
		defer consoleLn.Close()
		args = append(args, "--console-socket", path)
		consoleDone = make(chan consoleResult, 1)
		go func() { consoleDone <- receiveConsole(ln) }()
	} else {
		if req.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			cmd.Stdin = r
			theirs = append(theirs, r)
			ours = append(ours, w)
			c.stdin = w
		}
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(ours)
			closeAll(theirs)
			return fail(err)
		}
		cmd.Stdout, stdoutR = w, r
		theirs, ours = append(theirs, w), append(ours, r)
		r, w, err = os.Pipe()
		if err != nil {
			closeAll(ours)
			closeAll(theirs)
			return fail(err)
		}
		cmd.Stderr, stderrR = w, r
		theirs, ours = append(theirs, w), append(ours, r)
	}
	cmd.Args = append(append([]string{s.runc.binary}, args...), id)
	cmd.Dir = dir
	ws, err := s.reaper.run(cmd)
	closeAll(theirs)
	if err == nil && (ws.ExitStatus() != 0 || ws.Signaled()) {
		msg := lastError(runcLog)
		if msg == "" {
			msg = fmt.Sprintf("exit code %d", exitCode(ws))
		}
		err = fmt.Errorf("%w: %w", &runcExit{op: "create", msg: msg}, errProcessStart)
	}
	if err != nil {
		closeAll(ours)
		return fail(err)
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
			return fail(fmt.Errorf("receiving the terminal: %w", res.err))
		}
		c.console = res.master
		if req.Stdin {
			c.stdin = nopCloser{res.master}
		}
	}
	pid, err := readPidFile(pidFile)
	if err != nil {
		s.runc.command("delete", "--force", id)
		closeAll(ours)
		if c.console != nil {
			c.console.Close()
		}
		return fail(err)
	}
	c.st = shimproto.ContainerState{
		ID:        id,
		Status:    shimproto.StatusCreated,
		Pid:       pid,
		PidStart:  pidStartTime(pid),
		CreatedAt: time.Now().UnixNano(),
	}
	exitCh := s.reaper.watch(pid)
	if err := c.persist(); err != nil {
		s.logf("container %s: writing state: %v", id, err)
	}

	if req.Tty {
		c.outputs.Add(1)
		go c.pump(c.console, shimproto.FrameStdout, &lineSplitter{stream: "stdout", log: log})
	} else {
		c.outputs.Add(2)
		go c.pump(stdoutR, shimproto.FrameStdout, &lineSplitter{stream: "stdout", log: log})
		go c.pump(stderrR, shimproto.FrameStderr, &lineSplitter{stream: "stderr", log: log})
	}
	go func() {
		c.outputs.Wait()
		if logFile != nil {
			logFile.Close()
		}
	}()
	go c.waitExit(exitCh)
	return c, nil
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

// start runs runc start.
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

	started := time.Now()
	err = s.runc.command("start", id)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.starting = false
	if exit := (*runcExit)(nil); errors.As(err, &exit) {
		return nil, fmt.Errorf("%w: %w", err, errProcessStart)
	}
	if err != nil {
		return nil, err
	}
	switch c.st.Status {
	case shimproto.StatusCreated:
		c.st.Status = shimproto.StatusRunning
		c.st.StartedAt = started.UnixNano()
	case shimproto.StatusExited:
		c.st.StartedAt = started.UnixNano()
	}
	if err := c.persist(); err != nil {
		s.logf("container %s: writing state: %v", id, err)
	}
	st := c.st
	return &st, nil
}

// signal sends sig to the container's init; signalling an exited container does
// nothing. The init is the shim's child until reaped, so its pid cannot be reused
// before waitExit has run.
func (c *container) signal(sig unix.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Status == shimproto.StatusExited {
		return nil
	}
	if err := unix.Kill(c.st.Pid, sig); err != nil && err != unix.ESRCH {
		return fmt.Errorf("signalling container %q: %w", c.id, err)
	}
	return nil
}

// stop signals the container, waits up to timeout, kills it and waits for its exit.
// A container that was never started gets SIGKILL at once.
func (c *container) stop(sig unix.Signal, timeout time.Duration) error {
	c.mu.Lock()
	if c.st.Status == shimproto.StatusCreated && !c.starting {
		sig = unix.SIGKILL
	}
	c.mu.Unlock()
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
	if s.memoryCgroup == "" || cgroupsPath == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(s.memoryCgroup, cgroupsPath, "memory.oom_control"))
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
	if s.memoryCgroup == "" || cgroupsPath == "" {
		return
	}
	procs := filepath.Join(s.memoryCgroup, cgroupsPath, "cgroup.procs")
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
