package main

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// The shim speaks unix sockets through system calls and *os.File rather than package
// net, which would add half a megabyte to the binary. Sockets are non-blocking, so
// os.File runs them through the runtime poller: reads and accepts wait without
// holding a thread, Close interrupts them, and read deadlines work.

// listenUnix listens on a unix socket at path.
func listenUnix(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, &os.SyscallError{Syscall: "socket", Err: err}
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "bind", Path: path, Err: err}
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return nil, &os.SyscallError{Syscall: "listen", Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// accept waits for a connection on a listening socket.
func accept(ln *os.File) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var aerr error
	err = rc.Read(func(fd uintptr) bool {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return !errors.Is(aerr, unix.EAGAIN) && !errors.Is(aerr, unix.EINTR)
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, &os.SyscallError{Syscall: "accept4", Err: aerr}
	}
	return os.NewFile(uintptr(nfd), "conn"), nil
}

// receiveFd reads one message from a connected socket and returns the first file
// descriptor it carries (SCM_RIGHTS), closing any others.
func receiveFd(conn *os.File) (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return -1, err
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	var oobn int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		_, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return !errors.Is(rerr, unix.EAGAIN) && !errors.Is(rerr, unix.EINTR)
	})
	if err != nil {
		return -1, err
	}
	if rerr != nil {
		return -1, &os.SyscallError{Syscall: "recvmsg", Err: rerr}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return -1, err
	}
	found := -1
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if found < 0 {
				found = fd
			} else {
				unix.Close(fd)
			}
		}
	}
	if found < 0 {
		return -1, errors.New("no file descriptor in the message")
	}
	return found, nil
}
