package apiserver

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// podProxyTransport carries pod proxy requests. A pod's https certificate is not
// checked, as upstream's proxy transport does not check it: nothing vouches for it.
var podProxyTransport = &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
	TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
	TLSHandshakeTimeout: dialTimeout,
	MaxIdleConnsPerHost: 2,
}

// dialTimeout bounds connecting to a pod.
const dialTimeout = 10 * time.Second

// proxyToPod serves pods/[SCHEME:]NAME[:PORT]/proxy/PATH as upstream does: the request,
// with the rest of its path and its query, goes to the pod's IP on PORT (by default the
// first port its containers declare) over SCHEME (http unless https). The client's
// credentials stay with the API server.
func (s *Server) proxyToPod(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), ri.Name) }
	scheme, name, port, ok := splitSchemeNamePort(ri.Name)
	if !ok {
		fail(apierrors.NewBadRequest(fmt.Sprintf("invalid request %q", ri.Name)))
		return
	}
	obj := res.newStored()
	if err := s.cfg.Store.Get(r.Context(), res.key(ri.Namespace, name), obj); err != nil {
		s.writeError(w, r, err, res.groupResource(), name)
		return
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		fail(fmt.Errorf("pods are stored as %T", obj))
		return
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
		fail(apierrors.NewServiceUnavailable(fmt.Sprintf("pod %s has no IP address yet", name)))
		return
	}
	host := pod.Status.PodIP
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	if scheme == "" {
		scheme = "http"
	}
	target := url.URL{Scheme: scheme, Host: host, Path: ri.ProxyPath, RawQuery: r.URL.RawQuery}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := target
			pr.Out.URL = &u
			pr.Out.Host = host
			for _, h := range []string{"Authorization", "Impersonate-User", "Impersonate-Group", "Impersonate-Uid"} {
				pr.Out.Header.Del(h)
			}
			for h := range pr.Out.Header {
				if strings.HasPrefix(h, "Impersonate-Extra-") {
					pr.Out.Header.Del(h)
				}
			}
		},
		Transport:     podProxyTransport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.writeError(w, r, apierrors.NewServiceUnavailable("error trying to reach service: "+err.Error()), res.groupResource(), name)
		},
	}
	proxy.ServeHTTP(w, r)
}

// splitSchemeNamePort splits "[scheme:]name[:port]"; the scheme may be http or https.
func splitSchemeNamePort(id string) (scheme, name, port string, ok bool) {
	parts := strings.Split(id, ":")
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, port = parts[0], parts[1]
	case 3:
		scheme, name, port = parts[0], parts[1], parts[2]
	default:
		return "", "", "", false
	}
	if name == "" || (scheme != "" && scheme != "http" && scheme != "https") {
		return "", "", "", false
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", "", "", false
		}
	}
	return scheme, name, port, true
}
