package stream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// timestampFormat is how the kubelet prints a log line's time with timestamps=true:
// RFC 3339 with nanoseconds, always nine digits.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// logLine is one line of a CRI log file: "TIME STREAM TAG TEXT", where TAG is F for a
// full line and P for a piece of a longer one.
type logLine struct {
	time    time.Time
	stream  string // stdout or stderr
	partial bool
	// text is the line's content; a full line keeps its newline (if the file has it
	// yet), a partial one has none.
	text []byte
}

var errBadLine = errors.New("not a CRI log line")

// parseCRILine parses one line of a CRI log file, its newline included.
func parseCRILine(line []byte) (logLine, error) {
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return logLine{}, errBadLine
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return logLine{}, fmt.Errorf("%w: time %q", errBadLine, ts)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != "stdout" && string(stream) != "stderr") {
		return logLine{}, fmt.Errorf("%w: stream %q", errBadLine, stream)
	}
	tag, text, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		// "TIME STREAM TAG\n": an empty line.
		tag = bytes.TrimSuffix(rest, []byte{'\n'})
		text = rest[len(tag):]
	}
	// Tags are colon-separated; the first says full or partial.
	first, _, _ := bytes.Cut(tag, []byte{':'})
	l := logLine{time: t, stream: string(stream), partial: string(first) == "P", text: text}
	if l.partial {
		l.text = bytes.TrimSuffix(l.text, []byte{'\n'})
	}
	return l, nil
}

// endsLogicalLine reports whether a file line ends a line of output: a full line, or
// one that does not parse (it stands alone).
func endsLogicalLine(line []byte) bool {
	l, err := parseCRILine(line)
	return err != nil || !l.partial
}

// tailOffset returns the offset in a CRI log of size bytes where its last n lines of
// output start. A line joined from partial pieces counts once, and pieces at the end not
// yet ended by a full line count as a line. n < 0 means the whole file.
func tailOffset(f io.ReaderAt, size, n int64) (int64, error) {
	if n < 0 {
		return 0, nil
	}
	if n == 0 {
		return size, nil
	}
	const chunk = 64 << 10
	// buf holds the file's bytes [pos, end), where end is where the lines not yet
	// looked at end; lines are looked at from the last one back.
	var buf []byte
	pos, end := size, size
	found := int64(0)
	for end > 0 {
		idx := lastNewline(buf)
		for idx < 0 && pos > 0 {
			read := min(chunk, pos)
			b := make([]byte, int(read)+len(buf))
			if _, err := f.ReadAt(b[:read], pos-read); err != nil && !errors.Is(err, io.EOF) {
				return 0, err
			}
			copy(b[read:], buf)
			buf, pos = b, pos-read
			idx = lastNewline(buf)
		}
		line := buf[idx+1:]
		// The line [start, end) ends an output line: the output lines after it start
		// at end.
		if end < size && endsLogicalLine(line) {
			found++
			if found == n {
				return end, nil
			}
		}
		buf = buf[:idx+1]
		end = pos + int64(idx+1)
	}
	return 0, nil
}

// lastNewline returns the index of the newline that ends the line before buf's last
// line, or -1.
func lastNewline(buf []byte) int {
	if len(buf) < 2 {
		return -1
	}
	return bytes.LastIndexByte(buf[:len(buf)-1], '\n')
}
