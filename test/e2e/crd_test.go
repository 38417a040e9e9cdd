package e2e

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	clientv3 "go.etcd.io/etcd/client/v3"
)

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - {rule: "self.replicas <= 10", message: "replicas must be at most 10"}
            properties:
              size: {type: string, enum: [small, large], default: small}
              replicas: {type: integer, minimum: 0}
          status:
            type: object
            properties:
              replicas: {type: integer}
  - name: v2
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

// TestCustomResources: a CustomResourceDefinition is served once Established, with its
// schema's defaults, validation and CEL rule, printer columns, short name, scale and a
// second version; unknown fields are refused under strict validation; deleting the
// definition deletes its objects.
func TestCustomResources(t *testing.T) {
	c := startCluster(t)
	if _, errOut, err := c.kubectlIn(widgetCRD, "apply", "-f", "-"); err != nil {
		t.Fatalf("creating the CRD: %v %s", err, errOut)
	}
	c.mustKubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s")

	widget := "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  replicas: 3\n"
	if _, errOut, err := c.kubectlIn(widget, "apply", "-f", "-"); err != nil {
		t.Fatalf("creating a widget: %v %s", err, errOut)
	}
	out := c.mustKubectl("get", "widgets.v1.example.com") // v2, the preferred version, has no columns of its own
	if !strings.Contains(out, "SIZE") || !strings.Contains(out, "REPLICAS") || !strings.Contains(out, "small") {
		t.Fatalf("kubectl get wd shows no printer columns or default:\n%s", out)
	}
	for _, bad := range []struct{ body, want string }{
		{"spec:\n  replicas: 30\n", "replicas must be at most 10"},
		{"spec:\n  replicas: 1\n  size: huge\n", `spec.size: Unsupported value: "huge"`},
		{"spec:\n  replicas: -1\n", "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"},
		{"spec:\n  replicas: 1\n  colour: red\n", `unknown field "spec.colour"`},
	} {
		_, errOut, err := c.kubectlIn("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: bad\n"+bad.body, "apply", "-f", "-")
		if err == nil || !strings.Contains(errOut, bad.want) {
			t.Errorf("widget with %q: err %v, stderr %q; want %q", bad.body, err, errOut, bad.want)
		}
	}
	c.mustKubectl("scale", "widgets.v1.example.com/w1", "--replicas=5")

	// The second version serves the same object.
	dyn, err := dynamic.NewForConfig(c.restConfig())
	if err != nil {
		t.Fatal(err)
	}
	v2 := dyn.Resource(schema.GroupVersionResource{Group: "example.com", Version: "v2", Resource: "widgets"}).Namespace("default")
	got, err := v2.Get(bg, "w1", metav1.GetOptions{})
	if err != nil || got.GetAPIVersion() != "example.com/v2" {
		t.Fatalf("widget through v2: %v %v", err, got)
	}
	if r, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); r != 5 {
		t.Fatalf("widget through v2 has replicas %d, want 5", r)
	}
	if out := c.mustKubectl("get", "all"); !strings.Contains(out, "widget.example.com/w1") {
		t.Fatalf("kubectl get all does not list the widget (category all):\n%s", out)
	}

	// The group's versions are registered as local APIServices, available.
	for _, name := range []string{"v1.example.com", "v2.example.com"} {
		c.mustKubectl("wait", "--for=condition=Available", "apiservice/"+name, "--timeout=30s")
	}
	c.mustKubectl("delete", "crd", "widgets.example.com", "--timeout=60s")
	if _, err := v2.List(bg, metav1.ListOptions{}); err == nil {
		t.Fatal("widgets still served after the CRD was deleted")
	}
	etcd := c.etcdClient(true)
	defer etcd.Close()
	kv, err := etcd.Get(bg, "/registry/example.com/widgets/", clientv3.WithPrefix())
	if err != nil || kv.Count != 0 {
		t.Fatalf("widgets left in etcd after the CRD was deleted: %v %v", err, kv)
	}
}
