package apiserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name   string
		method string // GET unless set
		url    string
		want   requestInfo
		wantOK bool
	}{
		// Core group.
		{name: "list cluster-scoped", url: "/api/v1/nodes", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "nodes", Verb: "list"}},
		{name: "get cluster-scoped", url: "/api/v1/nodes/n1", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "nodes", Name: "n1", Verb: "get"}},
		{name: "list in all namespaces", url: "/api/v1/pods", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "pods", Verb: "list"}},
		{name: "list namespaced", url: "/api/v1/namespaces/default/pods", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Verb: "list"}},
		{name: "get namespaced", url: "/api/v1/namespaces/default/pods/p1", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Verb: "get"}},
		{name: "trailing slash", url: "/api/v1/namespaces/default/pods/", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Verb: "list"}},
		{name: "subresource", url: "/api/v1/namespaces/default/pods/p1/status", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Subresource: "status", Verb: "get"}},
		{name: "log subresource", url: "/api/v1/namespaces/default/pods/p1/log?container=c", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Subresource: "log", Verb: "get"}},
		{name: "pod proxy", method: "POST", url: "/api/v1/namespaces/default/pods/p1:8080/proxy/a/b/", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1:8080", Subresource: "proxy", ProxyPath: "/a/b/", Verb: "create"}},
		{name: "pod proxy, no path", url: "/api/v1/namespaces/default/pods/p1/proxy", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Subresource: "proxy", Verb: "get"}},
		{name: "pod proxy, root", url: "/api/v1/namespaces/default/pods/p1/proxy/", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Subresource: "proxy", ProxyPath: "/", Verb: "get"}},
		{name: "more than a subresource", url: "/api/v1/namespaces/default/pods/p1/status/x", wantOK: false},
		{name: "cluster-scoped subresource", method: "PUT", url: "/api/v1/nodes/n1/status", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "nodes", Name: "n1", Subresource: "status", Verb: "update"}},

		// The namespace object itself.
		{name: "list namespaces", url: "/api/v1/namespaces", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "namespaces", Verb: "list"}},
		{name: "get namespace", url: "/api/v1/namespaces/default", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "namespaces", Name: "default", Verb: "get"}},
		{name: "namespace status", method: "PUT", url: "/api/v1/namespaces/ns1/status", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "namespaces", Name: "ns1", Subresource: "status", Verb: "update"}},
		{name: "get namespace status", url: "/api/v1/namespaces/ns1/status", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "namespaces", Name: "ns1", Subresource: "status", Verb: "get"}},
		{name: "namespace finalize", method: "PUT", url: "/api/v1/namespaces/ns1/finalize", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "namespaces", Name: "ns1", Subresource: "finalize", Verb: "update"}},

		// Named groups.
		{name: "group list in all namespaces", url: "/apis/coordination.k8s.io/v1/leases", wantOK: true,
			want: requestInfo{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Verb: "list"}},
		{name: "group get namespaced", url: "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1", wantOK: true,
			want: requestInfo{Group: "coordination.k8s.io", Version: "v1", Namespace: "kube-node-lease", Resource: "leases", Name: "n1", Verb: "get"}},
		{name: "group subresource", method: "PATCH", url: "/apis/apps/v1/namespaces/default/deployments/d/scale", wantOK: true,
			want: requestInfo{Group: "apps", Version: "v1", Namespace: "default", Resource: "deployments", Name: "d", Subresource: "scale", Verb: "patch"}},
		{name: "group cluster-scoped", method: "DELETE", url: "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", wantOK: true,
			want: requestInfo{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles", Name: "admin", Verb: "delete"}},

		// Watches.
		{name: "watch=true", url: "/api/v1/namespaces/default/pods?watch=true", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Verb: "watch"}},
		{name: "watch=1", url: "/api/v1/pods?watch=1&resourceVersion=5", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "pods", Verb: "watch"}},
		{name: "watch=false", url: "/api/v1/pods?watch=false", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "pods", Verb: "list"}},
		{name: "watch=true on a name is a get", url: "/api/v1/namespaces/default/pods/p1?watch=true", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Verb: "get"}},
		{name: "legacy watch path", url: "/api/v1/watch/namespaces/default/pods", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Verb: "watch"}},
		{name: "legacy watch of one object", url: "/api/v1/watch/namespaces/default/pods/p1", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Verb: "watch"}},
		{name: "legacy watch in all namespaces", url: "/api/v1/watch/pods", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "pods", Verb: "watch"}},
		{name: "legacy watch of namespaces", url: "/api/v1/watch/namespaces", wantOK: true,
			want: requestInfo{Version: "v1", Resource: "namespaces", Verb: "watch"}},
		{name: "legacy group watch", url: "/apis/coordination.k8s.io/v1/watch/namespaces/kube-node-lease/leases", wantOK: true,
			want: requestInfo{Group: "coordination.k8s.io", Version: "v1", Namespace: "kube-node-lease", Resource: "leases", Verb: "watch"}},

		// Verbs by method.
		{name: "HEAD", method: "HEAD", url: "/api/v1/namespaces/default/pods/p1", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Verb: "get"}},
		{name: "POST", method: "POST", url: "/api/v1/namespaces/default/pods", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Verb: "create"}},
		{name: "POST subresource", method: "POST", url: "/api/v1/namespaces/default/pods/p1/eviction", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Subresource: "eviction", Verb: "create"}},
		{name: "PUT", method: "PUT", url: "/api/v1/namespaces/default/pods/p1", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Verb: "update"}},
		{name: "PATCH", method: "PATCH", url: "/api/v1/namespaces/default/pods/p1", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Verb: "patch"}},
		{name: "DELETE", method: "DELETE", url: "/api/v1/namespaces/default/pods/p1", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Name: "p1", Verb: "delete"}},
		{name: "DELETE collection", method: "DELETE", url: "/api/v1/namespaces/default/pods", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Verb: "deletecollection"}},
		{name: "OPTIONS", method: "OPTIONS", url: "/api/v1/namespaces/default/pods", wantOK: true,
			want: requestInfo{Version: "v1", Namespace: "default", Resource: "pods", Verb: "other"}},

		// Not resource URLs.
		{name: "api root", url: "/api"},
		{name: "core version", url: "/api/v1"},
		{name: "apis root", url: "/apis"},
		{name: "group", url: "/apis/apps"},
		{name: "group version", url: "/apis/apps/v1"},
		{name: "bare watch", url: "/api/v1/watch"},
		{name: "too deep", url: "/api/v1/namespaces/default/pods/p1/status/extra"},
		{name: "too deep cluster-scoped", url: "/api/v1/nodes/n1/status/extra"},
		{name: "empty name", url: "/api/v1/nodes//status"},
		{name: "empty namespace", url: "/api/v1/namespaces//pods"},
		{name: "empty namespace, named", url: "/api/v1/namespaces//pods/p1"},
		{name: "empty namespace collection delete", method: "DELETE", url: "/api/v1/namespaces//configmaps"},
		{name: "empty namespace status", url: "/api/v1/namespaces//status"},
		{name: "other root", url: "/healthz"},
		{name: "openapi", url: "/openapi/v3/api/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			got, ok := parseRequest(httptest.NewRequest(method, tt.url, nil))
			if ok != tt.wantOK {
				t.Fatalf("parseRequest(%s %s) ok = %v, want %v (%+v)", method, tt.url, ok, tt.wantOK, got)
			}
			if ok && got != tt.want {
				t.Errorf("parseRequest(%s %s) = %+v, want %+v", method, tt.url, got, tt.want)
			}
		})
	}
}

// A list or watch for one name by field selector is authorized as a request for that
// name; other field selectors and invalid names leave it a request for all.
func TestAttributesNameFromFieldSelector(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dextension-apiserver-authentication", "extension-apiserver-authentication"},
		{"/api/v1/namespaces/kube-system/configmaps?watch=true&fieldSelector=metadata.name%3Dx", "x"},
		{"/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%21%3Dx", ""},
		{"/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dx,metadata.namespace%3Dy", "x"},
		{"/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3D..", ""},
		{"/api/v1/namespaces/kube-system/configmaps", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.url, nil)
		ri, ok := parseRequest(r)
		if !ok {
			t.Fatalf("%s: not a resource request", tc.url)
		}
		if a := ri.attributes(r); a.Name != tc.want || a.Resource != "configmaps" {
			t.Errorf("%s: attributes %+v, want name %q", tc.url, a, tc.want)
		}
	}
}
