package runc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

// Attach connects streams to a running container through its shim: output from the
// moment of attaching, and stdin when the container was created with Stdin. It
// returns when the container exits, the shim goes, or ctx ends.
func (r *Runtime) Attach(ctx context.Context, containerID string, streams runtime.Streams) error {
	c, sb, err := r.getContainer(containerID)
	if err != nil {
		return err
	}
	tty := c.config.GetTty()
	want := &shimproto.AttachRequest{
		Stdin:  streams.Stdin != nil && c.config.GetStdin(),
		Stdout: streams.Stdout != nil,
		Stderr: streams.Stderr != nil && !tty,
	}
	conn, err := sb.shim().dial(ctx)
	if err != nil {
		return fmt.Errorf("attach to container %s: %w", c.id, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := shimproto.WriteJSONLine(conn, &shimproto.Request{
		Version: shimproto.Version, Op: shimproto.OpAttach, ID: c.id, Attach: want,
	}); err != nil {
		return fmt.Errorf("attach to container %s: %w", c.id, err)
	}
	br := bufio.NewReader(conn)
	var resp shimproto.Response
	if err := shimproto.ReadJSONLine(br, &resp); err != nil {
		return fmt.Errorf("attach to container %s: %w", c.id, err)
	}
	if resp.Error != "" {
		return fmt.Errorf("attach to container %s: %s", c.id, resp.Error)
	}

	var wmu sync.Mutex // guards writes to conn
	send := func(kind byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return shimproto.WriteFrame(conn, kind, p)
	}
	if want.Stdin {
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := streams.Stdin.Read(buf)
				if n > 0 {
					if send(shimproto.FrameStdin, buf[:n]) != nil {
						return
					}
				}
				if err != nil {
					send(shimproto.FrameStdinClose, nil)
					return
				}
			}
		}()
	}
	if streams.Resize != nil && tty {
		go func() {
			for {
				select {
				case size, ok := <-streams.Resize:
					if !ok {
						return
					}
					if send(shimproto.FrameResize, shimproto.ResizePayload(size.Width, size.Height)) != nil {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	for {
		kind, p, err := shimproto.ReadFrame(br)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("attach to container %s: %w", c.id, err)
		}
		switch kind {
		case shimproto.FrameStdout:
			if streams.Stdout != nil {
				streams.Stdout.Write(p)
			}
		case shimproto.FrameStderr:
			if streams.Stderr != nil {
				streams.Stderr.Write(p)
			}
		case shimproto.FrameExit:
			return nil
		}
	}
}
