package apiserver

import (
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Upstream's defaults for requests served at once (--max-requests-inflight and
// --max-mutating-requests-inflight), and podium's share for clients that did not
// authenticate, who get only a 401 but must not take the others' turns.
const (
	defaultReadOnlyInFlight  = 400
	defaultMutatingInFlight  = 200
	defaultAnonymousInFlight = 40
)

// inFlight bounds the requests being served at once, in three pools: reads, writes, and
// unauthenticated requests. Long-running requests (watches, exec, attach, port-forward,
// logs, proxy) take no slot, as upstream.
type inFlight struct {
	readOnly, mutating, anonymous chan struct{}
}

func newInFlight(readOnly, mutating, anonymous int) *inFlight {
	pick := func(n, def int) int {
		if n <= 0 {
			return def
		}
		return n
	}
	return &inFlight{
		readOnly:  make(chan struct{}, pick(readOnly, defaultReadOnlyInFlight)),
		mutating:  make(chan struct{}, pick(mutating, defaultMutatingInFlight)),
		anonymous: make(chan struct{}, pick(anonymous, defaultAnonymousInFlight)),
	}
}

// pool returns the pool an authenticated request counts against, nil for a long-running
// one.
func (f *inFlight) pool(r *http.Request) chan struct{} {
	if ri, ok := parseRequest(r); ok {
		switch ri.Subresource {
		case "exec", "attach", "portforward", "log", "proxy":
			return nil
		}
		if ri.Verb == "watch" {
			return nil
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return f.readOnly
	}
	return f.mutating
}

// take claims a slot of pool and returns its release; false when the pool is full.
func take(pool chan struct{}) (func(), bool) {
	if pool == nil {
		return func() {}, true
	}
	select {
	case pool <- struct{}{}:
		return func() { <-pool }, true
	default:
		return nil, false
	}
}

// tooManyRequests answers a request that found its pool full: 429 with Retry-After, as
// upstream.
func (s *Server) tooManyRequests(w http.ResponseWriter, r *http.Request) {
	s.metrics.observe("throttled", "", "", http.StatusTooManyRequests, 0)
	s.writeError(w, r, apierrors.NewTooManyRequests("Too many requests, please try again later.", 1), schema.GroupResource{}, "")
}
