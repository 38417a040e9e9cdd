package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/podium/podium/internal/runtime"
)

// fakePods is a Lookup over a fixed set of containers and sandboxes.
type fakePods struct {
	mu         sync.Mutex           // guards containers and sandboxes
	containers map[string]Container // by "ns/pod/name", and "ns/pod/name/previous"
	sandboxes  map[string]string    // by "ns/pod"
}

func newFakePods() *fakePods {
	return &fakePods{containers: map[string]Container{}, sandboxes: map[string]string{}}
}

func (f *fakePods) set(key string, c Container) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.containers[key] = c
}

func (f *fakePods) Container(ns, pod, name string, previous bool) (Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sandboxes[ns+"/"+pod]; !ok {
		return Container{}, PodNotFound(pod)
	}
	key := ns + "/" + pod + "/" + name
	if _, ok := f.containers[key]; !ok {
		return Container{}, ContainerNotFound(pod, name)
	}
	if previous {
		key += "/previous"
		if _, ok := f.containers[key]; !ok {
			return Container{}, fmt.Errorf("previous terminated container %q in pod %q not found", name, pod)
		}
	}
	return f.containers[key], nil
}

func (f *fakePods) Sandbox(ns, pod string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.sandboxes[ns+"/"+pod]
	if !ok {
		return "", PodNotFound(pod)
	}
	return id, nil
}

// fakeRuntime runs a few commands, attaches as cat, and forwards ports to a local echo
// server. Its other methods are not used.
type fakeRuntime struct {
	runtime.Runtime
	// echo is the address of a TCP echo server; port 81 is refused.
	echo string
	// waited receives the end of each "wait" command's context.
	waited chan error
}

// Exec runs:
//
//	echo WORDS...   the words on stdout
//	cat             stdin to stdout until stdin ends
//	exit N          "bye" on stderr, exit code N
//	fail            a runtime error
//	size            the first terminal size, as WxH, on stdout
//	wait            until its context ends, told on waited
func (f *fakeRuntime) Exec(ctx context.Context, id string, cmd []string, s runtime.Streams) (int32, error) {
	switch cmd[0] {
	case "echo":
		_, _ = io.WriteString(s.Stdout, strings.Join(cmd[1:], " ")+"\n")
	case "cat":
		if _, err := io.Copy(s.Stdout, s.Stdin); err != nil {
			return 0, err
		}
	case "exit":
		_, _ = io.WriteString(s.Stderr, "bye\n")
		n, _ := strconv.Atoi(cmd[1])
		return int32(n), nil
	case "fail":
		return 0, errors.New("boom")
	case "size":
		select {
		case size := <-s.Resize:
			fmt.Fprintf(s.Stdout, "%dx%d", size.Width, size.Height)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	case "wait":
		<-ctx.Done()
		f.waited <- ctx.Err()
		return 0, ctx.Err()
	default:
		return 127, nil
	}
	return 0, nil
}

func (f *fakeRuntime) Attach(_ context.Context, id string, s runtime.Streams) error {
	if id == "broken" {
		return errors.New("no such process")
	}
	_, err := io.Copy(s.Stdout, s.Stdin)
	return err
}

func (f *fakeRuntime) PortForward(ctx context.Context, sandbox string, port int32, stream io.ReadWriteCloser) error {
	if port == 81 {
		return errors.New("connection refused")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", f.echo)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(stream, conn)
		_ = stream.Close()
		close(done)
	}()
	_, _ = io.Copy(conn, stream)
	_ = conn.(*net.TCPConn).CloseWrite()
	<-done
	return nil
}

// startEcho starts a TCP echo server and returns its address.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

const testToken = "secret"

// startAgent serves the handler over TLS, as the agent does, and returns a client
// configuration for it.
func startAgent(t *testing.T, cfg Config) (*httptest.Server, *rest.Config) {
	t.Helper()
	cfg.Authorize = func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+testToken }
	srv := httptest.NewTLSServer(NewHandler(cfg))
	t.Cleanup(srv.Close)
	return srv, &rest.Config{Host: srv.URL, BearerToken: testToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}
