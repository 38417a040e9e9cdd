package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
)

func TestSubresourcesOf(t *testing.T) {
	for path, want := range map[string][]string{
		"/pods":                      {"pods", "proxy"},
		"/pods/":                     {"pods", "proxy"},
		"/podsx":                     {"proxy"},
		"/healthz":                   {"healthz", "proxy"},
		"/metrics":                   {"metrics"},
		"/metrics/cadvisor":          {"metrics"},
		"/logs/syslog":               {"log"},
		"/stats/summary":             {"stats"},
		"/exec/default/p/c":          {"proxy"},
		"/containerLogs/default/p/c": {"proxy"},
		"/portForward/default/p":     {"proxy"},
		"/checkpoint/default/p/c":    {"checkpoint"},
		"/debug/pprof/":              {"proxy"},
		"/configz":                   {"configz", "proxy"},
		"/runningpods/":              {"pods", "proxy"},
	} {
		if got := subresourcesOf(path); !slices.Equal(got, want) {
			t.Errorf("subresourcesOf(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestGuard: no certificate is 401; a user the API server refuses is 403 with the
// kubelet's message; answers are kept for their time, the refusals shorter.
func TestGuard(t *testing.T) {
	var asked int
	now := time.Unix(1000, 0)
	g := &guard{node: "n1", now: func() time.Time { return now }, cache: map[string]verdict{},
		reviews: func(_ context.Context, sar *authorizationv1.SubjectAccessReview) (*authorizationv1.SubjectAccessReview, error) {
			asked++
			a := sar.Spec.ResourceAttributes
			if a.Name != "n1" || a.Resource != "nodes" {
				t.Errorf("asked about %+v", a)
			}
			sar.Status.Allowed = sar.Spec.User == "apiserver" && a.Subresource == "proxy" && a.Verb == "create"
			return sar, nil
		}}
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	do := func(user, method, path string) (int, string) {
		r := httptest.NewRequest(method, path, nil)
		if user != "" {
			r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{Subject: pkix.Name{CommonName: user}}}}}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	if code, _ := do("", "POST", "/exec/default/p/c"); code != http.StatusUnauthorized {
		t.Errorf("no certificate: %d", code)
	}
	if code, body := do("apiserver", "POST", "/exec/default/p/c"); code != http.StatusOK || body != "ok" {
		t.Errorf("the API server's exec: %d %s", code, body)
	}
	code, body := do("system:node:n2", "GET", "/pods")
	if code != http.StatusForbidden || body != "Forbidden (user=system:node:n2, verb=get, resource=nodes, subresource(s)=[pods proxy])\n" {
		t.Errorf("another node: %d %q", code, body)
	}
	before := asked
	do("apiserver", "POST", "/exec/default/p/c")
	do("system:node:n2", "GET", "/pods")
	if asked != before {
		t.Errorf("asked again within the cache's time: %d more", asked-before)
	}
	now = now.Add(deniedTTL + time.Second)
	do("apiserver", "POST", "/exec/default/p/c")
	do("system:node:n2", "GET", "/pods")
	if asked != before+2 {
		t.Errorf("after the refusals' time: %d more questions, want 2 (the refusal's two subresources)", asked-before)
	}
}
