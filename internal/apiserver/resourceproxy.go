package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/httpstream"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/utils/ptr"
)

// proxyTransport carries proxy requests to pods, to services' endpoints and to nodes'
// ports other than the agent's. A pod's https certificate is not checked, as upstream's
// proxy transport does not check it: nothing vouches for it.
var proxyTransport = &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
	TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
	TLSHandshakeTimeout: dialTimeout,
	MaxIdleConnsPerHost: 2,
}

// dialTimeout bounds connecting to a pod.
const dialTimeout = 10 * time.Second

// serveProxy serves the proxy subresource of pods, services and nodes as upstream does:
//
//	pods/[SCHEME:]NAME[:PORT]/proxy/PATH      the pod's IP, on PORT (by default the first
//	                                         port its containers declare)
//	services/[SCHEME:]NAME[:PORT]/proxy/PATH one ready endpoint of the Service behind
//	                                         the port PORT names (a name, or a number)
//	nodes/[SCHEME:]NAME[:PORT]/proxy/PATH    the node's agent, or another port of the
//	                                         node's address
//
// The request, with the rest of its path and its query, goes there over SCHEME (http
// unless https); the client's credentials stay here. Upstream's handler does the rest:
// upgrades, a redirect to .../proxy/ for a GET without a path, and links in HTML pages
// rewritten to come back through the API server.
func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	gr := res.groupResource()
	var (
		loc     *url.URL
		rt      http.RoundTripper
		toAgent bool
		node    string // the node's name, without the scheme and port nodes/NAME:PORT/proxy may give
		err     error
	)
	switch {
	case res.info.Group != "":
	case res.info.Resource == "pods":
		loc, err = s.podLocation(r.Context(), res, ri)
		rt = proxyTransport
	case res.info.Resource == "services":
		loc, err = s.serviceLocation(r.Context(), res, ri)
		rt = proxyTransport
	case res.info.Resource == "nodes":
		loc, toAgent, err = s.nodeLocation(r.Context(), ri.Name)
		rt = proxyTransport
		if _, node, _, _ = utilnet.SplitSchemeNamePort(ri.Name); toAgent {
			rt = s.cfg.NodeTransport(node)
		}
	}
	if loc == nil && err == nil {
		err = apierrors.NewNotFound(gr, ri.Name)
	}
	if err != nil {
		s.writeError(w, r, err, gr, ri.Name)
		return
	}
	loc.Path = utilnet.JoinPreservingTrailingSlash(loc.Path, ri.ProxyPath)
	out := withoutCredentials(r)
	if toAgent && httpstream.IsUpgradeRequest(out) {
		// The agent is reached through the server's own dialer, with its own
		// certificate.
		s.proxyUpgrade(w, out, node, loc)
		return
	}
	h := proxy.NewUpgradeAwareHandler(loc, rt, true, false, proxyResponder{s: s, gr: gr, name: ri.Name})
	h.ServeHTTP(w, out)
}

// podLocation is where a pod proxy request goes.
func (s *Server) podLocation(ctx context.Context, res *resource, ri requestInfo) (*url.URL, error) {
	scheme, name, port, ok := utilnet.SplitSchemeNamePort(ri.Name)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid pod request %q", ri.Name))
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid pod request %q", ri.Name))
		}
	}
	obj := res.newStored()
	if err := s.cfg.Store.Get(ctx, res.key(ri.Namespace, name), obj); err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("pods are stored as %T", obj)
	}
	if port == "" {
		for _, c := range pod.Spec.Containers {
			if len(c.Ports) > 0 {
				port = strconv.Itoa(int(c.Ports[0].ContainerPort))
				break
			}
		}
	}
	if pod.Status.PodIP == "" {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("pod %s has no IP address yet", name))
	}
	if err := proxyable(ctx, pod.Status.PodIP); err != nil {
		return nil, err
	}
	host := pod.Status.PodIP
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return &url.URL{Scheme: orHTTP(scheme), Host: host}, nil
}

// serviceLocation is where a service proxy request goes: a ready endpoint, picked at
// random, of the port the request names, that is a pod of the Service's namespace.
func (s *Server) serviceLocation(ctx context.Context, res *resource, ri requestInfo) (*url.URL, error) {
	scheme, name, port, ok := utilnet.SplitSchemeNamePort(ri.Name)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid service request %q", ri.Name))
	}
	if n, err := strconv.Atoi(port); err == nil {
		// A number names the Service's port with that number.
		obj := res.newStored()
		if err := s.cfg.Store.Get(ctx, res.key(ri.Namespace, name), obj); err != nil {
			return nil, err
		}
		svc, ok := obj.(*corev1.Service)
		if !ok {
			return nil, fmt.Errorf("services are stored as %T", obj)
		}
		found := false
		for _, p := range svc.Spec.Ports {
			if int(p.Port) == n {
				port, found = p.Name, true
				break
			}
		}
		if !found {
			return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %d found for service %q", n, name))
		}
	}
	noEndpoints := apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
	slicesRes, podsRes := s.resourceFor(schema.GroupResource{Group: discoveryv1.GroupName, Resource: "endpointslices"}), s.resourceFor(schema.GroupResource{Resource: "pods"})
	if slicesRes == nil || podsRes == nil {
		return nil, noEndpoints
	}
	objs, _, err := slicesRes.cache.List(ctx, slicesRes.prefix(ri.Namespace), 0, func(o runtime.Object) bool {
		sl, ok := o.(*discoveryv1.EndpointSlice)
		return ok && sl.Labels[discoveryv1.LabelServiceName] == name
	})
	if err != nil {
		return nil, err
	}
	isPod := func(ep *discoveryv1.Endpoint) bool {
		ref := ep.TargetRef
		if ref == nil || ref.Kind != "Pod" || ref.Namespace != ri.Namespace || len(ep.Addresses) == 0 {
			return false
		}
		obj, ok := podsRes.cache.Get(podsRes.key(ref.Namespace, ref.Name))
		pod, _ := obj.(*corev1.Pod)
		if !ok || pod == nil {
			return false
		}
		for _, ip := range pod.Status.PodIPs {
			if ip.IP == ep.Addresses[0] {
				return true
			}
		}
		return false
	}
	// Slices in random order, and in each a random first endpoint, as upstream picks.
	for _, i := range rand.Perm(len(objs)) {
		sl := objs[i].(*discoveryv1.EndpointSlice)
		if sl.AddressType != discoveryv1.AddressTypeIPv4 && sl.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		for _, p := range sl.Ports {
			if p.Port == nil || ptr.Deref(p.Name, "") != port || len(sl.Endpoints) == 0 {
				continue
			}
			offset := rand.IntN(len(sl.Endpoints))
			for j := range sl.Endpoints {
				ep := &sl.Endpoints[(j+offset)%len(sl.Endpoints)]
				if (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) || !isPod(ep) {
					continue
				}
				return &url.URL{Scheme: orHTTP(scheme), Host: net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*p.Port)))}, nil
			}
		}
	}
	return nil, noEndpoints
}

// nodeLocation is where a node proxy request goes: the node's agent when the request
// names no port or the agent's (toAgent), else that port of the node's address.
func (s *Server) nodeLocation(ctx context.Context, id string) (loc *url.URL, toAgent bool, err error) {
	scheme, name, port, ok := utilnet.SplitSchemeNamePort(id)
	if !ok {
		return nil, false, apierrors.NewBadRequest(fmt.Sprintf("invalid node request %q", id))
	}
	agent, err := s.agentAddress(name)
	if err != nil {
		return nil, false, err
	}
	host, agentPort, _ := net.SplitHostPort(agent)
	if port == "" || port == agentPort {
		return &url.URL{Scheme: "https", Host: agent}, true, nil
	}
	if err := proxyable(ctx, host); err != nil {
		return nil, false, err
	}
	return &url.URL{Scheme: orHTTP(scheme), Host: net.JoinHostPort(host, port)}, false, nil
}

// proxyable refuses, as upstream does, to proxy to loopback and link-local addresses:
// they would reach the API server's own host.
func proxyable(ctx context.Context, host string) error {
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil || len(addrs) == 0 {
			return apierrors.NewBadRequest(fmt.Sprintf("no addresses for hostname %q", host))
		}
		ips = ips[:0]
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsUnspecified() {
			return apierrors.NewBadRequest("address not allowed")
		}
	}
	return nil
}

// withoutCredentials is r without the client's credentials and impersonation headers,
// which are the API server's business only.
func withoutCredentials(r *http.Request) *http.Request {
	out := r.WithContext(r.Context())
	out.Header = r.Header.Clone()
	for h := range out.Header {
		if h == "Authorization" || strings.HasPrefix(h, "Impersonate-") {
			out.Header.Del(h)
		}
	}
	return out
}

// proxyResponder answers a failed proxy request with an API error.
type proxyResponder struct {
	s    *Server
	gr   schema.GroupResource
	name string
}

func (p proxyResponder) Error(w http.ResponseWriter, r *http.Request, err error) {
	if _, ok := err.(apierrors.APIStatus); !ok {
		err = apierrors.NewServiceUnavailable("error trying to reach service: " + err.Error())
	}
	p.s.writeError(w, r, err, p.gr, p.name)
}

func orHTTP(scheme string) string {
	if scheme == "" {
		return "http"
	}
	return scheme
}
