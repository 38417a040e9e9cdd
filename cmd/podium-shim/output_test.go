package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLineSplitter(t *testing.T) {
	long := strings.Repeat("x", maxLogLine+10)
	tests := []struct {
		name   string
		writes []string
		want   []string // "TAG text"
	}{
		{name: "lines", writes: []string{"a\nb\n"}, want: []string{"F a", "F b"}},
		{name: "split across writes", writes: []string{"he", "llo\nwor", "ld\n"}, want: []string{"F hello", "F world"}},
		{name: "unterminated end", writes: []string{"a\npartial"}, want: []string{"F a", "P partial"}},
		{name: "empty line", writes: []string{"\n"}, want: []string{"F "}},
		{name: "long line", writes: []string{long + "\n"}, want: []string{"P " + long[:maxLogLine], "F xxxxxxxxxx"}},
		{name: "long line in pieces", writes: []string{long[:100], long[100:], "\n"}, want: []string{"P " + long[:maxLogLine], "F xxxxxxxxxx"}},
		{name: "long unterminated", writes: []string{long}, want: []string{"P " + long[:maxLogLine], "P xxxxxxxxxx"}},
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := &criLog{w: &buf, now: func() time.Time { return now }}
			s := &lineSplitter{stream: "stdout", log: log}
			for _, w := range tt.writes {
				s.Write([]byte(w))
			}
			s.Close()
			var got []string
			for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
				prefix := "2026-01-02T03:04:05.0000006Z stdout "
				if !strings.HasPrefix(line, prefix) {
					t.Fatalf("line %q lacks %q", line, prefix)
				}
				got = append(got, strings.TrimPrefix(line, prefix))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	// A wait status holds the exit code in bits 8-15 and a terminating signal in 0-6.
	if got := exitCode(3 << 8); got != 3 {
		t.Errorf("exit 3: %d", got)
	}
	if got := exitCode(9); got != 137 {
		t.Errorf("SIGKILL: %d", got)
	}
}
