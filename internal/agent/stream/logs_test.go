package stream

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// cri is one line of a CRI log, written sec seconds after t0.
func cri(sec int, stream, tag, text string) string {
	return t0.Add(time.Duration(sec)*time.Second+1500*time.Microsecond).Format(time.RFC3339Nano) + " " + stream + " " + tag + " " + text + "\n"
}

func TestParseCRILine(t *testing.T) {
	tests := []struct {
		name, line string
		want       logLine
		bad        bool
	}{
		{name: "full", line: "2026-03-01T10:00:00.5Z stdout F hello\n",
			want: logLine{time: t0.Add(500 * time.Millisecond), stream: "stdout", text: []byte("hello\n")}},
		{name: "partial loses its newline", line: "2026-03-01T10:00:00Z stderr P hel\n",
			want: logLine{time: t0, stream: "stderr", partial: true, text: []byte("hel")}},
		{name: "empty line", line: "2026-03-01T10:00:00Z stdout F\n",
			want: logLine{time: t0, stream: "stdout", text: []byte("\n")}},
		{name: "more tags", line: "2026-03-01T10:00:00Z stdout P:x a b\n",
			want: logLine{time: t0, stream: "stdout", partial: true, text: []byte("a b")}},
		{name: "bad stream", line: "2026-03-01T10:00:00Z stdin F x\n", bad: true},
		{name: "bad time", line: "yesterday stdout F x\n", bad: true},
		{name: "no fields", line: "hello\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCRILine([]byte(tt.line))
			if tt.bad {
				if err == nil {
					t.Fatalf("parsed %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.time.Equal(tt.want.time) || got.stream != tt.want.stream || got.partial != tt.want.partial || string(got.text) != string(tt.want.text) {
				t.Fatalf("got %+v (%q), want %+v (%q)", got, got.text, tt.want, tt.want.text)
			}
		})
	}
}

func TestTailOffset(t *testing.T) {
	file := cri(0, "stdout", "F", "a") + cri(1, "stdout", "P", "b1") + cri(1, "stdout", "F", "b2") + cri(2, "stderr", "F", "c") + cri(3, "stdout", "P", "d")
	tests := []struct {
		name string
		n    int64
		want string // the first line's text from the offset
	}{
		{name: "all", n: -1, want: "a"},
		{name: "none", n: 0, want: ""},
		{name: "an unfinished line counts", n: 1, want: "d"},
		{name: "two", n: 2, want: "c"},
		{name: "a joined line counts once", n: 3, want: "b1"},
		{name: "four", n: 4, want: "a"},
		{name: "more than there are", n: 10, want: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, err := tailOffset(strings.NewReader(file), int64(len(file)), tt.n)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if rest := file[off:]; rest != "" {
				l, err := parseCRILine([]byte(rest[:strings.IndexByte(rest, '\n')+1]))
				if err != nil {
					t.Fatalf("offset %d is not at a line: %q", off, rest)
				}
				got = strings.TrimSuffix(string(l.text), "\n")
			}
			if got != tt.want {
				t.Fatalf("tail %d starts at %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestTailOffsetAcrossChunks(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		b.WriteString(cri(i, "stdout", "F", strings.Repeat("x", i%50)))
	}
	b.WriteString(cri(5000, "stdout", "P", strings.Repeat("y", 70000)))
	b.WriteString(cri(5000, "stdout", "F", "z"))
	b.WriteString(cri(5001, "stdout", "F", "last"))
	file := b.String()
	off, err := tailOffset(strings.NewReader(file), int64(len(file)), 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.LastIndex(file, cri(4999, "stdout", "F", strings.Repeat("x", 4999%50))); off != int64(want) {
		t.Fatalf("offset %d, want %d", off, want)
	}
}

// writeLog writes a log file and returns its path.
func writeLog(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeLogs(t *testing.T) {
	dir := t.TempDir()
	pods := newFakePods()
	pods.sandboxes["ns/p"] = "sb1"
	pods.set("ns/p/c", Container{ID: "c2", Running: true, LogPath: writeLog(t, dir, "1.log",
		cri(0, "stdout", "F", "one")+
			cri(10, "stderr", "F", "two")+
			cri(20, "stdout", "P", "thr")+
			cri(21, "stdout", "P", "e")+
			cri(22, "stdout", "F", "e")+
			cri(30, "stdout", "F", "four"))})
	pods.set("ns/p/c/previous", Container{ID: "c1", LogPath: writeLog(t, dir, "0.log", cri(0, "stdout", "F", "before"))})
	pods.set("ns/p/quiet", Container{ID: "c3", LogPath: filepath.Join(dir, "never-written.log")})
	clk := clocktesting.NewFakeClock(t0.Add(25 * time.Second))
	h := NewHandler(Config{Pods: pods, Clock: clk, Authorize: func(*http.Request) bool { return true }})

	tests := []struct {
		name, path string
		code       int
		want       string
	}{
		{name: "all", path: "/containerLogs/ns/p/c", code: 200, want: "one\ntwo\nthree\nfour\n"},
		{name: "tail", path: "/containerLogs/ns/p/c?tailLines=2", code: 200, want: "three\nfour\n"},
		{name: "tail none", path: "/containerLogs/ns/p/c?tailLines=0", code: 200, want: ""},
		{name: "timestamps", path: "/containerLogs/ns/p/c?timestamps=true&tailLines=2", code: 200,
			want: "2026-03-01T10:00:20.001500000Z three\n2026-03-01T10:00:30.001500000Z four\n"},
		{name: "since time", path: "/containerLogs/ns/p/c?sinceTime=2026-03-01T10:00:05Z", code: 200, want: "two\nthree\nfour\n"},
		{name: "since seconds", path: "/containerLogs/ns/p/c?sinceSeconds=10", code: 200, want: "three\nfour\n"},
		{name: "limit bytes", path: "/containerLogs/ns/p/c?limitBytes=6", code: 200, want: "one\ntw"},
		{name: "stderr only", path: "/containerLogs/ns/p/c?stream=Stderr", code: 200, want: "two\n"},
		{name: "previous", path: "/containerLogs/ns/p/c?previous=true", code: 200, want: "before\n"},
		{name: "follow a finished run", path: "/containerLogs/ns/p/c?previous=true&follow=true", code: 200, want: "before\n"},
		{name: "no log yet", path: "/containerLogs/ns/p/quiet", code: 200, want: ""},
		{name: "no previous", path: "/containerLogs/ns/p/quiet?previous=true", code: 400,
			want: "previous terminated container \"quiet\" in pod \"p\" not found\n"},
		{name: "no container", path: "/containerLogs/ns/p/x", code: 404, want: "container \"x\" not found in pod \"p\"\n"},
		{name: "no pod", path: "/containerLogs/ns/q/c", code: 404, want: "pod \"q\" does not exist\n"},
		{name: "bad tail", path: "/containerLogs/ns/p/c?tailLines=-1", code: 422,
			want: "invalid request: tailLines: Invalid value: -1: must be greater than or equal to 0\n"},
		{name: "two sinces", path: "/containerLogs/ns/p/c?sinceSeconds=1&sinceTime=2026-03-01T10:00:05Z", code: 422,
			want: "invalid request: at most one of `sinceTime` or `sinceSeconds` may be specified\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.code || rec.Body.String() != tt.want {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tt.code, tt.want)
			}
			if tt.code == 200 && rec.Header().Get("Content-Type") != "text/plain" {
				t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestUnauthorized(t *testing.T) {
	srv, _ := startAgent(t, Config{Pods: newFakePods()})
	for _, header := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest("GET", srv.URL+"/containerLogs/ns/p/c", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%q: got %d, want 401", header, resp.StatusCode)
		}
	}
}

// TestFollowLogs follows a log while the container writes, including a line in two
// pieces, and ends once the container has stopped and its last lines are out.
func TestFollowLogs(t *testing.T) {
	dir := t.TempDir()
	path := writeLog(t, dir, "0.log", cri(0, "stdout", "F", "one"))
	pods := newFakePods()
	pods.sandboxes["ns/p"] = "sb1"
	pods.set("ns/p/c", Container{ID: "c1", Running: true, LogPath: path})
	clk := clocktesting.NewFakeClock(t0)
	srv, _ := startAgent(t, Config{Pods: pods, Clock: clk})

	req, _ := http.NewRequest("GET", srv.URL+"/containerLogs/ns/p/c?follow=true&timestamps=true", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	expect := func(want string) {
		t.Helper()
		got, err := body.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("read %q (%v), want %q", got, err, want)
		}
	}
	appendLog := func(s string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// poll lets the handler take one more look at the file.
	poll := func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !clk.HasWaiters() {
			if time.Now().After(deadline) {
				t.Fatal("the handler does not wait for the log to grow")
			}
			time.Sleep(time.Millisecond)
		}
		clk.Step(pollInterval)
	}

	expect("2026-03-01T10:00:00.001500000Z one\n")
	appendLog(cri(1, "stdout", "P", "tw"))
	poll()
	appendLog(cri(2, "stdout", "F", "o") + cri(3, "stderr", "F", "three")[:20])
	poll()
	expect("2026-03-01T10:00:01.001500000Z two\n")
	appendLog(cri(3, "stderr", "F", "three")[20:])
	poll()
	expect("2026-03-01T10:00:03.001500000Z three\n")

	// The container writes its last line and stops; the handler takes a look or two
	// more, then ends the response.
	appendLog(cri(4, "stdout", "F", "four"))
	pods.set("ns/p/c", Container{ID: "c1", Running: false, LogPath: path})
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				if clk.HasWaiters() {
					clk.Step(pollInterval)
				}
			}
		}
	}()
	if rest, err := io.ReadAll(body); err != nil || string(rest) != "2026-03-01T10:00:04.001500000Z four\n" {
		t.Fatalf("after the container stopped: %q, %v", rest, err)
	}
}
