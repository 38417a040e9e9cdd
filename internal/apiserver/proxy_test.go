package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"

	"github.com/podium/podium/internal/agent/stream"
	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/namespace"
	"github.com/podium/podium/internal/registry/node"
	"github.com/podium/podium/internal/registry/pod"
	podruntime "github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/storage"
)

// serverCN is the common name of the client certificate the test API server presents
// to the fake agent.
const serverCN = "test-apiserver"

// serverCert is the API server's client certificate for agents.
var serverCert = sync.OnceValue(func() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: serverCN},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
})

// agentRuntime runs "echo WORDS" and "exit N", and echoes port-forward streams.
type agentRuntime struct {
	podruntime.Runtime
}

func (agentRuntime) Exec(_ context.Context, _ string, cmd []string, s podruntime.Streams) (int32, error) {
	if cmd[0] == "exit" {
		n, _ := strconv.Atoi(cmd[1])
		return int32(n), nil
	}
	_, _ = io.WriteString(s.Stdout, strings.Join(cmd[1:], " ")+"\n")
	return 0, nil
}

func (agentRuntime) PortForward(_ context.Context, _ string, _ int32, st io.ReadWriteCloser) error {
	_, err := io.Copy(st, st)
	_ = st.Close()
	return err
}

// agentPods is the agent's view: pods default/p1 and p3 with any container, all
// logging the same file.
type agentPods struct{ log string }

func (a agentPods) Container(ns, p, c string, previous bool) (stream.Container, error) {
	if ns != "default" || (p != "p1" && p != "p3") {
		return stream.Container{}, stream.PodNotFound(p)
	}
	if previous {
		return stream.Container{}, fmt.Errorf("previous terminated container %q in pod %q not found", c, p)
	}
	return stream.Container{ID: "c1", LogPath: a.log, Running: true}, nil
}

func (agentPods) Sandbox(ns, p string) (string, error) { return "sb1", nil }

// fakeAgent is a node agent on loopback: the real stream handler, recording what it
// was asked.
type fakeAgent struct {
	*httptest.Server
	mu   sync.Mutex // guards reqs
	reqs []string   // "METHOD PATH?QUERY CLIENT-CN", then " Authorization: ..." if one came
}

func (a *fakeAgent) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) == 0 {
		return ""
	}
	return a.reqs[len(a.reqs)-1]
}

func startFakeAgent(t *testing.T) *fakeAgent {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "0.log")
	log := "2026-03-01T10:00:00Z stdout F first\n2026-03-01T10:00:01Z stdout F second\n"
	if err := os.WriteFile(logPath, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	h := stream.NewHandler(stream.Config{
		Runtime: agentRuntime{},
		Pods:    agentPods{log: logPath},
		Authorize: func(r *http.Request) bool {
			return r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && r.TLS.PeerCertificates[0].Subject.CommonName == serverCN
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	a := &fakeAgent{}
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := r.Method + " " + r.URL.RequestURI() + " "
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			rec += r.TLS.PeerCertificates[0].Subject.CommonName
		}
		if v := r.Header.Get("Authorization"); v != "" {
			rec += " Authorization: " + v
		}
		a.mu.Lock()
		a.reqs = append(a.reqs, rec)
		a.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	a.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	a.StartTLS()
	t.Cleanup(a.Close)
	return a
}

// newProxyServer is an API server with pods and nodes that reaches agents when
// reachAgents is set.
func newProxyServer(t *testing.T, reachAgents bool) (*Server, *rest.Config) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Store:         storage.New(etcdtest.Start(t), scheme),
		Scheme:        scheme,
		Strategies:    []registry.Strategy{namespace.New(), pod.New(), node.New()},
		Authenticator: auth.NewTokens(adminToken, joinToken),
		Logger:        slog.New(slog.DiscardHandler),
	}
	if reachAgents {
		insecure := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{serverCert()}}
		rt := &http.Transport{TLSClientConfig: insecure}
		// The seams take a node's name: never nodes/NAME:PORT's "NAME:PORT".
		validName := func(node string) error {
			if strings.ContainsAny(node, ":/") || node == "" {
				return fmt.Errorf("asked for the agent of %q, not a node's name", node)
			}
			return nil
		}
		cfg.NodeTransport = func(node string) http.RoundTripper {
			if err := validName(node); err != nil {
				return roundTripError{err}
			}
			return rt
		}
		cfg.NodeDialer = func(ctx context.Context, node, addr string) (net.Conn, error) {
			if err := validName(node); err != nil {
				return nil, err
			}
			return (&tls.Dialer{Config: insecure}).DialContext(ctx, "tcp", addr)
		}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, &rest.Config{Host: srv.URL, BearerToken: adminToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

// setUpPods creates a node whose agent is at agentURL and pods: p1 (one container, on
// the node), p2 (two containers), p3 (two, with a default) and p4 (not scheduled).
func setUpPods(t *testing.T, s *Server, cs kubernetes.Interface, agentURL string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(agentURL)
	host, port, _ := net.SplitHostPort(u.Host)
	p, _ := strconv.Atoi(port)
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1.invalid"}, {Type: corev1.NodeInternalIP, Address: host}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
	}}
	if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	containers := func(names ...string) []corev1.Container {
		var out []corev1.Container
		for _, n := range names {
			out = append(out, corev1.Container{Name: n, Image: "busybox"})
		}
		return out
	}
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "p1"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: containers("c")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "p2"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: containers("a", "b"), InitContainers: containers("i")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "p3", Annotations: map[string]string{defaultContainerAnnotation: "b"}}, Spec: corev1.PodSpec{NodeName: "n1", Containers: containers("a", "b")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "p4"}, Spec: corev1.PodSpec{Containers: containers("c")}},
	} {
		if _, err := cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	res := s.resourceFor(schema.GroupResource{Resource: "nodes"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := res.cache.Get(res.key("", "n1")); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the node does not reach the cache")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logs reads a pod's log as kubectl does.
func logs(cs kubernetes.Interface, pod string, opts *corev1.PodLogOptions) ([]byte, error) {
	rc, err := cs.CoreV1().Pods("default").GetLogs(pod, opts).Stream(context.Background())
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestPodLogsProxied(t *testing.T) {
	agent := startFakeAgent(t)
	s, cfg := newProxyServer(t, true)
	cs := kubernetes.NewForConfigOrDie(cfg)
	setUpPods(t, s, cs, agent.URL)
	tail := int64(1)
	tests := []struct {
		name      string
		pod       string
		opts      corev1.PodLogOptions
		want      string
		wantAgent string
		wantErr   string
	}{
		{name: "all", pod: "p1", want: "first\nsecond\n", wantAgent: "GET /containerLogs/default/p1/c " + serverCN},
		{name: "options", pod: "p1", opts: corev1.PodLogOptions{Container: "c", TailLines: &tail, Timestamps: true},
			want:      "2026-03-01T10:00:01.000000000Z second\n",
			wantAgent: "GET /containerLogs/default/p1/c?tailLines=1&timestamps=true " + serverCN},
		{name: "the agent refuses", pod: "p1", opts: corev1.PodLogOptions{Previous: true},
			wantErr: `previous terminated container "c" in pod "p1" not found`},
		{name: "choose a container", pod: "p2", wantErr: "a container name must be specified for pod p2, choose one of: [i a b]"},
		{name: "not a container", pod: "p2", opts: corev1.PodLogOptions{Container: "x"}, wantErr: "container x is not valid for pod p2"},
		{name: "the agent has no such pod", pod: "p2", opts: corev1.PodLogOptions{Container: "a"}, wantErr: `pod "p2" does not exist`},
		{name: "no node yet", pod: "p4", want: ""},
		{name: "no pod", pod: "p5", wantErr: `pods "p5" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := agent.last()
			body, err := logs(cs, tt.pod, &tt.opts)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.want {
				t.Fatalf("log %q, want %q", body, tt.want)
			}
			if got := agent.last(); tt.wantAgent != "" && got != tt.wantAgent || tt.wantAgent == "" && got != before {
				t.Fatalf("the agent got %q, want %q", got, tt.wantAgent)
			}
		})
	}

	// A followed log streams: the first line arrives before the response ends.
	rc, err := cs.CoreV1().Pods("default").GetLogs("p1", &corev1.PodLogOptions{Follow: true}).Stream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if line, err := bufio.NewReader(rc).ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("followed log: %q, %v", line, err)
	}
	if got := agent.last(); got != "GET /containerLogs/default/p1/c?follow=true "+serverCN {
		t.Fatalf("the agent got %q", got)
	}
}

func TestPodLogValidation(t *testing.T) {
	s, cfg := newProxyServer(t, true)
	cs := kubernetes.NewForConfigOrDie(cfg)
	setUpPods(t, s, cs, "https://127.0.0.1:1")
	minus := int64(-1)
	_, err := logs(cs, "p1", &corev1.PodLogOptions{TailLines: &minus})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "tailLines: Invalid value: -1: must be greater than or equal to 0") {
		t.Fatalf("negative tailLines: %v", err)
	}
	// An agent that does not answer is a 503.
	_, err = logs(cs, "p1", &corev1.PodLogOptions{})
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), "no node agent is reachable") {
		t.Fatalf("unreachable agent: %v", err)
	}
}

func TestNoAgentReachable(t *testing.T) {
	s, cfg := newProxyServer(t, false)
	cs := kubernetes.NewForConfigOrDie(cfg)
	setUpPods(t, s, cs, "https://127.0.0.1:1")
	_, err := logs(cs, "p1", &corev1.PodLogOptions{})
	if !apierrors.IsServiceUnavailable(err) || err.Error() != "no node agent is reachable" {
		t.Fatalf("logs: %v", err)
	}
}

func TestPodExecProxied(t *testing.T) {
	agent := startFakeAgent(t)
	s, cfg := newProxyServer(t, true)
	cs := kubernetes.NewForConfigOrDie(cfg)
	setUpPods(t, s, cs, agent.URL)
	executors := map[string]func(u string) (remotecommand.Executor, error){
		"websocket": func(u string) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(cfg, "GET", u)
		},
		"spdy": func(u string) (remotecommand.Executor, error) {
			parsed, _ := url.Parse(u)
			return remotecommand.NewSPDYExecutor(cfg, "POST", parsed)
		},
	}
	tests := []struct {
		name, pod, query string
		want, wantAgent  string
		wantCode         int
		wantErr          string
	}{
		{name: "echo", pod: "p1", query: "command=echo&command=hi&stdout=true&stderr=true", want: "hi\n",
			wantAgent: "/exec/default/p1/c?command=echo&command=hi&stderr=1&stdout=1 " + serverCN},
		{name: "default container", pod: "p3", query: "command=echo&command=b&stdout=true", want: "b\n",
			wantAgent: "/exec/default/p3/b?command=echo&command=b&stdout=1 " + serverCN},
		{name: "exit code", pod: "p1", query: "command=exit&command=3&stdout=true&stderr=true", wantCode: 3},
		{name: "choose a container", pod: "p2", query: "command=sh&stdout=true",
			wantErr: "a container name must be specified for pod p2, choose one of: [a b] or one of the init containers: [i]"},
		{name: "no node yet", pod: "p4", query: "command=sh&stdout=true", wantErr: "pod p4 does not have a host assigned"},
	}
	for kind, newExecutor := range executors {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				e, err := newExecutor(cfg.Host + "/api/v1/namespaces/default/pods/" + tt.pod + "/exec?" + tt.query)
				if err != nil {
					t.Fatal(err)
				}
				var stdout bytes.Buffer
				opts := remotecommand.StreamOptions{Stdout: &stdout}
				if strings.Contains(tt.query, "stderr=true") {
					opts.Stderr = io.Discard
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				err = e.StreamWithContext(ctx, opts)
				var exit exec.CodeExitError
				switch {
				case tt.wantErr != "":
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("error %v, want %q", err, tt.wantErr)
					}
				case tt.wantCode != 0:
					if !errors.As(err, &exit) || exit.Code != tt.wantCode {
						t.Fatalf("error %v, want exit code %d", err, tt.wantCode)
					}
				case err != nil:
					t.Fatal(err)
				}
				if stdout.String() != tt.want {
					t.Fatalf("stdout %q, want %q", stdout.String(), tt.want)
				}
				if tt.wantAgent != "" && !strings.HasSuffix(agent.last(), tt.wantAgent) {
					t.Fatalf("the agent got %q, want %q", agent.last(), tt.wantAgent)
				}
			})
		}
	}
}

func TestPodPortForwardProxied(t *testing.T) {
	agent := startFakeAgent(t)
	s, cfg := newProxyServer(t, true)
	cs := kubernetes.NewForConfigOrDie(cfg)
	setUpPods(t, s, cs, agent.URL)
	u, _ := url.Parse(cfg.Host + "/api/v1/namespaces/default/pods/p1/portforward")
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spdyDialer := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, "POST", u)
	tunnel, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, dialer := range map[string]func() *portforward.PortForwarder{
		"spdy": func() *portforward.PortForwarder {
			stop, ready := make(chan struct{}), make(chan struct{})
			t.Cleanup(func() { close(stop) })
			pf, err := portforward.NewOnAddressesForStreaming(spdyDialer, []string{"127.0.0.1"}, []string{"0:80"}, stop, ready, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = pf.ForwardPorts() }()
			<-ready
			return pf
		},
		"websocket tunnel": func() *portforward.PortForwarder {
			stop, ready := make(chan struct{}), make(chan struct{})
			t.Cleanup(func() { close(stop) })
			pf, err := portforward.NewOnAddressesForStreaming(tunnel, []string{"127.0.0.1"}, []string{"0:80"}, stop, ready, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = pf.ForwardPorts() }()
			<-ready
			return pf
		},
	} {
		t.Run(name, func(t *testing.T) {
			ports, err := dialer().GetPorts()
			if err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0].Local))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(conn, "ping\n"); err != nil {
				t.Fatal(err)
			}
			if got, err := bufio.NewReader(conn).ReadString('\n'); err != nil || got != "ping\n" {
				t.Fatalf("read %q, %v", got, err)
			}
			if !strings.Contains(agent.last(), "/portForward/default/p1 "+serverCN) {
				t.Fatalf("the agent got %q", agent.last())
			}
		})
	}
}

// TestPodLogsOverWebSocket reads a log as upstream's WebSocket clients do: binary
// messages with binary.k8s.io, base64 text with base64.binary.k8s.io, then a close.
func TestPodLogsOverWebSocket(t *testing.T) {
	agent := startFakeAgent(t)
	s, cfg := newProxyServer(t, true)
	cs := kubernetes.NewForConfigOrDie(cfg)
	setUpPods(t, s, cs, agent.URL)
	u, _ := url.Parse(cfg.Host)
	u.Scheme, u.Path, u.RawQuery = "wss", "/api/v1/namespaces/default/pods/p1/log", "container=c"
	for _, tt := range []struct {
		protocol string
		decode   func([]byte) string
	}{
		{"binary.k8s.io", func(b []byte) string { return string(b) }},
		{"base64.binary.k8s.io", func(b []byte) string { d, _ := base64.StdEncoding.DecodeString(string(b)); return string(d) }},
	} {
		t.Run(tt.protocol, func(t *testing.T) {
			d := websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Subprotocols: []string{tt.protocol}}
			conn, resp, err := d.Dial(u.String(), http.Header{"Authorization": {"Bearer " + adminToken}})
			if err != nil {
				t.Fatalf("dial: %v %v", err, resp)
			}
			defer conn.Close()
			if conn.Subprotocol() != tt.protocol {
				t.Fatalf("subprotocol %q", conn.Subprotocol())
			}
			var got strings.Builder
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					if !websocket.IsCloseError(err, websocket.CloseNormalClosure) && !errors.Is(err, io.EOF) {
						t.Fatalf("read: %v", err)
					}
					break
				}
				got.WriteString(tt.decode(msg))
			}
			if got.String() != "first\nsecond\n" {
				t.Fatalf("log %q", got.String())
			}
		})
	}
}

// TestNodeProxy: nodes/NAME/proxy reaches the node's agent with the server's token, not
// the client's; another port of the node's address is refused when that address is
// loopback, and so is a pod whose IP is loopback: neither may turn the API server into a
// client of its own host.
func TestNodeProxy(t *testing.T) {
	agent := startFakeAgent(t)
	s, cfg := newProxyServer(t, true)
	cs := kubernetes.NewForConfigOrDie(cfg)
	setUpPods(t, s, cs, agent.URL)
	ctx := context.Background()
	raw := func(path string) ([]byte, error) {
		res := cs.CoreV1().RESTClient().Get().AbsPath(path).Do(ctx)
		if err := res.Error(); err != nil {
			return nil, err
		}
		return res.Raw()
	}
	body, err := raw("/api/v1/nodes/n1/proxy/containerLogs/default/p1/c")
	if err != nil || string(body) != "first\nsecond\n" {
		t.Fatalf("nodes/n1/proxy/containerLogs: %q, %v", body, err)
	}
	if got := agent.last(); got != "GET /containerLogs/default/p1/c "+serverCN {
		t.Fatalf("the agent got %q", got)
	}
	_, agentPort, _ := net.SplitHostPort(strings.TrimPrefix(agent.URL, "https://"))
	if _, err := raw("/api/v1/nodes/n1:" + agentPort + "/proxy/containerLogs/default/p1/c"); err != nil {
		t.Fatalf("the agent's port named: %v", err)
	}
	if _, err := raw("/api/v1/nodes/n1:2379/proxy/"); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "address not allowed") {
		t.Fatalf("another port of a loopback node: %v", err)
	}
	if _, err := raw("/api/v1/nodes/n2/proxy/"); !apierrors.IsNotFound(err) {
		t.Fatalf("a node that does not exist: %v", err)
	}

	pod, err := cs.CoreV1().Pods("default").Get(ctx, "p1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.PodIP, pod.Status.PodIPs = "127.0.0.1", []corev1.PodIP{{IP: "127.0.0.1"}}
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw("/api/v1/namespaces/default/pods/p1:2379/proxy/"); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "address not allowed") {
		t.Fatalf("a pod on loopback: %v", err)
	}
}

// roundTripError is a transport that fails every request with its error.
type roundTripError struct{ err error }

func (e roundTripError) RoundTrip(*http.Request) (*http.Response, error) { return nil, e.err }
