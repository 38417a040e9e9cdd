package apiserver

import (
	"encoding/json"
	"net/http"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/deployment"
)

// TestScaleSubresource: GET, PATCH and PUT of deployments/NAME/scale read and write
// spec.replicas as an autoscaling/v1 Scale, with the selector in its status; a negative
// count is 422 and a stale resourceVersion 409.
func TestScaleSubresource(t *testing.T) {
	ts := newTestServerWith(t, func(c *Config) { c.Strategies = append(c.Strategies, registry.Strategy(deployment.New())) }, nil)
	ts.createNamespace(t, "ns")
	ts.mustDo(t, http.StatusCreated, request{method: http.MethodPost, path: "/apis/apps/v1/namespaces/ns/deployments", contentType: mediaJSON,
		body: []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"selector":{"matchLabels":{"app":"web"}},
			"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}`)})
	path := "/apis/apps/v1/namespaces/ns/deployments/web/scale"
	scale := func(resp response) autoscalingv1.Scale {
		t.Helper()
		var s autoscalingv1.Scale
		if err := json.Unmarshal(resp.body, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := scale(ts.mustDo(t, http.StatusOK, request{path: path}))
	if s.Kind != "Scale" || s.APIVersion != "autoscaling/v1" || s.Spec.Replicas != 1 || s.Status.Selector != "app=web" || s.Name != "web" {
		t.Fatalf("GET scale: %+v", s)
	}
	s = scale(ts.mustDo(t, http.StatusOK, request{method: http.MethodPatch, path: path, contentType: "application/merge-patch+json",
		body: []byte(`{"spec":{"replicas":4}}`)}))
	if s.Spec.Replicas != 4 {
		t.Fatalf("PATCH scale: %+v", s)
	}
	var d appsv1.Deployment
	if err := json.Unmarshal(ts.mustDo(t, http.StatusOK, request{path: "/apis/apps/v1/namespaces/ns/deployments/web"}).body, &d); err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 4 || d.Generation != 2 {
		t.Fatalf("the deployment after scaling: replicas %d, generation %d", *d.Spec.Replicas, d.Generation)
	}
	ts.mustDo(t, http.StatusUnprocessableEntity, request{method: http.MethodPut, path: path, contentType: mediaJSON,
		body: []byte(`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"ns"},"spec":{"replicas":-1}}`)})
	ts.mustDo(t, http.StatusConflict, request{method: http.MethodPut, path: path, contentType: mediaJSON,
		body: []byte(`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"ns","resourceVersion":"1"},"spec":{"replicas":2}}`)})
	s = scale(ts.mustDo(t, http.StatusOK, request{method: http.MethodPut, path: path, contentType: mediaJSON,
		body: []byte(`{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"ns"},"spec":{"replicas":2}}`)}))
	if s.Spec.Replicas != 2 {
		t.Fatalf("PUT scale: %+v", s)
	}
	ts.mustDo(t, http.StatusNotFound, request{path: "/api/v1/namespaces/ns/configmaps/x/scale"})
}

// TestStatusWritesMetadata: a status patch of a Deployment may set annotations, as
// upstream's workload status writes may, but not labels or the spec; a status patch of
// a Namespace keeps the stored metadata.
func TestStatusWritesMetadata(t *testing.T) {
	ts := newTestServerWith(t, func(c *Config) { c.Strategies = append(c.Strategies, registry.Strategy(deployment.New())) }, nil)
	ts.createNamespace(t, "ns")
	ts.mustDo(t, http.StatusCreated, request{method: http.MethodPost, path: "/apis/apps/v1/namespaces/ns/deployments", contentType: mediaJSON,
		body: []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"tier":"front"}},"spec":{"selector":{"matchLabels":{"app":"web"}},
			"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}`)})
	var d appsv1.Deployment
	resp := ts.mustDo(t, http.StatusOK, request{method: http.MethodPatch, path: "/apis/apps/v1/namespaces/ns/deployments/web/status",
		contentType: "application/merge-patch+json",
		body:        []byte(`{"metadata":{"annotations":{"patched":"true"},"labels":{"tier":"back"}},"spec":{"replicas":7},"status":{"observedGeneration":1}}`)})
	if err := json.Unmarshal(resp.body, &d); err != nil {
		t.Fatal(err)
	}
	if d.Annotations["patched"] != "true" || d.Labels["tier"] != "front" || *d.Spec.Replicas != 1 || d.Status.ObservedGeneration != 1 {
		t.Errorf("after the status patch: annotations %v, labels %v, replicas %d, observedGeneration %d",
			d.Annotations, d.Labels, *d.Spec.Replicas, d.Status.ObservedGeneration)
	}
	var ns corev1.Namespace
	resp = ts.mustDo(t, http.StatusOK, request{method: http.MethodPatch, path: "/api/v1/namespaces/ns/status",
		contentType: "application/merge-patch+json", body: []byte(`{"metadata":{"annotations":{"patched":"true"}}}`)})
	if err := json.Unmarshal(resp.body, &ns); err != nil {
		t.Fatal(err)
	}
	if ns.Annotations["patched"] != "" {
		t.Errorf("a namespace's status patch changed its annotations: %v", ns.Annotations)
	}
}
