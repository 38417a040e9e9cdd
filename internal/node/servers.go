package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// servers is the agent's list of API servers, as k3s's agent load balancer keeps it:
// the one it was given, then every one the kubernetes Service's endpoints list. Its
// connections go to the current server; a dial that fails tries the next ones, so
// that the agent goes on through another server when its own dies. Every server's
// certificate names "kubernetes", which the agent checks instead of the address.
type servers struct {
	log *slog.Logger

	mu      sync.Mutex
	list    []string // host:port, the given one first
	current int
}

// serverName is the name every server's certificate carries, checked whatever server
// a connection reaches.
const serverName = "kubernetes"

// dialTimeout bounds each try, so that a dead server costs seconds, not minutes.
const dialTimeout = 3 * time.Second

func newServers(serverURL string, log *slog.Logger) (*servers, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want https://HOST:PORT", serverURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	return &servers{log: log, list: []string{host}}, nil
}

// Addresses returns the servers, the current one first.
func (s *servers) Addresses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(slices.Clone(s.list[s.current:]), s.list[:s.current]...)
}

// DialContext connects to the current server, or else to the first of the others
// that answers, which becomes the current one. The address asked for is ignored: it is
// always the URL's, whichever server serves.
func (s *servers) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	var errs []error
	for _, addr := range s.Addresses() {
		d := net.Dialer{Timeout: dialTimeout}
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			s.use(addr)
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (s *servers) use(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.list, addr); i >= 0 && i != s.current {
		s.log.Info("API server changed", "server", addr, "was", s.list[s.current])
		s.current = i
	}
}

// set replaces the servers learned from the endpoints, keeping the given one first
// and the current one current.
func (s *servers) set(addrs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.list[s.current]
	next := []string{s.list[0]}
	for _, a := range addrs {
		if !slices.Contains(next, a) {
			next = append(next, a)
		}
	}
	if slices.Equal(next, s.list) {
		return
	}
	s.list = next
	s.current = max(0, slices.Index(next, cur))
}

// watch keeps the list as the kubernetes Service's EndpointSlice says, until ctx ends.
func (s *servers) watch(ctx context.Context, client kubernetes.Interface) error {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(metav1.NamespaceDefault),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", "kubernetes").String()
		}))
	update := func(obj any) {
		if es, ok := obj.(*discoveryv1.EndpointSlice); ok {
			s.set(sliceAddresses(es))
		}
	}
	if _, err := f.Discovery().V1().EndpointSlices().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: update, UpdateFunc: func(_, obj any) { update(obj) },
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	go func() { <-ctx.Done(); f.Shutdown() }()
	return nil
}

// sliceAddresses returns the ready endpoints of the kubernetes Service as host:port.
func sliceAddresses(es *discoveryv1.EndpointSlice) []string {
	var port int32
	for _, p := range es.Ports {
		if p.Port != nil && (p.Name == nil || *p.Name == "https") {
			port = *p.Port
		}
	}
	if port == 0 {
		return nil
	}
	var out []string
	for _, e := range es.Endpoints {
		if e.Conditions.Ready != nil && !*e.Conditions.Ready {
			continue
		}
		for _, a := range e.Addresses {
			out = append(out, net.JoinHostPort(a, strconv.Itoa(int(port))))
		}
	}
	return out
}
