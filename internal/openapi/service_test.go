package openapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// startServer serves the OpenAPI of the test resources on a loopback port.
func startServer(t *testing.T, resources []Resource, extra func(mux *http.ServeMux)) *httptest.Server {
	t.Helper()
	s, err := New(resources)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	s.Install(mux)
	if extra != nil {
		extra(mux)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// Redirects are part of what is tested.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServeV3(t *testing.T) {
	srv := startServer(t, testResources(), nil)

	resp, body := get(t, srv.URL+"/openapi/v3", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi/v3: %s", resp.Status)
	}
	var index handler3.OpenAPIV3Discovery
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatalf("index: %v\n%s", err, body)
	}
	var names []string
	for name := range index.Paths {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1", "apis/events.k8s.io/v1"}
	if !slices.Equal(names, want) {
		t.Fatalf("index paths = %v, want %v", names, want)
	}
	url := index.Paths["api/v1"].ServerRelativeURL
	if !strings.HasPrefix(url, "/openapi/v3/api/v1?hash=") {
		t.Fatalf("serverRelativeURL = %q", url)
	}

	resp, body = get(t, srv.URL+url, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %s, %s", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	if got := resp.Header.Get("Cache-Control"); got != "public, immutable" {
		t.Errorf("Cache-Control = %q", got)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("api/v1: %v", err)
	}
	pod := doc.Components.Schemas["io.k8s.api.core.v1.Pod"]
	if pod == nil || pod.Description != (corev1.Pod{}).SwaggerDoc()[""] {
		t.Errorf("api/v1 Pod schema = %+v", pod)
	}
	if doc.Components.Schemas["io.k8s.api.coordination.v1.Lease"] != nil {
		t.Errorf("api/v1 holds the coordination.k8s.io Lease")
	}
	if doc.Paths.Paths["/api/v1/namespaces/{namespace}/pods/{name}"] == nil {
		t.Errorf("api/v1 lacks the pod path")
	}

	resp, _ = get(t, srv.URL+"/openapi/v3/api/v1?hash=stale", nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != url {
		t.Errorf("stale hash: %s to %q, want 301 to %q", resp.Status, resp.Header.Get("Location"), url)
	}

	resp, body = get(t, srv.URL+"/openapi/v3/apis/coordination.k8s.io/v1", map[string]string{
		"Accept": "application/com.github.proto-openapi.spec.v3.v1.0+protobuf",
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("protobuf v3: %s", resp.Status)
	}
	var pb openapi_v3.Document
	if err := proto.Unmarshal(body, &pb); err != nil {
		t.Fatalf("protobuf v3: %v", err)
	}
	if !slices.ContainsFunc(pb.GetComponents().GetSchemas().GetAdditionalProperties(), func(p *openapi_v3.NamedSchemaOrReference) bool {
		return p.Name == "io.k8s.api.coordination.v1.Lease"
	}) {
		t.Errorf("protobuf v3 lacks the Lease schema")
	}

	for _, path := range []string{"/openapi/v3/apis/nope/v1", "/openapi/v3/", "/openapi/v3/api"} {
		if resp, _ := get(t, srv.URL+path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
}

func TestServeV2(t *testing.T) {
	srv := startServer(t, testResources(), nil)
	tests := []struct {
		name, accept, wantType string
		wantCode               int
	}{
		{"json", "application/json", "application/json", http.StatusOK},
		{"no accept", "", "application/json", http.StatusOK},
		{"kubectl protobuf", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", http.StatusOK},
		{"protobuf", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", http.StatusOK},
		{"unacceptable", "text/html", "", http.StatusNotAcceptable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+"/openapi/v2", map[string]string{"Accept": tt.accept})
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %s, want %d", resp.Status, tt.wantCode)
			}
			if tt.wantCode != http.StatusOK {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			etag := resp.Header.Get("Etag")
			if len(etag) < 10 {
				t.Errorf("Etag = %q", etag)
			}
			definitions := map[string]bool{}
			if strings.Contains(tt.wantType, "protobuf") {
				var doc openapi_v2.Document
				if err := proto.Unmarshal(body, &doc); err != nil {
					t.Fatalf("protobuf: %v", err)
				}
				for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
					definitions[d.Name] = true
				}
			} else {
				var doc spec.Swagger
				if err := json.Unmarshal(body, &doc); err != nil {
					t.Fatalf("json: %v", err)
				}
				for name := range doc.Definitions {
					definitions[name] = true
				}
			}
			for _, name := range []string{"io.k8s.api.core.v1.Pod", "io.k8s.api.coordination.v1.Lease", "io.k8s.api.events.v1.Event"} {
				if !definitions[name] {
					t.Errorf("no definition %s", name)
				}
			}
			resp, _ = get(t, srv.URL+"/openapi/v2", map[string]string{"Accept": tt.accept, "If-None-Match": etag})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match: %s, want 304", resp.Status)
			}
		})
	}
}

// TestClientGo reads the documents with client-go and cli-runtime, as kubectl does:
// the v2 protobuf through discovery, the v3 documents through the openapi3 root,
// and the fieldValidation check kubectl makes before apply and create.
func TestClientGo(t *testing.T) {
	srv := startServer(t, testResources(), nil)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	if v2.GetInfo().GetTitle() != docTitle {
		t.Errorf("v2 title = %q", v2.GetInfo().GetTitle())
	}

	root := openapi3.NewRoot(dc.OpenAPIV3())
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatalf("GroupVersions: %v", err)
	}
	if len(gvs) != 4 {
		t.Errorf("group versions = %v", gvs)
	}
	lease, err := root.GVSpec(coordinationv1.SchemeGroupVersion)
	if err != nil {
		t.Fatalf("GVSpec: %v", err)
	}
	if lease.Components.Schemas["io.k8s.api.coordination.v1.LeaseSpec"] == nil {
		t.Errorf("coordination.k8s.io/v1 lacks LeaseSpec")
	}

	verifier := resource.NewQueryParamVerifierV3(nil, dc.OpenAPIV3(), resource.QueryParamFieldValidation)
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Pod"},
		{Version: "v1", Kind: "Namespace"},
		{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"},
		{Group: "events.k8s.io", Version: "v1", Kind: "Event"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
	} {
		if err := verifier.HasSupport(gvk); err != nil {
			t.Errorf("fieldValidation for %v: %v", gvk, err)
		}
	}
}
