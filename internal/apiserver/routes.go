package apiserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/connlimit"
	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/warning"
)

// userFrom returns the authenticated user of a request's context.
func userFrom(ctx context.Context) *auth.User { return auth.UserFrom(ctx) }

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range []string{"/healthz", "/livez"} {
		mux.HandleFunc(p, s.serveHealth)
		mux.HandleFunc(p+"/", s.serveHealth)
	}
	mux.HandleFunc("/readyz", s.serveReady)
	mux.HandleFunc("/readyz/", s.serveReady)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, mediaJSON, s.cfg.Version) })
	mux.HandleFunc("/version/", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, mediaJSON, s.cfg.Version) })
	mux.Handle("/metrics", s.metrics.handler())
	mux.HandleFunc("/api", s.serveAPI)
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/apis", s.serveAPIs)
	mux.HandleFunc("/apis/", s.serveAPIs)
	// /api/v1 and /apis/GROUP are served directly, not redirected to their subtrees.
	mux.HandleFunc("/api/v1", s.serveResource)
	mux.HandleFunc("/api/v1/", s.serveResource)
	groups := map[string]bool{}
	for _, gv := range s.builtin.groups {
		if gv.Group != "" && !groups[gv.Group] {
			groups[gv.Group] = true
			mux.HandleFunc("/apis/"+gv.Group, s.serveResource)
			mux.HandleFunc("/apis/"+gv.Group+"/", s.serveResource)
		}
	}
	if s.cfg.OpenAPI != nil {
		s.cfg.OpenAPI.Install(mux)
	}
	s.serveOIDC(mux)
	return mux
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if err := s.checkStore(r.Context()); err != nil {
		http.Error(w, "[-]etcd failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// serveReady answers ok once the server has finished starting (MarkReady) and etcd
// answers.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "[-]poststarthook/podium-bootstrap failed: not finished", http.StatusInternalServerError)
		return
	}
	s.serveHealth(w, r)
}

// MarkReady makes /readyz answer ok: the server's own start-up work is done.
func (s *Server) MarkReady() { s.ready.Store(true) }

func (s *Server) checkStore(ctx context.Context) error {
	_, err := s.cfg.Store.Revision(ctx)
	return err
}

// authenticate finds the user of each request. A request without credentials is the
// anonymous user's, who may only read the health checks and the version (403 for
// anything else); one with credentials that are not valid gets 401. Impersonation
// headers then make the request another user's, when its user may impersonate that one.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u *auth.User
		ok := false
		if s.cfg.Authenticator != nil {
			u, ok = s.cfg.Authenticator.Authenticate(r)
		}
		if !ok {
			release, ok := take(s.inFlight.anonymous)
			if !ok {
				s.tooManyRequests(w, r)
				return
			}
			defer release()
			// The connection closes after the answer: a client without credentials may
			// not keep one open.
			w.Header().Set("Connection", "close")
			if r.Header.Get("Authorization") != "" {
				s.metrics.observe("unauthenticated", "", "", http.StatusUnauthorized, 0)
				s.writeError(w, r, apierrors.NewUnauthorized("Unauthorized"), schema.GroupResource{}, "")
				return
			}
			anon := auth.Anonymous()
			if (r.Method == http.MethodGet || r.Method == http.MethodHead) && auth.PublicPath(r.URL.Path) {
				next.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), anon)))
				return
			}
			s.metrics.observe("unauthenticated", "", "", http.StatusForbidden, 0)
			s.writeError(w, r, forbidden(anon, r), schema.GroupResource{}, "")
			return
		}
		connlimit.Prove(r.Context())
		release, ok := take(s.inFlight.pool(r))
		if !ok {
			s.tooManyRequests(w, r)
			return
		}
		defer release()
		u, err := s.impersonate(r, u)
		if err != nil {
			s.writeError(w, r, err, schema.GroupResource{}, "")
			return
		}
		if adminOnly(r.URL.Path) && !isMaster(u) {
			s.writeError(w, r, apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("user %q cannot get path %q", u.Name, r.URL.Path)), schema.GroupResource{}, "")
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), u)))
	})
}

// forbidden is the 403 of a request u may not make, worded as upstream's.
func forbidden(u *auth.User, r *http.Request) error {
	ri, ok := parseRequest(r)
	if !ok {
		return apierrors.NewForbidden(schema.GroupResource{}, "", errors.New(auth.Refusal(u, auth.Attributes{Verb: strings.ToLower(r.Method), Path: r.URL.Path})))
	}
	a := auth.Attributes{Verb: ri.Verb, Group: ri.Group, Resource: ri.Resource, Subresource: ri.Subresource, Namespace: ri.Namespace, Name: ri.Name}
	return apierrors.NewForbidden(schema.GroupResource{Group: ri.Group, Resource: ri.Resource}, ri.Name, errors.New(auth.Refusal(u, a)))
}

// adminOnly reports whether a non-resource path is for cluster admins only: metrics and
// profiles say too much about the cluster for a node credential.
func adminOnly(path string) bool {
	return path == "/metrics" || strings.HasPrefix(path, "/debug/")
}

func isMaster(u *auth.User) bool {
	for _, g := range u.Groups {
		if g == auth.MastersGroup {
			return true
		}
	}
	return false
}

// serveResource dispatches a resource URL to the handler of its verb.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	if gv, ok := s.aggregatedVersion(r.URL.Path); ok {
		s.proxyAggregated(w, r, gv)
		return
	}
	r = r.WithContext(warning.NewContext(r.Context())) // admission's warnings
	ri, ok := parseRequest(r)
	if !ok {
		if s.serveGroupPath(w, r) {
			return
		}
		http.NotFound(w, r) // a path nothing serves: upstream's plain 404
		return
	}
	res, ok := s.lookup(ri)
	if !ok && (s.serveReview(w, r, ri) || s.serveReadOnly(w, r, ri)) {
		return
	}
	if !ok || (ri.Subresource != "" && !hasSubresource(res, ri.Subresource)) {
		if ri.Name == "" && s.serveGroupPath(w, r) {
			return
		}
		http.NotFound(w, r)
		return
	}
	if res.info.Namespaced && ri.Namespace == "" && ri.Verb != "list" && ri.Verb != "watch" {
		// Across all namespaces only reads are served, as upstream.
		s.methodNotAllowed(w, r, res, ri)
		return
	}
	if !res.info.Namespaced && ri.Namespace != "" {
		s.writeError(w, r, apierrors.NewNotFound(res.groupResource(), ri.Name), res.groupResource(), ri.Name)
		return
	}
	rw := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	start := s.clock.Now()
	defer func() {
		s.metrics.observe(ri.Verb, ri.Resource, ri.Subresource, rw.code, s.clock.Since(start))
	}()
	w = rw

	if az := s.cfg.Authorizer; az != nil {
		u := userFrom(r.Context())
		allowed, reason := az.Authorize(r.Context(), u, ri.attributes(r))
		if !allowed {
			s.writeError(w, r, apierrors.NewForbidden(res.groupResource(), ri.Name, errorString(reason)), res.groupResource(), ri.Name)
			return
		}
	}

	switch ri.Subresource {
	case "":
	case "status":
		switch ri.Verb {
		case "get":
			s.get(w, r, res, ri)
		case "update":
			s.update(w, r, res, ri)
		case "patch":
			s.patch(w, r, res, ri)
		default:
			s.methodNotAllowed(w, r, res, ri)
		}
		return
	case "finalize", "ephemeralcontainers", "resize", "approval":
		_, ok := res.strategy.(registry.SubresourceWriter)
		switch {
		case !ok:
			s.writeError(w, r, apierrors.NewNotFound(res.groupResource(), ri.Name), res.groupResource(), ri.Name)
		case !slices.Contains(subresourceShapes[ri.Subresource].verbs, ri.Verb):
			s.methodNotAllowed(w, r, res, ri)
		case ri.Verb == "get":
			s.get(w, r, res, ri)
		case ri.Verb == "update":
			s.update(w, r, res, ri)
		default:
			s.patch(w, r, res, ri)
		}
		return
	case "scale":
		s.scale(w, r, res, ri)
		return
	case "token":
		s.createToken(w, r, res, ri)
		return
	case "proxy":
		s.serveProxy(w, r, res, ri)
		return
	case "binding":
		if ri.Verb == "create" {
			s.bind(w, r, res, ri)
			return
		}
		s.methodNotAllowed(w, r, res, ri)
		return
	case "eviction":
		if ri.Verb == "create" {
			s.evict(w, r, res, ri)
			return
		}
		s.methodNotAllowed(w, r, res, ri)
		return
	default:
		if res.info.Group == "" && res.info.Resource == "pods" && nodeSubresources[ri.Subresource] {
			s.proxyToNode(w, r, res, ri)
			return
		}
		s.writeError(w, r, apierrors.NewServiceUnavailable("the "+ri.Subresource+" subresource is not served"), res.groupResource(), ri.Name)
		return
	}
	switch ri.Verb {
	case "get":
		s.get(w, r, res, ri)
	case "list":
		s.list(w, r, res, ri)
	case "watch":
		s.watch(w, r, res, ri)
	case "create":
		if ri.Name != "" {
			s.methodNotAllowed(w, r, res, ri)
			return
		}
		s.create(w, r, res, ri)
	case "update":
		s.update(w, r, res, ri)
	case "patch":
		s.patch(w, r, res, ri)
	case "delete":
		s.delete(w, r, res, ri)
	case "deletecollection":
		s.deleteCollection(w, r, res, ri)
	default:
		s.methodNotAllowed(w, r, res, ri)
	}
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	s.writeError(w, r, apierrors.NewMethodNotSupported(res.groupResource(), ri.Verb), res.groupResource(), ri.Name)
}

func hasSubresource(res *resource, sub string) bool {
	for _, s := range res.info.Subresources {
		if s == sub {
			return true
		}
	}
	return false
}

type errorString string

func (e errorString) Error() string { return string(e) }

// statusRecorder remembers the status code written, for metrics; it passes Flush and
// Hijack through for watches and upgrades.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection over for an upgrade (libraries such as
// x/net/websocket assert http.Hijacker); the status counts as 101.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.code = http.StatusSwitchingProtocols
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
