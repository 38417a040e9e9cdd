package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzLineSplitter feeds a container's output, in writes of the sizes the input picks,
// to a lineSplitter: the shim must log whatever a container prints. Every log line is
// a CRI line of at most maxLogLine bytes of text without a newline, and the texts, with
// a newline after each full (F) line, are exactly the output.
func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), []byte{3})
	f.Add([]byte("a\n\nb"), []byte{1, 1, 1})
	f.Add([]byte("\r\n\x00\xff\xfe"), []byte{})
	f.Add(bytes.Repeat([]byte("x"), maxLogLine+1), []byte{200, 0, 255})
	f.Add(append(bytes.Repeat([]byte("y"), 2*maxLogLine), '\n'), []byte{7})
	f.Fuzz(func(t *testing.T, output, sizes []byte) {
		var logged bytes.Buffer
		log := &criLog{w: &logged, now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
		s := &lineSplitter{stream: "stdout", log: log}
		rest := output
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if len(sizes) > 0 {
				n = min(n, int(sizes[i%len(sizes)])*97+1)
			}
			if got, err := s.Write(rest[:n]); got != n || err != nil {
				t.Fatalf("Write of %d bytes: %d, %v", n, got, err)
			}
			rest = rest[n:]
		}
		s.Close()

		const prefix = "2026-01-02T03:04:05Z stdout "
		var text bytes.Buffer
		for _, line := range strings.SplitAfter(logged.String(), "\n") {
			if line == "" {
				continue
			}
			body, ok := strings.CutPrefix(line, prefix)
			if !ok || !strings.HasSuffix(body, "\n") || len(body) < 3 {
				t.Fatalf("log line %q is not a CRI line", line)
			}
			tag, txt := body[:2], strings.TrimSuffix(body[2:], "\n")
			if len(txt) > maxLogLine {
				t.Fatalf("log line of %d bytes", len(txt))
			}
			text.WriteString(txt)
			switch tag {
			case "F ":
				text.WriteByte('\n')
			case "P ":
			default:
				t.Fatalf("log line %q has tag %q", line, tag)
			}
		}
		if !bytes.Equal(text.Bytes(), output) {
			t.Fatalf("logged %q for output %q", text.Bytes(), output)
		}
	})
}
