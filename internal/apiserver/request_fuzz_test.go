package apiserver

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseRequest feeds request methods, paths and queries to parseRequest. A path it
// accepts names a resource and a verb; its name and subresource are single non-empty
// path segments, and a subresource belongs to a named object.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []struct{ method, path, query string }{
		{http.MethodGet, "/api/v1/pods", ""},
		{http.MethodGet, "/api/v1/namespaces/default/pods/p/log", "container=c"},
		{http.MethodGet, "/api/v1/watch/namespaces/default/pods", ""},
		{http.MethodGet, "/api/v1/namespaces/default/pods", "watch=1"},
		{http.MethodPut, "/api/v1/namespaces/ns/finalize", ""},
		{http.MethodPatch, "/apis/apps/v1/namespaces/default/deployments/d/scale", ""},
		{http.MethodDelete, "/apis/coordination.k8s.io/v1/namespaces/n/leases", ""},
		{"BREW", "/api/v1/nodes/n/status", ""},
		{http.MethodGet, "/api/v1/watch", ""},
		{http.MethodGet, "/apis/g/v1/watch/namespaces//pods", ""},
		{http.MethodGet, "//api//v1//", "%zz"},
	} {
		f.Add(seed.method, seed.path, seed.query)
	}
	f.Fuzz(func(t *testing.T, method, path, query string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}}
		ri, ok := parseRequest(r)
		if !ok {
			return
		}
		if ri.Resource == "" || ri.Verb == "" {
			t.Fatalf("%s %s: %+v has no resource or verb", method, path, ri)
		}
		for _, seg := range []string{ri.Resource, ri.Name, ri.Subresource} {
			if strings.Contains(seg, "/") {
				t.Fatalf("%s %s: %+v has a segment with a slash", method, path, ri)
			}
		}
		if ri.Subresource != "" && ri.Name == "" {
			t.Fatalf("%s %s: %+v has a subresource of no object", method, path, ri)
		}
	})
}
