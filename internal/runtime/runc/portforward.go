package runc

import (
	"context"
	"fmt"
	"io"
	"net"
)

// PortForward connects to port on the pod's loopback, inside its network namespace,
// and copies between it and stream. It returns when the pod's side closes the
// connection or ctx ends; when the client's side ends first, the pod's side gets a
// half-close and its answer still comes back. It closes stream when done.
func (r *Runtime) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	sb, err := r.getSandbox(sandboxID)
	if err != nil {
		return err
	}
	conn, err := dialInNetNS(sb.snapshot().NetNS, port)
	if err != nil {
		return fmt.Errorf("port forward to sandbox %s: %w", sandboxID, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		stream.Close()
	})
	defer stop()
	go func() {
		io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	io.Copy(stream, conn)
	return ctx.Err()
}
