package runc

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

// maxExecSyncOutput caps each stream ExecSync collects, as the kubelet does.
const maxExecSyncOutput = 16 << 20

// ExecSync runs cmd in the container and returns its output and exit code. When
// timeoutSeconds passes, the command is killed and the error wraps
// context.DeadlineExceeded.
func (r *Runtime) ExecSync(ctx context.Context, containerID string, cmd []string, timeoutSeconds int64) ([]byte, []byte, int32, error) {
	var cancel context.CancelFunc
	if timeoutSeconds > 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeoutSeconds)*time.Second)
		defer cancel()
	}
	stdout := &cappedBuffer{max: maxExecSyncOutput}
	stderr := &cappedBuffer{max: maxExecSyncOutput}
	code, err := r.Exec(ctx, containerID, cmd, runtime.Streams{Stdout: stdout, Stderr: stderr})
	if err != nil && errors.Is(err, context.DeadlineExceeded) && timeoutSeconds > 0 {
		err = fmt.Errorf("exec in container %s: timed out after %ds: %w", containerID, timeoutSeconds, context.DeadlineExceeded)
	}
	return stdout.Bytes(), stderr.Bytes(), code, err
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

// Exec runs cmd in a running container with runc exec, from this process: exec
// sessions end with it. When ctx ends, the command is killed.
func (r *Runtime) Exec(ctx context.Context, containerID string, cmd []string, streams runtime.Streams) (int32, error) {
	if len(cmd) == 0 {
		return -1, errors.New("exec: no command")
	}
	c, _, err := r.getContainer(containerID)
	if err != nil {
		return -1, err
	}
	if st := r.containerState(c); st.Status != shimproto.StatusRunning {
		return -1, fmt.Errorf("exec in container %s: it is %s, not running", c.id, st.Status)
	}
	tmp, err := os.MkdirTemp("", "podium-exec-")
	if err != nil {
		return -1, err
	}
	defer os.RemoveAll(tmp)
	pidFile := filepath.Join(tmp, "pid")
	logFile := filepath.Join(tmp, "log")
	args := []string{"--root", r.cfg.RuncRoot, "--log", logFile, "--log-format", "json", "exec", "--pid-file", pidFile}

	var ours, theirs []*os.File // our ends of the pipes, and runc's
	defer func() {
		for _, f := range append(ours, theirs...) {
			f.Close()
		}
	}()
	var copiers sync.WaitGroup
	var drain []*os.File // output we read until the command has ended
	command := exec.Command(r.cfg.RuncBinary)
	var master *os.File
	if streams.TTY {
		// runc exec allocates the container's terminal itself and copies between it
		// and its own stdio, which must be a terminal: our pty's slave side. It takes
		// the size of our pty at start and on SIGWINCH.
		m, slave, err := openPty()
		if err != nil {
			return -1, fmt.Errorf("exec in container %s: %w", c.id, err)
		}
		master = m
		ours = append(ours, master)
		theirs = append(theirs, slave)
		drain = append(drain, master)
		select {
		case size, ok := <-streams.Resize:
			if ok {
				setWinsize(master, size.Width, size.Height)
			}
		default:
			setWinsize(master, 80, 24)
		}
		command.Stdin, command.Stdout, command.Stderr = slave, slave, slave
		args = append(args, "--tty")
	} else {
		if streams.Stdin != nil {
			pr, pw, err := os.Pipe()
			if err != nil {
				return -1, err
			}
			command.Stdin = pr
			theirs = append(theirs, pr)
			go func() {
				io.Copy(pw, streams.Stdin)
				pw.Close()
			}()
		}
		for _, out := range []struct {
			w   io.Writer
			set func(*os.File)
		}{
			{streams.Stdout, func(f *os.File) { command.Stdout = f }},
			{streams.Stderr, func(f *os.File) { command.Stderr = f }},
		} {
			pr, pw, err := os.Pipe()
			if err != nil {
				return -1, err
			}
			out.set(pw)
			theirs = append(theirs, pw)
			ours = append(ours, pr)
			drain = append(drain, pr)
			w := out.w
			if w == nil {
				w = io.Discard
			}
			copiers.Add(1)
			go func() {
				defer copiers.Done()
				io.Copy(w, pr)
			}()
		}
	}
	command.Args = append(append([]string{r.cfg.RuncBinary}, args...), append([]string{c.id}, cmd...)...)
	if err := command.Start(); err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", c.id, err)
	}
	for _, f := range theirs {
		f.Close()
	}
	theirs = nil
	exited := make(chan error, 1)
	ended := make(chan struct{}) // closed when the command has ended
	go func() {
		err := command.Wait()
		close(ended)
		exited <- err
	}()

	if master != nil {
		if streams.Stdin != nil {
			go io.Copy(master, streams.Stdin)
		}
		if streams.Resize != nil {
			go func() {
				for {
					select {
					case size, ok := <-streams.Resize:
						if !ok {
							return
						}
						setWinsize(master, size.Width, size.Height)
						command.Process.Signal(unix.SIGWINCH)
					case <-ended:
						return
					}
				}
			}()
		}
		w := streams.Stdout
		if w == nil {
			w = io.Discard
		}
		copiers.Add(1)
		go func() {
			defer copiers.Done()
			io.Copy(w, master)
		}()
	}

	var waitErr error
	var ctxErr error
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		ctxErr = ctx.Err()
		if pid := readPid(pidFile); pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
		select {
		case waitErr = <-exited:
		case <-time.After(5 * time.Second):
			command.Process.Kill()
			waitErr = <-exited
		}
	}
	// The command has ended; read what it left in the pipes, but do not wait for a
	// process it left behind holding them.
	for _, f := range drain {
		f.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	}
	copiers.Wait()

	if ctxErr != nil {
		return -1, fmt.Errorf("exec in container %s: %w", c.id, ctxErr)
	}
	code := int32(-1)
	if command.ProcessState != nil {
		code = int32(command.ProcessState.ExitCode())
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return -1, fmt.Errorf("exec in container %s: %w", c.id, waitErr)
	}
	if code != 0 {
		if msg := runcLogError(logFile); msg != "" {
			return code, fmt.Errorf("exec in container %s: %s", c.id, msg)
		}
	}
	return code, nil
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func setWinsize(f *os.File, width, height uint16) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: width, Row: height})
	})
}

// openPty opens a new pseudo-terminal and returns its master side (non-blocking,
// for the runtime poller) and its slave side.
func openPty() (master, slave *os.File, err error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(m)
		return nil, nil, fmt.Errorf("unlocking the pty: %w", err)
	}
	s, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		unix.Close(m)
		return nil, nil, fmt.Errorf("opening the pty's slave: %w", errno)
	}
	if err := unix.SetNonblock(m, true); err != nil {
		unix.Close(m)
		unix.Close(int(s))
		return nil, nil, err
	}
	return os.NewFile(uintptr(m), "pty-master"), os.NewFile(s, "pty-slave"), nil
}

// runcLogError returns the last error in a runc JSON log.
func runcLogError(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var last string
	for _, line := range bytes.Split(b, []byte("\n")) {
		var entry struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(line, &entry) == nil && (entry.Level == "error" || entry.Level == "fatal") {
			last = entry.Msg
		}
	}
	return last
}
