package runc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

// errShimGone marks a sandbox whose shim does not answer.
var errShimGone = errors.New("the pod's shim is not running")

// shimClient talks to the shim of one sandbox.
type shimClient struct {
	dir string // the sandbox directory
}

// maxSocketPath is the longest path a unix socket address holds, less its NUL.
const maxSocketPath = 107

// dial connects to the shim's socket. A socket path too long for an address is
// reached through /proc/self/fd and a descriptor of its directory.
func (c shimClient) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	path := filepath.Join(c.dir, shimproto.SocketName)
	if len(path) > maxSocketPath {
		fd, err := unix.Open(c.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errShimGone, err)
		}
		defer unix.Close(fd)
		path = fmt.Sprintf("/proc/self/fd/%d/%s", fd, shimproto.SocketName)
	}
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%w: %v", errShimGone, err)
		}
		return nil, err
	}
	return conn, nil
}

// call sends one request and reads its response. It gives up when ctx ends.
func (c shimClient) call(ctx context.Context, req *shimproto.Request) (*shimproto.Response, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req.Version = shimproto.Version
	if err := shimproto.WriteJSONLine(conn, req); err != nil {
		return nil, c.ioErr(ctx, req, err)
	}
	var resp shimproto.Response
	if err := shimproto.ReadJSONLine(bufio.NewReader(conn), &resp); err != nil {
		return nil, c.ioErr(ctx, req, err)
	}
	if resp.Error != "" {
		if resp.NotFound {
			return nil, fmt.Errorf("shim %s %s: %s: %w", req.Op, req.ID, resp.Error, runtime.ErrNotFound)
		}
		if resp.StartFailed {
			return nil, fmt.Errorf("shim %s %s: %s: %w", req.Op, req.ID, resp.Error, runtime.ErrStartFailed)
		}
		return nil, fmt.Errorf("shim %s %s: %s", req.Op, req.ID, resp.Error)
	}
	return &resp, nil
}

func (c shimClient) ioErr(ctx context.Context, req *shimproto.Request, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("shim %s %s: %w", req.Op, req.ID, ctx.Err())
	}
	return fmt.Errorf("shim %s %s: %w: %v", req.Op, req.ID, errShimGone, err)
}

// alive reports whether the shim answers within a second.
func (c shimClient) alive(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := c.call(ctx, &shimproto.Request{Op: shimproto.OpHello})
	return err == nil
}
