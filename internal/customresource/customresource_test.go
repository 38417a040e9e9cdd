package customresource

import (
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/conversion"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/podium/podium/internal/registry"
)

const widgets = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com, uid: u1}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Size, type: string, jsonPath: .spec.size}
    selectableFields:
    - {jsonPath: .spec.size}
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
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v0
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object}
status:
  acceptedNames: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  storedVersions: [v1]
`

func build(t *testing.T) *Definition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict([]byte(widgets), crd); err != nil {
		t.Fatal(err)
	}
	factory, err := conversion.NewCRConverterFactory(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	def, err := Build(crd, factory)
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func widget(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil { // integers as int64, as decoded requests have them
		t.Fatal(err)
	}
	return u
}

func TestBuild(t *testing.T) {
	def := build(t)
	if def.Storage != "example.com/widgets" || len(def.Versions) != 2 {
		t.Fatalf("definition: storage %q, %d versions (want the two served)", def.Storage, len(def.Versions))
	}
	v1 := def.Versions[0]
	info := v1.Info()
	if info.Version != "v1" || !info.Namespaced || strings.Join(info.Subresources, ",") != "status,scale" || info.StorageVersion != "v1" {
		t.Fatalf("v1 info: %+v", info)
	}
	if cols := v1.Columns(); len(cols) != 2 || cols[0].Name != "Name" || cols[1].Name != "Size" {
		t.Fatalf("columns: %+v", cols)
	}
}

// TestWrites: pruning reports unknown fields, defaults fill in, the schema and the CEL
// rule refuse, status is kept from creates, and the scale paths read and write.
func TestWrites(t *testing.T) {
	v1 := build(t).Versions[0]
	w := widget(t, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: d}\nspec: {replicas: 3, colour: red}\nstatus: {replicas: 9}\n")
	unknown, err := v1.(registry.Pruner).Prune(w)
	if err != nil || strings.Join(unknown, ",") != "spec.colour" {
		t.Fatalf("pruned %v, %v; want spec.colour", unknown, err)
	}
	v1.PrepareForCreate(w)
	v1.Default(w)
	if errs := v1.Validate(w); len(errs) > 0 {
		t.Fatalf("a valid widget: %v", errs)
	}
	if size, _, _ := unstructured.NestedString(w.Object, "spec", "size"); size != "small" {
		t.Fatalf("size not defaulted: %q", size)
	}
	if _, found := w.Object["status"]; found || w.GetGeneration() != 1 {
		t.Fatalf("create kept the status or did not set the generation: %v", w.Object)
	}
	sc := v1.(registry.Scaler)
	sc.SetReplicas(w, 4)
	if spec, _, _ := sc.Replicas(w); spec != 4 {
		t.Fatalf("replicas after SetReplicas: %d", spec)
	}
	if f := v1.Fields(w); f["spec.size"] != "small" || f["metadata.name"] != "w" {
		t.Fatalf("selectable fields: %v", f)
	}
	if row := v1.Row(w, time.Now()); len(row) != 2 || row[1] != "small" {
		t.Fatalf("row: %v", row)
	}
	for y, want := range map[string]string{
		"spec: {replicas: 30}":                "replicas must be at most 10",
		"spec: {replicas: -1}":                "should be greater than or equal to 0",
		"spec: {replicas: 1, size: enormous}": `Unsupported value: "enormous"`,
	} {
		bad := widget(t, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: d}\n"+y+"\n")
		v1.Default(bad)
		if errs := v1.Validate(bad); !strings.Contains(errs.ToAggregate().Error(), want) {
			t.Errorf("%s: errors %v, want %q", y, errs, want)
		}
	}
}

// TestVersions: objects convert between the served versions and the storage one, and a
// stored object read through v1 gets its defaults.
func TestVersions(t *testing.T) {
	def := build(t)
	v1, v2 := def.Versions[0].(registry.Converter), def.Versions[1].(registry.Converter)
	stored := widget(t, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: d}\nspec: {replicas: 2}\n")
	out, err := v2.FromStorage(stored)
	if err != nil || out.GetObjectKind().GroupVersionKind().Version != "v2" {
		t.Fatalf("v1 to v2: %v %v", err, out)
	}
	if stored.GetAPIVersion() != "example.com/v1" {
		t.Fatal("conversion changed the stored object")
	}
	back, err := v2.ToStorage(out)
	if err != nil || back.GetObjectKind().GroupVersionKind().Version != "v1" {
		t.Fatalf("v2 to storage: %v %v", err, back)
	}
	read, err := v1.FromStorage(stored)
	if err != nil {
		t.Fatal(err)
	}
	if size, _, _ := unstructured.NestedString(read.(*unstructured.Unstructured).Object, "spec", "size"); size != "small" {
		t.Fatalf("defaults not filled on read: %v", read)
	}
	if _, found, _ := unstructured.NestedString(stored.Object, "spec", "size"); found {
		t.Fatal("defaulting on read changed the stored object")
	}
}
