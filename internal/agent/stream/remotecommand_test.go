package stream

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// execAgent serves a pod "p" with a running container "c" and a stopped one "gone".
func execAgent(t *testing.T) (string, *rest.Config) {
	t.Helper()
	pods := newFakePods()
	pods.sandboxes["ns/p"] = "sb1"
	pods.set("ns/p/c", Container{ID: "c1", Running: true})
	pods.set("ns/p/gone", Container{ID: "c0"})
	pods.set("ns/p/broken", Container{ID: "broken", Running: true})
	srv, cfg := startAgent(t, Config{Runtime: &fakeRuntime{}, Pods: pods})
	return srv.URL, cfg
}

// executors makes a client-go executor of each kind for a URL.
var executors = []struct {
	name string
	new  func(cfg *rest.Config, u string) (remotecommand.Executor, error)
}{
	{name: "websocket", new: func(cfg *rest.Config, u string) (remotecommand.Executor, error) {
		return remotecommand.NewWebSocketExecutor(cfg, "GET", u)
	}},
	{name: "spdy", new: func(cfg *rest.Config, u string) (remotecommand.Executor, error) {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		return remotecommand.NewSPDYExecutor(cfg, "POST", parsed)
	}},
	{name: "websocket v4", new: func(cfg *rest.Config, u string) (remotecommand.Executor, error) {
		return remotecommand.NewWebSocketExecutorForProtocols(cfg, "GET", u, "v4.channel.k8s.io")
	}},
}

// sizes is a terminal size queue that gives one size, then none.
type sizes struct {
	once sync.Once
	size remotecommand.TerminalSize
}

func (s *sizes) Next() *remotecommand.TerminalSize {
	var out *remotecommand.TerminalSize
	s.once.Do(func() { out = &s.size })
	if out == nil {
		time.Sleep(time.Hour) // the client stops asking when the session ends
	}
	return out
}

func TestExec(t *testing.T) {
	base, cfg := execAgent(t)
	tests := []struct {
		name, query string
		stdin       string
		tty         bool
		wantOut     string
		wantErr     string
		wantCode    int // for a CodeExitError
	}{
		{name: "echo", query: "command=echo&command=hello&command=world&stdout=1&stderr=1", wantOut: "hello world\n"},
		{name: "stdin", query: "command=cat&stdin=1&stdout=1&stderr=1", stdin: "from stdin\n", wantOut: "from stdin\n"},
		{name: "exit code", query: "command=exit&command=3&stdout=1&stderr=1", wantCode: 3,
			wantErr: "command terminated with exit code 3"},
		{name: "runtime error", query: "command=fail&stdout=1&stderr=1",
			wantErr: "Internal error occurred: error executing command in container: boom"},
		{name: "tty resize", query: "command=size&stdin=1&stdout=1&tty=1", tty: true, wantOut: "80x24"},
		{name: "true for 1", query: "command=echo&command=ok&stdout=true", wantOut: "ok\n"},
	}
	for _, ex := range executors {
		for _, tt := range tests {
			if ex.name == "websocket v4" && (tt.tty || tt.stdin != "") {
				continue // v4 over WebSocket cannot close stdin, and kubectl never resizes with it
			}
			t.Run(ex.name+"/"+tt.name, func(t *testing.T) {
				e, err := ex.new(cfg, base+"/exec/ns/p/c?"+tt.query)
				if err != nil {
					t.Fatal(err)
				}
				var stdout, stderr bytes.Buffer
				opts := remotecommand.StreamOptions{Stdout: &stdout, Tty: tt.tty}
				if strings.Contains(tt.query, "stderr=1") {
					opts.Stderr = &stderr
				}
				if strings.Contains(tt.query, "stdin=1") {
					opts.Stdin = strings.NewReader(tt.stdin)
				}
				if tt.tty {
					opts.TerminalSizeQueue = &sizes{size: remotecommand.TerminalSize{Width: 80, Height: 24}}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				err = e.StreamWithContext(ctx, opts)
				if tt.wantErr == "" && err != nil {
					t.Fatalf("exec: %v", err)
				}
				if tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
					t.Fatalf("exec error %v, want %q", err, tt.wantErr)
				}
				var exit exec.CodeExitError
				if gotCode := errors.As(err, &exit); gotCode != (tt.wantCode != 0) || (gotCode && exit.Code != tt.wantCode) {
					t.Fatalf("error %#v, want exit code %d", err, tt.wantCode)
				}
				if stdout.String() != tt.wantOut {
					t.Fatalf("stdout %q, want %q", stdout.String(), tt.wantOut)
				}
				if tt.wantCode != 0 && stderr.String() != "bye\n" {
					t.Fatalf("stderr %q", stderr.String())
				}
			})
		}
	}
}

func TestAttach(t *testing.T) {
	base, cfg := execAgent(t)
	for _, ex := range executors[:2] {
		t.Run(ex.name, func(t *testing.T) {
			e, err := ex.new(cfg, base+"/attach/ns/p/c?stdin=1&stdout=1&stderr=1")
			if err != nil {
				t.Fatal(err)
			}
			var stdout bytes.Buffer
			err = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{
				Stdin: strings.NewReader("attached\n"), Stdout: &stdout, Stderr: io.Discard})
			if err != nil || stdout.String() != "attached\n" {
				t.Fatalf("attach: %q, %v", stdout.String(), err)
			}
			e, err = ex.new(cfg, base+"/attach/ns/p/broken?stdout=1")
			if err != nil {
				t.Fatal(err)
			}
			err = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard})
			if err == nil || err.Error() != "Internal error occurred: error attaching to container: no such process" {
				t.Fatalf("attach to a broken container: %v", err)
			}
		})
	}
}

// TestExecRefused checks the answers before an upgrade, which kubectl shows as "unable
// to upgrade connection: ...".
func TestExecRefused(t *testing.T) {
	base, cfg := execAgent(t)
	tests := []struct {
		name, path string
		code       int
		want       string
	}{
		{name: "stopped container", path: "/exec/ns/p/gone?command=sh&stdout=1", code: 500, want: "container not found (\"gone\")\n"},
		{name: "no container", path: "/exec/ns/p/x?command=sh&stdout=1", code: 404, want: "container \"x\" not found in pod \"p\"\n"},
		{name: "no pod", path: "/attach/ns/q/c?stdout=1", code: 404, want: "pod \"q\" does not exist\n"},
		{name: "no streams", path: "/exec/ns/p/c?command=sh", code: 400, want: "you must specify at least 1 of stdin, stdout, stderr\n"},
		{name: "no command", path: "/exec/ns/p/c?stdout=1", code: 400, want: "you must specify at least one command for the container\n"},
		{name: "not an upgrade", path: "/exec/ns/p/c?command=sh&stdout=1", code: 400,
			want: "unable to upgrade: header X-Stream-Protocol-Version does not exist"},
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Post(base+tt.path, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || !strings.HasPrefix(string(body), strings.TrimSuffix(tt.want, "\n")) {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.code, tt.want)
			}
		})
	}
	// Through client-go, as kubectl sees it.
	parsed, _ := url.Parse(base + "/exec/ns/p/gone?command=sh&stdout=1")
	e, err := remotecommand.NewSPDYExecutor(cfg, "POST", parsed)
	if err != nil {
		t.Fatal(err)
	}
	err = e.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), `unable to upgrade connection: container not found ("gone")`) {
		t.Fatalf("exec in a stopped container: %v", err)
	}
}

func TestExecStatus(t *testing.T) {
	tests := []struct {
		name string
		code int32
		err  error
		want string
	}{
		{name: "success", want: `{"metadata":{},"status":"Success"}`},
		{name: "exit code", code: 3, want: `{"metadata":{},"status":"Failure",` +
			`"message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",` +
			`"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}`},
		{name: "runtime error", err: errors.New("boom"), want: `{"metadata":{},"status":"Failure",` +
			`"message":"Internal error occurred: error executing command in container: boom","reason":"InternalError",` +
			`"details":{"causes":[{"message":"error executing command in container: boom"}]},"code":500}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := v4Status(&b)(execStatus([]string{"sh", "-c", "exit 3"}, tt.code, tt.err)); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Fatalf("got  %s\nwant %s", b.String(), tt.want)
			}
		})
	}
}

// TestExecEndsWhenClientGoes checks that a command's context ends when its client goes
// away, which a hijacked request's context does not tell.
func TestExecEndsWhenClientGoes(t *testing.T) {
	pods := newFakePods()
	pods.sandboxes["ns/p"] = "sb1"
	pods.set("ns/p/c", Container{ID: "c1", Running: true})
	rt := &fakeRuntime{waited: make(chan error, 1)}
	srv, cfg := startAgent(t, Config{Runtime: rt, Pods: pods})
	for _, ex := range executors[:2] {
		t.Run(ex.name, func(t *testing.T) {
			e, err := ex.new(cfg, srv.URL+"/exec/ns/p/c?command=wait&stdout=1")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_ = e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard})
			select {
			case err := <-rt.waited:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("the command's context ended with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the command goes on after its client left")
			}
		})
	}
}

// TestExecBase64Channels drives v4.base64.channel.k8s.io by hand: each message is the
// channel as a digit, then base64.
func TestExecBase64Channels(t *testing.T) {
	base, cfg := execAgent(t)
	d := websocket.Dialer{Subprotocols: []string{"v4.base64.channel.k8s.io"}, TLSClientConfig: must(rest.TLSConfigFor(cfg))}
	ws, resp, err := d.Dial(strings.Replace(base, "https", "wss", 1)+"/exec/ns/p/c?command=exit&command=2&stdout=1&stderr=1",
		http.Header{"Authorization": {"Bearer " + testToken}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := map[byte]string{}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			break
		}
		data, err := base64.StdEncoding.DecodeString(string(msg[1:]))
		if err != nil {
			t.Fatalf("message %q: %v", msg, err)
		}
		got[msg[0]] += string(data)
	}
	if got['2'] != "bye\n" || !strings.Contains(got['3'], `"reason":"NonZeroExitCode"`) || !strings.Contains(got['3'], `"message":"2"`) {
		t.Fatalf("channels %q", got)
	}
}
