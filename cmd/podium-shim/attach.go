package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

// attacher is one attach connection's output side. The container's pumps hand it
// frames without blocking; an attacher that falls 64 chunks behind is dropped, so that a
// slow client never stalls the container.
type attacher struct {
	conn           *os.File
	stdout, stderr bool
	ch             chan frame // closed by close; sent to only under the container's mu
	closeOnce      sync.Once
}

type frame struct {
	kind byte
	data []byte
}

// broadcast hands a chunk of output to every attacher that wants its stream.
func (c *container) broadcast(kind byte, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for a := range c.attachers {
		if (kind == shimproto.FrameStdout && !a.stdout) || (kind == shimproto.FrameStderr && !a.stderr) {
			continue
		}
		select {
		case a.ch <- frame{kind: kind, data: append([]byte(nil), p...)}:
		default:
			delete(c.attachers, a)
			a.close()
		}
	}
}

// exit sends the exit frame and closes the attacher; the container's mu is held.
func (a *attacher) exit(st *shimproto.ContainerState) {
	b, _ := json.Marshal(st)
	select {
	case a.ch <- frame{kind: shimproto.FrameExit, data: b}:
	default:
	}
	a.close()
}

func (a *attacher) close() {
	a.closeOnce.Do(func() { close(a.ch) })
}

// writeLoop writes the attacher's frames to its connection and closes the connection
// when they end.
func (a *attacher) writeLoop() {
	for f := range a.ch {
		if err := shimproto.WriteFrame(a.conn, f.kind, f.data); err != nil {
			a.conn.Close()
			for range a.ch { // until the attacher is closed; nothing more is written
			}
			return
		}
	}
	a.conn.Close()
}

// attach serves an OpAttach: frames out from the container's output, frames in for its
// stdin and terminal size, until the container exits or the client goes.
func (s *shim) attach(conn *os.File, br *bufio.Reader, req *shimproto.Request) {
	want := shimproto.AttachRequest{}
	if req.Attach != nil {
		want = *req.Attach
	}
	c, err := s.get(req.ID)
	if err != nil {
		respondErr(conn, err)
		return
	}
	a := &attacher{conn: conn, stdout: want.Stdout, stderr: want.Stderr, ch: make(chan frame, 64)}
	c.mu.Lock()
	if c.st.Status == shimproto.StatusExited {
		c.mu.Unlock()
		respondErr(conn, errors.New("container is not running"))
		return
	}
	if want.Stdin && c.stdin == nil {
		c.mu.Unlock()
		respondErr(conn, errors.New("container's stdin is not open"))
		return
	}
	c.attachers[a] = struct{}{}
	c.mu.Unlock()
	if err := shimproto.WriteJSONLine(conn, &shimproto.Response{Version: shimproto.Version}); err != nil {
		c.mu.Lock()
		delete(c.attachers, a)
		a.close()
		c.mu.Unlock()
		return
	}
	go a.writeLoop()

	for {
		kind, p, err := shimproto.ReadFrame(br)
		if err != nil {
			break
		}
		switch kind {
		case shimproto.FrameStdin:
			if want.Stdin {
				c.writeStdin(p)
			}
		case shimproto.FrameStdinClose:
			// Only a StdinOnce container's stdin ends with its first client's; others
			// stay open for the next attach.
			if want.Stdin && c.req.StdinOnce {
				c.closeStdin()
			}
		case shimproto.FrameResize:
			if w, h, err := shimproto.ParseResize(p); err == nil {
				c.resize(w, h)
			}
		}
	}
	c.mu.Lock()
	if _, ok := c.attachers[a]; ok {
		delete(c.attachers, a)
		a.close()
	}
	c.mu.Unlock()
	if want.Stdin && c.req.StdinOnce {
		c.closeStdin()
	}
}

func (c *container) writeStdin(p []byte) {
	c.mu.Lock()
	w := c.stdin
	c.mu.Unlock()
	if w != nil {
		w.Write(p)
	}
}

// closeStdin closes the container's stdin for good; with a terminal it sends EOF
// (^D) instead, as closing the terminal would end the output too.
func (c *container) closeStdin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stdin == nil {
		return
	}
	if c.console != nil {
		c.stdin.Write([]byte{4})
		return
	}
	c.stdin.Close()
	c.stdin = nil
}

func (c *container) resize(width, height uint16) {
	c.mu.Lock()
	console := c.console
	c.mu.Unlock()
	if console == nil {
		return
	}
	rc, err := console.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: width, Row: height})
	})
}
