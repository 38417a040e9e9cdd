package metrics

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/kube-openapi/pkg/spec3"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/openapi"
)

// The server documents metrics.k8s.io in its OpenAPI, as metrics-server does, and
// cannot start if the documents cannot be made.
func TestOpenAPI(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	var resources []openapi.Resource
	for _, ro := range []apiserver.ReadOnlyResource{NewNodeMetrics(NewStore(0), &fakeCluster{}, clk), NewPodMetrics(NewStore(0), &fakeCluster{}, clk)} {
		resources = append(resources, openapi.Resource{Info: ro.Info(), Object: ro.New(), List: ro.NewList(), Verbs: apiserver.ReadOnlyVerbs()})
	}
	svc, err := openapi.New(resources)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Install(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/openapi/v3/apis/metrics.k8s.io/v1beta1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc spec3.OpenAPI
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &doc) != nil {
		t.Fatalf("GET /openapi/v3/apis/metrics.k8s.io/v1beta1: %s\n%.500s", resp.Status, body)
	}
	for _, name := range []string{"io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics", "io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetricsList"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("no schema %s", name)
		}
	}
	for _, path := range []string{"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}", "/apis/metrics.k8s.io/v1beta1/nodes", "/apis/metrics.k8s.io/v1beta1/pods"} {
		if doc.Paths.Paths[path] == nil {
			t.Errorf("no path %s", path)
		}
	}
	if p := doc.Paths.Paths["/apis/metrics.k8s.io/v1beta1/nodes"]; p != nil && (p.Post != nil || p.Delete != nil) {
		t.Errorf("nodes has writes: %+v", p)
	}
}
