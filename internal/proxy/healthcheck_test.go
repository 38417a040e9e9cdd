package proxy

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestHealthCheckNodePort: a LoadBalancer Service with externalTrafficPolicy Local
// gets its health check node port served: 200 while the node has a ready endpoint,
// 503 when it has none (a terminating one does not count), and the port is closed
// when the Service goes.
func TestHealthCheckNodePort(t *testing.T) {
	h := newHealthChecks(slog.New(slog.DiscardHandler))
	addrs := map[int32]string{}
	h.listen = func(port int32) (net.Listener, error) { // loopback, on a port of the kernel's choosing
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			addrs[port] = ln.Addr().String()
		}
		return ln, err
	}
	defer h.close()
	lb := func(s *corev1.Service) {
		s.Spec.Type, s.Spec.ExternalTrafficPolicy = corev1.ServiceTypeLoadBalancer, corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.Ports[0].NodePort, s.Spec.HealthCheckNodePort = 30080, 32000
	}
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addrs[32000] + "/healthz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	h.sync(wantedHealthChecks(inputOf([]*corev1.Service{service("web", "10.43.0.10", lb), service("plain", "10.43.0.11")},
		slice("web", 8080, at(ready, "10.42.0.5", testNode), at(ready, "10.42.1.7", "node-2")))))
	if len(addrs) != 1 {
		t.Fatalf("health check ports opened: %v; want only 32000", addrs)
	}
	if code, body := get(); code != http.StatusOK || body != `{"service":{"namespace":"default","name":"web"},"localEndpoints":1,"serviceProxyHealthy":true}` {
		t.Fatalf("with a ready local endpoint: %d %s", code, body)
	}

	h.sync(wantedHealthChecks(inputOf([]*corev1.Service{service("web", "10.43.0.10", lb)},
		slice("web", 8080, at(terminating, "10.42.0.5", testNode), at(ready, "10.42.1.7", "node-2")))))
	if code, body := get(); code != http.StatusServiceUnavailable || body != `{"service":{"namespace":"default","name":"web"},"localEndpoints":0,"serviceProxyHealthy":true}` {
		t.Fatalf("with only a terminating local endpoint: %d %s", code, body)
	}

	h.sync(wantedHealthChecks(inputOf(nil)))
	if code, _ := get(); code != 0 {
		t.Fatalf("the Service is gone, its port still answers %d", code)
	}
}
