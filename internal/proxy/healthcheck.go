package proxy

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
)

// healthChecks serves the health check node ports of the LoadBalancer Services with
// externalTrafficPolicy Local, as kube-proxy does, so that a load balancer sends traffic
// only to the nodes that have a ready endpoint of the Service: every request is answered
// 200 when the node has one, else 503, with a JSON body naming the Service and the
// count of its ready endpoints on the node (distinct addresses).
type healthChecks struct {
	listen func(port int32) (net.Listener, error)
	log    *slog.Logger

	mu      sync.Mutex // guards servers and their state
	servers map[int32]*healthServer
}

type healthServer struct {
	srv   *http.Server
	name  types.NamespacedName
	local int
}

func newHealthChecks(log *slog.Logger) *healthChecks {
	return &healthChecks{log: log, servers: map[int32]*healthServer{},
		listen: func(port int32) (net.Listener, error) { return net.Listen("tcp", ":"+strconv.Itoa(int(port))) }}
}

// wantedHealthChecks returns, by health check node port, the Service it checks and its
// ready endpoints on node.
func wantedHealthChecks(in *input) map[int32]healthServer {
	want := map[int32]healthServer{}
	for _, svc := range in.services {
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal ||
			svc.Spec.HealthCheckNodePort == 0 {
			continue
		}
		name := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
		local := map[string]bool{}
		for _, s := range in.slices[name] {
			if s.AddressType != discoveryv1.AddressTypeIPv4 {
				continue
			}
			for _, e := range s.Endpoints {
				if len(e.Addresses) > 0 && e.NodeName != nil && *e.NodeName == in.node && isTrue(e.Conditions.Ready, true) {
					local[e.Addresses[0]] = true
				}
			}
		}
		want[svc.Spec.HealthCheckNodePort] = healthServer{name: name, local: len(local)}
	}
	return want
}

// sync opens the ports of want that are not served yet, closes those no longer
// wanted, and updates the counts. A port that cannot be opened is tried again at the
// next sync.
func (h *healthChecks) sync(want map[int32]healthServer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for port, s := range h.servers {
		if w, ok := want[port]; !ok || w.name != s.name {
			_ = s.srv.Close()
			delete(h.servers, port)
		}
	}
	for port, w := range want {
		if s := h.servers[port]; s != nil {
			s.local = w.local
			continue
		}
		ln, err := h.listen(port)
		if err != nil {
			h.log.Warn("serving a health check node port", "service", w.name, "port", port, "err", err)
			continue
		}
		s := &healthServer{name: w.name, local: w.local}
		s.srv = &http.Server{Handler: h.handler(s), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
		h.servers[port] = s
		go func() { _ = s.srv.Serve(ln) }()
	}
}

func (h *healthChecks) handler(s *healthServer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		name, local := s.name, s.local
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(local))
		if local > 0 {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, `{"service":{"namespace":%q,"name":%q},"localEndpoints":%d,"serviceProxyHealthy":true}`, name.Namespace, name.Name, local)
	})
}

// close stops every health check server.
func (h *healthChecks) close() {
	h.sync(nil)
}
