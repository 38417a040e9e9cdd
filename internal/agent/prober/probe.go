package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Result is the outcome of one probe.
type Result int

// Results of a probe; Warning counts as success (a redirect to another host).
const (
	Success Result = iota
	Warning
	Failure
)

// Execer runs a command in a container, as runtime.Runtime.ExecSync does.
type Execer interface {
	ExecSync(ctx context.Context, containerID string, cmd []string, timeoutSeconds int64) (stdout, stderr []byte, exitCode int32, err error)
}

// Target is what a probe runs against.
type Target struct {
	PodIP       string
	ContainerID string
	Container   *corev1.Container
	// HTTP makes httpGet probes; nil means a client of the probe's own.
	HTTP *http.Client
}

// NewHTTPClient returns the client httpGet probes share: no keep-alives (every probe
// opens its own connection, as upstream's), no certificate checks, and redirects
// followed on the same host only; one to another host ends the probe with a warning.
func NewHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Hostname() != via[0].URL.Hostname() {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		},
	}
}

// maxBody is how much of a response or an exec output a probe keeps for its message.
const maxBody = 10 * 1024

// Run runs one probe handler with its timeout and returns the result and, for a failure,
// the message upstream's kubelet puts in the Unhealthy event.
func Run(ctx context.Context, p *corev1.Probe, t Target, exec Execer) (Result, string) {
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		return probeHTTP(ctx, p.HTTPGet, t)
	case p.TCPSocket != nil:
		return probeTCP(ctx, p.TCPSocket, t)
	case p.Exec != nil:
		return probeExec(ctx, p.Exec, t, exec, p.TimeoutSeconds)
	case p.GRPC != nil:
		return probeGRPC(ctx, p.GRPC, t)
	}
	return Failure, "missing probe handler"
}

// port resolves a probe port given by number or by the container's port name.
func port(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("couldn't find port %q in container %q", p.StrVal, c.Name)
}

// NewRequest builds the GET request of an httpGet probe or lifecycle hook, as
// upstream's kubelet does for both: to the action's host or else podIP, with its
// headers (a Host header sets the request's host), User-Agent "kube-<agent>/1.37" and
// Accept "*/*" unless the action sets them (an empty Accept removes it).
func NewRequest(ctx context.Context, h *corev1.HTTPGetAction, c *corev1.Container, podIP, agent string) (*http.Request, error) {
	p, err := port(h.Port, c)
	if err != nil {
		return nil, err
	}
	host := h.Host
	if host == "" {
		host = podIP
	}
	scheme := strings.ToLower(string(h.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := h.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(p))}
	if pu, err := url.Parse(path); err == nil {
		u.Path, u.RawQuery = pu.Path, pu.RawQuery
	} else {
		u.Path = path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for _, hd := range h.HTTPHeaders {
		if strings.EqualFold(hd.Name, "Host") {
			req.Host = hd.Value
			continue
		}
		req.Header.Add(hd.Name, hd.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", "kube-"+agent+"/1.37")
	}
	if v, ok := req.Header["Accept"]; !ok {
		req.Header.Set("Accept", "*/*")
	} else if len(v) == 1 && v[0] == "" {
		req.Header.Del("Accept")
	}
	return req, nil
}

func probeHTTP(ctx context.Context, h *corev1.HTTPGetAction, t Target) (Result, string) {
	req, err := NewRequest(ctx, h, t.Container, t.PodIP, "probe")
	if err != nil {
		return Failure, err.Error()
	}
	client := t.HTTP
	if client == nil {
		client = NewHTTPClient()
	}
	resp, err := client.Do(req)
	if err != nil {
		return Failure, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return Warning, fmt.Sprintf("Probe terminated redirects, Response body: %v", string(body))
		}
		return Success, ""
	}
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)
}

func probeTCP(ctx context.Context, s *corev1.TCPSocketAction, t Target) (Result, string) {
	p, err := port(s.Port, t.Container)
	if err != nil {
		return Failure, err.Error()
	}
	host := s.Host
	if host == "" {
		host = t.PodIP
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(p)))
	if err != nil {
		return Failure, err.Error()
	}
	conn.Close()
	return Success, ""
}

func probeExec(ctx context.Context, e *corev1.ExecAction, t Target, exec Execer, timeout int32) (Result, string) {
	if exec == nil {
		return Failure, "no runtime to exec in"
	}
	out, errOut, code, err := exec.ExecSync(ctx, t.ContainerID, e.Command, int64(timeout))
	output := string(append(out, errOut...))
	if len(output) > maxBody {
		output = output[:maxBody]
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return Failure, fmt.Sprintf("command %q timed out", strings.Join(e.Command, " "))
	}
	if err != nil {
		return Failure, err.Error()
	}
	if code != 0 {
		if output == "" {
			return Failure, fmt.Sprintf("command %q exited with %d", strings.Join(e.Command, " "), code)
		}
		return Failure, output
	}
	return Success, ""
}

func probeGRPC(ctx context.Context, g *corev1.GRPCAction, t Target) (Result, string) {
	addr := net.JoinHostPort(t.PodIP, strconv.Itoa(int(g.Port)))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent("kube-probe/1.37"))
	if err != nil {
		return Failure, fmt.Sprintf("failed to connect service %q within %v: %v", addr, deadline(ctx), err)
	}
	defer conn.Close()
	service := ""
	if g.Service != nil {
		service = *g.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if ctx.Err() != nil {
			return Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", deadline(ctx))
		}
		return Failure, fmt.Sprintf("error: health rpc probe failed: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus())
	}
	return Success, ""
}

func deadline(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d).Round(time.Second)
	}
	return 0
}
