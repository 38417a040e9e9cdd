package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/configmap"
	"github.com/podium/podium/internal/registry/lease"
	"github.com/podium/podium/internal/registry/namespace"
	"github.com/podium/podium/internal/registry/pod"
	"github.com/podium/podium/internal/storage"
)

const (
	adminToken = "admin-token"
	joinToken  = "join-token"
)

// testServer is a Server on a real etcd, served over TLS on loopback.
type testServer struct {
	*httptest.Server
	api    *Server
	scheme *runtime.Scheme
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	return newTestServerWith(t, nil, nil)
}

// newTestServerWith lets configure change the Config and setup prepare the Server
// before it runs; either may be nil.
func newTestServerWith(t *testing.T, configure func(*Config), setup func(*Server)) *testServer {
	t.Helper()
	client := etcdtest.Start(t)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Store:         storage.New(client, scheme),
		Scheme:        scheme,
		Strategies:    []registry.Strategy{namespace.New(), configmap.New(), pod.New(), lease.New()},
		Authenticator: auth.NewTokens(adminToken, joinToken),
		Logger:        slog.New(slog.DiscardHandler),
	}
	if configure != nil {
		configure(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	// Run's context is the lifetime of the caches, so it ends with the test.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(s.Handler())
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, api: s, scheme: scheme}
}

// request is one HTTP request to the test server.
type request struct {
	method      string // GET unless set
	path        string
	token       string // bearer token; "" sends none
	accept      string
	contentType string
	body        []byte
}

// response is what came back.
type response struct {
	code        int
	contentType string
	body        []byte
	header      http.Header
	closed      bool // the server closes the connection after it
}

func (ts *testServer) do(t *testing.T, req request) response {
	t.Helper()
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequest(method, ts.URL+req.path, bytes.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	if req.accept != "" {
		r.Header.Set("Accept", req.accept)
	}
	if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	client := ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body, header: resp.Header, closed: resp.Close}
}

// mustDo sends req as the admin and fails unless the answer has status want.
func (ts *testServer) mustDo(t *testing.T, want int, req request) response {
	t.Helper()
	if req.token == "" {
		req.token = adminToken
	}
	resp := ts.do(t, req)
	if resp.code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", req.method, req.path, resp.code, want, resp.body)
	}
	return resp
}

func decodeJSON(t *testing.T, resp response, into any) {
	t.Helper()
	if !strings.HasPrefix(resp.contentType, mediaJSON) {
		t.Fatalf("Content-Type %q, want JSON", resp.contentType)
	}
	if err := json.Unmarshal(resp.body, into); err != nil {
		t.Fatalf("decoding %T: %v\n%s", into, err, resp.body)
	}
}

func (ts *testServer) decodeProtobuf(t *testing.T, resp response, into runtime.Object) {
	t.Helper()
	if resp.contentType != mediaProtobuf {
		t.Fatalf("Content-Type %q, want %s", resp.contentType, mediaProtobuf)
	}
	if _, _, err := protobuf.NewSerializer(ts.scheme, ts.scheme).Decode(resp.body, nil, into); err != nil {
		t.Fatalf("decoding %T from protobuf: %v", into, err)
	}
}

func (ts *testServer) createNamespace(t *testing.T, name string) {
	t.Helper()
	body := []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + name + `"}}`)
	ts.mustDo(t, http.StatusCreated, request{method: http.MethodPost, path: "/api/v1/namespaces", contentType: mediaJSON, body: body})
}

func TestServerAuthentication(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		name  string
		path  string
		token string
		want  int
	}{
		// Without credentials a request is anonymous: 403 but for health and version.
		{name: "no token", path: "/api/v1/namespaces", want: http.StatusForbidden},
		{name: "wrong token", path: "/api/v1/namespaces", token: "nope", want: http.StatusUnauthorized},
		{name: "old node token", path: "/api/v1/namespaces", token: "node:n1:" + joinToken, want: http.StatusUnauthorized},
		{name: "no token on discovery", path: "/api", want: http.StatusForbidden},
		{name: "no token on version", path: "/version", want: http.StatusOK},
		{name: "no token on healthz", path: "/healthz", want: http.StatusOK},
		{name: "no token on livez", path: "/livez", want: http.StatusOK},
		{name: "no token on metrics", path: "/metrics", want: http.StatusForbidden},
		{name: "admin", path: "/api/v1/namespaces", token: adminToken, want: http.StatusOK},
		{name: "join token", path: "/api/v1/namespaces", token: joinToken, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ts.do(t, request{path: tt.path, token: tt.token})
			if resp.code != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.code, tt.want, resp.body)
			}
			if tt.want == http.StatusUnauthorized {
				var st metav1.Status
				decodeJSON(t, resp, &st)
				if st.Kind != "Status" || st.Reason != metav1.StatusReasonUnauthorized || st.Code != http.StatusUnauthorized {
					t.Errorf("got %+v, want an Unauthorized Status", st)
				}
			}
			if tt.want == http.StatusForbidden {
				var st metav1.Status
				decodeJSON(t, resp, &st)
				if st.Reason != metav1.StatusReasonForbidden || !strings.Contains(st.Message, `User "system:anonymous" cannot`) {
					t.Errorf("got %+v, want a Forbidden Status naming the anonymous user", st)
				}
			}
		})
	}
}

func TestServerDiscovery(t *testing.T) {
	ts := newTestServer(t)

	t.Run("aggregated core", func(t *testing.T) {
		resp := ts.mustDo(t, http.StatusOK, request{path: "/api", accept: acceptDiscoveryOrJSON})
		if resp.contentType != aggregatedMedia {
			t.Fatalf("Content-Type %q, want %q", resp.contentType, aggregatedMedia)
		}
		var list apidiscoveryv2.APIGroupDiscoveryList
		decodeJSON(t, resp, &list)
		if len(list.Items) != 1 || list.Items[0].Name != "" || len(list.Items[0].Versions) != 1 || list.Items[0].Versions[0].Version != "v1" {
			t.Fatalf("core discovery = %+v, want the core group at v1 only", list.Items)
		}
		var pods *apidiscoveryv2.APIResourceDiscovery
		for i, r := range list.Items[0].Versions[0].Resources {
			if r.Resource == "pods" {
				pods = &list.Items[0].Versions[0].Resources[i]
			}
		}
		if pods == nil {
			t.Fatal("no pods in core discovery")
		}
		if pods.Scope != apidiscoveryv2.ScopeNamespace || pods.ResponseKind == nil || pods.ResponseKind.Kind != "Pod" {
			t.Errorf("pods = %+v", pods)
		}
		var status bool
		for _, sub := range pods.Subresources {
			status = status || sub.Subresource == "status"
		}
		if !status {
			t.Errorf("pods subresources %+v lack status", pods.Subresources)
		}
	})

	t.Run("aggregated groups", func(t *testing.T) {
		resp := ts.mustDo(t, http.StatusOK, request{path: "/apis", accept: acceptDiscoveryOrJSON})
		if resp.contentType != aggregatedMedia {
			t.Fatalf("Content-Type %q, want %q", resp.contentType, aggregatedMedia)
		}
		var list apidiscoveryv2.APIGroupDiscoveryList
		decodeJSON(t, resp, &list)
		// The stored resources' group, and the reviews' (which store nothing).
		if len(list.Items) != 3 || list.Items[0].Name != "coordination.k8s.io" || list.Items[1].Name != "authentication.k8s.io" || list.Items[2].Name != "authorization.k8s.io" {
			t.Fatalf("groups = %+v, want coordination.k8s.io, authentication.k8s.io and authorization.k8s.io", list.Items)
		}
		if rs := list.Items[1].Versions[0].Resources; len(rs) != 2 || rs[0].Resource != "selfsubjectreviews" || rs[1].Resource != "tokenreviews" ||
			!slices.Equal(rs[0].Verbs, []string{"create"}) {
			t.Errorf("authentication.k8s.io resources = %+v, want selfsubjectreviews and tokenreviews", rs)
		}
		if rs := list.Items[0].Versions[0].Resources; len(rs) != 1 || rs[0].Resource != "leases" {
			t.Errorf("coordination.k8s.io resources = %+v, want leases", rs)
		}
	})

	t.Run("plain versions", func(t *testing.T) {
		resp := ts.mustDo(t, http.StatusOK, request{path: "/api", accept: mediaJSON})
		var v metav1.APIVersions
		decodeJSON(t, resp, &v)
		if v.Kind != "APIVersions" || len(v.Versions) != 1 || v.Versions[0] != "v1" {
			t.Errorf("/api = %+v", v)
		}
	})

	t.Run("plain groups", func(t *testing.T) {
		resp := ts.mustDo(t, http.StatusOK, request{path: "/apis", accept: mediaJSON})
		var l metav1.APIGroupList
		decodeJSON(t, resp, &l)
		if len(l.Groups) != 3 || l.Groups[0].Name != "coordination.k8s.io" || l.Groups[0].PreferredVersion.GroupVersion != "coordination.k8s.io/v1" {
			t.Errorf("/apis = %+v", l)
		}
	})

	resourceList := func(t *testing.T, path string) map[string]metav1.APIResource {
		t.Helper()
		resp := ts.mustDo(t, http.StatusOK, request{path: path, accept: mediaJSON})
		var l metav1.APIResourceList
		decodeJSON(t, resp, &l)
		byName := map[string]metav1.APIResource{}
		for _, r := range l.APIResources {
			byName[r.Name] = r
		}
		return byName
	}

	t.Run("legacy core resource list", func(t *testing.T) {
		byName := resourceList(t, "/api/v1")
		for _, name := range []string{"pods", "pods/status", "configmaps", "namespaces", "namespaces/status", "namespaces/finalize"} {
			if _, ok := byName[name]; !ok {
				t.Errorf("/api/v1 lacks %s: %v", name, byName)
			}
		}
		if st := byName["pods/status"]; st.Kind != "Pod" || !st.Namespaced || strings.Join(st.Verbs, ",") != "get,patch,update" {
			t.Errorf("pods/status = %+v", st)
		}
		if ns := byName["namespaces"]; ns.Namespaced {
			t.Error("namespaces listed as namespaced")
		}
	})

	t.Run("legacy group resource list", func(t *testing.T) {
		if _, ok := resourceList(t, "/apis/coordination.k8s.io/v1")["leases"]; !ok {
			t.Error("/apis/coordination.k8s.io/v1 lacks leases")
		}
	})

	t.Run("group", func(t *testing.T) {
		var g metav1.APIGroup
		decodeJSON(t, ts.mustDo(t, http.StatusOK, request{path: "/apis/coordination.k8s.io"}), &g)
		if g.Name != "coordination.k8s.io" || g.PreferredVersion.Version != "v1" {
			t.Errorf("/apis/coordination.k8s.io = %+v", g)
		}
	})

	// Groups and versions the server does not serve are upstream's plain 404, which
	// clients take as "not served" ("the server could not find the requested resource");
	// anything else breaks their discovery.
	for _, tt := range []struct{ method, path string }{
		{path: "/apis/metrics.k8s.io/v1beta1"},
		{path: "/apis/metrics.k8s.io"},
		{path: "/apis/metrics.k8s.io/v1beta1/nodes"},
		{method: http.MethodPost, path: "/apis/example.com/v1/namespaces/default/widgets"},
		{path: "/apis/coordination.k8s.io/v2"},
		{path: "/api/v2"},
		{path: "/api/v1/widgets"},
	} {
		t.Run("unserved "+tt.method+" "+tt.path, func(t *testing.T) {
			resp := ts.mustDo(t, http.StatusNotFound, request{method: tt.method, path: tt.path, accept: acceptDiscoveryOrJSON, contentType: mediaJSON, body: []byte("{}")})
			if string(resp.body) != "404 page not found\n" {
				t.Errorf("got %q, want upstream's plain 404", resp.body)
			}
		})
	}
}

func TestServerConfigMapProtobufAndTable(t *testing.T) {
	ts := newTestServer(t)
	ts.createNamespace(t, "default")

	in := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "cm1", Labels: map[string]string{"app": "x"}},
		Data:       map[string]string{"k": "v"},
		BinaryData: map[string][]byte{"b": {0, 1, 2}},
	}
	var body bytes.Buffer
	if err := protobuf.NewSerializer(ts.scheme, ts.scheme).Encode(in, &body); err != nil {
		t.Fatal(err)
	}
	const path = "/api/v1/namespaces/default/configmaps"
	created := &corev1.ConfigMap{}
	ts.decodeProtobuf(t, ts.mustDo(t, http.StatusCreated, request{
		method: http.MethodPost, path: path, accept: mediaProtobuf, contentType: mediaProtobuf, body: body.Bytes(),
	}), created)
	if created.Name != "cm1" || created.Namespace != "default" || created.UID == "" || created.ResourceVersion == "" {
		t.Fatalf("created %+v", created.ObjectMeta)
	}
	if !equality.Semantic.DeepEqual(created.Data, in.Data) || !equality.Semantic.DeepEqual(created.BinaryData, in.BinaryData) {
		t.Errorf("created data %v %v, want %v %v", created.Data, created.BinaryData, in.Data, in.BinaryData)
	}

	asProtobuf := &corev1.ConfigMap{}
	ts.decodeProtobuf(t, ts.mustDo(t, http.StatusOK, request{path: path + "/cm1", accept: acceptProtobufOrJSON}), asProtobuf)
	asJSON := &corev1.ConfigMap{}
	decodeJSON(t, ts.mustDo(t, http.StatusOK, request{path: path + "/cm1", accept: mediaJSON}), asJSON)
	if !equality.Semantic.DeepEqual(asProtobuf, asJSON) {
		t.Errorf("protobuf GET differs from JSON GET:\nprotobuf %+v\njson     %+v", asProtobuf, asJSON)
	}
	if !equality.Semantic.DeepEqual(created, asProtobuf) {
		t.Errorf("GET differs from what create returned:\ncreated %+v\ngot     %+v", created, asProtobuf)
	}

	for _, tt := range []struct {
		name, path string
	}{
		{name: "list", path: path + "?limit=500"},
		{name: "get", path: path + "/cm1"},
	} {
		t.Run("table "+tt.name, func(t *testing.T) {
			var table metav1.Table
			decodeJSON(t, ts.mustDo(t, http.StatusOK, request{path: tt.path, accept: acceptTable}), &table)
			if table.Kind != "Table" || table.APIVersion != "meta.k8s.io/v1" {
				t.Errorf("got %s %s, want a meta.k8s.io/v1 Table", table.APIVersion, table.Kind)
			}
			if len(table.ColumnDefinitions) == 0 || table.ColumnDefinitions[0].Name != "Name" {
				t.Fatalf("columns %+v, want Name first", table.ColumnDefinitions)
			}
			if len(table.Rows) != 1 || len(table.Rows[0].Cells) != len(table.ColumnDefinitions) || table.Rows[0].Cells[0] != "cm1" {
				t.Fatalf("rows %+v, want one row for cm1", table.Rows)
			}
			var m metav1.PartialObjectMetadata
			if err := json.Unmarshal(table.Rows[0].Object.Raw, &m); err != nil || m.Name != "cm1" || m.Kind != "PartialObjectMetadata" {
				t.Errorf("row object %s (%v), want cm1's metadata", table.Rows[0].Object.Raw, err)
			}
		})
	}

	t.Run("kubectl get accept", func(t *testing.T) {
		var table metav1.Table
		decodeJSON(t, ts.mustDo(t, http.StatusOK, request{path: path, accept: acceptKubectlGet}), &table)
		if table.Kind != "Table" || len(table.Rows) != 1 {
			t.Errorf("got %s with %d rows, want a Table of 1", table.Kind, len(table.Rows))
		}
	})

	t.Run("not acceptable", func(t *testing.T) {
		resp := ts.mustDo(t, http.StatusNotAcceptable, request{path: path + "/cm1", accept: "text/html"})
		var st metav1.Status
		decodeJSON(t, resp, &st)
		if st.Code != http.StatusNotAcceptable {
			t.Errorf("Status %+v, want code 406", st)
		}
	})

	t.Run("table refused on create", func(t *testing.T) {
		body := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm2"}}`)
		ts.mustDo(t, http.StatusNotAcceptable, request{method: http.MethodPost, path: path, accept: acceptTable, contentType: mediaJSON, body: body})
	})

	t.Run("metrics", func(t *testing.T) {
		resp := ts.mustDo(t, http.StatusOK, request{path: "/metrics"})
		for _, want := range []string{
			`apiserver_request_total{code="201",resource="configmaps",subresource="",verb="create"} 1`,
			`apiserver_request_total{code="200",resource="configmaps",subresource="",verb="get"} 3`,
			`apiserver_request_total{code="406",resource="configmaps",subresource="",verb="get"} 1`,
			`apiserver_request_duration_seconds_count{resource="configmaps",subresource="",verb="list"}`,
		} {
			if !strings.Contains(string(resp.body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

func TestServerHealth(t *testing.T) {
	ts := newTestServer(t)
	t.Run("not ready before MarkReady", func(t *testing.T) {
		ts.mustDo(t, http.StatusInternalServerError, request{path: "/readyz"})
	})
	ts.api.MarkReady()
	for _, path := range []string{"/readyz", "/livez", "/healthz", "/readyz/etcd"} {
		t.Run(path, func(t *testing.T) {
			resp := ts.mustDo(t, http.StatusOK, request{path: path})
			if string(resp.body) != "ok" {
				t.Errorf("%s = %q, want ok", path, resp.body)
			}
		})
	}
}
