package main

import (
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// reaper reaps every child of the shim: runc commands it starts and the container
// processes reparented to it as their subreaper. Nothing else in the shim may call wait:
// a command's exit status comes from run, a container init's from watch.
type reaper struct {
	mu        sync.Mutex // guards waiters and unclaimed
	waiters   map[int]chan unix.WaitStatus
	unclaimed map[int]exitRecord // exits nobody waited for yet, by pid
}

type exitRecord struct {
	status unix.WaitStatus
	at     time.Time
}

// unclaimedTTL bounds how long an exit nobody asked for is kept: a container init
// reaped between runc run and watch is claimed within milliseconds.
const unclaimedTTL = time.Minute

func newReaper() *reaper {
	return &reaper{
		waiters:   map[int]chan unix.WaitStatus{},
		unclaimed: map[int]exitRecord{},
	}
}

// loop becomes the subreaper and reaps children until the process ends.
func (r *reaper) loop() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return err
	}
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, unix.SIGCHLD)
	go func() {
		tick := time.NewTicker(10 * time.Second) // in case a SIGCHLD was coalesced away
		defer tick.Stop()
		for {
			select {
			case <-ch:
			case <-tick.C:
			}
			r.reapAll()
		}
	}()
	return nil
}

// reapAll waits for every child that has exited.
func (r *reaper) reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			break
		}
		r.dispatch(pid, ws)
	}
	r.mu.Lock()
	for pid, rec := range r.unclaimed {
		if time.Since(rec.at) > unclaimedTTL {
			delete(r.unclaimed, pid)
		}
	}
	r.mu.Unlock()
}

func (r *reaper) dispatch(pid int, ws unix.WaitStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.waiters[pid]; ok {
		delete(r.waiters, pid)
		ch <- ws
		return
	}
	r.unclaimed[pid] = exitRecord{status: ws, at: time.Now()}
}

// watchLocked returns a channel that receives pid's exit status once.
func (r *reaper) watchLocked(pid int) <-chan unix.WaitStatus {
	ch := make(chan unix.WaitStatus, 1)
	if rec, ok := r.unclaimed[pid]; ok {
		delete(r.unclaimed, pid)
		ch <- rec.status
		return ch
	}
	r.waiters[pid] = ch
	return ch
}

// watch returns a channel that receives the exit status of pid, a process that is or
// will become the shim's child.
func (r *reaper) watch(pid int) <-chan unix.WaitStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.watchLocked(pid)
}

// run starts cmd and waits for it to exit. cmd's stdio must be nil or *os.File, so
// that os/exec starts no copying goroutines that would need cmd.Wait.
func (r *reaper) run(cmd *exec.Cmd) (unix.WaitStatus, error) {
	r.mu.Lock()
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		return 0, err
	}
	ch := r.watchLocked(cmd.Process.Pid)
	r.mu.Unlock()
	ws := <-ch
	cmd.Process.Release()
	return ws, nil
}

// exitCode is a wait status as a shell reports it: the exit code, or 128 plus the
// signal that killed the process.
func exitCode(ws unix.WaitStatus) int32 {
	if ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(ws.ExitStatus())
}
