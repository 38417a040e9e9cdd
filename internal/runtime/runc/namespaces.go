package runc

import (
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// pinNamespace makes a new namespace of one kind (unix.CLONE_NEWNET, CLONE_NEWIPC or
// CLONE_NEWUTS) on a locked thread, runs setup in it, bind-mounts it onto the file
// path, which keeps it alive with no process in it, and returns the thread to its
// namespace. A thread that cannot go back is not unlocked, so that it ends with its
// goroutine.
func pinNamespace(kind int, path string, setup func() error) error {
	names := map[int]string{unix.CLONE_NEWNET: "net", unix.CLONE_NEWIPC: "ipc", unix.CLONE_NEWUTS: "uts"}
	name, ok := names[kind]
	if !ok {
		return fmt.Errorf("pinning namespace kind %#x is not supported", kind)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		errc <- inNewNamespace(kind, name, func(tid int) error {
			if setup != nil {
				if err := setup(); err != nil {
					return err
				}
			}
			src := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, name)
			if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("pinning %s namespace at %s: %w", name, path, err)
			}
			return nil
		})
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// inNewNamespace runs f on this goroutine's thread in a new namespace of kind, then
// puts the thread back in its namespace.
func inNewNamespace(kind int, name string, f func(tid int) error) error {
	goruntime.LockOSThread()
	tid := unix.Gettid()
	orig, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		goruntime.UnlockOSThread()
		return err
	}
	defer unix.Close(orig)
	if err := unix.Unshare(kind); err != nil {
		goruntime.UnlockOSThread()
		return fmt.Errorf("unshare %s namespace: %w", name, err)
	}
	ferr := f(tid)
	if err := unix.Setns(orig, kind); err == nil {
		goruntime.UnlockOSThread()
	} // else the thread stays locked and ends with the goroutine
	return ferr
}

// unpinNamespace unmounts and removes a namespace pin; a missing one is fine.
func unpinNamespace(path string) error {
	if path == "" {
		return nil
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// dialInNetNS connects to 127.0.0.1:port (or [::1]:port) inside the network
// namespace pinned at nsPath; "" dials in the host's namespace. The socket is made on
// a thread that enters the namespace and comes back; a socket stays in the namespace
// it was made in.
func dialInNetNS(nsPath string, port int32) (net.Conn, error) {
	if port <= 0 || port > 65535 {
		return nil, fmt.Errorf("invalid port %d", port)
	}
	var lastErr error
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		fd, err := socketInNetNS(nsPath, family)
		if err != nil {
			return nil, err
		}
		var sa unix.Sockaddr
		if family == unix.AF_INET {
			sa = &unix.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}}
		} else {
			sa = &unix.SockaddrInet6{Port: int(port), Addr: [16]byte{15: 1}}
		}
		for {
			err = unix.Connect(fd, sa)
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			unix.Close(fd)
			lastErr = err
			continue
		}
		f := os.NewFile(uintptr(fd), "portforward")
		conn, err := net.FileConn(f)
		f.Close()
		return conn, err
	}
	return nil, fmt.Errorf("connecting to port %d in the pod: %w", port, lastErr)
}

func socketInNetNS(nsPath string, family int) (int, error) {
	if nsPath == "" {
		return unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	}
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		orig, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			goruntime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer unix.Close(orig)
		ns, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			goruntime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer unix.Close(ns)
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			goruntime.UnlockOSThread()
			done <- result{err: fmt.Errorf("entering %s: %w", nsPath, err)}
			return
		}
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			goruntime.UnlockOSThread()
		} // else the thread dies with the goroutine, still locked
		done <- result{fd: fd, err: err}
	}()
	r := <-done
	return r.fd, r.err
}
