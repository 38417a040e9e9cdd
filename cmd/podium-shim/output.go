package main

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"
)

// maxLogLine is the longest line written to a CRI log in one piece; a longer line is
// split into partial (P) lines of this size.
const maxLogLine = 16 << 10

// criLog writes lines in the CRI log format,
// "TIMESTAMP STREAM TAG TEXT\n" with an RFC 3339 timestamp, stream stdout or stderr, and
// tag F for a full line or P for part of one. It is safe for concurrent use.
type criLog struct {
	mu  sync.Mutex // guards w
	w   io.Writer  // nil discards
	now func() time.Time
}

func (l *criLog) writeLine(stream string, partial bool, text []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return
	}
	tag := " F "
	if partial {
		tag = " P "
	}
	line := make([]byte, 0, len(text)+64)
	line = l.now().UTC().AppendFormat(line, time.RFC3339Nano)
	line = append(line, ' ')
	line = append(line, stream...)
	line = append(line, tag...)
	line = append(line, text...)
	line = append(line, '\n')
	l.w.Write(line) // a failing log (full disk) must not stop the container
}

// lineSplitter cuts one stream's output into CRI log lines. It is not safe for
// concurrent use; each stream has its own.
type lineSplitter struct {
	stream string // "stdout" or "stderr"
	log    *criLog
	buf    []byte // the unterminated end of what was written so far
}

// Write logs every complete line of buf+p and keeps the rest.
func (s *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.buf = append(s.buf, p...)
			break
		}
		if len(s.buf) == 0 {
			s.emitFull(p[:i])
		} else {
			s.buf = append(s.buf, p[:i]...)
			s.emitFull(s.buf)
			s.buf = s.buf[:0]
		}
		p = p[i+1:]
	}
	for len(s.buf) >= maxLogLine {
		s.log.writeLine(s.stream, true, s.buf[:maxLogLine])
		s.buf = append(s.buf[:0], s.buf[maxLogLine:]...)
	}
	return n, nil
}

// emitFull logs one line without its newline, in pieces of maxLogLine.
func (s *lineSplitter) emitFull(line []byte) {
	for len(line) > maxLogLine {
		s.log.writeLine(s.stream, true, line[:maxLogLine])
		line = line[maxLogLine:]
	}
	s.log.writeLine(s.stream, false, line)
}

// Close logs what is left of an unterminated last line as a partial line.
func (s *lineSplitter) Close() error {
	if len(s.buf) > 0 {
		s.log.writeLine(s.stream, true, s.buf)
		s.buf = nil
	}
	return nil
}

// pump copies a container's output from src to its log and its attachers until src
// ends (EOF, or EIO for a terminal whose other side closed).
func (c *container) pump(src *os.File, kind byte, split *lineSplitter) {
	defer c.outputs.Done()
	defer src.Close()
	defer split.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			split.Write(buf[:n])
			c.broadcast(kind, buf[:n])
		}
		if err != nil {
			return
		}
	}
}
