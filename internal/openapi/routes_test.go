package openapi

import (
	"slices"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

func v2Operation(item spec.PathItem, method string) *spec.Operation {
	switch method {
	case "get":
		return item.Get
	case "put":
		return item.Put
	case "post":
		return item.Post
	case "patch":
		return item.Patch
	case "delete":
		return item.Delete
	}
	return nil
}

func TestOperations(t *testing.T) {
	paths := mustBuild(t, testResources()).v2.Paths.Paths
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	tests := []struct {
		path, method string
		id, action   string
		gvk          schema.GroupVersionKind
	}{
		{"/api/v1/namespaces/{namespace}/pods", "get", "listCoreV1NamespacedPod", "list", pod},
		{"/api/v1/namespaces/{namespace}/pods", "post", "createCoreV1NamespacedPod", "post", pod},
		{"/api/v1/namespaces/{namespace}/pods", "delete", "deleteCoreV1CollectionNamespacedPod", "deletecollection", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "get", "readCoreV1NamespacedPod", "get", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "put", "replaceCoreV1NamespacedPod", "put", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "patch", "patchCoreV1NamespacedPod", "patch", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "delete", "deleteCoreV1NamespacedPod", "delete", pod},
		{"/api/v1/pods", "get", "listCoreV1PodForAllNamespaces", "list", pod},
		{"/api/v1/watch/namespaces/{namespace}/pods", "get", "watchCoreV1NamespacedPodList", "watchlist", pod},
		{"/api/v1/watch/namespaces/{namespace}/pods/{name}", "get", "watchCoreV1NamespacedPod", "watch", pod},
		{"/api/v1/watch/pods", "get", "watchCoreV1PodListForAllNamespaces", "watchlist", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}/status", "get", "readCoreV1NamespacedPodStatus", "get", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}/status", "put", "replaceCoreV1NamespacedPodStatus", "put", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}/status", "patch", "patchCoreV1NamespacedPodStatus", "patch", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers", "patch", "patchCoreV1NamespacedPodEphemeralcontainers", "patch", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "createCoreV1NamespacedPodBinding", "post", schema.GroupVersionKind{Version: "v1", Kind: "Binding"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post", "createCoreV1NamespacedPodEviction", "post", schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}},
		{"/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "readCoreV1NamespacedPodLog", "get", pod},
		{"/api/v1/namespaces/{namespace}/pods/{name}/exec", "post", "connectCoreV1PostNamespacedPodExec", "connect", schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}},
		{"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", "post", "createCoreV1NamespacedServiceAccountToken", "post", schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}},
		{"/api/v1/nodes/{name}", "get", "readCoreV1Node", "get", schema.GroupVersionKind{Version: "v1", Kind: "Node"}},
		{"/api/v1/nodes/{name}/proxy/{path}", "get", "connectCoreV1GetNodeProxyWithPath", "connect", schema.GroupVersionKind{Version: "v1", Kind: "NodeProxyOptions"}},
		{"/api/v1/namespaces/{name}/finalize", "put", "replaceCoreV1NamespaceFinalize", "put", schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}},
		{"/api/v1/watch/nodes", "get", "watchCoreV1NodeList", "watchlist", schema.GroupVersionKind{Version: "v1", Kind: "Node"}},
		{"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}", "put", "replaceCoordinationV1NamespacedLease", "put", coordinationv1.SchemeGroupVersion.WithKind("Lease")},
		{"/apis/events.k8s.io/v1/events", "get", "listEventsV1EventForAllNamespaces", "list", schema.GroupVersionKind{Group: "events.k8s.io", Version: "v1", Kind: "Event"}},
		{"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "patch", "patchAppsV1NamespacedDeploymentScale", "patch", schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			item, ok := paths[tt.path]
			if !ok {
				t.Fatalf("no path %s", tt.path)
			}
			op := v2Operation(item, tt.method)
			if op == nil {
				t.Fatalf("%s has no %s operation", tt.path, tt.method)
			}
			if op.ID != tt.id {
				t.Errorf("operationId = %q, want %q", op.ID, tt.id)
			}
			if got, _ := op.Extensions.GetString(extAction); got != tt.action {
				t.Errorf("%s = %q, want %q", extAction, got, tt.action)
			}
			var gvk map[string]string
			if err := op.Extensions.GetObject(extGVK, &gvk); err != nil {
				t.Fatal(err)
			}
			if got := (schema.GroupVersionKind{Group: gvk["group"], Version: gvk["version"], Kind: gvk["kind"]}); got != tt.gvk {
				t.Errorf("%s = %v, want %v", extGVK, got, tt.gvk)
			}
		})
	}
}

// TestWritesTakeFieldValidation checks the parameter whose presence makes kubectl
// leave validation to the server, on every write in both versions.
func TestWritesTakeFieldValidation(t *testing.T) {
	docs := mustBuild(t, testResources())
	for path, item := range docs.v2.Paths.Paths {
		for _, method := range []string{"put", "post", "patch"} {
			op := v2Operation(item, method)
			if op == nil || op.Extensions[extAction] == "connect" {
				continue
			}
			if !slices.ContainsFunc(op.Parameters, func(p spec.Parameter) bool { return p.Name == "fieldValidation" && p.In == "query" }) {
				t.Errorf("v2 %s %s lacks fieldValidation", method, path)
			}
		}
	}
	for gv, doc := range docs.v3 {
		for path, item := range doc.Paths.Paths {
			for _, op := range []*spec3.Operation{item.Put, item.Post, item.Patch} {
				if op == nil || op.Extensions[extAction] == "connect" {
					continue
				}
				if !slices.ContainsFunc(op.Parameters, func(p *spec3.Parameter) bool { return p.Name == "fieldValidation" && p.In == "query" }) {
					t.Errorf("v3 %s: %s %s lacks fieldValidation", gv, op.OperationId, path)
				}
			}
		}
	}
}

func TestVerbs(t *testing.T) {
	r := newResource("", "Pod", "pods", true, nil, nil)
	r.Verbs = []string{"get", "list"}
	var got []string
	for _, rt := range routesFor(r, "Pod", "PodList") {
		for _, op := range rt.ops {
			got = append(got, op.method+" "+rt.path)
		}
	}
	want := []string{
		"get /api/v1/namespaces/{namespace}/pods",
		"get /api/v1/namespaces/{namespace}/pods/{name}",
		"get /api/v1/pods",
	}
	if !slices.Equal(got, want) {
		t.Errorf("operations = %q, want %q", got, want)
	}
}
